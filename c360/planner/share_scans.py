"""Read once what a query reads twice: identical scans become one, materialized for every reference.

TPC-H Q11 reads ``partsupp``, ``supplier`` and ``nation`` in its query and again in its HAVING
subquery, with the same filters; Q2, Q15 and Q21 do the same. Each scan is a stream out of its
source (a JSON file parsed, a MariaDB statement run), so a query naming a table twice paid for it
twice. When two scans ask their source for the same rows (same connector and table, or the same
pushed statement; same filters, order and limit), the first is kept, asked for the columns of
both, and read once into a ``MATERIALIZED`` CTE that every reference reads::

    FROM __c360_scan_1 AS ps ... (SELECT ... FROM __c360_scan_4 AS ps2 ...)
    -> WITH __c360_shared_1 AS MATERIALIZED (SELECT * FROM __c360_scan_1)
       ... FROM __c360_shared_1 AS ps ... (SELECT ... FROM __c360_shared_1 AS ps2 ...)

DuckDB keeps the CTE's rows in its buffer manager (spilled under its memory limit). Scans that
join reductions restrict (consumers) are shared only when reduced alike (the same producers' keys
into the same columns: TPC-H Q2's two ``partsupp`` by the parts of one size), as their requests
are decided at run time; a producer may be, and the reductions it feeds then name the kept scan.
Run last, on the tree DuckDB will run, when every scan's request is final.
"""

from __future__ import annotations

import dataclasses

from sqlglot import exp

from c360.planner.context import PlanContext, ScanPlan

SHARED_PREFIX = "__c360_shared_"


def share_scans(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    """``expression`` reading each set of identical scans through one materialized CTE (unchanged when no
    two scans are alike, or when the statement cannot take a WITH)."""
    if not isinstance(expression, exp.Query):
        return expression
    references: dict[str, list[exp.Table]] = {}
    for table in expression.find_all(exp.Table):
        if not table.db and context.scan_for(table) is not None:
            references.setdefault(table.name, []).append(table)
    ctes = []
    for scans in _alike(context, references):
        kept, dropped = scans[0], scans[1:]
        shared = f"{SHARED_PREFIX}{len(ctes) + 1}"
        if kept.statement is None:
            wanted = {c.lower() for s in scans for c in s.columns}
            kept.columns = tuple(c.name for c in kept.table.columns if c.name.lower() in wanted)
        for scan in scans:
            for table in references[scan.name]:
                alias = table.alias or scan.name
                table.replace(exp.Table(this=exp.to_identifier(shared),
                                        alias=exp.TableAlias(this=exp.to_identifier(alias))))
        for scan in dropped:
            del context.scans[scan.name]
            _renamed_producer(context, scan.name, kept.name)
        kept.notes.append(f"read once for {sum(len(references[s.name]) for s in scans)} references "
                          f"(materialized as {shared})")
        ctes.append(exp.CTE(this=exp.select("*").from_(kept.name), alias=exp.TableAlias(
            this=exp.to_identifier(shared)), materialized=True))
    if not ctes:
        return expression
    with_ = expression.args.get("with_") or expression.args.get("with")
    if with_ is not None:
        with_.set("expressions", ctes + list(with_.expressions))
    else:
        expression.set("with_" if "with_" in type(expression).arg_types else "with", exp.With(expressions=ctes))
    return expression


def _alike(context: PlanContext, references: dict):
    """Each set of two or more scans asking the same of their source, the first kept. Scans reduced alike
    (the same producers, into the same columns) are alike too; as sharing producers renames them in their
    consumers' reductions, the sets are looked for again until none is found (a scan already kept for one
    set joins no other)."""
    kept = set()
    while True:
        alike: dict[tuple, list[ScanPlan]] = {}
        for scan in context.scans.values():
            if scan.name in references and scan.name not in kept:
                alike.setdefault((request(scan), tuple(scan.reductions)), []).append(scan)
        found = [scans for scans in alike.values() if len(scans) > 1]
        if not found:
            return
        kept.add(found[0][0].name)
        yield found[0]


def request(scan: ScanPlan) -> tuple:
    """What ``scan`` asks its source for, columns aside (a shared plain scan reads the union of them)."""
    if scan.statement is not None:
        what = ("statement", scan.statement.sql(dialect="duckdb"), scan.columns)
    else:
        what = ("table", scan.table.name, scan.table.remote_name)
    return (
        scan.source,
        id(scan.connector),
        what,
        tuple(f.sql(dialect="duckdb") for f in scan.filters),
        tuple(f.sql(dialect="duckdb") for f in scan.superset_filters),
        tuple(o.sql(dialect="duckdb") for o in scan.order_by),
        scan.limit,
    )


def _renamed_producer(context: PlanContext, old: str, new: str) -> None:
    for scan in context.scans.values():
        if any(r.producer == old for r in scan.reductions):
            scan.reductions = [dataclasses.replace(r, producer=new) if r.producer == old else r
                               for r in scan.reductions]
