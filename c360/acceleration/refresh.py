"""Refreshing a copy: read the live answer through the engine and write a new data file next to the old one.

``full`` runs ``SELECT * FROM <table or view>`` on the live sources (``max_staleness = 0``:
a copy is never made from copies) and writes the rows, sorted by the declared key and indexed
on it, into a new DuckDB file. ``append`` reads only the rows whose watermark column is at or past the
last watermark minus ``overlap`` (late commits), keeps the newest row per key among them,
and writes a new file holding the previous copy's rows with those keys replaced. A view's
copy is its answer as of the refresh (``as_of`` unset: today), or as of a given date
(a *dated* copy, ``customer_360@2026-11-30``).

The new copy becomes visible only when its manifest is replaced (:mod:`.store`). When the
sources fail, the previous copy stays in place and its manifest records the error (``status``
shows it, the copy is marked stale); :func:`refresh` then raises the error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from sqlglot import exp

from c360.acceleration.choose import views_digest
from c360.acceleration.declaration import Acceleration
from c360.acceleration.store import (
    Manifest,
    Store,
    encode_schema,
    encode_value,
    sync_file,
    sync_folder,
)
from c360.errors import Error, InternalError
from c360.secrets import redact


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did: its copy, ``full`` or ``append``, rows read and rows in the copy, seconds."""

    copy: str
    mode: str
    rows_read: int
    rows: int
    bytes: int
    seconds: float


def copy_name(acceleration: Acceleration, as_of: dt.date | None) -> str:
    return f"{acceleration.name}@{as_of.isoformat()}" if as_of is not None else acceleration.name


def refresh(catalog, acceleration: Acceleration, *, views=None, as_of: dt.date | None = None,
            progress=None, full: bool = False) -> RefreshResult:
    """Refresh ``acceleration``'s copy (a dated copy with ``as_of``, views only); ``full`` forces a full read.

    ``progress(rows)`` is called as rows arrive. Raises the source's error after recording it.
    """
    from c360.engine import Engine

    if as_of is not None and not acceleration.is_view:
        raise Error(f"Only a view has dated copies; '{acceleration.name}' is a table")
    store = Store(catalog.project_dir)
    copy = copy_name(acceleration, as_of)
    with store.lock(copy):
        previous = store.read(copy)
        keep = {previous.file} if previous is not None and previous.file else set()
        store.clean(copy, keep)
        engine = Engine(catalog, views=views, owns_catalog=False)
        engine.max_staleness = 0.0
        engine.scan_timeout = acceleration.timeout
        temporary = None
        started = time.time()
        try:
            if as_of is not None:
                engine.execute("SET VARIABLE as_of = ?", [as_of])
            append = (acceleration.refresh == "append" and not full and previous is not None
                      and previous.file is not None and (store.folder / previous.file).exists())
            sql, params = _query(acceleration, previous if append else None)
            execution = engine.execute(sql, params)
            temporary, final = store.new_data_path(copy)
            counted = _Counter(progress)
            reader = pa.RecordBatchReader.from_batches(execution.schema, counted.wrap(execution.reader()))
            if append:
                shutil.copyfile(store.folder / previous.file, temporary)
            writer = duckdb.connect(str(temporary))
            try:
                _write(writer, reader, acceleration, append)
                rows = writer.execute("SELECT count(*) FROM data").fetchone()[0]
                watermark = None
                if acceleration.column:
                    watermark = writer.execute(f"SELECT max({_ident(acceleration.column)}) FROM data").fetchone()[0]
                schema = writer.execute("SELECT * FROM data LIMIT 0").to_arrow_table().schema
                columns = [[name, type_] for name, type_, *_ in writer.execute("DESCRIBE data").fetchall()]
                writer.execute("CHECKPOINT")
            finally:
                writer.close()
            sync_file(temporary)
            os.replace(temporary, final)
            sync_folder(store.folder)
            temporary = None
            manifest = Manifest(
                name=copy, file=final.name, refreshed_at=started,
                as_of=(as_of or dt.date.today()).isoformat() if acceleration.is_view else None,
                rows=rows, bytes=final.stat().st_size, seconds=time.time() - started, rows_read=counted.rows,
                mode="append" if append else "full", watermark=encode_value(watermark), columns=columns,
                schema=encode_schema(schema), views=views_digest(engine._views_key) if acceleration.is_view else None,
            )
            store.write(manifest)
            store.clean(copy, {final.name} | keep)
            return RefreshResult(copy, manifest.mode, counted.rows, rows, manifest.bytes, manifest.seconds)
        except (Error, duckdb.Error, OSError) as error:
            if temporary is not None:
                for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
            failed = previous or Manifest(name=copy)
            failed.last_error = redact(str(error).splitlines()[0] if str(error) else type(error).__name__)
            failed.error_at = time.time()
            store.write(failed)
            if isinstance(error, Error):
                raise
            raise InternalError(f"Refreshing the copy {copy} failed: {failed.last_error}") from None
        finally:
            engine.close()


def _query(acceleration: Acceleration, previous: Manifest | None) -> tuple[str, list | None]:
    """The live SELECT of a refresh: everything, or (append) the rows at or past the watermark minus overlap."""
    if previous is None or previous.watermark is None:
        return acceleration.query(), None
    low = previous.watermark_value()
    if isinstance(low, dt.datetime):
        low = low - dt.timedelta(seconds=acceleration.overlap)
    elif isinstance(low, dt.date):
        low = low - dt.timedelta(days=-(-acceleration.overlap // 86400))
    table = exp.table_(acceleration.table, db=acceleration.source, quoted=True)
    select = exp.select(exp.Star()).from_(table).where(
        exp.GTE(this=exp.column(acceleration.column, quoted=True), expression=exp.Placeholder())
    )
    return select.sql("duckdb"), [low]


#: DuckDB 1.5's compression methods that a copy declared ``compress: false`` is written without: a lookup by key
#: then fetches its row's values where they lie, instead of decoding (bit-unpacking, dictionary, FSST, ALP) a block
#: of values in each of its columns
COMPRESSION_METHODS = ("rle", "bitpacking", "dictionary", "fsst", "dict_fsst", "alp", "alprd", "chimp", "patas",
                       "zstd", "roaring")


def _write(writer: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader, acceleration: Acceleration,
           append: bool) -> None:
    writer.register("incoming", reader)
    if not acceleration.compress:  # every method but the two DuckDB cannot turn off (constant, uncompressed)
        writer.execute(f"SET disabled_compression_methods = '{','.join(COMPRESSION_METHODS)}'")
    keys = [_ident(k) for k in acceleration.key]
    order = f" ORDER BY {', '.join(keys)}" if keys else ""
    if not append:
        writer.execute(f"CREATE TABLE data AS SELECT * FROM incoming{order}")
        if keys:  # an ART index: a lookup by key reads one row, not a zone-mapped block of rows
            writer.execute(f"CREATE INDEX data_key ON data ({', '.join(keys)})")
        return
    newest = f"{_ident(acceleration.column)} DESC"
    writer.execute(
        f"CREATE TEMP TABLE fresh AS SELECT * FROM incoming "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)} ORDER BY {newest}) = 1"
    )
    matches = " AND ".join(f"fresh.{k} IS NOT DISTINCT FROM data.{k}" for k in keys)
    writer.execute(f"DELETE FROM data WHERE EXISTS (SELECT 1 FROM fresh WHERE {matches})")
    writer.execute("INSERT INTO data BY NAME SELECT * FROM fresh")


def _ident(name: str) -> str:
    """A declared column name as a quoted DuckDB identifier (generated by sqlglot, never formatted raw)."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


class _Counter:
    def __init__(self, progress):
        self.rows = 0
        self.progress = progress

    def wrap(self, batches):
        for batch in batches:
            self.rows += batch.num_rows
            if self.progress is not None:
                self.progress(self.rows)
            yield batch
