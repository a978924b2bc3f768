"""Run one generated query through c360 and the oracle and compare; explain a difference fully.

Answers are compared as multisets (as lists when the query's ORDER BY fixes every row's place):
doubles within a relative tolerance (``NaN`` equals ``NaN``, ``-0.0`` equals ``0.0``), DECIMALs and
everything else exactly, and the kind of each column (integer, decimal, double, string, …) must
agree. A query the oracle itself rejects (a generator slip, a division by zero) is *invalid*, not a
failure; a query DuckDB answers and c360 refuses is a failure. So is a query the oracle takes more
than :data:`ORACLE_SECONDS` over or that returns more than :data:`MAX_ROWS` rows: skewed keys make
joins of joins explode, and such a query must not reach c360 (or the machine's memory).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import threading
from dataclasses import dataclass

import pyarrow as pa

from tests.fuzz.generate import KNOWN_BUGS, Query, generate

REL_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-9
SHOWN_ROWS = 20
#: the oracle's time per query; slower queries are judged invalid (not run through c360)
ORACLE_SECONDS = 5.0
#: the most rows a query may return; bigger answers are judged invalid (not run through c360)
MAX_ROWS = 50_000


@dataclass
class Outcome:
    seed: int
    query: Query
    status: str  # "ok", "invalid" (the oracle rejects it) or "fail"
    report: str = ""
    seconds: float = 0.0


def kind(arrow_type: pa.DataType) -> str:
    """The kind of a result column, as far as two engines must agree on it."""
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_decimal(arrow_type):
        return "decimal" if arrow_type.scale else "integer"
    if pa.types.is_floating(arrow_type):
        return "double"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    return str(arrow_type).split("[")[0]


def _sort_key(value):
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float, decimal.Decimal)):
        number = float(value)
        if math.isnan(number):
            return (3, 0)
        return (2, float(f"{number:.6g}"))
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return (4, value.isoformat())
    return (5, repr(value))


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float, decimal.Decimal)) or not isinstance(b, (int, float, decimal.Decimal)):
            return False
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return a == b


def _rows(table: pa.Table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


def differences(got: pa.Table, expected: pa.Table, *, ordered: bool) -> str:
    """What differs between two answers ('' when they agree)."""
    if got.column_names != expected.column_names:
        return f"columns differ: c360 {got.column_names}, oracle {expected.column_names}"
    kinds = [(name, kind(g.type), kind(e.type)) for name, g, e in zip(got.column_names, got.schema, expected.schema)]
    wrong = [f"{name}: c360 {g}, oracle {e}" for name, g, e in kinds if g != e]
    if wrong:
        return "column kinds differ: " + "; ".join(wrong)
    got_rows, expected_rows = _rows(got), _rows(expected)
    if len(got_rows) != len(expected_rows):
        return f"row counts differ: c360 {len(got_rows)}, oracle {len(expected_rows)}" + _extra(got_rows, expected_rows)
    if not ordered:
        got_rows = sorted(got_rows, key=lambda row: tuple(map(_sort_key, row)))
        expected_rows = sorted(expected_rows, key=lambda row: tuple(map(_sort_key, row)))
    for index, (g, e) in enumerate(zip(got_rows, expected_rows)):
        if len(g) != len(e) or not all(_same(a, b) for a, b in zip(g, e)):
            return f"{'row' if ordered else 'sorted row'} {index} differs: c360 {g!r}, oracle {e!r}" + \
                _extra(got_rows, expected_rows)
    return ""


def _extra(got_rows, expected_rows) -> str:
    """Rows only one side has (by exact value; doubles within tolerance may show up on both)."""
    def counted(rows):
        counts: dict = {}
        for row in rows:
            key = tuple(map(_sort_key, row))
            counts.setdefault(key, []).append(row)
        return counts
    got, expected = counted(got_rows), counted(expected_rows)
    only_got = [row for key, rows in got.items() for row in rows[len(expected.get(key, [])):]]
    only_expected = [row for key, rows in expected.items() for row in rows[len(got.get(key, [])):]]
    return (f"\n  only in c360 ({len(only_got)}): {only_got[:SHOWN_ROWS]!r}"
            f"\n  only in oracle ({len(only_expected)}): {only_expected[:SHOWN_ROWS]!r}")


def _show(table: pa.Table) -> str:
    rows = _rows(table)
    text = "\n".join(f"    {row!r}" for row in rows[:SHOWN_ROWS])
    more = f"\n    … {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return f"{table.num_rows} rows {table.schema.types}\n{text}{more}"


def _received(world, query: Query, scans) -> str:
    if scans is None:  # c360 failed: what it planned to send, from EXPLAIN
        try:
            cursor = world.connection.cursor()
            cursor.execute("EXPLAIN " + query.sql, query.params or None)
            return "\n".join("    " + str(row[-1]) for row in cursor.fetchall())
        except Exception as error:  # noqa: BLE001 - the report must come out whatever EXPLAIN does
            return f"    (EXPLAIN failed too: {type(error).__name__}: {error})"
    return "\n".join(f"    {scan.source}.{scan.table} ({scan.rows} rows): {scan.sent}" for scan in scans)


def reproducer(seed: int, query: Query) -> str:
    """A test to paste into tests/fuzz/test_regressions.py (or a planner test) for this query."""
    return (f"def test_fuzz_seed_{seed}(fuzz_world):\n"
            f"    check_query(fuzz_world, {query.sql!r},\n"
            f"                {query.params!r}, ordered={query.ordered})\n")


def run(world, seed: int, avoid: frozenset[str] = KNOWN_BUGS) -> Outcome:
    """Generate the query of ``seed``, run it on both sides, and judge."""
    import time

    query = generate(seed, avoid)
    started = time.perf_counter()
    # a query whose joins blow up (the generator does not bound them) is invalid, not run through c360
    timer = threading.Timer(ORACLE_SECONDS, world.oracle.interrupt)
    timer.start()
    try:
        # counted first: a skewed join of joins can reach 10^8 rows, which must never be materialised
        [(count,)] = world.oracle.execute(f"SELECT count(*) FROM ({query.sql})", query.params).fetchall()
        if count > MAX_ROWS:
            return Outcome(seed, query, "invalid", f"oracle: {count} rows (more than {MAX_ROWS})")
        expected = world.expected(query.sql, query.params)
    except Exception as error:  # noqa: BLE001 - any oracle refusal makes the query invalid
        return Outcome(seed, query, "invalid", f"oracle: {type(error).__name__}: {error}")
    finally:
        timer.cancel()
    got = scans = None
    try:
        got, scans = world.c360(query.sql, query.params or None)
        problem = differences(got, expected, ordered=query.ordered)
    except Exception as error:  # noqa: BLE001 - every c360 error is a finding
        problem = f"c360 raised {type(error).__module__}.{type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    if not problem:
        return Outcome(seed, query, "ok", seconds=seconds)
    report = (
        f"FUZZ FAILURE seed={seed}  (rerun: python -m tests.fuzz --seed {seed} --queries 1 --verbose)\n"
        f"  sql: {query.sql}\n  params: {query.params!r}\n  ordered: {query.ordered}\n"
        f"  problem: {problem}\n"
        f"  c360: {_show(got) if got is not None else '(no answer)'}\n"
        f"  oracle: {_show(expected)}\n"
        f"  sources received:\n{_received(world, query, scans)}\n"
        f"  as a test:\n{reproducer(seed, query)}"
    )
    return Outcome(seed, query, "fail", report, seconds)


def check_query(world, sql: str, params=None, *, ordered: bool = False) -> None:
    """Assert c360 and the oracle agree on ``sql`` (the body of a pasted reproducer)."""
    expected = world.expected(sql, params)
    got, scans = world.c360(sql, params or None)
    problem = differences(got, expected, ordered=ordered)
    assert not problem, problem + "\n  sources received:\n" + "\n".join(f"    {s.source}: {s.sent}" for s in scans)


def run_for(world, seeds, seconds: float) -> tuple[list[Outcome], list[str]]:
    """``(outcomes, failure reports)`` of the queries of ``seeds``, stopping once ``seconds`` have passed."""
    import time

    started, outcomes = time.perf_counter(), []
    for seed in seeds:
        outcomes.append(run(world, seed))
        if time.perf_counter() - started > seconds:
            break
    return outcomes, [o.report for o in outcomes if o.status == "fail"]
