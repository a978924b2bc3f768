"""Window files in a real blob store (Azurite), queryable with partition pruning."""

from __future__ import annotations

import json
import textwrap

import c360
from c360.stream.aggregate import Aggregator
from c360.stream.inputs import FileInput
from connectors.files.store import open_store


def line(ts: str, customer_id: int, category: str, dwell: float) -> str:
    return json.dumps({"event_id": ts, "customer_id": customer_id, "ts": ts, "category": category,
                       "page": "/p", "action": "view", "dwell_seconds": dwell})


def test_windows_written_to_azurite_are_queryable_and_pruned_by_hour(tmp_path, azurite, monkeypatch):
    container = azurite.new_container("clicks")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        line("2026-11-20T10:59:10.000Z", 1, "Home", 4.0),
        line("2026-11-20T10:59:50.000Z", 1, "Home", 6.0),
        line("2026-11-20T11:00:20.000Z", 1, "Home", 1.5),
        line("2026-11-20T11:00:40.000Z", 2, "Sports", 2.0),
        line("2026-11-20T11:30:00.000Z", 2, "Sports", 3.0),
    ]) + "\n")
    counts = Aggregator(FileInput(events), open_store(azurite.connection_string, container),
                        checkpoint_dir=tmp_path / "ck", window=60, lateness=0).run()
    assert counts["windows_written"] == 3
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "clicks.yaml").write_text(textwrap.dedent(f"""
        sources:
          clicks:
            kind: blob
            connection_string: ${{ENV:TEST_CLICKS}}
            container: {container}
            prefix: browsing/
            tables:
              browsing:
                format: jsonl
                partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/", column: partition_hour}}
                columns: {{window_start: TIMESTAMP, window_end: TIMESTAMP, customer_id: BIGINT,
                           category: VARCHAR, page_views: BIGINT, seconds: DOUBLE}}
    """))
    monkeypatch.setenv("TEST_CLICKS", azurite.connection_string)
    with c360.connect(catalog=str(catalog)) as connection:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT customer_id, category, SUM(page_views), SUM(seconds) FROM clicks.browsing "
            "WHERE partition_hour = TIMESTAMP '2026-11-20 11:00:00' GROUP BY ALL ORDER BY 1"
        )
        assert cursor.fetchall() == [(1, "Home", 1, 1.5), (2, "Sports", 2, 5.0)]
        sent = " ".join(str(getattr(report, "sent", report)) for report in cursor.scans)
        assert "2026/11/20/11/" in sent and "2026/11/20/10/" not in sent
        cursor.execute("SELECT SUM(seconds) FROM clicks.browsing")
        assert cursor.fetchone()[0] == 16.5
