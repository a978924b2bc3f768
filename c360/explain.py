"""EXPLAIN [ANALYZE] as text: what DuckDB runs, and per source what was sent and why the rest was not.

:func:`render` takes a plan and the execution that prepared (or ran) it. Each scan shows the
source, the exact SQL or file list sent (after run-time join reductions, with ANALYZE), every
note the planner left (what stayed local and why, each alternative not taken), and with ANALYZE
the rows, bytes and seconds that came back; the last line is the result's rows and time.
"""

from __future__ import annotations

from c360.secrets import redact
from connectors.base import source_label


def notes_of(scan_plan, scan) -> tuple[str, ...]:
    """What the planner noted of a scan, then what its connector noted when it wrote the statement
    (an index hint, a forced join order), each once; a copy's direct scan notes nothing."""
    return tuple(dict.fromkeys([*scan_plan.notes, *getattr(scan, "notes", ())]))


def render(query_plan, execution, *, analyze: bool, result_rows: int | None = None,
           seconds: float | None = None) -> str:
    lines = ["DuckDB runs:", f"  {query_plan.sql}"]
    if query_plan.params:
        lines.append(f"  with parameters: {', '.join(redact(repr(v)) for v in query_plan.params)}")
    for scan_plan, scan in zip(query_plan.scans, execution.scans):
        lines.append(
            f"{scan_plan.qualified_name} AS {scan_plan.alias} -> {scan_plan.name}: "
            f"{source_label(scan_plan.connector)}"
        )
        lines.append(f"  sent: {scan.sent}")
        freshness = getattr(scan_plan.connector, "freshness", None)
        if freshness is not None:  # an accelerated copy: its age now, not when the plan was cached
            chosen = next((c for c in query_plan.copies if c.connector is scan_plan.connector), None)
            lines.append(f"  {freshness(chosen.bound if chosen is not None else None)}")
        for note in notes_of(scan_plan, scan):
            lines.append(f"  {note}")
        if analyze:
            stats = scan.stats
            lines.append(f"  analyze: rows={stats.rows} bytes={stats.bytes} seconds={stats.seconds:.3f}")
    if analyze:
        lines.append(f"result: rows={result_rows} seconds={seconds:.3f}")
    return "\n".join(lines)
