"""Random queries over the fuzz world's schema, deterministic by seed.

:func:`generate` returns one :class:`Query` (DuckDB's SQL, its ``?`` parameters, and whether its
ORDER BY fixes the order of every row). Every query is built so that DuckDB's answer is fully
determined as a multiset (or as a list when ordered):

* ORDER BY … LIMIT orders by *every* output column, so the rows kept are fixed;
* window functions order by every plain output column, so rows that tie are identical rows;
* no ``string_agg``/``list`` (their order is free), no ``random()``, no ``now()``.

Shapes: projections and filters, joins (inner, left, right, full; same source and across sources;
on keys and on case-varied strings), semi/anti joins (EXISTS, IN, NOT EXISTS, NOT IN), GROUP BY with
HAVING, DISTINCT and count(DISTINCT), ORDER BY … LIMIT/OFFSET, CASE, arithmetic, LIKE/ILIKE,
BETWEEN, IN lists, scalar subqueries, CTEs, window functions and ``?`` parameters.

``avoid`` names shapes of open bugs (see :mod:`tests.fuzz.known_bugs`) the generator stays away
from, so a green run means "no new bug".
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import re
from dataclasses import dataclass, field

from tests.fuzz.world import SCHEMA, Column

#: shapes of open bugs, each with a strict xfail reproducer in tests/fuzz/known_bugs.py
KNOWN_BUGS = frozenset({
    "decimal_in_correlated",  # DuckDB InternalException: DECIMAL filter inside a correlated subquery
})

NUMERIC = ("int", "dec", "float")
_SQL_TYPES = {"int": "BIGINT", "dec": "DECIMAL(18,3)", "float": "DOUBLE", "str": "VARCHAR", "date": "DATE",
              "ts": "TIMESTAMP", "bool": "BOOLEAN"}
STRINGS = ["Alice", "alice", "ALICE", "alice ", " alice", "Bob", "bob", "BOB ", "", "Émile", "o'hara", "Paris",
           "paris", "PARIS ", " Lyon", "Lyon", "gold", "Gold", "GOLD ", "view", "VIEW", "view ", "open", "OPEN",
           "vip", "VIP", "vip ", "/home", "/cart ", "A", "a", "b ", "zz"]
PATTERNS = ["a%", "A%", "%e", "%e ", "%li%", "%LI%", "_lice", "% %", "%", "", "b_b", "%\\%%", "%o'h%", "/%", "v%"]


@dataclass
class Relation:
    """Something in a FROM clause: an alias and its columns (a table, a CTE or a derived table)."""

    alias: str
    columns: tuple[Column, ...]
    nan: frozenset = frozenset()


@dataclass
class Query:
    sql: str
    params: list = field(default_factory=list)
    ordered: bool = False


class Generator:
    def __init__(self, rng: random.Random, avoid: frozenset[str] = KNOWN_BUGS):
        self.rng = rng
        self.avoid = avoid
        self.aliases = 0
        self.params: dict[int, object] = {}
        self.derived_depth = 0
        #: the one source this query reads (None: any); single-source queries are pushed whole
        self.source = rng.choice(["shop", "crm", None, None]) if rng.random() < 0.6 else None
        if self.source is None and rng.random() < 0.5:
            self.source = rng.choice(sorted({t.source for t in SCHEMA}))

    # --- helpers ---------------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def alias(self, stem: str = "t") -> str:
        self.aliases += 1
        return f"{stem}{self.aliases}"

    def columns(self, scope: list[Relation], kinds=None, *, filtering: bool = False):
        found = []
        for relation in scope:
            for column in relation.columns:
                if kinds is not None and column.kind not in kinds:
                    continue
                if filtering and "nan_filter" in self.avoid and column.name in relation.nan:
                    continue
                found.append((relation, column))
        return found

    def column(self, scope, kinds=None, *, filtering=False) -> tuple[str, str] | None:
        found = self.columns(scope, kinds, filtering=filtering)
        if not found:
            return None
        relation, column = self.rng.choice(found)
        return f"{relation.alias}.{column.name}", column.kind

    def param(self, value) -> str:
        token = f"\x00{len(self.params)}\x00"
        self.params[len(self.params)] = value
        return token

    def literal(self, kind: str, *, bindable: bool = True) -> str:
        rng = self.rng
        value: object
        if kind == "int":
            value = rng.choice([-1, 0, 1, 2, 3, 5, 7, 10, 25, 40, 100])
            text = str(value)
        elif kind == "dec":
            value = decimal.Decimal(rng.choice(["0.00", "12.50", "-3.25", "100.00", "250.125", "0.01", "999.99"]))
            text = str(value)
        elif kind == "float":
            value = rng.choice([0.0, 1.5, 50.0, -7.25, 100.0])
            text = f"{value!r}::DOUBLE"
        elif kind == "str":
            value = rng.choice(STRINGS)
            text = "'" + value.replace("'", "''") + "'"
        elif kind == "date":
            value = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(-20000, 300))
            text = f"DATE '{value.isoformat()}'"
        elif kind == "ts":
            value = dt.datetime(2026, 1, 1) + dt.timedelta(hours=rng.randint(-2000, 7500))
            text = f"TIMESTAMP '{value.isoformat(sep=' ')}'"
        else:
            value = rng.random() < 0.5
            text = "TRUE" if value else "FALSE"
        if bindable and kind in ("int", "dec", "str", "date") and self.chance(0.15):
            return self.param(value)
        return text

    # --- scalar expressions ----------------------------------------------------------------------

    def expr(self, scope, kind: str, depth: int = 0, *, filtering=False) -> str:
        """An expression of ``kind`` over the columns of ``scope`` (or a literal when none fits)."""
        picked = self.column(scope, [kind], filtering=filtering)
        if picked is None or depth > 2:
            if picked is None:
                return self.literal(kind, bindable=False)
            return picked[0]
        col = picked[0]
        roll = self.rng.random()
        if roll < 0.55:
            return col
        d = depth + 1
        if kind == "int":
            choices = [
                lambda: f"({self.expr(scope, 'int', d, filtering=filtering)} + {self.literal('int', bindable=False)})",
                lambda: f"({col} * 2)",
                lambda: f"({col} - {self.expr(scope, 'int', d, filtering=filtering)})",
                lambda: f"abs({col})",
                lambda: f"({col} % 3)",
                lambda: f"coalesce({col}, {self.literal('int', bindable=False)})",
                lambda: f"{self.rng.choice(['greatest', 'least'])}({col}, {self.literal('int', bindable=False)})",
                lambda: f"nullif({col}, {self.literal('int', bindable=False)})",
                lambda: f"({self._narrow(scope, col)} // 2)",
                lambda: f"sign({col})",
            ]
            if self.columns(scope, ["dec"]):
                choices.append(lambda: f"CAST({self.column(scope, ['dec'], filtering=filtering)[0]} AS BIGINT)")
            if self.columns(scope, ["bool"]):
                choices.append(lambda: f"CAST({self.column(scope, ['bool'], filtering=filtering)[0]} AS INTEGER)")
            if self.columns(scope, ["date"]) and self.chance(0.5):
                choices.append(lambda: f"date_diff('day', {self.column(scope, ['date'], filtering=filtering)[0]}, "
                                       f"{self.literal('date', bindable=False)})")
            if self.columns(scope, ["str"]):
                choices.append(lambda: f"length({self.expr(scope, 'str', d, filtering=filtering)})")
            if self.columns(scope, ["date", "ts"]):
                choices.append(lambda: f"{self.rng.choice(['year', 'month', 'day'])}("
                               f"{self.column(scope, ['date', 'ts'], filtering=filtering)[0]})")
        elif kind == "dec":
            choices = [
                lambda: f"({col} + 1.25)",
                lambda: f"({col} * 2)",
                lambda: f"round({col}, 1)",
                lambda: f"coalesce({col}, 0)",
                lambda: f"(-{col})",
                lambda: f"({col} - {self.expr(scope, 'dec', d, filtering=filtering)})",
                lambda: f"{self.rng.choice(['greatest', 'least'])}({col}, {self.literal('dec', bindable=False)})",
                lambda: f"round({col})",
                lambda: f"{self.rng.choice(['floor', 'ceil'])}({col})",
                lambda: f"({col} * {self.expr(scope, 'int', d, filtering=filtering)})",
            ]
        elif kind == "float":
            choices = [
                lambda: f"({col} * 0.5)",
                lambda: f"({col} + 1)",
                lambda: f"abs({col})",
                lambda: f"coalesce({col}, 0.0::DOUBLE)",
                lambda: f"round({col}, 1)",
                lambda: f"CAST({self.expr(scope, 'dec', d, filtering=filtering)} AS DOUBLE)",
            ]
            if self.columns(scope, ["dec"]):
                choices.append(lambda: f"({self.column(scope, ['dec'], filtering=filtering)[0]} / 3)")
            if self.columns(scope, ["int"]):
                choices.append(lambda: f"({self.column(scope, ['int'], filtering=filtering)[0]} / 4)")
        elif kind == "str":
            choices = [
                lambda: f"lower({col})",
                lambda: f"upper({col})",
                lambda: f"trim({col})",
                lambda: f"({col} || '-')",
                lambda: f"substring({col}, 1, 3)",
                lambda: f"coalesce({col}, 'none')",
                lambda: f"concat({col}, '|', {self.expr(scope, 'str', d, filtering=filtering)})",
                lambda: f"replace({col}, 'a', 'A')",
                lambda: f"nullif({col}, {self.literal('str', bindable=False)})",
                lambda: f"{self.rng.choice(['ltrim', 'rtrim'])}({col})",
                lambda: f"{self.rng.choice(['left', 'right'])}({col}, 2)",
                lambda: f"CAST({self.column(scope, ['int', 'date', 'bool'], filtering=filtering)[0]} AS VARCHAR)"
                if self.columns(scope, ["int", "date", "bool"]) else col,
            ]
        elif kind == "date":
            choices = [lambda: f"CAST({self.column(scope, ['ts'], filtering=filtering)[0]} AS DATE)"] \
                if self.columns(scope, ["ts"]) else [lambda: col]
            choices += [lambda: f"CAST({col} + INTERVAL {self.rng.randint(-40, 40)} DAY AS DATE)",
                        lambda: f"date_trunc('month', {col})::DATE",
                        lambda: f"{self.rng.choice(['greatest', 'least'])}({col}, "
                                f"{self.literal('date', bindable=False)})"]
        elif kind == "ts":
            choices = [lambda: f"date_trunc('{self.rng.choice(['day', 'hour', 'month', 'year'])}', {col})",
                       lambda: f"({col} + INTERVAL {self.rng.randint(-30, 30)} HOUR)",
                       lambda: f"({col} - INTERVAL 1 DAY)"]
        else:
            choices = [lambda: f"(NOT {col})", lambda: self.predicate(scope, d, subqueries=False)]
        if self.chance(0.12):
            condition = self.predicate(scope, d + 1, subqueries=False)
            return (f"CASE WHEN {condition} THEN {self.expr(scope, kind, d, filtering=filtering)} "
                    f"ELSE {self.literal(kind, bindable=False)} END")
        return self.rng.choice(choices)()

    # --- predicates ------------------------------------------------------------------------------

    def predicate(self, scope, depth: int = 0, *, in_or: bool = False, subqueries: bool = True,
                  correlated: bool = False) -> str:
        rng = self.rng
        roll = rng.random()
        if depth < 2 and roll < 0.18:
            op = rng.choice(["AND", "OR"])
            left = self.predicate(scope, depth + 1, in_or=in_or or op == "OR", subqueries=subqueries,
                                  correlated=correlated)
            right = self.predicate(scope, depth + 1, in_or=in_or or op == "OR", subqueries=subqueries,
                                   correlated=correlated)
            return f"({left} {op} {right})"
        if depth < 2 and roll < 0.22:
            inner = self.predicate(scope, depth + 1, in_or=in_or, subqueries=subqueries, correlated=correlated)
            return f"(NOT {inner})"
        if subqueries and depth < 2 and roll < 0.32:
            sub = self.subquery_predicate(scope)
            if sub:
                return sub
        kinds = [c.kind for _, c in self.columns(scope, filtering=True)]
        if correlated and "decimal_in_correlated" in self.avoid:
            kinds = [k for k in kinds if k != "dec"]
        if not kinds or self.chance(0.02):
            return "TRUE" if self.chance(0.5) else "(1 = 1)"
        kind = rng.choice(kinds + ["str"] * ("str" in kinds))
        picked = self.column(scope, [kind], filtering=True)
        left = self.expr(scope, kind, 1, filtering=True) if self.chance(0.3) else picked[0]
        shape = rng.random()
        if kind == "bool":
            shapes = [left, f"NOT {left}", f"{left} = {self.literal('bool')}", f"{left} IS NULL"]
            if not (in_or and "not_distinct_in_or" in self.avoid):  # IS TRUE is IS NOT DISTINCT FROM TRUE
                shapes += [f"{left} IS TRUE", f"{left} IS NOT FALSE"]
            return rng.choice(shapes)
        if shape < 0.35:
            op = rng.choice(["=", "<>", "<", "<=", ">", ">="])
            right = self.expr(scope, kind, 1, filtering=True) if self.chance(0.25) else self.literal(kind)
            return f"{left} {op} {right}"
        if shape < 0.45:
            return f"{left} IS {rng.choice(['', 'NOT '])}NULL"
        if shape < 0.52 and not (in_or and "not_distinct_in_or" in self.avoid):
            return f"{left} IS {rng.choice(['', 'NOT '])}DISTINCT FROM {self.literal(kind)}"
        if shape < 0.64:
            low, high = sorted([self.literal(kind, bindable=False), self.literal(kind, bindable=False)],
                               key=lambda text: text) if kind == "str" else (self.literal(kind), self.literal(kind))
            return f"{left} {rng.choice(['', 'NOT '])}BETWEEN {low} AND {high}"
        if shape < 0.78 and not (kind == "float" and "float_in_list" in self.avoid):
            items = [self.literal(kind) for _ in range(rng.randint(1, 4))]
            if self.chance(0.15):
                items.append("NULL")
            return f"{left} {rng.choice(['', 'NOT '])}IN ({', '.join(items)})"
        if kind == "str":
            pattern = rng.choice(PATTERNS)
            op = rng.choice(["LIKE", "NOT LIKE", "ILIKE", "LIKE"])
            escape = " ESCAPE '\\'" if "\\" in pattern else ""
            return f"{left} {op} '{pattern.replace(chr(39), chr(39) * 2)}'{escape}"
        return f"{left} {rng.choice(['=', '<', '>='])} {self.literal(kind)}"

    def subquery_predicate(self, scope) -> str | None:
        """EXISTS / NOT EXISTS / IN / NOT IN (subquery) on a shared key domain, or a scalar subquery comparison."""
        rng = self.rng
        keyed = [(r, c) for r, c in self.columns(scope) if c.domain]
        roll = rng.random()
        if keyed and roll < 0.75:
            relation, outer = rng.choice(keyed)
            partners = [(t, c) for t in self.tables() for c in t.columns if c.domain == outer.domain] or \
                [(t, c) for t in SCHEMA for c in t.columns if c.domain == outer.domain]
            if outer.kind == "str" and "mariadb_subquery_cache" in self.avoid:
                partners = [(t, c) for t, c in partners if t.source != "shop"]
            if not partners:
                return None
            table, inner = rng.choice(partners)
            alias = self.alias("s")
            inner_scope = [Relation(alias, table.columns, table.nan)]
            where = self.predicate(inner_scope, 1, subqueries=False, correlated=True) if self.chance(0.6) else None
            if roll < 0.4:
                condition = f"{alias}.{inner.name} = {relation.alias}.{outer.name}"
                if self.chance(0.25):
                    condition += f" AND {self.predicate(scope + inner_scope, 1, subqueries=False, correlated=True)}"
                if where:
                    condition += f" AND {where}"
                return f"{rng.choice(['', 'NOT '])}EXISTS (SELECT 1 FROM {table.qualified} {alias} WHERE {condition})"
            suffix = f" WHERE {where}" if where else ""
            if self.chance(0.25):
                suffix += (f" GROUP BY {alias}.{inner.name} "
                           f"HAVING count(*) {rng.choice(['>', '>=', '<'])} {rng.randint(1, 4)}")
            return (f"{relation.alias}.{outer.name} {rng.choice(['', 'NOT '])}IN "
                    f"(SELECT {alias}.{inner.name} FROM {table.qualified} {alias}{suffix})")
        numeric = self.column(scope, NUMERIC, filtering=True)
        if numeric is None:
            return None
        table = rng.choice(self.tables())
        inner = [c for c in table.columns if c.kind in NUMERIC]
        if not inner:
            return None
        alias = self.alias("s")
        function = rng.choice(["avg", "min", "max", "sum", "count"])
        where = self.predicate([Relation(alias, table.columns, table.nan)], 1, subqueries=False)
        return (f"{numeric[0]} {rng.choice(['<', '>', '='])} (SELECT {function}({alias}.{rng.choice(inner).name}) "
                f"FROM {table.qualified} {alias} WHERE {where})")

    # --- FROM ------------------------------------------------------------------------------------

    def tables(self):
        """The tables this query may read: all, or (half the time) one source's, so whole blocks are pushed."""
        return [t for t in SCHEMA if self.source is None or t.source == self.source]

    def table(self):
        table = self.rng.choice(self.tables())
        return table.qualified, Relation(self.alias(), table.columns, table.nan)

    def from_clause(self, ctes: list[Relation]) -> tuple[str, list[Relation]]:
        """A FROM clause of one to three relations joined on a shared key domain."""
        rng = self.rng
        pool = [(c.alias, Relation(self.alias(), c.columns, c.nan)) for c in ctes]
        if pool and self.chance(0.7):
            name, first = rng.choice(pool)
        elif self.derived_depth < 1 and self.chance(0.12):
            self.derived_depth += 1
            text, columns, _ = self.select([], top=False)
            self.derived_depth -= 1
            name = f"({text})"
            first = Relation(self.alias("d"), tuple(columns), frozenset(c.name for c in columns if c.kind == "float"))
        else:
            name, first = self.table()
        text = f"{name} {first.alias}"
        scope = [first]
        for _ in range(rng.choice([0, 1, 1, 1, 2, 2])):
            keyed = [(r, c) for r, c in self.columns(scope) if c.domain]
            if not keyed:
                break
            relation, outer = rng.choice(keyed)
            options = [(t.qualified, t.columns, t.nan, c) for t in self.tables() for c in t.columns
                       if c.domain == outer.domain]
            options += [(cte.alias, cte.columns, cte.nan, c) for cte in ctes for c in cte.columns
                        if c.domain == outer.domain]
            name, columns, nan, inner = rng.choice(options)
            joined = Relation(self.alias(), columns, nan)
            kind = rng.choice(["JOIN", "JOIN", "LEFT JOIN", "LEFT OUTER JOIN", "RIGHT JOIN", "FULL JOIN"])
            condition = f"{relation.alias}.{outer.name} = {joined.alias}.{inner.name}"
            if self.chance(0.2):
                condition += f" AND {self.predicate([joined], 1, subqueries=False)}"
            if self.chance(0.15):
                condition += f" AND {self.predicate(scope + [joined], 1, subqueries=False)}"
            if len(scope) == 1 and not ctes and self.chance(0.1):  # may be a cross product: only one per query
                condition = f"({condition} OR {self.predicate([joined], 1, subqueries=False, in_or=True)})"
            text += f" {kind} {name} {joined.alias} ON {condition}"
            scope.append(joined)
        return text, scope

    # --- SELECT ----------------------------------------------------------------------------------

    def outputs(self, scope, count: int) -> list[tuple[str, str]]:
        kinds = ["int", "int", "dec", "float", "str", "str", "date", "ts", "bool"]
        found = []
        for _ in range(count):
            kind = self.rng.choice(kinds)
            if not self.columns(scope, [kind]):
                kind = self.rng.choice([c.kind for _, c in self.columns(scope)])
            found.append((self.expr(scope, kind), kind))
        return found

    def select(self, ctes: list[Relation], *, top: bool) -> tuple[str, list[Column], bool]:
        """One SELECT block; returns its text, its output columns (o0, o1, …) and whether it is fully ordered."""
        rng = self.rng
        from_text, scope = self.from_clause(ctes)
        where = f" WHERE {self.predicate(scope)}" if self.chance(0.75) else ""
        shape = rng.random()
        columns: list[Column] = []
        items: list[str] = []
        tail = ""
        distinct = ""
        if shape < 0.4:  # aggregate
            keys = self.outputs(scope, rng.choice([0, 1, 1, 2]))
            if top and self.chance(0.1):
                keys.append(self.scalar_subquery(scope))  # a scalar subquery as a GROUP BY key
            for i, (text, kind) in enumerate(keys):
                items.append(f"{text} AS o{i}")
                columns.append(Column(f"o{i}", kind, self._domain(scope, text)))
            for _ in range(rng.randint(1, 3)):
                text, kind = self.aggregate(scope)
                items.append(f"{text} AS o{len(columns)}")
                columns.append(Column(f"o{len(columns)}", kind, wide=text.startswith("sum(")))
            if keys:
                grouped = ", ".join(self._group_key(i, t, scope) for i, (t, _) in enumerate(keys))
                tail += " GROUP BY " + ("ALL" if self.chance(0.2) else grouped)
            if self.chance(0.3):
                text, kind = self.aggregate(scope)
                right = "1" if text.startswith("count") else self.literal(kind if kind != "float" else "int")
                tail += f" HAVING {text} {rng.choice(['>', '>=', '<', '<>'])} {right}"
        else:
            plain = self.outputs(scope, rng.randint(1, 4))
            for i, (text, kind) in enumerate(plain):
                items.append(f"{text} AS o{i}")
                columns.append(Column(f"o{i}", kind, self._domain(scope, text)))
            if shape < 0.55:
                distinct = "DISTINCT "
            elif shape < 0.72:
                partition = self.column(scope)[0]
                for text, kind in self.window(scope, plain, partition):
                    items.append(f"{text} AS o{len(columns)}")
                    columns.append(Column(f"o{len(columns)}", kind, wide=text.startswith("sum(")))
            elif shape < 0.8 and top:
                text, kind = self.scalar_subquery(scope)
                items.append(f"{text} AS o{len(columns)}")
                columns.append(Column(f"o{len(columns)}", kind, wide=text.startswith("sum(")))
        ordered = False
        if self.chance(0.3):
            keys = ", ".join(f"{rng.choice([str(i + 1), f'o{i}'])}{rng.choice(['', ' DESC'])}"
                             f"{rng.choice(['', ' NULLS FIRST', ' NULLS LAST'])}"
                             for i in range(len(columns)))
            tail += f" ORDER BY {keys}"
            ordered = top
            if self.chance(0.8) or not top:
                tail += f" LIMIT {rng.choice([1, 3, 5, 10, 25])}"
                if self.chance(0.3):
                    tail += f" OFFSET {rng.choice([1, 2, 5])}"
        return f"SELECT {distinct}{', '.join(items)} FROM {from_text}{where}{tail}", columns, ordered

    def set_operation(self, text: str, columns: list[Column], ctes: list[Relation]) -> str:
        """``text`` UNION [ALL] / EXCEPT / INTERSECT another block with the same column kinds."""
        from_text, scope = self.from_clause(ctes)
        items = []
        for i, column in enumerate(columns):
            items.append(f"{self.expr(scope, column.kind)} AS o{i}" if self.columns(scope, [column.kind])
                         else f"CAST({self.literal(column.kind, bindable=False)} AS {_SQL_TYPES[column.kind]}) AS o{i}")
        where = f" WHERE {self.predicate(scope)}" if self.chance(0.6) else ""
        operator = self.rng.choice(["UNION", "UNION ALL", "EXCEPT", "INTERSECT", "UNION ALL"])
        return f"({text}) {operator} (SELECT {', '.join(items)} FROM {from_text}{where})"

    def _narrow(self, scope, col: str) -> str:
        """``col``, or a base integer when ``col`` is a sum of integers and the HUGEINT bug is avoided."""
        if "hugeint_via_arrow" not in self.avoid:
            return col
        wide = {f"{r.alias}.{c.name}" for r in scope for c in r.columns if c.wide}
        if col not in wide:
            return col
        narrow = [f"{r.alias}.{c.name}" for r in scope for c in r.columns if c.kind == "int" and not c.wide]
        return self.rng.choice(narrow) if narrow else "7"

    def _group_key(self, index: int, text: str, scope) -> str:
        """A GROUP BY key: its position, its output name (when no column of ``scope`` has that name), or itself."""
        roll = self.rng.random()
        if roll < 0.3 or "\x00" in text:
            return str(index + 1)
        if roll < 0.45 and not any(c.name.startswith("o") for r in scope for c in r.columns):
            return f"o{index}"
        return text

    def _domain(self, scope, text: str) -> str | None:
        for relation in scope:
            for column in relation.columns:
                if text == f"{relation.alias}.{column.name}":
                    return column.domain
        return None

    def aggregate(self, scope) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            return "count(*)", "int"
        if roll < 0.35:
            kind = rng.choice(["int", "str", "date", "dec"])
            return f"count({rng.choice(['', 'DISTINCT '])}{self.expr(scope, kind)})", "int"
        if roll < 0.45:
            return f"sum(CASE WHEN {self.predicate(scope, 1, subqueries=False)} THEN 1 ELSE 0 END)", "int"
        if roll < 0.75:
            kind = rng.choice(NUMERIC)
            function = rng.choice(["sum", "avg", "min", "max"])
            result = "float" if function == "avg" and kind != "dec" else kind
            if function == "avg" and kind == "dec":
                result = "float"
            return f"{function}({rng.choice(['', 'DISTINCT '])if function == 'sum' else ''}{self.expr(scope, kind)})", \
                result
        kind = rng.choice(["str", "date", "ts", "bool", "int"])
        return f"{rng.choice(['min', 'max'])}({self.expr(scope, kind)})", kind

    def window(self, scope, plain: list[tuple[str, str]], partition: str) -> list[tuple[str, str]]:
        """Window functions ordered by every plain output (``plain``): rows that tie are identical rows."""
        rng = self.rng
        order = ", ".join(text for text, _ in plain)
        over = f"OVER (PARTITION BY {partition} ORDER BY {order})"
        whole = f"OVER (PARTITION BY {partition})"
        numeric = self.column(scope, NUMERIC)
        choices = [
            (f"row_number() {over}", "int"),
            (f"rank() {over}", "int"),
            (f"dense_rank() {over}", "int"),
            (f"count(*) {whole}", "int"),
            (f"ntile(3) {over}", "int"),
            (f"count(*) OVER (PARTITION BY {partition} ORDER BY {order})", "int"),
            (f"first_value({plain[0][0]}) {over}", plain[0][1]),
            (f"lead({plain[0][0]}, 1) {over}", plain[0][1]),
            (f"percent_rank() {over}", "float"),
        ]
        if numeric:
            choices += [
                (f"sum({numeric[0]}) {whole}", numeric[1]),
                (f"max({numeric[0]}) {whole}", numeric[1]),
            ]
        running = next(((text, kind) for text, kind in plain if kind in NUMERIC), None)
        if running:
            choices.append((f"sum({running[0]}) OVER (PARTITION BY {partition} ORDER BY {order} "
                            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)", running[1]))
            choices.append((f"lag({running[0]}) {over}", running[1]))
        return rng.sample(choices, k=rng.randint(1, 2))

    def scalar_subquery(self, scope) -> tuple[str, str]:
        keyed = [(r, c) for r, c in self.columns(scope) if c.domain in ("person", "account")]
        rng = self.rng
        table = rng.choice(self.tables())
        alias = self.alias("s")
        inner = [c for c in table.columns if c.kind in NUMERIC]
        matching = [c for c in table.columns if keyed and c.domain == keyed[0][1].domain]
        value = f"max({alias}.{rng.choice(inner).name})" if inner else "count(*)"
        kind = next((c.kind for c in inner if value == f"max({alias}.{c.name})"), "int")
        if keyed and matching:
            relation, outer = keyed[0]
            return (f"(SELECT {value} FROM {table.qualified} {alias} "
                    f"WHERE {alias}.{matching[0].name} = {relation.alias}.{outer.name})"), kind
        return f"(SELECT {value} FROM {table.qualified} {alias})", kind


def generate(seed: int, avoid: frozenset[str] = KNOWN_BUGS) -> Query:
    """The query of ``seed`` (the same seed gives the same query)."""
    rng = random.Random(seed)
    generator = Generator(rng, avoid)
    ctes: list[Relation] = []
    parts = []
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
        text, columns, _ = generator.select(ctes, top=False)
        name = f"c{len(ctes) + 1}"
        parts.append(f"{name} AS ({text})")
        ctes.append(Relation(name, tuple(columns), frozenset(c.name for c in columns if c.kind == "float")))
    text, columns, ordered = generator.select(ctes, top=True)
    if not ordered and rng.random() < 0.12:
        text = generator.set_operation(text, columns, ctes)
    sql = (f"WITH {', '.join(parts)} " if parts else "") + text
    params = []

    def bind(match: re.Match) -> str:
        params.append(generator.params[int(match.group(1))])
        return "?"

    sql = re.sub("\x00(\\d+)\x00", bind, sql)
    return Query(sql, params, ordered)
