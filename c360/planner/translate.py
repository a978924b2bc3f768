"""Will the source take this? One expression, translated for one SQL source so it computes exactly
DuckDB's answer there, or refused with the reason.

:class:`Translator` walks a qualified sqlglot expression and returns the tree to
send (columns spelled as the source spells them, strings compared under an exact
collation where the column's own would not be, ``FILTER`` written as ``CASE``
where the dialect lacks it), or raises :class:`Untranslatable`. It accepts only
what it knows means the same in the source as in DuckDB:

* columns, literals (no NUL), typed date/timestamp literals DuckDB validated;
* ``AND``/``OR``/``NOT``, comparisons, ``IN`` lists, ``BETWEEN``, ``IS [NOT] NULL``,
  ``LIKE`` without ``ESCAPE``, ``EXISTS``/``IN (subquery)`` of the same source;
* ``+ - *`` on numbers (``/`` differs everywhere: integer division, decimal
  rounding to 4 places in MySQL, infinity in DuckDB: it stays local);
* ``CASE``, ``COALESCE``, ``SUBSTRING``, ``length`` (characters), ``||``,
  ``year``/``month``/``day``, ``CAST(timestamp AS DATE)``;
* aggregates ``count``, ``count(DISTINCT)``, ``sum``, ``min``, ``max`` (with
  ``FILTER``), where the caller allows them;
* window functions, where the caller allows them (``windows``): ``row_number``,
  ``rank``, ``dense_rank``, ``ntile(n)``, ``percent_rank``, ``cume_dist``,
  ``lag``/``lead`` (a default only where the dialect takes one), ``first_value``,
  ``last_value``, and ``count``/``sum``/``min``/``max`` over a window, with
  ``PARTITION BY``, ``ORDER BY`` (DuckDB's NULLS LAST spelled out: PostgreSQL
  says it, MySQL and T-SQL sort NULLs first ascending, so an ``IS NULL`` key goes
  first) and frames of ``ROWS`` with offsets or ``RANGE`` to the ends or the
  current row (the defaults are the same everywhere: the whole partition without
  ``ORDER BY``, up to the current row's last peer with it).

Strings are where engines differ most. DuckDB compares bytes: ``'web' <> 'WEB'``
and ``'x' <> 'x  '``. MySQL/MariaDB collations ignore case (and pad), so a string
operand from such a column is compared under a binary no-pad collation
(``utf8mb4_nopad_bin``), and equality keeps an index-friendly twin
(``c = 'x' AND c COLLATE utf8mb4_nopad_bin = 'x'``). PostgreSQL's equality is
exact but its ordering follows the locale, so ordering uses ``COLLATE "C"``.
SQLite compares bytes unless a column says ``NOCASE``; its ``LIKE`` ignores case,
so a pattern is sent as the equivalent ``GLOB``. T-SQL pads before comparing under every collation: string
comparisons stay local there.

Example (MySQL, ``o.status`` under ``utf8mb4_general_ci``)::

    o.status <> 'cancelled' AND o.total > 10
    -> o.`status` COLLATE utf8mb4_nopad_bin <> 'cancelled' AND o.`total` > 10
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from c360.planner.classify import is_constant
from c360.planner.parse import retyped

NUMBERS = ("int", "decimal", "float")
_TEMPORAL = ("date", "timestamp")
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ORDERING = (exp.GT, exp.GTE, exp.LT, exp.LTE)
#: dialects that have ``agg(...) FILTER (WHERE ...)``
_FILTER_CLAUSE = {"postgres"}
#: dialects whose string functions count characters and treat NULL as DuckDB does
_STRING_FUNCTIONS = {"mysql", "postgres", "sqlite"}
_DATE_PARTS = {"mysql", "postgres", "tsql"}


class Untranslatable(Exception):
    """The expression would not mean the same in the source; the message says why (for EXPLAIN)."""


@dataclass(frozen=True)
class Kind:
    """What an expression yields: ``name`` is int, decimal, float, string, date, timestamp, bool, null or
    other; for strings, ``column`` is the source column whose collation governs comparisons (None for a
    literal)."""

    name: str
    column: object = None


def duckdb_typed(function: exp.Expression, value: exp.Expression, kind: Kind) -> exp.Expression:
    """``value``, what a source returned for aggregate ``function`` of a ``kind``, typed as DuckDB types it:
    DuckDB's sum of integers is a HUGEINT; the source's arrives as DECIMAL(38,0), under which ``//`` gives a
    DOUBLE (fuzz seed 50396: 3331 // 2 was 1665.5). Used for GROUP BY and window sums alike."""
    if isinstance(function, exp.Sum) and kind.name == "int":
        return exp.cast(value, "HUGEINT")
    return value


def kind_of(arrow: pa.DataType) -> str:
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return "string"
    if pa.types.is_integer(arrow):
        return "int"
    if pa.types.is_decimal(arrow):
        return "decimal"
    if pa.types.is_floating(arrow):
        return "float"
    if pa.types.is_boolean(arrow):
        return "bool"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow) and arrow.tz is None:
        return "timestamp"
    return "other"


def _number(left: Kind, right: Kind) -> Kind:
    if "float" in (left.name, right.name):
        return Kind("float")
    if "decimal" in (left.name, right.name):
        return Kind("decimal")
    return Kind("int")


class Translator:
    """Translates expressions over the tables of one source, bound as ``alias -> ScanPlan``.

    ``outer`` resolves correlated references (a subquery's translator points at
    its parent's). ``exact_collation(column)`` is the connector's answer to "under
    which collation does ``=`` and ``<`` on this column compare bytes", or None.
    """

    def __init__(self, dialect: str, items: dict, *, exact_collation=None, outer: "Translator | None" = None,
                 subquery=None, windows: bool = False):
        self.dialect = dialect
        #: whether window functions may be sent (the source has them and the caller computes them there)
        self.windows = windows
        self.items = items
        self.exact_collation = exact_collation or (lambda column: None)
        self.outer = outer
        #: ``subquery(select, translator) -> exp.Select``: how nested queries of the same source are translated
        self.subquery = subquery
        #: aliases of ``items`` the translated expressions referenced
        self.used: set[str] = set()

    # --- entry points ---------------------------------------------------------------------------------

    def condition(self, node: exp.Expression) -> exp.Expression:
        translated, kind = self.translate(node)
        if kind.name not in ("bool", "null"):
            raise Untranslatable(f"{node.sql('duckdb')} is not a condition")
        return translated

    def translate(self, node: exp.Expression, *, aggregate: bool = False) -> tuple[exp.Expression, Kind]:
        """``(remote tree, kind)`` for ``node``; Untranslatable if the source would mean something else."""
        method = getattr(self, f"_{type(node).__name__.lower()}", None)
        if method is None:
            if isinstance(node, exp.AggFunc) and aggregate:
                return self._aggregate(node)
            raise Untranslatable(f"{_shown(node)} is not sent to {self.dialect}")
        return method(node, aggregate) if _takes_aggregate(method) else method(node)

    def comparable(self, translated: exp.Expression, kind: Kind, *, ordering: bool) -> exp.Expression:
        """A string operand wrapped so equality (and, with ``ordering``, order) is DuckDB's byte order."""
        if kind.name != "string" or kind.column is None:
            return translated
        column = kind.column
        if self.dialect == "mysql":
            collation = self.exact_collation(column)
            if collation is None:
                raise Untranslatable(f"no exact collation for {column.name} in {self.dialect}")
            return exp.Collate(this=_paren(translated), expression=exp.Var(this=collation))
        if self.dialect == "postgres":
            if not column.exact_strings:
                raise Untranslatable(f"{column.name} compares as {column.collation or 'padded text'} in postgres")
            if ordering:
                return exp.Collate(this=_paren(translated), expression=exp.to_identifier("C", quoted=True))
            return translated
        if self.dialect == "sqlite":
            if column.exact_strings:
                return translated
            return exp.Collate(this=_paren(translated), expression=exp.Var(this="BINARY"))
        raise Untranslatable(f"string comparisons are kept local for {self.dialect} (it pads before comparing)")

    # --- leaves ---------------------------------------------------------------------------------------

    def _column(self, node: exp.Column) -> tuple[exp.Expression, Kind]:
        alias = node.table.lower() if node.table else ""
        if alias in self.items:
            scan = self.items[alias]
            column = scan.table.column(node.name)
            if column is None:
                raise Untranslatable(f"unknown column {node.sql('duckdb')}")
            self.used.add(alias)
            name = kind_of(column.type)
            if name == "decimal" and self.dialect == "sqlite":
                name = "float"  # SQLite keeps DECIMAL values as REAL: its arithmetic and sums are not exact
            collated = column if name == "string" and (not column.exact_strings or self.dialect != "sqlite") else None
            return exp.column(column.name, table=alias, quoted=True), Kind(name, collated)
        if self.outer is not None:
            return self.outer._column(node)
        raise Untranslatable(f"{node.sql('duckdb')} belongs to another source")

    def _literal(self, node: exp.Literal) -> tuple[exp.Expression, Kind]:
        if node.is_string:
            if "\x00" in node.this:
                raise Untranslatable("a NUL character cannot be spelled in the source's SQL")
            return node.copy(), Kind("string")
        text = node.this
        if any(c in text.lower() for c in ("e", "inf", "nan")):
            return node.copy(), Kind("float")
        return node.copy(), Kind("decimal" if "." in text else "int")

    def _boolean(self, node: exp.Boolean) -> tuple[exp.Expression, Kind]:
        if self.dialect == "tsql":
            raise Untranslatable("T-SQL has no boolean literals")
        return node.copy(), Kind("bool")

    def _null(self, node: exp.Null) -> tuple[exp.Expression, Kind]:
        return exp.null(), Kind("null")

    def _paren(self, node: exp.Paren, aggregate: bool = False) -> tuple[exp.Expression, Kind]:
        inner, kind = self.translate(node.this, aggregate=aggregate)
        return exp.Paren(this=inner), kind

    def _neg(self, node: exp.Neg, aggregate: bool = False) -> tuple[exp.Expression, Kind]:
        inner, kind = self.translate(node.this, aggregate=aggregate)
        if kind.name not in NUMBERS:
            raise Untranslatable(f"{_shown(node)}: not a number")
        return exp.Neg(this=_paren(inner)), kind

    def _cast(self, node: exp.Cast, aggregate: bool = False) -> tuple[exp.Expression, Kind]:
        if is_constant(node):
            target = "date" if node.to.is_type(exp.DataType.Type.DATE) else "timestamp"
            return node.copy(), Kind(target)
        if node.meta.get("c360_invalid"):
            raise Untranslatable(f"{_shown(node)} is not a valid {node.to.sql('duckdb')}")
        inner, kind = self.translate(node.this, aggregate=aggregate)
        if node.to.is_type(exp.DataType.Type.DATE) and kind.name in _TEMPORAL and self.dialect != "sqlite":
            return exp.Cast(this=inner, to=exp.DataType.build("DATE")), Kind("date")
        if node.to.is_type(*exp.DataType.INTEGER_TYPES) and kind.name == "int":
            return inner, Kind("int")
        raise Untranslatable(f"{_shown(node)} is kept local")

    # --- logic and comparisons ------------------------------------------------------------------------

    def _and(self, node, aggregate: bool = False):
        left, right = self._bool(node.left, aggregate), self._bool(node.right, aggregate)
        return exp.And(this=left, expression=right), Kind("bool")

    def _or(self, node, aggregate: bool = False):
        left, right = self._bool(node.left, aggregate), self._bool(node.right, aggregate)
        return exp.Or(this=left, expression=right), Kind("bool")

    def _not(self, node, aggregate: bool = False):
        return exp.Not(this=_paren(self._bool(node.this, aggregate))), Kind("bool")

    def _bool(self, node, aggregate: bool) -> exp.Expression:
        translated, kind = self.translate(node, aggregate=aggregate)
        if kind.name not in ("bool", "null"):
            raise Untranslatable(f"{_shown(node)} is not a condition")
        return translated

    def _comparison(self, node: exp.Binary, aggregate: bool = False):
        left, left_kind = self.translate(node.left, aggregate=aggregate)
        right, right_kind = self.translate(node.right, aggregate=aggregate)
        self._compatible(left_kind, right_kind, node)
        left, left_kind = _as_timestamp(left, left_kind, right_kind)
        right, right_kind = _as_timestamp(right, right_kind, left_kind)
        ordering = isinstance(node, _ORDERING)
        strings = "string" in (left_kind.name, right_kind.name)
        exact = type(node)(this=self.comparable(left, left_kind, ordering=ordering),
                           expression=self.comparable(right, right_kind, ordering=ordering))
        if strings and self.dialect == "mysql" and isinstance(node, exp.EQ):
            # the column's own collation first: an index can find the candidates, the exact twin decides
            return exp.Paren(this=exp.And(this=type(node)(this=left, expression=right), expression=exact)), Kind("bool")
        return exact, Kind("bool")

    _eq = _neq = _gt = _gte = _lt = _lte = _comparison

    def _compatible(self, left: Kind, right: Kind, node) -> None:
        names = {left.name, right.name} - {"null"}
        if len(names) <= 1 and "other" not in names:
            return
        if names <= set(NUMBERS) or names <= set(_TEMPORAL):
            return
        raise Untranslatable(f"{_shown(node)} compares {left.name} with {right.name}")

    def _in(self, node: exp.In, aggregate: bool = False):
        if node.args.get("unnest") or node.args.get("field"):
            raise Untranslatable(f"{_shown(node)} is kept local")
        value, kind = self.translate(node.this, aggregate=aggregate)
        query = node.args.get("query")
        if query is not None:
            if self.subquery is None:
                raise Untranslatable("subqueries are kept local here")
            select = self.subquery(query.this if isinstance(query, exp.Subquery) else query, self)
            return exp.In(this=self.comparable(value, kind, ordering=False),
                          query=exp.Subquery(this=select)), Kind("bool")
        items = []
        for item in node.expressions:
            translated, item_kind = self.translate(item, aggregate=aggregate)
            self._compatible(kind, item_kind, node)
            items.append((translated, item_kind))
        exact = exp.In(this=self.comparable(value, kind, ordering=False),
                       expressions=[self.comparable(t, k, ordering=False) for t, k in items])
        if kind.name == "string" and self.dialect == "mysql":
            plain = exp.In(this=value, expressions=[t for t, _ in items])
            return exp.Paren(this=exp.And(this=plain, expression=exact)), Kind("bool")
        return exact, Kind("bool")

    def _between(self, node: exp.Between, aggregate: bool = False):
        value, kind = self.translate(node.this, aggregate=aggregate)
        low, low_kind = self.translate(node.args["low"], aggregate=aggregate)
        high, high_kind = self.translate(node.args["high"], aggregate=aggregate)
        self._compatible(kind, low_kind, node)
        self._compatible(kind, high_kind, node)
        def wrap(translated, kind):  # a collated bound is parenthesised: PostgreSQL's grammar wants it so
            wrapped = self.comparable(translated, kind, ordering=True)
            return exp.Paren(this=wrapped) if isinstance(wrapped, exp.Collate) else wrapped

        return exp.Between(this=self.comparable(value, kind, ordering=True), low=wrap(low, low_kind),
                           high=wrap(high, high_kind)), Kind("bool")

    def _is(self, node: exp.Is, aggregate: bool = False):
        if not isinstance(node.expression, exp.Null):
            raise Untranslatable(f"{_shown(node)} is kept local")
        value, _ = self.translate(node.this, aggregate=aggregate)
        result = exp.Is(this=value, expression=exp.null())
        return (exp.Not(this=result) if node.args.get("negate") else result), Kind("bool")

    def _like(self, node: exp.Like, aggregate: bool = False):
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string) or "\x00" in pattern.this:
            raise Untranslatable(f"{_shown(node)}: the pattern is not a plain string")
        value, kind = self.translate(node.this, aggregate=aggregate)
        if kind.name != "string":
            raise Untranslatable(f"{_shown(node)}: LIKE on a {kind.name}")
        if self.dialect == "mysql":
            collation = self.exact_collation(kind.column) if kind.column is not None else None
            if kind.column is not None and collation is None:
                raise Untranslatable(f"no exact collation for {kind.column.name} in mysql")
            if collation is not None:  # LIKE does not pad: a binary collation makes it exact
                binary = collation.replace("_nopad_bin", "_bin")
                value = exp.Collate(this=_paren(value), expression=exp.Var(this=binary))
        elif self.dialect == "sqlite":  # SQLite's LIKE ignores ASCII case; its GLOB is exact
            glob = exp.Glob(this=value, expression=exp.Literal.string(_glob_pattern(pattern.this)))
            return (exp.Not(this=glob) if node.args.get("negate") else glob), Kind("bool")
        elif self.dialect != "postgres":
            raise Untranslatable(f"LIKE ignores case in {self.dialect}")
        like = exp.Like(this=value, expression=exp.Literal.string(pattern.this))
        return (exp.Not(this=like) if node.args.get("negate") else like), Kind("bool")

    def _exists(self, node: exp.Exists, aggregate: bool = False):
        if self.subquery is None:
            raise Untranslatable("subqueries are kept local here")
        query = node.this.this if isinstance(node.this, exp.Subquery) else node.this
        return exp.Exists(this=self.subquery(query, self, exists=True)), Kind("bool")

    def _subquery(self, node: exp.Subquery, aggregate: bool = False):
        raise Untranslatable("scalar subqueries are kept local")

    # --- arithmetic and functions ---------------------------------------------------------------------

    def _arithmetic(self, node: exp.Binary, aggregate: bool = False):
        left, left_kind = self.translate(node.left, aggregate=aggregate)
        right, right_kind = self.translate(node.right, aggregate=aggregate)
        if left_kind.name not in NUMBERS or right_kind.name not in NUMBERS:
            raise Untranslatable(f"{_shown(node)}: arithmetic on {left_kind.name} and {right_kind.name}")
        return type(node)(this=_paren(left), expression=_paren(right)), _number(left_kind, right_kind)

    _add = _sub = _mul = _arithmetic

    def _coalesce(self, node: exp.Coalesce, aggregate: bool = False):
        parts = [self.translate(e, aggregate=aggregate) for e in [node.this, *node.expressions]]
        kind = self._common([k for _, k in parts], node)
        return exp.Coalesce(this=parts[0][0], expressions=[t for t, _ in parts[1:]]), kind

    def _case(self, node: exp.Case, aggregate: bool = False):
        if node.this is not None:
            raise Untranslatable("CASE x WHEN … is kept local")
        ifs, kinds = [], []
        for branch in node.args.get("ifs") or []:
            condition = self._bool(branch.this, aggregate)
            value, kind = self.translate(branch.args["true"], aggregate=aggregate)
            ifs.append(exp.If(this=condition, true=value))
            kinds.append(kind)
        default = node.args.get("default")
        if default is not None:
            translated, kind = self.translate(default, aggregate=aggregate)
            kinds.append(kind)
            default = translated
        return exp.Case(ifs=ifs, default=default), self._common(kinds, node)

    def _common(self, kinds: list[Kind], node) -> Kind:
        names = {k.name for k in kinds} - {"null"}
        if not names:
            return Kind("null")
        if names <= set(NUMBERS):
            return _number(*([k for k in kinds if k.name != "null"] * 2)[:2]) if len(names) > 1 else Kind(names.pop())
        if len(names) == 1:
            name = names.pop()
            columns = {k.column for k in kinds if k.column is not None}
            return Kind(name, columns.pop() if len(columns) == 1 else None if not columns else _Mixed())
        raise Untranslatable(f"{_shown(node)} mixes {', '.join(sorted(names))}")

    def _substring(self, node: exp.Substring, aggregate: bool = False):
        if self.dialect not in _STRING_FUNCTIONS:
            raise Untranslatable(f"SUBSTRING is kept local for {self.dialect}")
        value, kind = self.translate(node.this, aggregate=aggregate)
        start = node.args.get("start")
        length = node.args.get("length")
        if kind.name != "string" or not _positive_int(start) or (length is not None and not _positive_int(length)):
            raise Untranslatable(f"{_shown(node)} is kept local")
        return exp.Substring(this=value, start=start.copy(), length=length.copy() if length else None), kind

    def _length(self, node: exp.Length, aggregate: bool = False):
        if self.dialect not in _STRING_FUNCTIONS:
            raise Untranslatable(f"length() is kept local for {self.dialect}")
        value, kind = self.translate(node.this, aggregate=aggregate)
        if kind.name != "string":
            raise Untranslatable(f"{_shown(node)} is kept local")
        return exp.Length(this=value), Kind("int")

    def _dpipe(self, node: exp.DPipe, aggregate: bool = False):
        if self.dialect not in _STRING_FUNCTIONS:
            raise Untranslatable(f"|| is kept local for {self.dialect}")
        left, left_kind = self.translate(node.left, aggregate=aggregate)
        right, right_kind = self.translate(node.right, aggregate=aggregate)
        if left_kind.name != "string" or right_kind.name != "string":
            raise Untranslatable(f"{_shown(node)} is kept local")
        return exp.DPipe(this=left, expression=right, safe=True), Kind("string", _Mixed())

    def _date_part(self, value_node, shown, aggregate: bool, part: str):
        if self.dialect not in _DATE_PARTS:
            raise Untranslatable(f"{part}() is kept local for {self.dialect}")
        value, kind = self.translate(value_node, aggregate=aggregate)
        if kind.name not in _TEMPORAL:
            raise Untranslatable(f"{_shown(shown)} is kept local")
        return exp.Extract(this=exp.var(part.upper()), expression=value), Kind("int")

    def _year(self, node, aggregate: bool = False):
        return self._date_part(node.this, node, aggregate, "year")

    def _month(self, node, aggregate: bool = False):
        return self._date_part(node.this, node, aggregate, "month")

    def _day(self, node, aggregate: bool = False):
        return self._date_part(node.this, node, aggregate, "day")

    def _extract(self, node: exp.Extract, aggregate: bool = False):
        part = node.this.name.lower() if isinstance(node.this, (exp.Var, exp.Identifier)) else ""
        if part not in ("year", "month", "day"):
            raise Untranslatable(f"{_shown(node)} is kept local")
        return self._date_part(node.expression, node, aggregate, part)

    def _abs(self, node: exp.Abs, aggregate: bool = False):
        value, kind = self.translate(node.this, aggregate=aggregate)
        if kind.name not in NUMBERS:
            raise Untranslatable(f"{_shown(node)} is kept local")
        return exp.Abs(this=value), kind

    # --- window functions ---------------------------------------------------------------------------

    def _window(self, node: exp.Window, aggregate: bool = False):
        """``f(…) OVER (PARTITION BY … ORDER BY … frame)`` with DuckDB's frame, peers and NULL order."""
        if not self.windows:
            raise Untranslatable(f"{_shown(node)} is kept local")
        if node.args.get("alias") or (node.text("over") or "OVER").upper() != "OVER" or node.args.get("first"):
            raise Untranslatable(f"{_shown(node)}: a named window is kept local")
        function, spec = node.this, node.args.get("spec")
        order = node.args.get("order")
        keys = order.expressions if order is not None else []
        partition = []
        for key in [*(node.args.get("partition_by") or []), *(o.this for o in keys)]:
            if not any(True for _ in key.find_all(exp.Column, exp.AggFunc)):  # T-SQL/MySQL read a number as a position
                raise Untranslatable(f"{_shown(node)}: a constant window key is kept local")
        for key in node.args.get("partition_by") or []:
            translated, kind = self.translate(key, aggregate=aggregate)
            if kind.name not in (*NUMBERS, *_TEMPORAL, "string", "bool", "null"):
                raise Untranslatable(f"{_shown(node)}: partitions by a {kind.name}")
            partition.append(self.comparable(translated, kind, ordering=False))
        ordering = []
        for ordered in keys:
            ordering.extend(self._window_key(ordered, aggregate))
        remote, kind = self._window_function(function, aggregate, bool(keys), spec is not None)
        window = exp.Window(this=remote, partition_by=partition or None, over="OVER",
                            order=exp.Order(expressions=ordering) if ordering else None)
        if spec is not None:
            if not keys:
                raise Untranslatable(f"{_shown(node)}: a frame without ORDER BY is kept local")
            window.set("spec", _frame(spec, node))
        return window, kind

    def _window_key(self, ordered: exp.Ordered, aggregate: bool) -> list[exp.Ordered]:
        """One ORDER BY key of a window, NULLs placed as DuckDB places them (last unless told first)."""
        translated, kind = self.translate(ordered.this, aggregate=aggregate)
        if kind.name not in (*NUMBERS, *_TEMPORAL, "string", "bool"):
            raise Untranslatable(f"{_shown(ordered)}: orders by a {kind.name}")
        desc = bool(ordered.args.get("desc"))
        nulls_first = bool(ordered.args.get("nulls_first"))
        key = self.comparable(translated, kind, ordering=True)
        if self.dialect == "postgres":
            return [exp.Ordered(this=key, desc=desc, nulls_first=nulls_first)]
        # MySQL/MariaDB and T-SQL sort NULL as the smallest value and have no NULLS FIRST/LAST: a key
        # that is 1 for NULL comes first; the value's own key then keeps the order the source gives it
        is_null = exp.Is(this=translated.copy(), expression=exp.null())
        flag = exp.Case(ifs=[exp.If(this=is_null, true=exp.Literal.number(0 if nulls_first else 1))],
                        default=exp.Literal.number(1 if nulls_first else 0))
        return [exp.Ordered(this=flag, nulls_first=True), exp.Ordered(this=key, desc=desc, nulls_first=not desc)]

    def _window_function(self, function, aggregate: bool, ordered: bool, framed: bool) -> tuple[exp.Expression, Kind]:
        ranking = {exp.RowNumber: "int", exp.Rank: "int", exp.DenseRank: "int", exp.Ntile: "int",
                   exp.PercentRank: "float", exp.CumeDist: "float"}
        name = _shown(function)
        if type(function) in ranking or isinstance(function, (exp.Lag, exp.Lead)):
            if not ordered:
                raise Untranslatable(f"{name} OVER without ORDER BY is kept local")
            if framed:
                raise Untranslatable(f"{name} with a frame is kept local")
        if type(function) in ranking:
            if isinstance(function, exp.Ntile):
                if not _positive_int(function.this):
                    raise Untranslatable(f"{name}: the bucket count is not a positive integer")
                return exp.Ntile(this=function.this.copy()), Kind("int")
            if function.args.get("expressions") or function.args.get("this"):
                raise Untranslatable(f"{name} is kept local")
            return type(function)(), Kind(ranking[type(function)])
        if isinstance(function, (exp.Lag, exp.Lead)):
            value, kind = self.translate(function.this, aggregate=aggregate)
            offset, default = function.args.get("offset"), function.args.get("default")
            if offset is not None and not (_positive_int(offset) or _zero(offset)):
                raise Untranslatable(f"{name}: the offset is not a non-negative integer")
            remote = type(function)(this=value, offset=offset.copy() if offset is not None else None)
            if default is not None and not isinstance(default, exp.Null):
                if self.dialect == "mysql":
                    raise Untranslatable(f"{name}: MariaDB's {type(function).__name__.upper()} takes no default")
                fallback, fallback_kind = self.translate(default, aggregate=aggregate)
                if not is_constant(default) or not (fallback_kind.name == kind.name or
                                                    {fallback_kind.name, kind.name} <= {"int", "decimal"}):
                    raise Untranslatable(f"{name}: the default is not a constant of the value's type")
                remote.set("offset", offset.copy() if offset is not None else exp.Literal.number(1))
                remote.set("default", fallback)
            return remote, kind
        if isinstance(function, (exp.FirstValue, exp.LastValue)):
            value, kind = self.translate(function.this, aggregate=aggregate)
            return type(function)(this=value), kind
        if isinstance(function, (exp.Count, exp.Sum, exp.Min, exp.Max)):
            if isinstance(function.this, exp.Distinct):
                raise Untranslatable(f"{name}: DISTINCT in a window is kept local")
            # the window's own aggregate: its argument may hold the block's aggregates (after GROUP BY)
            return self._aggregate(function, arguments_aggregate=aggregate)
        raise Untranslatable(f"{name} OVER (…) is kept local")

# --- aggregates -----------------------------------------------------------------------------------

    def _filter(self, node: exp.Filter, aggregate: bool = False):
        """``agg(x) FILTER (WHERE c)``: kept where the dialect has it, else ``agg(CASE WHEN c THEN x END)``."""
        if not aggregate or not isinstance(node.this, exp.AggFunc):
            raise Untranslatable(f"{_shown(node)} is kept local")
        condition = node.expression.this if isinstance(node.expression, exp.Where) else node.expression
        if self.dialect in _FILTER_CLAUSE:
            inner, kind = self._aggregate(node.this)
            return exp.Filter(this=inner, expression=exp.Where(this=self._bool(condition, False))), kind
        function = node.this
        argument = function.this
        distinct = isinstance(argument, exp.Distinct)
        if distinct:
            if len(argument.expressions) != 1:
                raise Untranslatable(f"{_shown(node)} is kept local")
            argument = argument.expressions[0]
        if isinstance(argument, exp.Star) or argument is None:
            argument = exp.Literal.number(1)
        case = exp.Case(ifs=[exp.If(this=condition.copy(), true=argument.copy())])
        rewritten = function.copy()
        rewritten.set("this", exp.Distinct(expressions=[case]) if distinct else case)
        return self._aggregate(rewritten)

    def _aggregate(self, node: exp.AggFunc, arguments_aggregate: bool = False) -> tuple[exp.Expression, Kind]:
        """``arguments_aggregate``: the arguments may be aggregates themselves (a window over groups)."""
        # T-SQL's COUNT and SUM of INT are INT: they fail past 2**31 where DuckDB's BIGINT and HUGEINT go on
        big = {"big_int": True} if self.dialect == "tsql" else {}
        if isinstance(node, exp.Count):
            argument = node.this
            if isinstance(argument, exp.Star) or argument is None:
                return exp.Count(this=exp.Star(), **big), Kind("int")
            if isinstance(argument, exp.Distinct):
                if len(argument.expressions) != 1:
                    raise Untranslatable(f"{_shown(node)} is kept local")
                value, kind = self.translate(argument.expressions[0], aggregate=arguments_aggregate)
                value = self.comparable(value, kind, ordering=False)
                return exp.Count(this=exp.Distinct(expressions=[value]), **big), Kind("int")
            value, _ = self.translate(argument, aggregate=arguments_aggregate)
            return exp.Count(this=value, **big), Kind("int")
        if isinstance(node, (exp.Sum, exp.Min, exp.Max)):
            argument = node.this
            if isinstance(argument, exp.Distinct):
                raise Untranslatable(f"{_shown(node)} is kept local")
            value, kind = self.translate(argument, aggregate=arguments_aggregate)
            if isinstance(node, exp.Sum):
                if kind.name not in ("int", "decimal"):
                    raise Untranslatable(f"{_shown(node)}: the sum of a {kind.name} is kept local")
                if kind.name == "int" and self.dialect == "tsql":
                    value = exp.cast(value, "BIGINT")
                return exp.Sum(this=value), kind
            if kind.name not in (*NUMBERS, *_TEMPORAL, "string", "bool"):
                raise Untranslatable(f"{_shown(node)} is kept local")
            if kind.name == "bool" and self.dialect in ("postgres", "tsql"):
                raise Untranslatable(f"{_shown(node)}: {self.dialect} has no min/max of booleans")
            return type(node)(this=self.comparable(value, kind, ordering=True)), kind
        raise Untranslatable(f"{_shown(node)} is kept local")


def _as_timestamp(node: exp.Expression, kind: Kind, other: Kind) -> tuple[exp.Expression, Kind]:
    """A DATE literal compared with a timestamp becomes that day's midnight, as DuckDB casts it (SQLite
    compares the text, where '2026-01-01' and '2026-01-01 00:00:00' differ)."""
    if kind.name == "date" and other.name == "timestamp" and is_constant(node):
        midnight = exp.cast(exp.Literal.string(f"{node.this.this} 00:00:00"), "TIMESTAMP")
        return retyped(midnight, node, "TIMESTAMP"), Kind("timestamp")
    return node, kind


class _Mixed:
    """The collation of a string built from several columns: only an exact dialect compares it."""

    name = "an expression"
    exact_strings = False
    collation = None


_BOUNDS = {("UNBOUNDED", "PRECEDING"): 0, ("n", "PRECEDING"): 1, ("CURRENT ROW", ""): 2, ("n", "FOLLOWING"): 3,
           ("UNBOUNDED", "FOLLOWING"): 4}


def _frame(spec: exp.WindowSpec, node) -> exp.WindowSpec:
    """A window frame every dialect here reads as DuckDB does: ``ROWS`` between ends, the current row or
    constant offsets; ``RANGE`` between ends and the current row (an offset RANGE needs a single numeric key,
    and the NULL key of MySQL and T-SQL makes two); never ``GROUPS`` or ``EXCLUDE``; never an empty frame."""
    kind = (spec.text("kind") or "").upper()
    if kind not in ("ROWS", "RANGE") or spec.args.get("exclude"):
        raise Untranslatable(f"{_shown(node)}: the frame is kept local")
    start, start_side = spec.args.get("start"), (spec.text("start_side") or "").upper()
    end, end_side = spec.args.get("end"), (spec.text("end_side") or "").upper()
    if end is None:
        end, end_side = "CURRENT ROW", ""

    def bound(value, side):
        text = value.upper() if isinstance(value, str) else None
        if text in ("UNBOUNDED", "CURRENT ROW"):
            return _BOUNDS.get((text, side if text == "UNBOUNDED" else "")), text, None
        if kind == "ROWS" and (_positive_int(value) or _zero(value)) and side in ("PRECEDING", "FOLLOWING"):
            return _BOUNDS[("n", side)], value.copy(), int(value.this)
        raise Untranslatable(f"{_shown(node)}: the frame bound is kept local")

    first, start_value, start_offset = bound(start, start_side)
    last, end_value, end_offset = bound(end, end_side)
    if first is None or last is None or first > last or first == 4 or last == 0:
        raise Untranslatable(f"{_shown(node)}: the frame is kept local")
    if first == last == 1 and start_offset < end_offset or first == last == 3 and start_offset > end_offset:
        raise Untranslatable(f"{_shown(node)}: an empty frame is kept local")
    return exp.WindowSpec(kind=kind, start=start_value, start_side=start_side or None, end=end_value,
                          end_side=end_side or None)


def _zero(node) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.this == "0"


def _glob_pattern(like: str) -> str:
    """A LIKE pattern as a GLOB pattern with the same meaning (DuckDB's LIKE has no escape character):
    ``%`` is ``*``, ``_`` is ``?``, and GLOB's own ``*``, ``?`` and ``[`` are bracketed to mean themselves."""
    out = []
    for char in like:
        if char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


def _takes_aggregate(method) -> bool:
    return method.__code__.co_argcount > 2


def _paren(node: exp.Expression) -> exp.Expression:
    if isinstance(node, (exp.Column, exp.Literal, exp.Paren, exp.Func, exp.Null, exp.Boolean)):
        return node
    return exp.Paren(this=node)


def _positive_int(node) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit() and int(node.this) > 0


def _shown(node) -> str:
    try:
        text = node.sql("duckdb")
    except Exception:  # noqa: BLE001 - only for a message
        text = type(node).__name__
    return text if len(text) <= 80 else text[:77] + "..."
