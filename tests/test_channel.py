"""c360.channel: batches in order, memory bounded, the rest on disk, nothing left behind."""

from __future__ import annotations

import os
import queue
import threading
import time

import pyarrow as pa
import pytest

from c360.channel import Channel
from c360.errors import OperationalError, SourceError

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.decimal128(12, 2))])


def batch(start: int, rows: int = 1000) -> pa.RecordBatch:
    ids = list(range(start, start + rows))
    return pa.RecordBatch.from_arrays(
        [pa.array(ids, pa.int64()), pa.array([f"name {i} \U0001F600" for i in ids]),
         pa.array([None if i % 7 == 0 else i for i in ids], pa.decimal128(12, 2))],
        schema=SCHEMA,
    )


def drain(channel: Channel) -> list[pa.RecordBatch]:
    batches = []
    while (item := channel.get(timeout=5)) is not None:
        batches.append(item)
    return batches


def spill_files(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.startswith("c360-spill-")]


def test_batches_come_out_in_order_from_memory_and_disk(tmp_path):
    sent = [batch(i * 1000) for i in range(40)]
    channel = Channel(SCHEMA, memory_bytes=sent[0].nbytes * 3, spill_dir=str(tmp_path))
    for item in sent:
        channel.put(item)
    channel.finish()
    assert 36 <= channel.stats.spilled_batches <= 38  # about three kept in memory, the rest written out
    assert channel.stats.peak_memory_bytes <= sent[0].nbytes * 3
    received = drain(channel)
    assert [b.to_pylist() for b in received] == [b.to_pylist() for b in sent]
    assert all(b.schema == SCHEMA for b in received)


def test_put_never_waits_for_a_consumer(tmp_path):
    channel = Channel(SCHEMA, memory_bytes=1 << 20, spill_dir=str(tmp_path))
    started = time.monotonic()
    for i in range(300):  # ~12 MB with nobody reading: a bounded queue would block here forever
        channel.put(batch(i * 1000))
    channel.finish()
    assert time.monotonic() - started < 30
    assert channel.stats.spilled_bytes > 10 << 20
    assert sum(b.num_rows for b in drain(channel)) == 300_000


def test_the_consumer_reads_while_the_producer_spills(tmp_path):
    channel = Channel(SCHEMA, memory_bytes=1, spill_dir=str(tmp_path))  # every batch after the first spills

    def produce():
        for i in range(200):
            channel.put(batch(i * 100, rows=100))
        channel.finish()

    producer = threading.Thread(target=produce)
    producer.start()
    ids = [i for b in drain(channel) for i in b.column(0).to_pylist()]
    producer.join()
    assert ids == list(range(20_000))
    assert channel.stats.spilled_batches > 0


def test_the_spill_file_never_shows_in_the_folder_and_is_released_on_close(tmp_path):
    channel = Channel(SCHEMA, memory_bytes=1, spill_dir=str(tmp_path))
    for i in range(5):
        channel.put(batch(i * 1000))
    assert channel.spilling
    descriptor = channel._file
    assert os.fstat(descriptor).st_size > 0 and os.fstat(descriptor).st_nlink == 0  # unlinked, held open
    assert spill_files(tmp_path) == []
    channel.close()
    assert not channel.spilling
    with pytest.raises(OSError):
        os.fstat(descriptor)
    assert channel.get(timeout=1) is None  # closed: nothing more to read


def test_the_spill_file_is_emptied_once_every_spilled_batch_is_read(tmp_path):
    channel = Channel(SCHEMA, memory_bytes=1, spill_dir=str(tmp_path))
    for i in range(10):
        channel.put(batch(i * 1000))
    assert os.fstat(channel._file).st_size > 0
    for _ in range(10):
        channel.get(timeout=1)
    assert os.fstat(channel._file).st_size == 0
    channel.put(batch(10_000))  # keeps working after the truncation
    channel.put(batch(11_000))
    channel.finish()
    assert [b.column(0)[0].as_py() for b in drain(channel)] == [10_000, 11_000]
    channel.close()


def test_a_failure_reaches_the_consumer(tmp_path):
    channel = Channel(SCHEMA, spill_dir=str(tmp_path))
    channel.put(batch(0))
    channel.fail(SourceError("Source 'shop' (mysql at 127.0.0.1:3306) closed the connection"))
    with pytest.raises(SourceError, match="closed the connection"):
        channel.get(timeout=1)


def test_get_waits_then_says_empty(tmp_path):
    channel = Channel(SCHEMA, spill_dir=str(tmp_path))
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        channel.get(timeout=0.2)
    assert time.monotonic() - started >= 0.2


def test_close_wakes_a_waiting_consumer(tmp_path):
    channel = Channel(SCHEMA, spill_dir=str(tmp_path))
    outcome = {}
    consumer = threading.Thread(target=lambda: outcome.setdefault("item", channel.get(timeout=10)))
    consumer.start()
    time.sleep(0.2)
    channel.close()
    consumer.join(2)
    assert not consumer.is_alive() and outcome == {"item": None}


def test_an_unusable_spill_folder_is_named(tmp_path):
    missing = tmp_path / "no-such-folder"
    channel = Channel(SCHEMA, memory_bytes=1, spill_dir=str(missing))
    channel.put(batch(0))  # the first batch always fits in memory
    with pytest.raises(OperationalError, match=f"cannot spill a stream to {missing}: No such file or directory"):
        channel.put(batch(1000))


# --- the engine: a stream DuckDB reads late is not dropped by its source ----------------------------


@pytest.fixture(scope="module")
def stalling_shop(mariadb):
    """A slow table DuckDB reads first, and a wide one (~50 MB) it reads only after it."""
    shop = mariadb.child("streams_wait")
    shop.execute(
        "CREATE TABLE wide_rows (id INT PRIMARY KEY, payload TEXT NOT NULL)",
        "INSERT INTO wide_rows SELECT seq, REPEAT(MD5(seq), 8) FROM seq_1_to_200000",
        "CREATE TABLE keys_table (k INT PRIMARY KEY)",
        "INSERT INTO keys_table VALUES (0), (1), (2), (3), (4), (5)",
        "CREATE VIEW slow_keys AS SELECT k FROM keys_table WHERE SLEEP(1) = 0",  # ~6 s before the last row
    )
    return shop


@pytest.mark.parametrize("transport", ["duckdb", "pymysql"])
def test_a_stream_duckdb_reads_late_outlives_the_sources_write_timeout(stalling_shop, tmp_path, monkeypatch, transport):
    """DuckDB builds the semi join's hash table from ``slow_keys`` (6 s) before it reads ``wide_rows``;
    MariaDB gives up on a client that does not read for ``net_write_timeout`` (lowered to 3 s here, half the
    wait, so that a reader delayed by a busy machine is not mistaken for one that waits: at 2 s the pymysql
    reader, spilling 50 MB, was cut off once in five full CI runs).
    The wide stream is drained into its channel meanwhile, so the answer is complete."""
    import c360.engine
    from c360.catalog import Catalog
    from c360.engine import Engine
    from tests.projects import project

    monkeypatch.setenv("C360_STALL_PASSWORD", stalling_shop.password)
    monkeypatch.setattr(c360.engine, "CHANNEL_MEMORY_BYTES", 1 << 20)
    catalog = project(tmp_path, f"""
sources:
  shop:
    kind: mysql
    host: {stalling_shop.host}
    port: {stalling_shop.port}
    user: {stalling_shop.user}
    password: ${{ENV:C360_STALL_PASSWORD}}
    database: {stalling_shop.database}
    transport: {transport}
""")
    spill = tmp_path / "spill"
    spill.mkdir()
    engine = Engine(Catalog(catalog), views={}, spill_dir=str(spill))
    try:
        engine.catalog.connector("shop").net_write_timeout = 3
        execution = engine.execute(
            "SELECT count(*) AS n, sum(length(payload)) AS bytes FROM shop.wide_rows "
            "WHERE id % 6 IN (SELECT k FROM shop.slow_keys)"
        )
        rows = pa.Table.from_batches(list(execution.reader())).to_pylist()
        assert rows == [{"n": 200_000, "bytes": 200_000 * 256}]
        wide = next(i for i, s in enumerate(execution.plan.scans) if s.table_name == "wide_rows")
        assert execution._channels[wide].stats.spilled_bytes > 10 << 20  # it really waited, on disk
        assert os.listdir(spill) == []
    finally:
        engine.close()
