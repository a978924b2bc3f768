import datetime as dt
import decimal

import pytest

from c360.errors import ProgrammingError, ReadOnlyError, SqlSyntaxError
from c360.planner.parse import bind, parse


def test_syntax_errors_name_line_and_column():
    with pytest.raises(SqlSyntaxError, match=r"line 2, column \d+"):
        parse("SELECT 1\nFROM WHERE x")


@pytest.mark.parametrize("sql, verb", [
    ("INSERT INTO crm.customers VALUES (1)", "INSERT"),
    ("UPDATE crm.customers SET a = 1", "UPDATE"),
    ("DELETE FROM crm.customers", "DELETE"),
    ("DROP TABLE crm.customers", "DROP"),
    ("CREATE TABLE crm.x (a INT)", "CREATE"),
])
def test_writes_to_a_source_are_refused_naming_it(sql, verb):
    with pytest.raises(ReadOnlyError, match=f"Source 'crm' is read-only: {verb} is not allowed"):
        parse(sql)


def test_values_are_bound_as_literals_never_as_text():
    statement = bind(parse("SELECT ?, ?, ?, ?, ?, ?, ?"), [None, True, 3, 1.5, "a'; DROP TABLE x; --",
                                                          dt.date(2026, 1, 2), decimal.Decimal("1.10")])
    assert statement.sql(dialect="duckdb") == (
        "SELECT NULL, TRUE, 3, 1.5, 'a''; DROP TABLE x; --', CAST('2026-01-02' AS DATE), 1.10"
    )


def test_named_parameters():
    statement = bind(parse("SELECT :a, ':b'", named=True), {"a": 1})
    assert statement.sql(dialect="duckdb") == "SELECT 1, ':b'"


def test_wrong_parameter_counts_are_programming_errors():
    with pytest.raises(ProgrammingError, match="2 parameters but 1"):
        bind(parse("SELECT ?, ?"), [1])
    with pytest.raises(ProgrammingError, match="No value for parameter :b"):
        bind(parse("SELECT :b", named=True), {"a": 1})


def test_parameters_bind_in_textual_order_even_when_nested():
    statement = bind(parse("SELECT (?)::INT + 1, (?)"), [1, "a"])
    assert statement.sql(dialect="duckdb") == "SELECT CAST((1) AS INT) + 1, ('a')"


def test_a_parameter_the_planner_copies_stays_one_parameter_for_duckdb():
    """GROUP BY 1 spelled out copies the selected expression and its parameter: DuckDB must get one $1 in both
    places, or it does not see them as the same expression (found by the fuzzer, seed 1256)."""
    from c360.planner.parse import residual_sql

    statement = bind(parse("SELECT CASE WHEN x IN (?) THEN x END AS k FROM t GROUP BY 1"), [3])
    key = statement.selects[0].this
    statement.args["group"].expressions[0].replace(key.copy())
    sql, values = residual_sql(statement)
    assert sql.count("$1") == 2 and "$2" not in sql and values == [3]


def test_is_distinct_from_in_an_or_or_against_a_constant_is_spelt_so_duckdb_keeps_it_out_of_an_arrow_scan():
    """In an OR, or against a constant (a filter DuckDB itself may OR with another reference's, fuzz seed
    50640); a join's condition between two columns stays as written (a hash join's)."""
    import duckdb

    from c360.planner.parse import parse, residual_sql

    sql, _ = residual_sql(parse("SELECT 1 FROM s WHERE x IS DISTINCT FROM 2 OR x IS NOT DISTINCT FROM 3 OR b IS TRUE"))
    assert "DISTINCT" not in sql and " IS TRUE" not in sql
    sql, _ = residual_sql(parse("SELECT 1 FROM s WHERE x IS DISTINCT FROM 2 AND b IS TRUE"))
    assert "DISTINCT" not in sql and " IS TRUE" not in sql
    assert "IS DISTINCT FROM s.c" in residual_sql(parse("SELECT 1 FROM s, t WHERE t.x IS DISTINCT FROM s.c AND b"))[0]
    assert "IS NOT DISTINCT FROM (SELECT" in residual_sql(parse("SELECT 1 FROM s WHERE x IS NOT DISTINCT FROM "
                                                                 "(SELECT 1) OR x = 1"))[0]
    values = "(VALUES (1, TRUE), (2, FALSE), (NULL, NULL), (3, TRUE)) v(x, b), (VALUES (1), (2), (NULL)) w(c)"
    for condition in ("x IS DISTINCT FROM c", "x IS NOT DISTINCT FROM c", "b IS TRUE", "b IS FALSE", "b IS NOT TRUE",
                      "b IS NOT FALSE"):
        written = f"SELECT x, b, c, ({condition}) OR FALSE FROM {values} ORDER BY ALL"
        spelt, _ = residual_sql(parse(written))
        assert not any(word in spelt for word in ("DISTINCT", "IS TRUE", "IS FALSE")), spelt
        assert duckdb.sql(spelt).fetchall() == duckdb.sql(written).fetchall(), condition
