"""Optional sources: absent folders, tables without files and empty files read as empty tables of
the declared columns, through the whole engine; what is present must still be right."""

from __future__ import annotations

import pytest

import c360
from c360.catalog import Catalog
from c360.errors import CatalogError, FileFormatError, NotFoundError
from tests.projects import SHOP_DDL, project, sqlite_file

PARTNERS = """
  partners:
    kind: json
    path: ../partners
    {optional}
    tables:
      enrichment:
        files: "enrichment/*.json"
        columns: {{customer_id: BIGINT, score: DOUBLE, tags: "VARCHAR[]"}}
  clicks:
    kind: blob
    container: clicks
    path: ../blob
    {optional}
    tables:
      browsing:
        partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/", column: day}}
        columns: {{customer_id: BIGINT, seconds: DOUBLE}}
"""
QUERY = """
SELECT c.customer_id, e.score, e.tags, b.seconds
FROM shop.customers AS c
LEFT JOIN partners.enrichment AS e ON e.customer_id = c.customer_id
LEFT JOIN (SELECT customer_id, sum(seconds) AS seconds FROM clicks.browsing
           WHERE day >= TIMESTAMP '2026-01-01' AND day < TIMESTAMP '2026-02-01' GROUP BY customer_id) AS b
  ON b.customer_id = c.customer_id
ORDER BY c.customer_id
"""


def _project(root, *, optional: bool = True):
    sqlite_file(root / "shop.sqlite", SHOP_DDL)
    text = "sources:\n  shop:\n    kind: sqlite\n    path: ../shop.sqlite\n" + PARTNERS.format(
        optional="optional: true" if optional else "")
    return project(root, text)


def _rows(catalog):
    connection = c360.connect(str(catalog))
    try:
        return connection.execute(QUERY).fetchall()
    finally:
        connection.close()


def test_absent_folders_of_optional_sources_read_as_empty_tables_and_their_columns_are_null(tmp_path):
    rows = _rows(_project(tmp_path))
    assert rows == [(42, None, None, None), (43, None, None, None), (44, None, None, None), (45, None, None, None)]


def test_explain_says_the_optional_source_was_read_as_empty(tmp_path):
    connection = c360.connect(str(_project(tmp_path)))
    try:
        text = "\n".join(str(r[0]) for r in connection.execute("EXPLAIN " + QUERY).fetchall())
    finally:
        connection.close()
    assert "optional source, read as empty: folder" in text


def test_empty_folders_and_zero_byte_files_of_optional_sources_read_as_empty_tables(tmp_path):
    catalog = _project(tmp_path)
    (tmp_path / "partners" / "enrichment").mkdir(parents=True)
    (tmp_path / "partners" / "enrichment" / "a.json").write_bytes(b"")
    (tmp_path / "blob" / "clicks" / "2026" / "01" / "05").mkdir(parents=True)
    assert [r[1:] for r in _rows(catalog)] == [(None, None, None)] * 4


def test_present_data_of_an_optional_source_is_read(tmp_path):
    catalog = _project(tmp_path)
    (tmp_path / "partners" / "enrichment").mkdir(parents=True)
    (tmp_path / "partners" / "enrichment" / "a.json").write_text('{"customer_id": 43, "score": 0.5, "tags": ["x"]}\n')
    day = tmp_path / "blob" / "clicks" / "2026" / "01" / "05"
    day.mkdir(parents=True)
    (day / "w.jsonl").write_text('{"customer_id": 42, "seconds": 7.5}\n{"customer_id": 42, "seconds": 2.5}\n')
    assert _rows(catalog) == [(42, None, None, 10.0), (43, 0.5, ["x"], None), (44, None, None, None),
                              (45, None, None, None)]


def test_a_malformed_file_of_an_optional_source_is_still_an_error(tmp_path):
    catalog = _project(tmp_path)
    (tmp_path / "partners" / "enrichment").mkdir(parents=True)
    (tmp_path / "partners" / "enrichment" / "a.json").write_text('{"customer_id": 43,\n')
    with pytest.raises(FileFormatError, match="enrichment/a.json"):
        _rows(catalog)


def test_an_absent_folder_of_a_source_that_is_not_optional_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match=r"Source 'partners' .*does not exist"):
        _rows(_project(tmp_path, optional=False))


def test_an_optional_source_must_declare_its_tables_columns(tmp_path):
    catalog = project(tmp_path, """
        sources:
          partners:
            kind: json
            path: ../partners
            optional: true
            tables:
              enrichment: {files: "enrichment/*.json"}
    """)
    with pytest.raises(CatalogError, match=r"sources\.yaml:6: optional source 'partners' must declare its tables' "
                                           r"columns .*without columns: enrichment"):
        Catalog(catalog)
    bad = project(tmp_path / "b", "sources:\n  p:\n    kind: json\n    path: x\n    optional: yes please\n")
    with pytest.raises(CatalogError, match="'optional' must be true or false"):
        Catalog(bad)
