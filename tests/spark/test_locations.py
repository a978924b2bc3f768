"""Where Spark reads a source from, built from the catalog alone (no server, no Spark): Azure's abfss://
root for a blob source, the JDBC URL of an odbc source, and no secret in either."""

from __future__ import annotations

import pytest

from c360.catalog import Catalog
from c360.errors import CatalogError
from c360.spark.sources import azure_root, odbc_location
from tests.projects import project


def test_a_blob_source_on_azure_is_read_through_abfss(tmp_path, monkeypatch):
    monkeypatch.setenv("BLOB_CS", "DefaultEndpointsProtocol=https;AccountName=lake42;AccountKey=c2VjcmV0a2V5;")
    catalog = Catalog(project(tmp_path, """
        sources:
          clicks:
            kind: blob
            container: clicks
            prefix: /browsing/
            connection_string: ${ENV:BLOB_CS}
          archive:
            kind: blob
            container: old
            account_url: https://archive7.blob.core.windows.net
    """))
    assert azure_root(catalog.source("clicks")) == "abfss://clicks@lake42.dfs.core.windows.net/browsing/"
    assert azure_root(catalog.source("archive")) == "abfss://old@archive7.dfs.core.windows.net/"


def test_a_blob_source_without_an_account_name_is_refused(tmp_path):
    catalog = Catalog(project(tmp_path, """
        sources:
          clicks: {kind: blob, container: clicks, account_url: "https://example.com/x"}
    """))
    with pytest.raises(CatalogError, match="needs the storage account's name"):
        azure_root(catalog.source("clicks"))


SQL_SERVER = "Driver={ODBC Driver 18 for SQL Server};Server=db.example.com,1433;Database=crm;Uid=reader;"


def test_an_odbc_source_becomes_a_jdbc_url_without_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_PWD", "s3cret-value")
    catalog = Catalog(project(tmp_path, f"""
        sources:
          crm:
            kind: odbc
            dialect: tsql
            connection_string: "{SQL_SERVER}Pwd=${{ENV:CRM_PWD}};"
    """))
    location = odbc_location(catalog.source("crm"))
    assert location.url == "jdbc:sqlserver://db.example.com:1433;databaseName=crm;encrypt=true"
    assert (location.user, location.password) == ("reader", "s3cret-value")
    assert "s3cret" not in repr(location) and location.table("customers") == "[dbo].[customers]"


def test_string_columns_are_read_with_byte_order_collations():
    import pyarrow as pa

    from c360.spark.sources import exact_strings
    from connectors.base import Column, TableSchema

    schema = TableSchema("customers", (Column("customer_id", pa.int64()), Column("city", pa.string())))
    assert exact_strings('"public"."customers"', schema, "postgres") == (
        '(SELECT "customer_id" AS "customer_id", "city" COLLATE "C" AS "city" FROM "public"."customers")'
        ' AS "c360_exact"')
    assert exact_strings("`customers`", schema, "mysql") == (
        "(SELECT `customer_id` AS `customer_id`, CAST(`city` AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_nopad_bin"
        " AS `city` FROM `customers`) AS `c360_exact`")
    assert exact_strings("[dbo].[customers]", schema, "tsql") == "[dbo].[customers]"
