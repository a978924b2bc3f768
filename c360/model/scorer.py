"""The scorer: a vectorised DuckDB UDF ``c360_predict(struct)`` over Arrow batches.

``customer_360`` calls it once per row as ``c360_predict(struct_pack(<feature> := <column>, ...))``
(see :mod:`c360.model.view_sql`) and unpacks the returned STRUCT into its virtual columns::

    STRUCT(p_purchase_30d DOUBLE, probabilities DOUBLE[],
           predicted_position SMALLINT, model_version VARCHAR)

``probabilities[i]`` is P(the card's i-th category is the one with the highest spend in the
next 30 days), in the card's category order (a list, not a MAP: DuckDB imports an Arrow MAP
~8x slower than a list); ``p_purchase_30d`` is 1 - P(no purchase); ``predicted_position`` is the
position (from 1, as in ``probabilities``) of the most likely category should the customer buy,
which the view turns into its name (``[<the card's categories>][predicted_position]``): DuckDB
takes in a column of small integers ~10% faster, per customer scored, than one of strings.

Each batch goes Arrow -> feature matrix in one compiled pass (:mod:`c360.model.encode`) -> margins
by the compiled trees (:mod:`c360.model.trees`, XGBoost's own margins, not its predictor) ->
softmax, without a Python object per row. The model is loaded from ``<project>/models`` on the
first call, once per process, and the card is checked against the struct's fields once per input
type (missing, mistyped and unexpected features are listed). Features no tree splits on (the
card's features minus its ``reads``) may be left out of the struct; ``customer_360`` leaves them
out. A project without a model still has the function: it returns NULLs, so ``SELECT *`` on
``customer_360`` keeps working before ``c360 train``.

:data:`STATS` counts calls and rows scored in this process; tests use it to prove the UDF runs
only when a query references a prediction, and only on the rows that survive its filters.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from c360.errors import ProgrammingError
from c360.model import card as cards
from c360.model.features import check_inputs, features_read
from c360.model.matrix import fill, matrix

FUNCTION = "c360_predict"
#: The column of customer_360's inner layer that holds the UDF's answer.
PREDICTION = "c360_prediction"
RETURN_TYPE = ("STRUCT(p_purchase_30d DOUBLE, probabilities DOUBLE[], predicted_position SMALLINT, "
               "model_version VARCHAR)")
_ARROW_RETURN = pa.struct([
    ("p_purchase_30d", pa.float64()),
    ("probabilities", pa.list_(pa.float64())),
    ("predicted_position", pa.int16()),
    ("model_version", pa.string()),
])
_ANSWER_FIELDS = list(_ARROW_RETURN)

#: Process-wide counters: UDF batches called and rows scored.
STATS = {"calls": 0, "rows": 0}
_LOADED: dict[str, "Scorer"] = {}  # by resolved path, as text (a Path compares in Python, every batch)
_LOCK = threading.Lock()


class Scorer:
    """A loaded model and its card; :meth:`predict` gives class probabilities for a batch."""

    def __init__(self, booster, card: cards.ModelCard):
        from c360.model import trees  # numba: imported only when a model is scored

        self.booster = booster
        self.card = card
        self.forest = trees.Forest.from_booster(booster)
        #: the card's features some tree splits on: what c360_predict needs (the others may be left out)
        self.inputs = features_read(card.features, self.forest.columns_read())
        self.unread = frozenset(f.name for f in card.features) - {f.name for f in self.inputs}
        self._softmax = trees.softmax_against_first
        self._layouts: list = []  # (input type, its Layout), checked against the card once
        self._version = pa.array([card.version], pa.string())
        self._offsets_by_rows: dict[int, pa.Array] = {}
        self._scratch = threading.local()  # each thread's matrix buffer (the UDF may run in several)

    @classmethod
    def load(cls, directory: Path, *, nthread: int | None = None) -> "Scorer":
        """Load ``directory``'s model and card; refuse a card that does not describe the model."""
        import xgboost as xgb

        card = cards.read(directory)
        booster = xgb.Booster()
        booster.load_model(str(directory / cards.MODEL_FILE))
        names = list(booster.feature_names or [])
        if names != card.columns:
            missing = [n for n in card.columns if n not in names]
            extra = [n for n in names if n not in card.columns]
            raise ProgrammingError(
                f"model in {directory} does not match its card: columns in the card but not the model: "
                f"{', '.join(missing) or '-'}; in the model but not the card: {', '.join(extra) or '-'}"
            )
        scorer = cls(booster, card)
        read = [f.name for f in scorer.inputs]
        if card.reads and card.reads != read:
            raise ProgrammingError(
                f"model in {directory} does not match its card: the card says its trees read "
                f"{', '.join(card.reads)}; they read {', '.join(read) or '-'}")
        if nthread:
            booster.set_param({"nthread": nthread})
        return scorer

    def check(self, fields: dict[str, pa.DataType]) -> None:
        """Refuse inputs that differ from the card (the UDF calls this once per input type)."""
        check_inputs(self.card.features, fields, model=f"model {self.card.version}", optional=self.unread)

    def predict(self, data) -> np.ndarray:
        """Class probabilities (rows x classes, float64, in ``card.classes`` order)."""
        return self.forest.probabilities(matrix(data, self.card.features, unread=self.unread))

    def score(self, struct: pa.StructArray) -> pa.StructArray:
        """The UDF's answer for one batch of feature structs (NULL struct: NULL answer)."""
        rows = len(struct)
        p_any, category_p, predicted = self._softmax(self.forest.margins_by_group(self._matrix(struct).T))
        mask = struct.is_null().to_numpy(zero_copy_only=False) if struct.null_count else None
        return pa.StructArray.from_arrays(
            [
                pa.array(p_any),
                pa.ListArray.from_arrays(self._offsets(rows), pa.array(category_p)),
                pa.array(predicted),
                self._versions(rows),
            ],
            fields=_ANSWER_FIELDS,
            mask=pa.array(mask) if mask is not None else None,
        )

    def _matrix(self, struct: pa.StructArray) -> np.ndarray:
        """The batch's feature matrix, in this thread's reused buffer; a new input type is checked first."""
        kind = struct.type
        for known, layout in self._layouts:  # the same type every batch: compared, not rebuilt
            if known == kind:
                break
        else:
            from c360.model.encode import Layout

            self.check({f.name: f.type for f in kind})
            layout = Layout(kind, self.card.features, self.unread)
            self._layouts.append((kind, layout))
        rows, width = len(struct), self.forest.features
        flat = getattr(self._scratch, "matrix", None)
        if flat is None or flat.size < rows * width:
            flat = self._scratch.matrix = np.empty(max(rows, 2048) * width, dtype=np.float32)
        return fill(struct, layout, out=flat[:rows * width].reshape(width, rows).T)

    def _offsets(self, rows: int) -> pa.Array:
        """List offsets of ``rows`` lists of one probability per category (built once per batch size)."""
        offsets = self._offsets_by_rows.get(rows)
        if offsets is None:
            width = len(self.card.categories)
            offsets = self._offsets_by_rows[rows] = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
        return offsets

    def _versions(self, rows: int) -> pa.Array:
        """The model version ``rows`` times (a slice of one array, grown as batches need)."""
        if len(self._version) < rows:
            self._version = pa.array([self.card.version] * max(rows, 2 * len(self._version)), pa.string())
        return self._version.slice(0, rows)


def scorer(models_dir: Path) -> Scorer | None:
    """The process's scorer for ``models_dir`` (loaded on first use), or None without a model."""
    return _scorer(str(Path(models_dir).resolve()))


def _scorer(key: str) -> Scorer | None:
    """:func:`scorer` for an already resolved path, as text (the UDF calls this every batch)."""
    loaded = _LOADED.get(key)
    if loaded is not None:
        return loaded
    with _LOCK:
        loaded = _LOADED.get(key)
        if loaded is None:
            if not cards.exists(Path(key)):
                return None
            loaded = _LOADED[key] = Scorer.load(Path(key))
        return loaded


def forget(models_dir: Path | None = None) -> None:
    """Drop loaded models (after ``c360 train`` rewrote them, or in tests)."""
    with _LOCK:
        if models_dir is None:
            _LOADED.clear()
        else:
            _LOADED.pop(str(Path(models_dir).resolve()), None)


_MISSING_KEY = re.compile(r'Could not find key "([^"]+)" in struct.*?Candidate Entries: (.*)', re.S)


def stale_view_hint(message: str) -> str | None:
    """For DuckDB's error when a view reads a field the answer no longer has: what to do about it.

    ``customer_360``'s prediction columns are generated for the answer of the c360 that wrote them;
    after an upgrade that changed the answer, DuckDB only says a key is missing in a struct."""
    found = _MISSING_KEY.search(message)
    answer = {f.name for f in _ANSWER_FIELDS}
    candidates = set(re.findall(r'"([^"]+)"', found.group(2))) if found else set()
    if not candidates or not candidates <= answer or found.group(1) in answer:  # DuckDB lists the closest keys
        return None
    return (f"customer_360's prediction columns were generated for an older {FUNCTION}, which answered "
            f"'{found.group(1)}' (it now answers {', '.join(f.name for f in _ANSWER_FIELDS)}): "
            "regenerate them with `c360 model view-columns --write`")


def _nulls(rows: int) -> pa.StructArray:
    return pa.nulls(rows, _ARROW_RETURN)


def register(connection, project_dir: Path) -> None:
    """Registrar (see :mod:`c360.functions`): add ``c360_predict`` to the engine's DuckDB."""
    models_dir = str((Path(project_dir) / "models").resolve())

    def predict(*arguments):
        if len(arguments) != 1:
            raise ProgrammingError(f"{FUNCTION} takes one STRUCT of features, got {len(arguments)} arguments")
        struct = arguments[0]
        if isinstance(struct, pa.ChunkedArray):  # DuckDB hands over one chunk: take it, do not copy it
            struct = struct.chunk(0) if struct.num_chunks == 1 else struct.combine_chunks()
        if not pa.types.is_struct(struct.type):
            raise ProgrammingError(f"{FUNCTION} takes one STRUCT of features (struct_pack(name := column, ...)), "
                                   f"got {struct.type}")
        STATS["calls"] += 1
        STATS["rows"] += len(struct)
        loaded = _scorer(models_dir)
        if loaded is None:
            return _nulls(len(struct))
        return loaded.score(struct)

    connection.create_function(FUNCTION, predict, None, duckdb.sqltype(RETURN_TYPE), type="arrow",
                               null_handling="special")
