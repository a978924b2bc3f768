"""The catalog's tables as Spark DataFrames, registered as temporary views named ``<source>__<table>``.

Nothing is read when a table is registered but what choosing its partitions needs; Spark reads
when a query runs, and only the tables a query names are registered (:meth:`SparkSources.register`).

* ``mysql`` tables are JDBC reads with the MariaDB driver and Spark's **MySQL dialect**
  (``jdbc:mysql://…?permitMysqlScheme``). With a ``jdbc:mariadb://`` URL Spark falls back to its
  generic dialect, quotes identifiers with double quotes, and MariaDB reads ``"customer_id"`` as a
  string constant: filters compare the constant and return no rows, projections return the column's
  name in every row. Never build that URL.
* ``odbc`` tables are JDBC reads with the database's own driver: PostgreSQL (``dialect: postgres``,
  which stands in for SQL Server in tests) or SQL Server (``dialect: tsql``, the Microsoft driver's
  jar added with ``--conf spark.jars=…``).
* JDBC reads are split into ranges of the table's integer key (the primary key's first column, else
  the first indexed integer column): ``partitionColumn``/``lowerBound``/``upperBound``/``numPartitions``
  from the key's MIN, MAX and the table's COUNT, asked of the source when the table is registered;
  one partition per ``rows_per_partition`` rows, at most ``max_partitions``. Spark pushes filters and
  the projection into each range's SELECT.
* ``json`` and ``blob`` tables are Spark file reads with the catalog's declared schema. A template
  partitioning (``{yyyy}/{MM}/{dd}/{HH}/``) becomes its TIMESTAMP column computed from each file's
  path; hive folders are Spark's own partition discovery. A blob source with a local ``path`` reads
  that folder; on Azure it reads ``abfss://<container>@<account>.dfs.core.windows.net/<prefix>``
  (docs/spark.md lists the Hadoop settings it needs).

Passwords are resolved from their ``${ENV:...}`` references when the read is built and travel only
as the JDBC ``password`` option, which Spark redacts: never in the URL, the plan or the session's
configuration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from c360.errors import CatalogError, ProgrammingError
from c360.secrets import resolve
from connectors.odbc import parse_connection_string

#: Rows per JDBC partition when none is given.
ROWS_PER_PARTITION = 250_000

#: The drivers and URLs per (kind, dialect).
MARIADB_DRIVER = "org.mariadb.jdbc.Driver"
POSTGRES_DRIVER = "org.postgresql.Driver"
SQLSERVER_DRIVER = "com.microsoft.sqlserver.jdbc.SQLServerDriver"

_FILE_FORMATS = {"jsonl": "json", "json": "json", "csv": "csv", "parquet": "parquet"}
_TEMPLATE_TOKENS = ("yyyy", "MM", "dd", "HH", "mm")


def view_name(source: str, table: str) -> str:
    """The temporary view a catalog table is registered as: ``shop.orders`` -> ``shop__orders``."""
    return f"{source}__{table}".lower()


@dataclass
class Read:
    """How one table is read: what tests, EXPLAIN-like output and the benchmark report."""

    source: str
    table: str
    kind: str
    #: JDBC: the URL (no secret in it) and the range partitioning chosen
    url: str | None = None
    partition_column: str | None = None
    bounds: tuple[int, int] | None = None
    rows: int | None = None
    partitions: int = 1
    #: files: the paths (or globs) handed to Spark
    paths: list[str] = field(default_factory=list)
    #: files: only the time folders a view's bounds allow (:mod:`c360.spark.pruning`)
    pruned: bool = False
    #: JDBC: the whole statement sent, for a fragment pushed to the source (:mod:`c360.spark.pushdown`)
    statement: str | None = None


@dataclass
class Jdbc:
    """A JDBC location: URL, driver, the properties (password included, never printed) and the
    sqlglot dialect identifiers are quoted in."""

    url: str
    driver: str
    user: str
    password: str = field(repr=False)
    dialect: str
    schema: str | None = None

    def options(self) -> dict:
        return {"url": self.url, "driver": self.driver, "user": self.user, "password": self.password,
                "preferTimestampNTZ": "true"}

    def table(self, name: str) -> str:
        return exp.table_(name, db=self.schema).sql(dialect=self.dialect, identify=True)


def mysql_location(source) -> Jdbc:
    """The JDBC location of a ``mysql`` source: the MySQL dialect's URL, the MariaDB driver."""
    options = source.options
    host, port = str(options.get("host") or "127.0.0.1"), int(options.get("port") or 3306)
    database = str(options.get("database") or "")
    return Jdbc(
        url=f"jdbc:mysql://{host}:{port}/{database}?permitMysqlScheme",
        driver=MARIADB_DRIVER,
        user=str(options.get("user") or ""),
        password=resolve(str(options.get("password") or ""), source=source.name),
        dialect="mysql",
    )


def odbc_location(source) -> Jdbc:
    """The JDBC location of an ``odbc`` source, from its ODBC connection string (Server, Port,
    Database, Uid, Pwd); only PostgreSQL and SQL Server have a JDBC counterpart."""
    options = source.options
    dialect = str(options.get("dialect") or "tsql").lower()
    pairs = parse_connection_string(str(options["connection_string"]))
    host = pairs.get("server", "127.0.0.1")
    if "," in host:  # SQL Server spells the port as Server=host,1433
        host, pairs["port"] = host.split(",", 1)
    database = pairs.get("database", "")
    user = pairs.get("uid") or pairs.get("user") or pairs.get("username") or ""
    password = resolve(pairs.get("pwd") or pairs.get("password") or "", source=source.name)
    if dialect == "postgres":
        return Jdbc(f"jdbc:postgresql://{host}:{pairs.get('port', '5432')}/{database}", POSTGRES_DRIVER,
                    user, password, "postgres", str(options.get("schema") or "public"))
    if dialect == "tsql":
        return Jdbc(f"jdbc:sqlserver://{host}:{pairs.get('port', '1433')};databaseName={database};encrypt=true",
                    SQLSERVER_DRIVER, user, password, "tsql", str(options.get("schema") or "dbo"))
    raise CatalogError(f"Source '{source.name}' (odbc, dialect {dialect}): Spark has no JDBC reading for this "
                       "dialect (postgres and tsql have one)")


def exact_strings(table: str, schema, dialect: str = "mysql") -> str:
    """``table``, or a derived table whose string columns compare as Spark compares (UTF-8 bytes).

    Spark pushes string filters (``status = 'cancelled'``, ``name < 'M'``) into the source and does
    not check them again. MySQL's default collations are case-insensitive and ignore trailing spaces,
    so the pushed filter would keep 'CANCELLED' and 'cancelled ' too: each string column is read as
    ``CAST(col AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_nopad_bin`` (MariaDB merges the derived
    table, so filters on other columns still use indexes). PostgreSQL's equality is exact but its
    ordering follows the database's locale: ``col COLLATE "C"``. SQL Server is left as is (its ``=``
    ignores trailing spaces under every collation; docs/spark.md).
    """
    strings = [c for c in schema.columns if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)]
    if not strings or dialect not in ("mysql", "postgres"):
        return table
    names = {c.name for c in strings}
    projection = []
    for column in schema.columns:
        ref = exp.column(column.name, quoted=True)
        projection.append(exp.alias_(_exact(ref, dialect) if column.name in names else ref, column.name, quoted=True))
    select = exp.select(*projection).from_(exp.to_table(table, dialect=dialect))
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("c360_exact"))).sql(
        dialect=dialect, identify=True)


def _exact(ref: exp.Expression, dialect: str) -> exp.Expression:
    """A string column compared byte for byte: ``utf8mb4_nopad_bin`` in MySQL, ``COLLATE "C"`` in PostgreSQL."""
    if dialect == "mysql":
        text = exp.Cast(this=ref, to=exp.DataType(this=exp.DataType.Type.CHARACTER_SET, kind=exp.var("utf8mb4")))
        return exp.Collate(this=text, expression=exp.var("utf8mb4_nopad_bin"))
    return exp.Collate(this=ref, expression=exp.to_identifier("C", quoted=True))


def exact_statement(sql: str, schema: pa.Schema, dialect: str = "mysql") -> str:
    """A statement as a derived table Spark reads (``dbtable``), its string columns compared byte for byte.

    Spark may push a later filter into the read (``WHERE k2 = 'Home'``) without checking it again: as in
    :func:`exact_strings`, each string column is cast to ``utf8mb4_nopad_bin`` (MySQL) or ``COLLATE "C"``
    (PostgreSQL) around the statement. The statement's text is embedded as generated by its connector
    (sqlglot, literals included), so what the source runs is what the engine would send.
    """
    inner = f"({sql}) AS {exp.to_identifier('c360_pushed', quoted=True).sql(dialect=dialect)}"
    strings = {f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
    if not strings or dialect not in ("mysql", "postgres"):
        return inner
    projection = []
    for field_ in schema:
        ref = exp.column(field_.name, quoted=True)
        ref = _exact(ref, dialect) if field_.name in strings else ref
        projection.append(exp.alias_(ref, field_.name, quoted=True).sql(dialect=dialect))
    return f"(SELECT {', '.join(projection)} FROM {inner}) AS " \
        + exp.to_identifier("c360_exact", quoted=True).sql(dialect=dialect)


def partition_key(schema) -> str | None:
    """The integer column JDBC ranges split on: the primary key's first column, else the first
    column an index starts with; None if neither is an integer."""
    candidates = list(schema.primary_key[:1]) + [index[0] for index in (schema.indexes or ()) if index]
    for name in candidates:
        column = schema.column(name)
        if column is not None and pa.types.is_integer(column.type):
            return column.name
    return None


def partition_count(rows: int, low: int, high: int, *, rows_per_partition: int, max_partitions: int) -> int:
    """How many key ranges: one per ``rows_per_partition`` rows, at most ``max_partitions`` and at most
    one per key value; 1 for an empty table."""
    if rows <= 0 or high < low:
        return 1
    return max(1, min(max_partitions, math.ceil(rows / rows_per_partition), high - low + 1))


def spark_type(arrow):
    """The Spark type of an Arrow type (timestamps without a zone stay TIMESTAMP_NTZ)."""
    from pyspark.sql.pandas.types import from_arrow_type

    if pa.types.is_large_string(arrow):
        arrow = pa.string()
    return from_arrow_type(arrow, prefer_timestamp_ntz=True)


class SparkSources:
    """Registers the catalog's tables in one SparkSession on demand; :attr:`reads` says how each is read."""

    def __init__(self, spark, catalog, *, rows_per_partition: int = ROWS_PER_PARTITION,
                 max_partitions: int | None = None, cache: bool = False):
        self.spark = spark
        self.catalog = catalog
        #: keep each table in the executors' memory (spilling to disk) once read: for a job that reads
        #: a table several times (customer_360 reads shop.orders three times, views at several dates)
        self.cache = cache
        self.rows_per_partition = rows_per_partition
        self.max_partitions = max_partitions or max(2, 2 * spark.sparkContext.defaultParallelism)
        self.reads: dict[str, Read] = {}
        self._persisted: list = []

    def register(self, source: str, table: str, *, window=None) -> str:
        """Register ``source.table`` (once) and return its temporary view's name. ``window``: inclusive
        ``(low, high)`` datetimes of a folder-template table, read from those periods' folders only (a view
        of its own, ``<source>__<table>__<low>_<high>``)."""
        name = view_name(source, table)
        if window is not None:
            name += "__" + "_".join(moment.strftime("%Y%m%d%H%M") for moment in window)
        if name not in self.reads:
            self._publish(name, *self.dataframe(source, table, window=window))
        return name

    def _publish(self, name: str, frame, read: Read) -> None:
        """``frame`` as the temporary view ``name`` (persisted first when the reads are cached), read as ``read``."""
        if self.cache:
            frame = frame.persist()
            self._persisted.append(frame)
        frame.createOrReplaceTempView(name)
        self.reads[name] = read

    def register_statement(self, source_name: str, sql: str, schema: pa.Schema, *, covers=(), split=None) -> str:
        """Register a JDBC read of one statement the source computes whole (a pushed fragment, ``sql`` in the
        source's dialect, ``schema`` its columns) as ``<source>__pushed_<n>``, once per statement; returns the
        name. ``split``: ``(output column, base table, base column)`` (:meth:`Pushdown.split_key`): the statement
        is read in ranges of that column, bounds and count from the base table as for a table's read; else in
        one partition."""
        for name, read in self.reads.items():
            if read.statement == sql and read.source == source_name:
                return name
        source = self.catalog.source(source_name)
        location = mysql_location(source) if source.kind == "mysql" else odbc_location(source)
        name = view_name(source_name, f"pushed_{sum(1 for r in self.reads.values() if r.statement) + 1}")
        read = Read(source_name, " + ".join(t.split(".", 1)[-1] for t in covers) or "(statement)", source.kind,
                    url=location.url, statement=sql)
        # customSchema: the types the engine reads the statement with; a computed DECIMAL's scale is not what
        # the driver says of a derived table (SUM(quantity * unit_price) came back as DECIMAL(38,0))
        types = ", ".join(f"`{f.name}` {spark_type(f.type).simpleString()}" for f in schema)
        reader = self.spark.read.format("jdbc").options(**location.options()).options(
            dbtable=exact_statement(sql, schema, location.dialect), customSchema=types)
        if source.timeout:
            reader = reader.option("queryTimeout", str(int(source.timeout)))
        if split is not None:
            output, table, key = split
            reader = self._in_ranges(reader, read, location, location.table(table), key, output)
        self._publish(name, reader.load(), read)
        return name

    def unpersist(self) -> None:
        """Drop the cached tables from the executors (their views stay, read again on use)."""
        for frame in self._persisted:
            frame.unpersist()
        self._persisted.clear()

    def template(self, source_name: str, table: str):
        """The ``{yyyy}/{MM}/{dd}/{HH}/`` partitioning of a file table, else None."""
        source = self.catalog.source(source_name)
        if source.kind not in ("json", "blob"):
            return None
        connector = self.catalog.connector(source.name)
        partitioning = getattr(connector, "inner", connector).layout(self.catalog.table(source_name, table).name) \
            .partitioning
        return partitioning if getattr(partitioning, "template", None) is not None else None

    def dataframe(self, source_name: str, table: str, *, window=None):
        """``(DataFrame, Read)`` for one catalog table (``window``: see :meth:`register`)."""
        source = self.catalog.source(source_name)
        schema = self.catalog.table(source_name, table)
        if source.kind == "mysql":
            return self._jdbc(source, schema, mysql_location(source))
        if source.kind == "odbc":
            return self._jdbc(source, schema, odbc_location(source))
        if source.kind in ("json", "blob"):
            return self._files(source, schema, window)
        raise ProgrammingError(f"Source '{source_name}' ({source.kind}): Spark cannot read this kind "
                               "(mysql, odbc, json and blob can)")

    # --- JDBC ------------------------------------------------------------------------------------

    def _jdbc(self, source, schema, location: Jdbc):
        remote = schema.remote_name[-1] if schema.remote_name else schema.name
        table = location.table(remote)
        dbtable = exact_strings(table, schema, location.dialect)
        read = Read(source.name, schema.name, source.kind, url=location.url)
        reader = self.spark.read.format("jdbc").options(**location.options()).option("dbtable", dbtable)
        if source.timeout:
            reader = reader.option("queryTimeout", str(int(source.timeout)))
        key = partition_key(schema)
        if key is not None:
            reader = self._in_ranges(reader, read, location, table, key, key)
        return reader.load(), read

    def _in_ranges(self, reader, read, location: Jdbc, table: str, key: str, column: str):
        """``reader`` split into ranges of ``column`` (``key`` of ``table`` in the source) when the key's
        statistics call for more than one partition; ``read`` records the choice."""
        low, high, rows = self._statistics(location, table, key)
        read.rows = rows
        if low is not None:
            read.partitions = partition_count(rows, low, high, rows_per_partition=self.rows_per_partition,
                                              max_partitions=self.max_partitions)
        if read.partitions > 1:
            read.partition_column, read.bounds = column, (low, high)
            reader = reader.options(partitionColumn=column, lowerBound=str(low), upperBound=str(high + 1),
                                    numPartitions=str(read.partitions))
        return reader

    def _statistics(self, location: Jdbc, dbtable: str, key: str) -> tuple[int | None, int | None, int]:
        """MIN and MAX of ``key`` and the row count, asked of the source in its own dialect."""
        column = exp.column(key, quoted=True)
        query = exp.select(
            exp.Min(this=column).as_("low"), exp.Max(this=column.copy()).as_("high"),
            exp.Count(this=exp.Star()).as_("n"),
        ).from_(exp.to_table(dbtable, dialect=location.dialect)).sql(dialect=location.dialect)
        row = self.spark.read.format("jdbc").options(**location.options()).option("query", query).load().first()
        low, high, rows = row[0], row[1], int(row[2] or 0)
        return (None if low is None else int(low)), (None if high is None else int(high)), rows

    # --- files -----------------------------------------------------------------------------------

    def _files(self, source, schema, window=None):
        from pyspark.sql import functions as F
        from pyspark.sql.types import StructField, StructType

        connector = self.catalog.connector(source.name)
        connector = getattr(connector, "inner", connector)  # an optional source's real connector
        layout = connector.layout(schema.name)
        data = [c for c in schema.columns if not getattr(c, "partition", False)]
        struct = StructType([StructField(c.name, spark_type(c.type), True) for c in data])
        root = self._root(source, connector)
        fmt = _FILE_FORMATS.get(layout.format)
        if fmt is None:
            raise CatalogError(f"Source '{source.name}': Spark cannot read '{layout.format}' files")
        read = Read(source.name, schema.name, source.kind)
        options = {"header": "true"} if fmt == "csv" else {}
        partitioning = layout.partitioning
        template = getattr(partitioning, "template", None)
        hive = partitioning is not None and template is None
        if layout.patterns and not hive:
            paths = []
            for pattern in layout.patterns:
                if "**" in pattern:  # Hadoop globs have no **: the folder before it, read recursively
                    paths.append(root + pattern.split("**", 1)[0])
                    options.update(recursiveFileLookup="true", pathGlobFilter=pattern.rsplit("/", 1)[-1])
                else:
                    paths.append(root + pattern)
        else:
            folders = partitioning.folders(*window) if template is not None and window is not None else None
            read.pruned = folders is not None
            paths = [root + layout.prefix + folder for folder in folders] if read.pruned else [root + layout.prefix]
            if read.pruned:  # the periods without a folder (no data then) are not an error
                paths = [path for path in paths if self._exists(path)]
            if template is not None:
                options["recursiveFileLookup"] = "true"
            if hive:
                options["basePath"] = root + layout.prefix
                struct = StructType(struct.fields + [StructField(c.name, spark_type(c.type), True)
                                                     for c in schema.columns if getattr(c, "partition", False)])
        paths = [p for p in paths if not _local_and_absent(p)]
        read.paths = paths
        if not paths:
            if not source.optional and not read.pruned:
                raise CatalogError(f"Source '{source.name}': table '{schema.name}' has no files under {root}")
            frame = self.spark.createDataFrame([], struct)
        else:
            frame = self.spark.read.format(fmt).schema(struct).options(**options).load(paths)
        if template is not None:  # no files: no _metadata column to read it from either
            column = _template_column(template, F) if paths else F.lit(None).cast("timestamp_ntz")
            frame = frame.withColumn(partitioning.column, column)
        return frame.select(*[c.name for c in schema.columns]), read

    def _exists(self, path: str) -> bool:
        """Whether a folder exists, asked of Hadoop's file system for its scheme (local, abfss://, ...)."""
        jvm = self.spark.sparkContext._jvm
        folder = jvm.org.apache.hadoop.fs.Path(path)
        return bool(folder.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).exists(folder))

    def _root(self, source, connector) -> str:
        """Where the source's files start, with a trailing ``/``: a local folder, or abfss:// on Azure."""
        folder = getattr(connector, "folder", None)
        if folder is not None:
            return Path(folder).as_uri() + "/"
        return azure_root(source)


def _local_and_absent(path: str) -> bool:
    """A local path (not a glob) that does not exist: an optional table without files."""
    if not path.startswith("file:") or any(ch in path for ch in "*?[{"):
        return False
    from urllib.parse import unquote, urlparse

    return not Path(unquote(urlparse(path).path)).exists()


def azure_root(source) -> str:
    """``abfss://<container>@<account>.dfs.core.windows.net/<prefix>/`` of a blob source on Azure."""
    options = source.options
    account = None
    url = resolve(options.get("account_url"), source=source.name) if options.get("account_url") else None
    if url:
        found = re.match(r"https?://([^./]+)\.blob\.", str(url))
        account = found.group(1) if found else None
    elif options.get("connection_string"):
        pairs = parse_connection_string(resolve(str(options["connection_string"]), source=source.name))
        account = pairs.get("accountname")
    if not account:
        raise CatalogError(f"Source '{source.name}' (blob): Spark needs the storage account's name "
                           "(account_url https://<account>.blob.core.windows.net or AccountName= in the connection "
                           "string), or a local 'path'")
    prefix = str(options.get("prefix") or "").strip("/")
    return f"abfss://{options['container']}@{account}.dfs.core.windows.net/" + (f"{prefix}/" if prefix else "")


def _template_column(template: str, F):
    """The TIMESTAMP_NTZ a ``{yyyy}/{MM}/{dd}/{HH}/`` path stands for, from ``_metadata.file_path``."""
    pattern, groups = [], []
    at = 0
    for match in re.finditer(r"\{(\w+)\}", template):
        pattern.append(re.escape(template[at:match.start()]))
        pattern.append(r"(\d{4})" if match.group(1) == "yyyy" else r"(\d{2})")
        groups.append(match.group(1))
        at = match.end()
    pattern.append(re.escape(template[at:]))
    regex = "/" + "".join(pattern) + "[^/]*$"
    path = F.col("_metadata.file_path")

    def part(token: str, default: int):
        if token not in groups:
            return F.lit(default)
        return F.regexp_extract(path, regex, groups.index(token) + 1).cast("int")

    return F.make_timestamp_ntz(part("yyyy", 1970), part("MM", 1), part("dd", 1), part("HH", 0), part("mm", 0),
                                F.lit(0))
