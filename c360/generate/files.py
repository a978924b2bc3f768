"""The file sources of a generated (or hand-written) project on this machine: their catalog entries and writers.

``partners`` (partner enrichment as JSON Lines files) and ``clicks`` (browsing windows in hourly
``{yyyy}/{MM}/{dd}/{HH}/`` folders of a local folder laid out as a blob container), with the demo
catalog's table and column names. The view tests' hand-written world (``tests/views/world.py``) and
the Spark benchmark's generated project (``benchmarks/spark_vs_engine.py``) both write and declare
their files through here, so the layout the views read is written by one piece of code.
"""

from __future__ import annotations

from pathlib import Path

from c360.generate.targets import (
    BLOB_DIR,
    BROWSING_PREFIX,
    CLICKS_CONTAINER,
    PARTNER_TABLE_DIR,
    PARTNERS_DIR,
    BrowsingBuffer,
    PartnerFiles,
)

FILE_SOURCES = """\
  partners:
    kind: json
    path: {data}/{partners}
    tables:
      enrichment:
        files: "{table}/*.json"
        columns:
          customer_id: BIGINT
          partner: VARCHAR
          interests: VARCHAR[]
          social: "STRUCT(followers BIGINT, sentiment DOUBLE)"
          survey: "STRUCT(nps INTEGER, responded_at TIMESTAMP)"
          influencer_tier: VARCHAR
          updated_at: TIMESTAMP
  clicks:
    kind: blob
    path: {data}/{blob}
    container: {container}
    prefix: {prefix}
    tables:
      browsing:
        format: jsonl
        partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/", column: partition_hour}}
        columns:
          window_start: TIMESTAMP
          window_end: TIMESTAMP
          customer_id: BIGINT
          category: VARCHAR
          page_views: BIGINT
          seconds: DOUBLE
"""


def file_sources_yaml(data: str = "..") -> str:
    """The ``partners`` and ``clicks`` entries of a catalog's ``sources:`` (indented under it), their files
    under ``data`` (a folder relative to the catalog) as :func:`write_partners` and :func:`write_browsing`
    lay them out there."""
    return FILE_SOURCES.format(data=data, partners=PARTNERS_DIR, table=PARTNER_TABLE_DIR, blob=BLOB_DIR,
                               container=CLICKS_CONTAINER, prefix=BROWSING_PREFIX)


def partner_files(root: Path) -> PartnerFiles:
    """The writer of partner files under ``root`` (the data folder), emptied of earlier files."""
    files = PartnerFiles(root / PARTNERS_DIR / PARTNER_TABLE_DIR)
    files.begin()
    return files


def browsing_buffer(root: Path, categories, fmt: str = "jsonl") -> BrowsingBuffer:
    """The writer of browsing hour folders in the local blob folder under ``root``, its prefix emptied first."""
    from connectors.files.store import LocalFolder

    store = LocalFolder(root / BLOB_DIR / CLICKS_CONTAINER)
    store.delete_prefix(BROWSING_PREFIX)
    return BrowsingBuffer(store, BROWSING_PREFIX, fmt, categories)


def write_partners(root: Path, records: list[dict]) -> None:
    """Partner records (each with its ``partner``) as one JSON Lines file per partner under ``root``."""
    partner_files(root).write(0, records)


def write_browsing(root: Path, rows: list[tuple], categories=()) -> None:
    """Browsing windows ``(window_start, window_end, customer_id, category, page_views, seconds)`` (datetimes) as
    one file per hour folder under ``root``."""
    buffer = browsing_buffer(root, categories)
    buffer.add(rows)
    buffer.flush()
