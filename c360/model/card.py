"""The model card: what a trained model reads, predicts and scored, stored next to the model.

``models/propensity.json`` is the XGBoost model; ``models/propensity.card.json`` is this card
(features with kinds and vocabularies, label definition, classes, cutoffs, row counts, metrics
next to baselines, a version hash); ``models/MODEL_CARD.md`` renders it for people.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from c360.errors import ProgrammingError
from c360.model.features import Feature, columns

MODEL_FILE = "propensity.json"
CARD_FILE = "propensity.card.json"
MARKDOWN_FILE = "MODEL_CARD.md"
NO_PURCHASE = "none"

def label_definition(horizon: int = 30) -> str:
    """The label, in words, for a window of ``horizon`` days."""
    return (
        f"Over the {horizon} days starting at the cutoff (cutoff <= order_ts < cutoff + {horizon} days), orders "
        "that were not cancelled: 'none' if the customer placed none, otherwise the product category with the "
        "highest spend (quantity x unit_price; ties go to the alphabetically first category). Features are "
        "customer_360 evaluated as of the cutoff, which uses only data strictly before it."
    )


LABEL_DEFINITION = label_definition(30)


@dataclass
class ModelCard:
    """Everything needed to use and judge a model; ``version`` hashes the model and its inputs."""

    features: list[Feature]
    classes: list[str]
    version: str = ""
    label: str = LABEL_DEFINITION
    training_cutoffs: list[str] = field(default_factory=list)
    evaluation_cutoff: str = ""
    horizon_days: int = 30
    rows: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    trained_at: str = ""
    #: the features some tree splits on (the scorer needs only these); empty in cards that predate it: all
    reads: list[str] = field(default_factory=list)
    #: features left out because they were constant in the training set (no source data, say)
    dropped: list[str] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        return [c for c in self.classes if c != NO_PURCHASE]

    @property
    def columns(self) -> list[str]:
        return columns(self.features)

    @property
    def inputs(self) -> list[Feature]:
        """The features the model reads, in card order (every feature for a card without ``reads``)."""
        return [f for f in self.features if f.name in self.reads] if self.reads else list(self.features)

    def to_json(self) -> dict:
        data = asdict(self)
        data["features"] = [f.to_json() for f in self.features]
        data["columns"] = self.columns
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ModelCard":
        data = dict(data)
        data.pop("columns", None)
        data["features"] = [Feature.from_json(f) for f in data["features"]]
        return cls(**data)


def version_hash(model_bytes: bytes, card: ModelCard) -> str:
    """12 hex digits of sha256 over the model file and the card's features and classes."""
    digest = hashlib.sha256(model_bytes)
    digest.update(json.dumps([[f.to_json() for f in card.features], card.classes], sort_keys=True).encode())
    return digest.hexdigest()[:12]


def write(directory: Path, model_bytes: bytes, card: ModelCard) -> Path:
    """Write the model, its card and the markdown card into ``directory``; returns the card path."""
    directory.mkdir(parents=True, exist_ok=True)
    card.version = version_hash(model_bytes, card)
    (directory / MODEL_FILE).write_bytes(model_bytes)
    path = directory / CARD_FILE
    path.write_text(json.dumps(card.to_json(), indent=2) + "\n")
    from c360.model.report import card_markdown

    (directory / MARKDOWN_FILE).write_text(card_markdown(card))
    return path


def read(directory: Path) -> ModelCard:
    """The card in ``directory``; a missing or unreadable card is a :class:`ProgrammingError`."""
    path = directory / CARD_FILE
    if not path.is_file():
        raise ProgrammingError(f"no model card at {path}: run `c360 train` first")
    try:
        return ModelCard.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as error:
        raise ProgrammingError(f"model card {path} is not readable: {error}") from None


def exists(directory: Path) -> bool:
    return (directory / CARD_FILE).is_file() and (directory / MODEL_FILE).is_file()
