"""The blob connector against a real Azurite and a local folder with the same layout.

Every behaviour that does not depend on where the files live runs twice: once
with ``path:`` (a folder standing for the account) and once through Azurite.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from c360.catalog import Catalog
from c360.errors import CatalogError, FileFormatError, NotFoundError, SourceError, SourceUnreachableError
from connectors.base import ScanRequest
from connectors.blob import BlobConnector
from tests.azurite import ACCOUNT_KEY, connection_string, free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "blob"
CONTAINER = "browsing"  # the local folder's container; Azurite gets a unique one per session

HOURLY = {
    "browsing": {
        "format": "jsonl",
        "partitioning": {"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "partition_hour"},
    }
}
SALES = {"sales": {"format": "parquet", "prefix": "sales/", "partitioning": {"style": "hive"}}}
RETURNS = {"returns": {"format": "csv", "prefix": "returns/", "partitioning": {"style": "hive"}}}


def parse(sql: str):
    return sqlglot.parse_one(sql, read="duckdb")


def read(scan) -> list[dict]:
    return [row for batch in scan.batches() for row in batch.to_pylist()]


def hour_rows(hours: set[str]) -> list[dict]:
    """Rows of the hourly fixture files whose ``yyyy/MM/dd/HH`` is in ``hours``, read with json."""
    rows = []
    for path in sorted((FIXTURES / CONTAINER / "aggregates").rglob("*.json")):
        hour = "/".join(path.parent.parts[-4:])
        if hour in hours:
            rows.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return rows


@pytest.fixture(scope="module")
def account(tmp_path_factory) -> Path:
    """A folder standing for a storage account: ``<root>/browsing/...`` with three tables."""
    root = tmp_path_factory.mktemp("account")
    shutil.copytree(FIXTURES / CONTAINER, root / CONTAINER)
    base = root / CONTAINER / "aggregates"
    for day, region, rows in [
        ("2026-11-01", "eu", {"customer_id": [1, 2], "amount": [10.0, 20.0]}),
        ("2026-11-01", "us", {"customer_id": [3], "amount": [30.0]}),
        ("2026-11-02", "eu", {"customer_id": [4, 5], "amount": [40.0, 50.0], "coupon": ["X", None]}),
        ("2026-11-03", "us", {"customer_id": [6], "amount": [60.0], "coupon": ["Y"]}),
    ]:
        folder = base / "sales" / f"day={day}" / f"region={region}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table(rows), folder / "part-0.parquet")
    for store, lines in [(1, "customer_id,reason\n1,size\n2,colour\n"), (2, "customer_id,reason\n3,late\n")]:
        folder = base / "returns" / f"store={store}"
        folder.mkdir(parents=True)
        (folder / "returns.csv").write_text(lines)
    return root


@pytest.fixture(scope="module")
def uploaded(azurite, account) -> str:
    """A fresh Azurite container holding exactly the account folder's ``browsing`` files."""
    container = azurite.new_container("browsing")
    client = azurite.service().get_container_client(container)
    for path in sorted((account / CONTAINER).rglob("*")):
        if path.is_file():
            client.upload_blob(path.relative_to(account / CONTAINER).as_posix(), path.read_bytes())
    return container


@pytest.fixture(params=["local", "azurite"])
def make(request, account):
    """``make(tables, **options)`` -> a BlobConnector over the local folder or over Azurite."""

    def build(tables, **options):
        if request.param == "local":
            settings = {"path": str(account), "container": CONTAINER, "prefix": "aggregates/"}
        else:
            server = request.getfixturevalue("azurite")
            settings = {
                "connection_string": server.connection_string,
                "container": request.getfixturevalue("uploaded"),
                "prefix": "aggregates/",
            }
        settings.update(options)
        return BlobConnector("clicks", {**settings, "tables": tables}, base_dir=account)

    build.backend = request.param
    return build


def downloads(connector) -> list[str]:
    """What the store fetched: the blobs downloaded from Azurite (local files are not copied)."""
    return list(getattr(connector.store, "downloaded", []))


def test_discovery_samples_data_columns_and_adds_the_partition_hour(make):
    schema = make(HOURLY).schema("browsing")
    assert [(c.name, c.type, c.partition) for c in schema.columns] == [
        ("customer_id", pa.int64(), False),
        ("page_views", pa.int64(), False),
        ("category", pa.string(), False),
        ("window_end", pa.timestamp("us"), False),
        ("partition_hour", pa.timestamp("us"), True),
    ]


def test_a_partition_predicate_lists_and_downloads_only_the_matching_hours(make):
    connector = make(HOURLY)
    schema = connector.schema("browsing")
    before, listed = downloads(connector), len(connector.store.listed)
    predicate = parse(
        "partition_hour >= TIMESTAMP '2026-11-01 11:00' AND partition_hour < TIMESTAMP '2026-11-02 00:00'"
    )
    scan = connector.scan(ScanRequest(schema, ("customer_id", "page_views", "partition_hour"), filters=(predicate,)))
    chosen = ["aggregates/2026/11/01/11/0_window.json", "aggregates/2026/11/01/12/0_window.json"]
    assert files_of(scan) == f"2 files: {chosen[0]}, {chosen[1]}"
    # Only the folders of the hours asked for were listed (11:00 up to the bound 2026-11-02 00:00).
    assert list(connector.store.listed)[listed:] == [f"aggregates/2026/11/01/{h}/" for h in range(11, 24)] + [
        "aggregates/2026/11/02/00/"
    ]
    assert downloads(connector) == before  # scan() moved no data
    rows = read(scan)
    assert scan.read_files == chosen
    if make.backend == "azurite":
        assert sorted(downloads(connector)[len(before):]) == chosen  # downloaded in parallel: any order
    expected = [
        {"customer_id": r["customer_id"], "page_views": r["page_views"],
         "partition_hour": dt.datetime.fromisoformat(r["window_end"]).replace(minute=0, second=0)}
        for r in hour_rows({"2026/11/01/11", "2026/11/01/12"})
    ]
    assert rows == expected


def test_projection_returns_only_the_requested_columns(make):
    connector = make(HOURLY)
    rows = read(connector.scan(ScanRequest(connector.schema("browsing"), ("category",))))
    assert rows == [{"category": r["category"]} for r in hour_rows({"2026/11/01/10", "2026/11/01/11",
                                                                     "2026/11/01/12", "2026/11/02/09"})]


def test_prefixes_without_slashes_mean_folders(make):
    connector = make({"returns": {**RETURNS["returns"], "prefix": "/returns"}}, prefix="aggregates")
    scan = connector.scan(ScanRequest(connector.schema("returns"), ("customer_id", "store")))
    assert files_of(scan) == "2 files: aggregates/returns/store=1/returns.csv, aggregates/returns/store=2/returns.csv"


def test_files_globs_narrow_a_table_to_matching_blobs(make):
    connector = make({"returns": {**RETURNS["returns"], "files": "store=1/*.csv"}})
    scan = connector.scan(ScanRequest(connector.schema("returns"), ("customer_id", "store")))
    assert files_of(scan) == "1 file: aggregates/returns/store=1/returns.csv"
    assert sorted(r["customer_id"] for r in read(scan)) == [1, 2]


def files_of(scan) -> str:
    """The file list part of ``scan.sent`` (the example SQL per group follows it)."""
    return scan.sent.split("; SQL per group")[0]


def test_capabilities_claim_partitions_and_the_filters_duckdb_evaluates_on_read():
    capabilities = BlobConnector.capabilities
    assert capabilities.partitions
    assert capabilities.can_filter("compare") and capabilities.limit and capabilities.top_n


def test_hive_parquet_partitions_are_typed_pruned_and_drift_reads_as_null(make):
    connector = make(SALES)
    schema = connector.schema("sales")
    assert [(c.name, c.type, c.partition) for c in schema.columns] == [
        ("customer_id", pa.int64(), False),
        ("amount", pa.float64(), False),
        ("coupon", pa.string(), False),
        ("day", pa.date32(), True),
        ("region", pa.string(), True),
    ]
    before, listed = downloads(connector), len(connector.store.listed)
    scan = connector.scan(ScanRequest(
        schema, ("customer_id", "coupon", "day"),
        filters=(parse("region = 'eu'"), parse("day BETWEEN DATE '2026-11-01' AND DATE '2026-11-02'")),
    ))
    # Only the day folders the filter allows were listed.
    assert list(connector.store.listed)[listed:] == [
        "aggregates/sales/day=2026-11-01/", "aggregates/sales/day=2026-11-02/"
    ]
    chosen = ["aggregates/sales/day=2026-11-01/region=eu/part-0.parquet",
              "aggregates/sales/day=2026-11-02/region=eu/part-0.parquet"]
    assert files_of(scan) == f"2 files: {chosen[0]}, {chosen[1]}"
    rows = read(scan)
    assert scan.read_files == chosen
    if make.backend == "azurite":
        assert sorted(downloads(connector)[len(before):]) == chosen
    assert rows == [
        {"customer_id": 1, "coupon": None, "day": dt.date(2026, 11, 1)},
        {"customer_id": 2, "coupon": None, "day": dt.date(2026, 11, 1)},
        {"customer_id": 4, "coupon": "X", "day": dt.date(2026, 11, 2)},
        {"customer_id": 5, "coupon": None, "day": dt.date(2026, 11, 2)},
    ]


def test_csv_files_with_an_integer_hive_partition(make):
    connector = make(RETURNS)
    schema = connector.schema("returns")
    assert schema.column("store").type == pa.int64() and schema.column("store").partition
    scan = connector.scan(ScanRequest(schema, ("customer_id", "reason", "store"), filters=(parse("store <> 1"),)))
    assert files_of(scan) == "1 file: aggregates/returns/store=2/returns.csv"
    assert read(scan) == [{"customer_id": 3, "reason": "late", "store": 2}]


def test_declared_columns_get_the_partition_column_added(make):
    tables = {"browsing": {**HOURLY["browsing"], "columns": {"customer_id": "BIGINT", "page_views": "INTEGER"}}}
    connector = make(tables)
    schema = connector.declared_schema("browsing", tables["browsing"])
    assert [(c.name, c.partition) for c in schema.columns] == [
        ("customer_id", False), ("page_views", False), ("partition_hour", True)
    ]
    rows = read(connector.scan(ScanRequest(schema, ("page_views",), filters=(
        parse("partition_hour = TIMESTAMP '2026-11-02 09:00'"),))))
    assert rows == [{"page_views": r["page_views"]} for r in hour_rows({"2026/11/02/09"})]


def test_a_prefix_with_no_blobs_is_not_found_naming_source_container_and_prefix(make):
    connector = make(HOURLY, prefix="nothing-here/")
    with pytest.raises(NotFoundError, match=r"Source 'clicks' .*prefix 'nothing-here/' in container '"):
        connector.schema("browsing")


def test_cancel_stops_downloading_further_blobs(make):
    connector = make(HOURLY)
    connector.group_files = 1  # one blob per DuckDB query, so "further blobs" can be seen
    schema = connector.schema("browsing")
    before = downloads(connector)
    scan = connector.scan(ScanRequest(schema, ("customer_id",)))
    assert scan.sent.startswith("4 files")
    batches = scan.batches()
    next(batches)
    scan.cancel()
    assert list(batches) == []
    assert scan.read_files == ["aggregates/2026/11/01/10/0_window.json"]
    if make.backend == "azurite":
        assert downloads(connector)[len(before):] == scan.read_files


def test_a_missing_container_is_not_found_naming_source_container_and_prefix(azurite):
    connector = BlobConnector(
        "clicks",
        {"connection_string": azurite.connection_string, "container": "no-such-container",
         "prefix": "aggregates/", "tables": HOURLY},
        base_dir=Path("."),
    )
    with pytest.raises(NotFoundError) as caught:
        connector.schema("browsing")
    message = str(caught.value)
    assert message.startswith("Source 'clicks' (blob at no-such-container/aggregates/)")
    assert "container 'no-such-container' does not exist" in message and "prefix 'aggregates/'" in message


def test_a_missing_local_folder_is_not_found(tmp_path):
    connector = BlobConnector("clicks", {"path": str(tmp_path), "container": "gone", "tables": HOURLY},
                              base_dir=tmp_path)
    with pytest.raises(NotFoundError, match=r"Source 'clicks' .*folder '.*gone' \(container 'gone'\) does not exist"):
        connector.schema("browsing")


def test_azurite_down_is_unreachable_naming_source_and_host_but_not_the_key():
    port = free_port()  # nothing listens here
    connector = BlobConnector(
        "clicks",
        {"connection_string": connection_string("127.0.0.1", port), "container": "browsing",
         "prefix": "aggregates/", "tables": HOURLY},
        base_dir=Path("."),
    )
    with pytest.raises(SourceUnreachableError) as caught:
        connector.schema("browsing")
    message = str(caught.value)
    assert message == (
        f"Source 'clicks' (blob at browsing/aggregates/) is unreachable: cannot connect to 127.0.0.1:{port}"
    )
    assert ACCOUNT_KEY not in message and ACCOUNT_KEY[:10] not in message


def test_a_malformed_blob_names_the_blob_and_line(azurite):
    container = azurite.new_container("broken")
    client = azurite.service().get_container_client(container)
    client.upload_blob("agg/2026/11/01/10/0.json", b'{"a": 1}\n{"a": 2}\n')
    client.upload_blob("agg/2026/11/01/11/0.json", b'{"a": 3}\n{"a": 4 "b": 5}\n')
    tables = {"t": {"columns": {"a": "BIGINT"}, "partitioning": HOURLY["browsing"]["partitioning"]}}
    connector = BlobConnector("clicks", {"connection_string": azurite.connection_string, "container": container,
                                         "prefix": "agg/", "tables": tables}, base_dir=Path("."))
    schema = connector.declared_schema("t", tables["t"])
    with pytest.raises(FileFormatError, match=r"file 'agg/2026/11/01/11/0.json' is not valid JSON at line 2"):
        read(connector.scan(ScanRequest(schema, ("a",))))


def test_a_blob_source_needs_azure_settings_or_a_path():
    with pytest.raises(CatalogError, match="needs 'connection_string', 'account_url' or a local 'path'"):
        BlobConnector("clicks", {"container": "c", "tables": {}}, base_dir=Path("."))


def test_a_catalog_blob_source_resolves_the_connection_secret_only_when_connecting(
    tmp_path, monkeypatch, azurite, uploaded
):
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "blob.yaml").write_text(
        textwrap.dedent(
            f"""
            sources:
              clicks:
                kind: blob
                connection_string: ${{ENV:C360_TEST_BLOB_CONNECTION}}
                container: {uploaded}
                prefix: aggregates/
                tables:
                  browsing:
                    format: jsonl
                    partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/", column: partition_hour}}
            """
        )
    )
    monkeypatch.setenv("C360_TEST_BLOB_CONNECTION", azurite.connection_string)
    catalog = Catalog(tmp_path / "catalog")
    try:
        assert catalog.describe_source("clicks") == f"Source 'clicks' (blob at {uploaded}/aggregates/)"
        schema = catalog.table("clicks", "browsing")
        assert schema.column("partition_hour").partition
    finally:
        catalog.close()


def account_url(server) -> str:
    return f"http://{server.host}:{server.port}/devstoreaccount1"


def test_account_url_with_the_account_key_as_credential(azurite, uploaded):
    connector = BlobConnector("clicks", {"account_url": account_url(azurite), "credential": ACCOUNT_KEY,
                                         "container": uploaded, "prefix": "aggregates/", "tables": HOURLY},
                              base_dir=Path("."))
    rows = read(connector.scan(ScanRequest(connector.schema("browsing"), ("customer_id",))))
    assert len(rows) == len(hour_rows({"2026/11/01/10", "2026/11/01/11", "2026/11/01/12", "2026/11/02/09"}))


def test_account_url_with_a_sas_token_as_credential(azurite, uploaded):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    token = generate_container_sas(
        "devstoreaccount1", uploaded, account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
    )
    connector = BlobConnector("clicks", {"account_url": account_url(azurite), "credential": token,
                                         "container": uploaded, "prefix": "aggregates/", "tables": HOURLY},
                              base_dir=Path("."))
    assert connector.schema("browsing").column("partition_hour").partition


def test_a_wrong_key_is_a_source_error_that_does_not_show_the_key(azurite, uploaded):
    wrong = "A" * 86 + "=="
    connector = BlobConnector("clicks", {"account_url": account_url(azurite), "credential": wrong,
                                         "container": uploaded, "prefix": "aggregates/", "tables": HOURLY},
                              base_dir=Path("."))
    with pytest.raises(SourceError) as caught:
        connector.schema("browsing")
    assert str(caught.value) == (
        f"Source 'clicks' (blob at {uploaded}/aggregates/): access to container '{uploaded}' was refused "
        "(check the credential)"
    )
    assert wrong not in str(caught.value) and ACCOUNT_KEY not in str(caught.value)


def test_discovery_downloads_only_the_head_of_a_large_newline_delimited_blob(azurite):
    from connectors.files.discover import SAMPLE_BYTES

    container = azurite.new_container("large")
    line = json.dumps({"customer_id": 1, "note": "x" * 200}) + "\n"
    body = (line * (3 * SAMPLE_BYTES // len(line))).encode()
    azurite.service().get_container_client(container).upload_blob("agg/big.jsonl", body)
    connector = BlobConnector("clicks", {"connection_string": azurite.connection_string, "container": container,
                                         "prefix": "agg/", "tables": {"t": {"format": "jsonl"}}}, base_dir=Path("."))
    schema = connector.schema("t")
    assert [(c.name, c.type) for c in schema.columns] == [("customer_id", pa.int64()), ("note", pa.string())]
    assert 0 < connector.store.downloaded_bytes <= SAMPLE_BYTES
    rows = read(connector.scan(ScanRequest(schema, ("customer_id",))))
    assert len(rows) == body.count(b"\n")
    assert connector.store.downloaded_bytes > len(body)


def test_a_blob_deleted_after_listing_is_not_found(azurite):
    container = azurite.new_container("vanishing")
    client = azurite.service().get_container_client(container)
    for hour in ("10", "11", "12"):
        client.upload_blob(f"agg/2026/11/01/{hour}/0.json", b'{"a": 1}\n')
    tables = {"t": {"columns": {"a": "BIGINT"}, "partitioning": HOURLY["browsing"]["partitioning"]}}
    connector = BlobConnector("clicks", {"connection_string": azurite.connection_string, "container": container,
                                         "prefix": "agg/", "tables": tables}, base_dir=Path("."))
    scan = connector.scan(ScanRequest(connector.declared_schema("t", tables["t"]), ("a",)))
    client.delete_blob("agg/2026/11/01/11/0.json")
    with pytest.raises(NotFoundError, match=rf"Source 'clicks' .*blob not found in container '{container}'"):
        read(scan)


def test_through_the_engine_data_filters_are_evaluated_on_read_and_partition_filters_prune(account):
    import c360

    (account / "catalog").mkdir(exist_ok=True)
    (account / "catalog" / "clicks.yaml").write_text(
        textwrap.dedent(
            f"""
            sources:
              clicks:
                kind: blob
                path: {account}
                container: {CONTAINER}
                prefix: aggregates/
                tables:
                  browsing:
                    format: jsonl
                    partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/", column: partition_hour}}
            """
        )
    )
    connection = c360.connect(catalog=str(account / "catalog"))
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT customer_id, page_views FROM clicks.browsing "
            "WHERE page_views > 12 AND partition_hour >= TIMESTAMP '2026-11-01 11:00'"
        )
        rows = sorted(cursor.fetchall())
        (scan,) = cursor.scans
    finally:
        connection.close()
    expected = sorted(
        (r["customer_id"], r["page_views"])
        for r in hour_rows({"2026/11/01/11", "2026/11/01/12", "2026/11/02/09"})
        if r["page_views"] > 12
    )
    assert rows == expected
    assert files_of(scan) == (
        "3 files: aggregates/2026/11/01/11/0_window.json, aggregates/2026/11/01/12/0_window.json, "
        "aggregates/2026/11/02/09/0_window.json"
    )
    assert '"page_views" > 12' in scan.sent  # evaluated by DuckDB while reading the blobs


def test_an_unexpected_sdk_error_keeps_its_first_line_without_a_sas_signature():
    from azure.core.exceptions import HttpResponseError

    from connectors.files.store import AzureContainer

    store = AzureContainer(None, source="Source 'clicks' (blob at c/p/)", host="h", container="c", prefix="p/")
    error = store.translate(HttpResponseError("GET http://h/c/b?sv=2021&sig=s3cr3t&se=x failed\nmore"))
    assert str(error) == ("Source 'clicks' (blob at c/p/): HttpResponseError: "
                          "GET http://h/c/b?sv=2021&sig=***&se=x failed")
