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
    #: a pushed fragment (:mod:`c360.planner.push_fragments`): the whole SELECT the source runs, over its
    #: own tables; ``table`` is then the fragment's output, and ``covers`` the source tables it reads
    statement: exp.Select | None = None
    covers: tuple[str, ...] = ()
    #: for a fragment: output column -> the remote expression a reduction may restrict (a row-level column)
    reducible: dict = field(default_factory=dict)
    #: for a fragment: whether its WHERE pins a column to constants (it is probably small)
    selective: bool = False
    #: for a fragment: the rows it is expected to return (from its tables' statistics), None if unknown
    estimate: float | None = None
    #: for a fragment: whether a filter (not only join conditions) restricts its rows
    filtered: bool = False

    @property
    def exact(self) -> bool:
        return not self.superset_filters

    @property
    def table_name(self) -> str:
        """The source table read, or for a fragment the tables it joins (``orders + order_items``)."""
        if self.statement is not None:
            return " + ".join(name.split(".", 1)[1] for name in self.covers)
        return self.table.name

    @property
    def qualified_name(self) -> str:
        if self.statement is not None:
            return " + ".join(self.covers)
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
    #: Set when a rule rewrote the query itself (pushed fragments): DuckDB then runs the analysed tree,
    #: with the user's column names restored.
    rewritten: bool = False
    #: The result's column names as qualify spelled ``SELECT *`` out (None: ask DuckDB)
    star_names: list | None = None
    #: Counters for fragment aliases, and for scan names (never reused when fragments replace scans).
    fragments: int = 0
    named: int = 0
    #: Whether push_fragments may rewrite the query (False: the fallback plan).
    allow_fragments: bool = True
    #: The scans as resolve_tables bound them, before fragments replaced some (to name the output columns).
    original_scans: list = field(default_factory=list)
    #: ``() -> duckdb cursor`` on the engine's connection (its functions registered), for binding; None: a
    #: connection of the planner's own
    cursor: object = None
    #: usable accelerated copies by view or ``source.table`` name (:mod:`c360.acceleration.choose`)
    copies: dict = field(default_factory=dict)
    #: the copies the plan reads (:func:`c360.planner.use_copies.copy_reference` appends)
    used_copies: list = field(default_factory=list)

    def binder_cursor(self):
        return self.cursor() if self.cursor is not None else None

    def new_scan_name(self) -> str:
        self.named += 1
        return f"{SCAN_PREFIX}{self.named}"

    def scan_for(self, table: exp.Table) -> ScanPlan | None:
        return self.scans.get(table.name) if table.name.startswith(SCAN_PREFIX) else None
