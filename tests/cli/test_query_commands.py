"""The CLI as a user runs it: a real subprocess, output formats, one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.projects import project, shop_project


def c360(*args, cwd, input=None):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    return subprocess.run([sys.executable, "-m", "c360", *args], cwd=cwd, capture_output=True, text=True,
                          input=input, timeout=120, env=env)


@pytest.fixture
def root(tmp_path):
    shop_project(tmp_path)
    return tmp_path


def test_query_prints_a_table_for_people(root):
    done = c360("query", "SELECT customer_id, name FROM shop.customers ORDER BY 1", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Ann" in done.stdout and "4 rows" in done.stdout


def test_query_formats_for_programs(root):
    csv = c360("query", "SELECT customer_id, name FROM shop.customers ORDER BY 1", "--format", "csv", cwd=root)
    assert csv.stdout.splitlines()[:2] == ['"customer_id","name"', '42,"Ann"']
    lines = c360("query", "SELECT customer_id FROM shop.customers ORDER BY 1", "-f", "json", cwd=root).stdout
    assert [json.loads(line) for line in lines.splitlines()][0] == {"customer_id": 42}
    done = c360("query", "SELECT * FROM shop.orders", "-f", "parquet", "-o", str(root / "o.parquet"), cwd=root)
    assert done.returncode == 0 and pq.read_table(root / "o.parquet").num_rows == 4


def test_query_reads_sql_from_stdin(root):
    done = c360("query", "-", "-f", "csv", cwd=root, input="SELECT count(*) AS n FROM shop.orders")
    assert done.stdout.splitlines() == ['"n"', "4"]


@pytest.mark.parametrize("args, message", [
    (["query", "SELECT * FROM shop.ordrs"], "error: Unknown table 'shop.ordrs'. Did you mean 'shop.orders'?"),
    (["query", "SELECT nme FROM shop.customers"],
     "error: Unknown column 'nme' in shop.customers. Did you mean 'name'?"),
    (["query", "SELECT FROM WHERE"], "error: Syntax error at line 1"),
    (["query", "DELETE FROM shop.orders"], "error: Source 'shop' is read-only: DELETE is not allowed"),
    (["describe", "shop.nope"], "error: Unknown table 'shop.nope'"),
    (["tables", "shp"], "error: Unknown source 'shp'. Did you mean 'shop'?"),
])
def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(root, args, message):
    done = c360(*args, cwd=root)
    assert done.returncode == 1
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_down_source_is_one_line_naming_source_and_host_never_the_password(tmp_path):
    project(tmp_path, """
        sources:
          shop:
            kind: mysql
            host: 127.0.0.1
            port: 1
            user: c360
            password: ${ENV:C360_CLI_TEST_PASSWORD}
            database: shop
    """)
    env_password = "not-to-be-shown-8431"
    done = subprocess.run([sys.executable, "-m", "c360", "query", "SELECT * FROM shop.orders"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "C360_CLI_TEST_PASSWORD": env_password})
    assert done.returncode == 1
    assert done.stderr.startswith("error: Source 'shop' (mysql at 127.0.0.1:1) is unreachable")
    assert env_password not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_missing_secret_variable_is_named(tmp_path):
    project(tmp_path, """
        sources:
          shop:
            kind: mysql
            user: c360
            password: ${ENV:C360_CLI_NOT_SET}
            database: shop
    """)
    done = c360("query", "SELECT * FROM shop.orders", cwd=tmp_path)
    assert done.returncode == 1
    assert "C360_CLI_NOT_SET" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_catalog_file_is_named_with_its_line(tmp_path):
    project(tmp_path, "sources:\n  shop:\n    kind: sqlitee\n    path: x\n")
    done = c360("sources", cwd=tmp_path)
    assert done.returncode == 1
    assert "sources.yaml:3" in done.stderr and "Did you mean 'sqlite'" in done.stderr


def test_explain_names_the_sql_sent(root):
    done = c360("explain", "SELECT name FROM shop.customers WHERE customer_id = 42", "--analyze", cwd=root)
    assert ('sent: SELECT "customers"."name" AS "customers_name" FROM "customers" AS "customers" '
            'WHERE "customers"."customer_id" = 42') in done.stdout
    assert "analyze: rows=1" in done.stdout


def test_sources_tables_describe_refresh(root):
    assert "sqlite" in c360("sources", cwd=root).stdout
    assert "shop.orders" in c360("tables", cwd=root).stdout
    described = c360("describe", "shop.orders", cwd=root).stdout
    assert "DECIMAL(12,2)" in described and "order_ts" in described
    assert "shop: 2 tables" in c360("refresh", cwd=root).stdout


def test_as_of_and_variables_reach_the_views(tmp_path):
    from tests.projects import shop_project

    shop_project(tmp_path, views={
        "before": "SELECT order_id FROM shop.orders WHERE order_ts < CAST(getvariable('as_of') AS TIMESTAMP)\n",
        "by_status": "SELECT order_id FROM shop.orders WHERE status = getvariable('wanted')\n",
    })
    done = c360("query", "SELECT * FROM before ORDER BY 1", "--as-of", "2026-02-01", "-f", "csv", cwd=tmp_path)
    assert done.stdout.splitlines() == ['"order_id"', "1"], done.stderr
    done = c360("query", "SELECT * FROM by_status ORDER BY 1", "--var", "wanted=CANCELLED", "-f", "csv", cwd=tmp_path)
    assert done.stdout.splitlines() == ['"order_id"', "2"], done.stderr
    done = c360("query", "SELECT 1", "--var", "oops", cwd=tmp_path)
    assert done.returncode == 1 and "--var takes NAME=VALUE" in done.stderr


def test_usage_errors_are_a_short_message_not_a_traceback(root):
    for args in (["query", "--bogus-option"], ["frobnicate"], ["query"]):
        done = c360(*args, cwd=root)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and "Error" in done.stderr


# --- bad input: one line, a distinct exit, nothing touched (issue #12) ------------------------------


def test_output_into_a_missing_folder_is_refused_before_the_query_runs(root):
    done = c360("query", "SELECT * FROM shop.orders", "-f", "csv", "-o", "/no/such/dir/x.csv", cwd=root)
    assert done.returncode == 1
    assert done.stderr == "error: Cannot write '/no/such/dir/x.csv': the folder '/no/such/dir' does not exist\n"


def test_output_replaces_a_file_only_when_complete(root):
    (root / "keep.csv").write_text("precious\n")
    done = c360("query", "SELECT * FROM shop.nosuch", "-f", "csv", "-o", str(root / "keep.csv"), cwd=root)
    assert done.returncode == 1 and (root / "keep.csv").read_text() == "precious\n"
    assert not [p for p in root.iterdir() if p.name.endswith(".part")]


def test_deep_nesting_is_a_syntax_error_not_a_crash(root):
    done = c360("query", "SELECT " + "(" * 3000 + "1" + ")" * 3000, cwd=root)
    assert done.returncode == 1 and done.stderr == "error: Syntax error: the query is nested too deeply\n"


def test_an_invalid_as_of_date_is_a_data_error(root):
    done = c360("query", "SELECT 1", "--as-of", "yesterday-ish", cwd=root)
    assert done.returncode == 1 and "yesterday-ish" in done.stderr and "Conversion Error" in done.stderr


def test_an_unknown_column_is_named_once(root):
    done = c360("query", "SELECT o.nosuch FROM shop.orders o", cwd=root)
    assert done.stderr == "error: Unknown column 'nosuch' in shop.orders.\n"
    done = c360("query", "SELECT o.ordr_id FROM shop.orders o", cwd=root)
    assert done.stderr == "error: Unknown column 'ordr_id' in shop.orders. Did you mean 'order_id'?\n"
    done = c360("query", "SELECT x.order_id FROM shop.orders o", cwd=root)
    assert done.stderr == "error: Unknown table or alias 'x' in 'x.order_id'.\n"


@pytest.fixture(scope="module")
def world_root(tmp_path_factory):
    from tests.views.world import write_world

    return write_world(tmp_path_factory.mktemp("describe_world")).parent


@pytest.mark.parametrize("table", ["customer_360", "partners.enrichment", "clicks.browsing", "crm.customers"])
def test_describe_of_views_files_and_blobs_exits_cleanly(world_root, table):
    done = c360("describe", table, cwd=world_root)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "customer_id" in done.stdout


def test_a_query_that_reads_nothing_from_a_file_source_exits_cleanly(world_root):
    for sql in ("SELECT * FROM partners.enrichment LIMIT 0", "SELECT * FROM customer_360 LIMIT 0"):
        done = c360("query", sql, cwd=world_root)
        assert done.returncode == 0 and done.stderr == "", (sql, done.returncode, done.stderr)


def test_tables_lists_what_answers_and_warns_about_a_source_that_does_not(root):
    (root / "catalog" / "more.yaml").write_text("sources:\n  gone:\n    kind: sqlite\n    path: ../gone.sqlite\n")
    done = c360("tables", cwd=root)
    assert done.returncode == 0 and "shop.orders" in done.stdout
    assert done.stderr.startswith("warning: Source 'gone' (sqlite at ")
    done = c360("tables", "gone", cwd=root)
    assert done.returncode == 1 and done.stderr.startswith("error: Source 'gone' (sqlite at ")


@pytest.mark.parametrize("sql, expected", [
    ("SHOW SOURCES", ["schema,kind,description", "shop,sqlite,"]),
    ("SHOW SCHEMAS", ["schema,kind,description", "shop,sqlite,"]),
    ("SHOW TABLES", ["schema,name,kind", "shop,customers,table", "shop,orders,table"]),
    ("SHOW TABLES FROM shop", ["schema,name,kind", "shop,customers,table", "shop,orders,table"]),
])
def test_show_statements_are_answered_from_the_catalog(root, sql, expected):
    done = c360("query", sql, "-f", "csv", cwd=root)
    assert done.returncode == 0, done.stderr
    assert [line.replace('"', "") for line in done.stdout.splitlines()] == expected


def test_describe_statement_is_answered_from_the_catalog(root):
    done = c360("query", "DESCRIBE shop.orders", "-f", "csv", cwd=root)
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[:2] for line in done.stdout.replace('"', "").splitlines()[1:3]] == [
        ["order_id", "BIGINT"], ["customer_id", "BIGINT"]]
