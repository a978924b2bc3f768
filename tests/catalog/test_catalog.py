"""Catalog files: errors that name the file and line, secrets that stay references."""

import pytest

from c360.catalog import Catalog
from c360.errors import CatalogError, MissingSecretError, UnknownKindError, UnknownTableError
from c360.secrets import redact, resolve
from tests.projects import project, shop_project


def test_a_yaml_error_names_file_and_line(tmp_path):
    catalog = project(tmp_path, "sources:\n  shop:\n    kind: sqlite\n     path: [unclosed\n")
    with pytest.raises(CatalogError, match=r"sources\.yaml:4"):
        Catalog(catalog)


def test_an_unknown_kind_is_named_with_a_suggestion_and_its_line(tmp_path):
    catalog = project(tmp_path, "sources:\n  shop:\n    kind: mysq\n    host: x\n")
    expected = r"sources\.yaml:3: source 'shop' has unknown kind 'mysq'. Did you mean 'mysql'\?"
    with pytest.raises(UnknownKindError, match=expected):
        Catalog(catalog)


def test_an_unknown_setting_is_named_with_its_line(tmp_path):
    catalog = project(tmp_path, "sources:\n  shop:\n    kind: sqlite\n    pth: x.sqlite\n")
    with pytest.raises(CatalogError, match=r"sources\.yaml:4: .*unknown setting 'pth'. Did you mean 'path'\?"):
        Catalog(catalog)


def test_a_missing_required_setting_is_named(tmp_path):
    catalog = project(tmp_path, "sources:\n  shop:\n    kind: sqlite\n")
    with pytest.raises(CatalogError, match="needs 'path'"):
        Catalog(catalog)


def test_profiles_choose_settings(tmp_path):
    catalog = project(tmp_path, """
        sources:
          shop:
            profiles:
              embedded: {kind: sqlite, path: a.sqlite}
              servers: {kind: mysql, host: db, user: u, database: d}
    """)
    assert Catalog(catalog).source("shop").kind == "sqlite"
    assert Catalog(catalog, profile="servers").source("shop").kind == "mysql"
    with pytest.raises(CatalogError, match="has no profile 'cloud'"):
        Catalog(catalog, profile="cloud")


def test_a_missing_environment_variable_is_named_never_a_value(monkeypatch):
    monkeypatch.delenv("C360_TEST_NOPE", raising=False)
    with pytest.raises(MissingSecretError, match="Source 'crm' needs the environment variable C360_TEST_NOPE"):
        resolve("Pwd=${ENV:C360_TEST_NOPE};", source="crm")


def test_resolved_secrets_are_redacted_from_messages(monkeypatch):
    monkeypatch.setenv("C360_TEST_SECRET", "hunter2-xyz")
    assert resolve("Pwd=${ENV:C360_TEST_SECRET};", source="crm") == "Pwd=hunter2-xyz;"
    assert "hunter2" not in redact("login failed for Pwd=hunter2-xyz and hunter2-xyz")


def test_references_stay_unresolved_in_the_catalog(tmp_path, monkeypatch):
    monkeypatch.setenv("C360_TEST_SECRET2", "s3cr3t-value")
    catalog = project(tmp_path, """
        sources:
          shop:
            kind: mysql
            host: 127.0.0.1
            user: u
            password: ${ENV:C360_TEST_SECRET2}
            database: d
    """)
    loaded = Catalog(catalog)
    assert loaded.source("shop").options["password"] == "${ENV:C360_TEST_SECRET2}"
    assert "s3cr3t" not in repr(loaded.source("shop")) + repr(loaded.connector("shop").__dict__)


def test_unknown_tables_get_a_suggestion(tmp_path):
    catalog = Catalog(shop_project(tmp_path))
    with pytest.raises(UnknownTableError, match="Unknown table 'shop.ordrs'. Did you mean 'shop.orders'"):
        catalog.table("shop", "ordrs")


def test_discovered_schemas_are_cached_and_refreshable(tmp_path):
    import sqlite3

    catalog_dir = shop_project(tmp_path)
    columns = Catalog(catalog_dir).table("shop", "customers").columns
    assert [c.name for c in columns] == ["customer_id", "name", "signup"]
    connection = sqlite3.connect(tmp_path / "shop.sqlite")
    connection.execute("ALTER TABLE customers ADD COLUMN email TEXT")
    connection.commit()
    cached = Catalog(catalog_dir)
    assert [c.name for c in cached.table("shop", "customers").columns] == ["customer_id", "name", "signup"]
    cached.refresh("shop")
    assert cached.table("shop", "customers").column("email") is not None


def test_declared_tables_need_no_discovery(tmp_path):
    catalog = project(tmp_path, """
        sources:
          shop:
            kind: sqlite
            path: ../missing.sqlite
            tables:
              orders:
                columns: {order_id: BIGINT, amount: "DECIMAL(12,2)"}
    """)
    schema = Catalog(catalog).table("shop", "orders")
    assert [(c.name, str(c.type)) for c in schema.columns] == [("order_id", "int64"), ("amount", "decimal128(12, 2)")]


@pytest.mark.parametrize("kind, settings", [("sqlite", "path: shop.sqlite"), ("json", "path: partners")])
def test_a_declared_column_of_an_unknown_type_is_named_at_its_own_line_for_every_kind(tmp_path, kind, settings):
    (tmp_path / "partners").mkdir()
    catalog = project(tmp_path, f"""
        sources:
          s:
            kind: {kind}
            {settings}
            tables:
              t:
                columns:
                  id: BIGINT
                  amount: MONEY
    """)
    with pytest.raises(CatalogError, match=r"sources\.yaml:10: column 'amount': .*MONEY"):
        Catalog(catalog).table("s", "t")


def test_declared_columns_that_are_not_a_mapping_are_named_at_the_columns_line(tmp_path):
    catalog = project(tmp_path, "sources:\n  s:\n    kind: sqlite\n    path: x.sqlite\n"
                                "    tables:\n      t:\n        columns: [id]\n")
    with pytest.raises(CatalogError, match=r"sources\.yaml:7: 'columns' must map column names to types"):
        Catalog(catalog).table("s", "t")


def test_every_table_lists_the_sources_that_answer_and_the_errors_of_those_that_do_not(tmp_path):
    shop_project(tmp_path)
    (tmp_path / "catalog" / "more.yaml").write_text("sources:\n  gone:\n    kind: sqlite\n    path: ../gone.sqlite\n")
    catalog = Catalog(tmp_path / "catalog")
    found, failures = catalog.every_table()
    assert found == [("shop", "customers"), ("shop", "orders")]
    assert [str(error) for error in failures] == [
        f"Source 'gone' (sqlite at {tmp_path / 'gone.sqlite'}) does not exist: no file {tmp_path / 'gone.sqlite'}"
    ]
    assert catalog.every_table(["shop"]) == ([("shop", "customers"), ("shop", "orders")], [])
    with pytest.raises(UnknownTableError, match="Unknown source 'shp'"):
        catalog.every_table(["shp"])
