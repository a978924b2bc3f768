"""``c360 model export-sql``: the trees as plain SQL give the UDF's probabilities on DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from c360.cli import main
from c360.model import card as cards
from c360.model.features import INPUTS
from c360.model.view_sql import column_name


def test_exported_sql_gives_the_udfs_probabilities_within_1e_6_on_duckdb(connect, trained, tmp_path):
    out = tmp_path / "model.sql"
    assert main(["model", "export-sql", "--catalog", str(trained / "catalog"), "--table", "features",
                 "-o", str(out)]) == 0
    card = cards.read(trained / "models")
    outputs = ["p_purchase_30d", *[column_name(c) for c in card.categories]]
    connection = connect()
    names = ", ".join(name for name, _ in INPUTS)
    features = connection.execute(f"SELECT customer_id, {names} FROM customer_360").fetch_arrow()
    udf = {row[0]: row[1:] for row in connection.execute(
        f"SELECT customer_id, {', '.join(outputs)} FROM customer_360").fetchall()}
    local = duckdb.connect()
    local.register("features", features)
    exported = local.execute(out.read_text()).fetchall()
    assert len(exported) == len(udf) > 1000
    worst = max(abs(a - b) for row in exported for a, b in zip(row[1:], udf[row[0]]))
    assert worst < 1e-6


def test_exported_sql_is_case_expressions_without_duckdb_functions_in_postgres(trained, tmp_path):
    out = tmp_path / "model.sql"
    assert main(["model", "export-sql", "--catalog", str(trained / "catalog"), "--dialect", "postgres",
                 "-o", str(out)]) == 0
    sql = out.read_text()
    assert "CASE WHEN" in sql and "EXP(" in sql.upper() and "c360_predict" not in sql


@pytest.mark.parametrize("dialect", ["nosuchdialect"])
def test_an_unknown_dialect_is_a_one_line_error(trained, dialect, capsys):
    assert main(["model", "export-sql", "--catalog", str(trained / "catalog"), "--dialect", dialect]) == 1
    assert "cannot write the model as nosuchdialect SQL" in capsys.readouterr().err
