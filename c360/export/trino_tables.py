"""The file and blob tables as Trino Hive tables: ``CREATE TABLE ... WITH (external_location, format,
partitioned_by)`` with the declared columns, in the source's hive catalog (schema ``files``).

- ``{style: hive, columns: {...}}`` partitioning: the partition columns go last and into
  ``partitioned_by``; ``CALL system.sync_partition_metadata`` registers the folders that exist.
- A Stream Analytics template (``{yyyy}/{MM}/{dd}/{HH}/``) is not Hive's ``key=value`` layout, so the
  files are a table ``<name>_files`` (read recursively) and ``<name>`` is a view adding the partition
  column parsed from each row's file path (``"$path"``); no folder pruning, the same answers.
- Formats: jsonl (and json, which Trino reads only newline-delimited) → ``JSON``, parquet → ``PARQUET``;
  csv is refused (Hive's CSV tables hold only VARCHAR columns).

Columns must be declared: a discovered schema would be a guess frozen into DDL.
"""

from __future__ import annotations

import re

from sqlglot import exp

from c360.errors import CatalogError
from connectors.files.partitions import HivePartitioning, TemplatePartitioning

FORMATS = {"jsonl": "JSON", "json": "JSON", "parquet": "PARQUET"}
#: template token → (regular expression, Trino date_parse format)
_TOKENS = {"yyyy": (r"\d{4}", "%Y"), "MM": (r"\d{2}", "%m"), "dd": (r"\d{2}", "%d"), "HH": (r"\d{2}", "%H"),
           "mm": (r"\d{2}", "%M")}


def storage_root(source, *, locations: dict[str, str], storage_account: str | None) -> str:
    """The URL standing for the source's root: ``--location SOURCE=URL``, else built from the account
    (``account_url``'s, or ``--storage-account``): ``abfs://<container or source>@<account>.dfs.core.windows.net/``."""
    if source.name in locations:
        return locations[source.name].rstrip("/") + "/"
    account = storage_account
    url = source.options.get("account_url")
    if url and "${" not in str(url):
        account = re.sub(r"^https?://", "", str(url)).split(".", 1)[0]
    if not account:
        raise CatalogError(f"Source '{source.name}' ({source.kind}): give its storage URL with --location "
                           f"{source.name}=abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/ or --storage-account")
    container = source.options.get("container") if source.kind == "blob" else source.name
    return f"abfs://{container}@{account}.dfs.core.windows.net/"


def trino_type(type_text: str, *, where: str) -> exp.DataType:
    try:
        return exp.DataType.build(str(type_text), dialect="duckdb")
    except Exception as error:  # noqa: BLE001 - sqlglot raises several kinds for a bad type
        raise CatalogError(f"{where}: type '{type_text}' has no Trino equivalent: {error}") from None


def table_statements(source, table: str, layout, *, root: str, catalog: str, schema: str) -> list[str]:
    """The statements creating ``table`` of ``source`` (and, for a template, its view) in Trino SQL."""
    declaration = source.declared_tables.get(table) or {}
    columns = declaration.get("columns")
    where = f"Source '{source.name}', table '{table}'"
    if not isinstance(columns, dict) or not columns:
        raise CatalogError(f"{where}: declare its columns to export it to Trino")
    file_format = FORMATS.get(layout.format)
    if file_format is None:
        raise CatalogError(f"{where}: format {layout.format} cannot be a Trino Hive table (jsonl, json or parquet)")
    defs = [exp.ColumnDef(this=exp.to_identifier(name), kind=trino_type(kind, where=where))
            for name, kind in columns.items()]
    partitioning = layout.partitioning
    partitioned: list[str] = []
    if isinstance(partitioning, HivePartitioning):
        if not partitioning.declared:
            raise CatalogError(f"{where}: declare the hive partition columns (partitioning: columns:) for Trino")
        for name, arrow in partitioning.declared.items():
            kind = "DATE" if str(arrow).startswith("date") else "BIGINT" if str(arrow) == "int64" else "VARCHAR"
            defs.append(exp.ColumnDef(this=exp.to_identifier(name), kind=exp.DataType.build(kind)))
            partitioned.append(name)
    name = f"{table}_files" if isinstance(partitioning, TemplatePartitioning) else table
    properties = [exp.Property(this=exp.var("external_location"), value=exp.Literal.string(root + layout.prefix)),
                  exp.Property(this=exp.var("format"), value=exp.Literal.string(file_format))]
    if partitioned:
        properties.append(exp.Property(this=exp.var("partitioned_by"), value=exp.Array(
            expressions=[exp.Literal.string(p) for p in partitioned])))
    create = exp.Create(this=exp.Schema(this=exp.table_(name, db=schema, catalog=catalog), expressions=defs),
                        kind="TABLE", exists=True, properties=exp.Properties(expressions=properties))
    statements = [create.sql(dialect="trino", pretty=True)]
    if partitioned:
        statements.append(f"CALL {catalog}.system.sync_partition_metadata('{schema}', '{table}', 'ADD')")
    if isinstance(partitioning, TemplatePartitioning):
        statements.append(_template_view(partitioning, catalog=catalog, schema=schema, table=table,
                                         columns=list(columns)))
    return statements


def _template_view(partitioning: TemplatePartitioning, *, catalog: str, schema: str, table: str,
                   columns: list[str]) -> str:
    """``CREATE VIEW <table>`` = the files' columns plus the template's TIMESTAMP parsed from ``"$path"``."""
    regex, fmt, i = [], [], 0
    template = partitioning.template
    for match in re.finditer(r"\{(\w+)\}", template):
        literal = template[i:match.start()]
        regex.append(re.escape(literal))
        fmt.append(literal.replace("%", "%%"))
        pattern, code = _TOKENS[match.group(1)]
        regex.append(pattern)
        fmt.append(code)
        i = match.end()
    fixed = template[i:].rstrip("/")
    regex.append(re.escape(fixed))
    fmt.append(fixed)
    folder = "".join(regex)
    # the whole match is the folder (a lookahead, no group: sqlglot drops a group argument of 1 for Trino,
    # whose regexp_extract would then return the whole match)
    found = exp.RegexpExtract(this=exp.column("$path", quoted=True), expression=exp.Literal.string(
        f"{folder}(?=/[^/]*$)"))
    value = exp.StrToTime(this=found, format=exp.Literal.string("".join(fmt)))
    select = exp.select(*[exp.column(c, table="f") for c in columns],
                        exp.alias_(exp.cast(value, "TIMESTAMP"), partitioning.column)).from_(
        exp.alias_(exp.table_(f"{table}_files", db=schema, catalog=catalog), "f", table=True))
    view = exp.Create(this=exp.table_(table, db=schema, catalog=catalog), kind="VIEW", replace=True,
                      expression=select)
    return view.sql(dialect="trino", pretty=True)
