"""``c360 export trino``: the project (catalog, ``queries/*.sql``, ``models/``) as files a Trino cluster loads.

Written under the output folder:

- ``catalog/<source>.properties`` per source and ``catalog/c360.properties`` (the views' hive catalog):
  :mod:`c360.export.trino_catalogs`; secrets stay ``${ENV:NAME}`` references;
- ``tables.sql``: the file and blob tables (:mod:`c360.export.trino_tables`);
- ``views.sql``: ``CREATE SCHEMA c360.views`` and one ``CREATE OR REPLACE VIEW c360.views.<name>`` per
  view, in dependency order, translated by :mod:`c360.export.trino_sql`. ``customer_360`` with prediction
  columns becomes ``customer_360_base`` (the hand-written view), ``c360_model`` (the model as SQL over it,
  :mod:`c360.model.export_sql`) and ``customer_360`` joining the two, with the same columns as c360's.

The as-of date: Trino views take no parameters, so it is ``current_date`` (the answer as of today,
c360's default), or the ``--as-of`` date baked into every view.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

from c360.errors import CatalogError
from c360.export import trino_catalogs as catalogs
from c360.export.trino_sql import TranslationError, translate
from c360.export.trino_tables import storage_root, table_statements
from c360.model import view_sql
from c360.views import load_views

VIEWS = f"{catalogs.VIEWS_CATALOG}.{catalogs.VIEWS_SCHEMA}"


@dataclass
class Export:
    """What an export holds: file name → text (properties files under ``catalog/``)."""

    files: dict[str, str] = field(default_factory=dict)
    views: list[str] = field(default_factory=list)

    def write(self, out: Path) -> list[Path]:
        written = []
        for name, text in self.files.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written


def statements_text(statements: list[str]) -> str:
    return "".join(f"{statement.rstrip().rstrip(';')};\n\n" for statement in statements).rstrip("\n") + "\n"


def export_trino(catalog, *, as_of: dt.date | None = None, locations: dict[str, str] | None = None,
                 storage_account: str | None = None, models_dir: Path | None = None) -> Export:
    """The Trino files for ``catalog``'s project (nothing is contacted: only the YAML, views and model)."""
    locations = dict(locations or {})
    unknown = sorted(set(locations) - set(catalog.sources))
    if unknown:
        raise CatalogError(f"--location names no source: {', '.join(unknown)}")
    result = Export()
    names: dict[str, str] = {}
    schemas: dict[str, str] = {}
    tables: list[str] = []
    made = {name: catalogs.source_catalog(source) for name, source in sorted(catalog.sources.items())}
    for name, source in sorted(catalog.sources.items()):
        connector, schema, settings = made[name]
        result.files[f"catalog/{name}.properties"] = catalogs.properties(settings)
        if connector == "hive":
            root = storage_root(source, locations=locations, storage_account=storage_account)
            tables.append(f"CREATE SCHEMA IF NOT EXISTS {name}.{schema} WITH (location = '{root}')")
            for table in source.declared_tables:
                layout = catalog.connector(name).layout(table)
                tables.extend(table_statements(source, table, layout, root=root, catalog=name, schema=schema))
                names[f"{name}.{table}".lower()] = f"{name}.{schema}.{table}"
        else:
            schemas[name.lower()] = schema
    result.files[f"catalog/{catalogs.VIEWS_CATALOG}.properties"] = catalogs.properties(catalogs.hive_settings(None))
    result.files["tables.sql"] = statements_text(tables)
    views = _views(catalog, names=names, schemas=schemas, as_of=as_of,
                   models_dir=models_dir or catalog.project_dir / "models")
    result.views = [name for name, _ in views]
    header = [f"CREATE SCHEMA IF NOT EXISTS {VIEWS}"]
    result.files["views.sql"] = statements_text(header + [sql for _, sql in views])
    return result


def _create_view(name: str, select: str, description: str = "") -> str:
    comment = f"-- {description}\n" if description else ""
    return f"{comment}CREATE OR REPLACE VIEW {VIEWS}.{name} AS\n{select}"


def _views(catalog, *, names: dict[str, str], schemas: dict[str, str], as_of,
           models_dir: Path) -> list[tuple[str, str]]:
    """(view name, CREATE VIEW statement) in dependency order."""
    found = load_views(catalog.project_dir / "queries")
    for name in found:
        names.setdefault(name, f"{VIEWS}.{name}")
    trees, paths, extra = {}, {}, {}
    for name, view in found.items():
        text = view.path.read_text(encoding="utf-8")
        body = view.sql
        offset = text[: max(text.find(body), 0)].count("\n")
        if view_sql.BASE_BEGIN in body or view_sql.MARKER in body:  # generated prediction columns
            body = view_sql.base_view(body)
            extra[name] = view
            if view_sql.BASE_BEGIN in text:  # the base starts on the line after its marker
                offset = text[: text.index(view_sql.BASE_BEGIN)].count("\n") + 1
        try:
            trees[name] = sqlglot.parse_one(body, read="duckdb")
        except sqlglot.errors.ParseError as error:
            raise CatalogError(f"{view.path}: the view does not parse: {error}") from None
        paths[name] = (view.path, offset)
    order = _dependency_order(trees)
    out = []
    for name in order:
        view = found[name]
        path, offset = paths[name]
        target = f"{name}_base" if name in extra else name
        sql = translate(trees[name], view=name, path=_relative(path, catalog), line_offset=offset, as_of=as_of,
                        names=names, schemas=schemas)
        as_of_text = "current_date" if as_of is None else as_of.isoformat()
        description = re.sub(r"getvariable\('as_of'\)( \(default today\))?", as_of_text, view.description)
        out.append((target, _create_view(target, sql, description)))
        if name in extra:
            out.extend(_predictions(name, trees[name], models_dir))
    return out


def _relative(path: Path, catalog) -> str:
    try:
        return str(path.relative_to(catalog.project_dir))
    except ValueError:
        return str(path)


def _dependency_order(trees: dict[str, exp.Expression]) -> list[str]:
    """View names, each after the views it reads (ties alphabetical); a cycle is an error."""
    needs = {name: {t.name.lower() for t in tree.find_all(exp.Table) if t.name.lower() in trees and (
        not t.db or t.db.lower() == "c360")} - {name} for name, tree in trees.items()}
    order: list[str] = []
    while len(order) < len(trees):
        ready = sorted(n for n in trees if n not in order and needs[n] <= set(order))
        if not ready:
            cycle = sorted(n for n in trees if n not in order)
            raise CatalogError(f"views read each other in a cycle: {', '.join(cycle)}")
        order.append(ready[0])
    return order


def _predictions(name: str, base: exp.Expression, models_dir: Path) -> list[tuple[str, str]]:
    """``c360_model`` (the model as SQL over ``<name>_base``) and ``<name>`` joining it to the base."""
    from c360.model import card as cards
    from c360.model.export_sql import export
    from c360.model.scorer import Scorer

    if not cards.exists(models_dir):
        raise CatalogError(f"{name} has prediction columns but {models_dir} holds no model to export as SQL "
                           "(run c360 train, or drop the columns with c360 model view-columns)")
    loaded = Scorer.load(models_dir)
    card = loaded.card
    try:
        model = export(loaded.booster, card, table=f"{VIEWS}.{name}_base", dialect="trino")
    except (sqlglot.errors.SqlglotError, ValueError) as error:
        raise TranslationError(f"model {card.version}: no exact Trino translation: {error}") from None
    model = "\n".join(line for line in model.splitlines() if not line.startswith("--"))
    columns = [view_sql.purchase_column(card)] + [view_sql.column_name(c) for c in card.categories]
    probabilities = [exp.column(view_sql.column_name(c), table="m") for c in card.categories]
    top = exp.Greatest(this=probabilities[0], expressions=[p.copy() for p in probabilities[1:]])
    predicted = exp.Case(ifs=[exp.If(this=exp.EQ(this=p.copy(), expression=top.copy()),
                                     true=exp.Literal.string(category))
                              for p, category in zip(probabilities, card.categories)])
    select = exp.select(exp.column(exp.Star(), table="b"),
                        *[exp.column(c, table="m") for c in columns],
                        exp.alias_(predicted, "predicted_category"),
                        exp.alias_(exp.Literal.string(card.version), "model_version")).from_(
        exp.alias_(exp.to_table(f"{VIEWS}.{name}_base"), "b", table=True)).join(
        exp.alias_(exp.to_table(f"{VIEWS}.c360_model"), "m", table=True), on="m.customer_id = b.customer_id",
        join_type="left")
    joined = select.sql(dialect="trino", pretty=True, unsupported_level=sqlglot.ErrorLevel.RAISE)
    return [("c360_model", _create_view("c360_model", model, f"model {card.version} as SQL over {name}_base")),
            (name, _create_view(name, joined, f"{name} with the predictions of model {card.version}"))]
