"""What the planner rules share: the catalog, and one :class:`ScanPlan` per source table reference."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from connectors.base import TableSchema

SCAN_PREFIX = "__c360_scan_"


@dataclass
class ScanPlan:
    """One table reference in the query, and what its source will be asked to do.

    ``name`` is what the reference becomes in the DuckDB query (a registered
    Arrow stream). ``filters`` are the pushed predicates (unqualified, source
    column names) and ``exact`` says whether every one of them is exact (a
    superset filter forbids pushing a limit). ``notes`` say what was not pushed
    and why; EXPLAIN prints them.
    """

    name: str
    source: str
    table: TableSchema
    alias: str
    connector: object
    columns: tuple[str, ...] = ()
    filters: list[exp.Expression] = field(default_factory=list)
    superset_filters: list[exp.Expression] = field(default_factory=list)
    order_by: tuple[exp.Ordered, ...] = ()
    limit: int | None = None
    notes: list[str] = field(default_factory=list)
    #: join reductions (:class:`c360.planner.reduce_joins.Reduction`) the engine may apply
    reductions: list = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.superset_filters

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.table.name}"


@dataclass
class PlanContext:
    catalog: object
    views: dict = field(default_factory=dict)
    #: ``SET VARIABLE`` values of the connection, as sqlglot literals.
    variables: dict = field(default_factory=dict)
    scans: dict[str, ScanPlan] = field(default_factory=dict)
    #: The statement DuckDB will run (tables bound, otherwise as written).
    output: exp.Expression | None = None

    def new_scan_name(self) -> str:
        return f"{SCAN_PREFIX}{len(self.scans) + 1}"

    def scan_for(self, table: exp.Table) -> ScanPlan | None:
        return self.scans.get(table.name) if table.name.startswith(SCAN_PREFIX) else None
