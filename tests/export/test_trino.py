"""``c360 export trino`` of the demo project: golden files, every statement parsed by sqlglot's Trino
dialect, properties files well-formed, no secret value anywhere, and the refusals.

No Trino server can be installed here: the files are proven by these golden files and by parsing
(and, for the views' meaning, by tests/export/test_trino_oracle.py). ``C360_UPDATE_GOLDEN=1`` rewrites
the golden files under ``tests/fixtures/trino/demo`` (then read the diff).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from c360.catalog import Catalog
from c360.cli import main
from c360.errors import CatalogError
from c360.export.trino import export_trino
from c360.export.trino_sql import TranslationError

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "fixtures" / "trino" / "demo"
SECRETS = {"C360_SHOP_PASSWORD": "shop-Secret-7731", "C360_CRM_PASSWORD": "crm-Secret-9902",
           "C360_BLOB_CONNECTION_STRING": "AccountName=x;AccountKey=blob-Secret-4410"}
ARGS = ["export", "trino", "--catalog", str(REPO / "catalog"), "--profile", "servers",
        "--storage-account", "c360demo"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The demo project exported by the CLI, with known secrets in the environment."""
    out = tmp_path_factory.mktemp("trino")
    saved = {name: os.environ.get(name) for name in SECRETS}
    os.environ.update(SECRETS)
    try:
        assert main([*ARGS, "--out", str(out)]) == 0
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return out


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _without_model(text: str) -> str:
    """``views.sql`` with the model's own SQL and version left out: retraining models/ changes them, and the
    model as SQL is proven by tests/model/test_export_sql.py (and its translation by the oracle test)."""
    version = re.search(r"-- model (\w+) as SQL", text).group(1)
    text = re.sub(r"(-- model \w+ as SQL over customer_360_base\n).*?;\n", r"\1<the model as SQL>;\n", text,
                  flags=re.S)
    return text.replace(version, "<model version>")


def test_the_demo_export_matches_the_golden_files(exported):
    got = _files(exported)
    got["views.sql"] = _without_model(got["views.sql"])
    if os.environ.get("C360_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, text in got.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_text(text)
    assert got == _files(GOLDEN)


def test_each_source_gets_the_trino_connector_of_its_kind(exported):
    connectors = {p.stem: p.read_text().splitlines()[0] for p in (exported / "catalog").glob("*.properties")}
    assert connectors == {"shop": "connector.name=mysql", "crm": "connector.name=postgresql",
                          "clicks": "connector.name=hive", "partners": "connector.name=hive",
                          "c360": "connector.name=hive"}
    clicks = (exported / "catalog" / "clicks.properties").read_text()
    assert "fs.native-azure.enabled=true\n" in clicks and "azure.auth-type=ACCESS_KEY\n" in clicks


def test_every_exported_statement_parses_as_trino(exported):
    for name in ("tables.sql", "views.sql"):
        statements = [s for s in sqlglot.parse((exported / name).read_text(), read="trino") if s is not None]
        assert statements and all(isinstance(s, exp.Create) for s in statements), name
    views = sqlglot.parse((exported / "views.sql").read_text(), read="trino")
    created = [s.this.sql("trino") for s in views if s.args.get("kind") == "VIEW"]
    assert created == [f"c360.views.{n}" for n in ("browsing_features", "order_history", "purchase_features", "rfm",
                                                   "customer_360_base", "c360_model", "customer_360")]


def test_the_hive_tables_declare_location_format_and_columns(exported):
    text = (exported / "tables.sql").read_text()
    tables = {s.this.this.sql("trino"): s for s in sqlglot.parse(text, read="trino")
              if s.args.get("kind") == "TABLE"}
    assert set(tables) == {"clicks.files.browsing_files", "partners.files.enrichment"}
    enrichment = tables["partners.files.enrichment"].sql("trino")
    assert "external_location='abfs://partners@c360demo.dfs.core.windows.net/enrichment/'" in enrichment
    assert "format='JSON'" in enrichment and "social ROW(followers BIGINT, sentiment DOUBLE)" in enrichment
    assert "CREATE OR REPLACE VIEW clicks.files.browsing AS" in text and "AS partition_hour" in text


def test_properties_files_are_one_key_value_per_line(exported):
    for path in (exported / "catalog").glob("*.properties"):
        lines = path.read_text().splitlines()
        assert lines, path
        keys = [line.split("=", 1)[0] for line in lines]
        assert all(re.fullmatch(r"[a-z0-9.\-]+=\S.*", line) for line in lines), path
        assert len(keys) == len(set(keys)), path


def test_secrets_stay_references_and_no_value_reaches_any_file(exported):
    for name, text in _files(exported).items():
        for secret in SECRETS.values():
            assert secret not in text, name
    assert "connection-password=${ENV:C360_SHOP_PASSWORD}" in (exported / "catalog" / "shop.properties").read_text()
    assert "connection-password=${ENV:C360_CRM_PASSWORD}" in (exported / "catalog" / "crm.properties").read_text()


def _catalog(tmp_path: Path, yaml: str) -> Catalog:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "sources.yaml").write_text(yaml)
    return Catalog(tmp_path / "catalog")


def test_a_literal_password_is_refused_not_copied(tmp_path):
    catalog = _catalog(tmp_path, "sources:\n  shop: {kind: mysql, user: u, password: hunter2, database: d}\n")
    with pytest.raises(CatalogError, match=r"Source 'shop': its password must be a \$\{ENV:NAME\} reference") as e:
        export_trino(catalog)
    assert "hunter2" not in str(e.value)


def test_a_sql_server_source_becomes_a_sqlserver_catalog(tmp_path):
    catalog = _catalog(tmp_path, "sources:\n  crm:\n    kind: odbc\n    connection_string: \"Driver={ODBC Driver 18 "
                       "for SQL Server};Server=tcp:sql.example.net,1433;Database=crm;Uid=app;"
                       "Pwd=${ENV:CRM_PWD};Encrypt=yes\"\n")
    files = export_trino(catalog).files
    assert files["catalog/crm.properties"] == (
        "connector.name=sqlserver\nconnection-url=jdbc:sqlserver://sql.example.net:1433;databaseName=crm;"
        "encrypt=true\nconnection-user=app\nconnection-password=${ENV:CRM_PWD}\n")


def test_a_sqlite_source_is_refused_naming_it(tmp_path):
    catalog = _catalog(tmp_path, "sources:\n  shop: {kind: sqlite, path: shop.sqlite}\n")
    with pytest.raises(CatalogError, match="Source 'shop' is sqlite: Trino has no connector for it"):
        export_trino(catalog)


def test_the_as_of_option_bakes_the_date_into_every_view(tmp_path):
    assert main([*ARGS, "--out", str(tmp_path), "--as-of", "2026-06-30"]) == 0
    views = (tmp_path / "views.sql").read_text()
    assert "getvariable" not in views.lower() and "CURRENT_DATE" not in views
    assert views.count("CAST('2026-06-30' AS DATE)") > 10


def test_a_bad_location_or_date_is_a_one_line_error(tmp_path, capsys):
    assert main([*ARGS, "--out", str(tmp_path), "--location", "clicks"]) == 1
    assert main([*ARGS, "--out", str(tmp_path), "--as-of", "June"]) == 1
    err = capsys.readouterr().err
    assert "--location takes SOURCE=URL, not 'clicks'" in err and "--as-of takes a date as YYYY-MM-DD" in err


def test_a_location_overrides_the_storage_account(tmp_path):
    url = "abfs://raw@lake.dfs.core.windows.net/partner-feeds/"
    assert main([*ARGS, "--out", str(tmp_path), "--location", f"partners={url}"]) == 0
    assert f"external_location='{url}enrichment/'" in (tmp_path / "tables.sql").read_text()


def test_the_template_view_reads_the_hour_folder_of_each_file_path(exported):
    """Trino's regexp_extract and date_parse, as Java's regex and MySQL's format codes, on a blob path:
    checked with Python's re and strptime, which read this pattern and these codes the same way."""
    import datetime as dt

    view = next(s for s in sqlglot.parse((exported / "tables.sql").read_text(), read="trino")
                if s.args.get("kind") == "VIEW")
    found = view.find(exp.RegexpExtract)
    assert found.args["group"].name == "0"  # Trino's default, the whole match: no group sqlglot could drop
    path = "abfs://clicks@c360demo.dfs.core.windows.net/browsing/2026/06/30/10/part-0001.jsonl"
    folder = re.search(found.expression.name, path).group(0)
    fmt = re.search(r"DATE_PARSE\(.*, '([^']+)'\)", view.sql("trino")).group(1)
    assert dt.datetime.strptime(folder, fmt) == dt.datetime(2026, 6, 30, 10)


def test_hive_style_partitions_become_partitioned_by_and_are_registered(tmp_path):
    catalog = _catalog(tmp_path, """\
sources:
  sales:
    kind: blob
    account_url: https://lake.blob.core.windows.net
    credential: ${ENV:LAKE_KEY}
    container: raw
    prefix: sales/
    tables:
      daily:
        format: parquet
        partitioning: {style: hive, columns: {day: DATE}}
        columns: {store_id: BIGINT, amount: "DECIMAL(12,2)"}
""")
    files = export_trino(catalog).files
    assert "azure.access-key=${ENV:LAKE_KEY}\n" in files["catalog/sales.properties"]
    statements = sqlglot.parse(files["tables.sql"], read="trino")
    create = next(s for s in statements if s.args.get("kind") == "TABLE").sql("trino")
    assert "external_location='abfs://raw@lake.dfs.core.windows.net/sales/'" in create
    assert "format='PARQUET'" in create and "partitioned_by=ARRAY['day']" in files["tables.sql"]
    assert create.index("amount DECIMAL(12, 2)") < create.index("day DATE")  # partition columns last
    assert "CALL sales.system.sync_partition_metadata('files', 'daily', 'ADD')" in files["tables.sql"]


def test_an_untranslatable_construct_in_customer_360_names_its_line_in_the_file(tmp_path):
    shutil.copytree(REPO / "catalog", tmp_path / "catalog")
    shutil.copytree(REPO / "queries", tmp_path / "queries")
    view = tmp_path / "queries" / "customer_360.sql"
    lines = view.read_text().splitlines()
    at = lines.index("    c.first_name,") + 1  # the base's line, below the generated layers
    lines.insert(at, "    levenshtein(c.email, 'x') AS lv,")
    view.write_text("\n".join(lines) + "\n")
    with pytest.raises(TranslationError) as error:
        export_trino(Catalog(tmp_path / "catalog", profile="servers"), storage_account="acct")
    assert str(error.value).startswith(f"view 'customer_360' (queries/customer_360.sql:{at + 1}): function "
                                       "levenshtein()")
