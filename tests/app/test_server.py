"""The app's server without a browser: the customer page's address starts that customer's panels before the
page's script asks for them."""

from __future__ import annotations

import datetime as dt
import json
import time

from c360.app import server as app_server

from .conftest import get, serving

PANELS = {"profile", "rfm", "predictions", "browsing", "enrichment", "orders", "live"}




def panels_of(base: str, customer: int) -> tuple[dict, dt.datetime]:
    """The page's request for every panel: {panel: answer}, and when it was sent (UTC, as the live panel's
    ``since`` is)."""
    sent = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lines = [json.loads(line) for line in get(f"{base}/api/customer/{customer}?")[2].splitlines() if line.strip()]
    return {line["panel"]: line for line in lines}, sent


def started_at(answer: dict) -> dt.datetime:
    """When the live panel's statement started: its window's start plus the hours it covers."""
    return dt.datetime.fromisoformat(answer["since"]) + dt.timedelta(hours=answer["live_hours"])


def test_the_customer_pages_address_starts_its_panels_and_the_pages_request_takes_them_over(project, monkeypatch):
    monkeypatch.setattr(app_server, "EARLY_SECONDS", 1.5)
    with serving(project) as base:
        fresh, _ = panels_of(base, 7)  # asked for without the page: started by the request itself
        assert set(fresh) == PANELS and started_at(fresh["live"]) >= _
        assert b'id="panel-live"' in get(f"{base}/customer?id=7")[2]
        time.sleep(0.5)
        early, asked = panels_of(base, 7)
        assert set(early) == PANELS and started_at(early["live"]) < asked  # started when the page was served
        for name in PANELS - {"live"}:
            assert early[name]["rows"] == fresh[name]["rows"] and early[name]["error"] is None, name
        again, asked = panels_of(base, 7)  # taken over once: the next request starts its own
        assert started_at(again["live"]) >= asked
        get(f"{base}/customer?id=8")
        time.sleep(2.0)  # past EARLY_SECONDS: what the page started was cancelled, not kept for a late request
        late, asked = panels_of(base, 8)
        assert started_at(late["live"]) >= asked and late["profile"]["rows"][0]["customer_id"] == 8
        get(f"{base}/customer?id=9&as_of=2026-01-15")
        other_date, asked = panels_of(base, 9)  # the page's date differs from what was started: its own
        assert started_at(other_date["live"]) >= asked


def test_the_warm_up_computes_reasons_once_so_the_first_page_does_not(project):
    from c360.app import panels

    panels._ONE_THREAD.clear()
    with serving(project, warm_up=True) as url:
        deadline = time.monotonic() + 90
        while json.loads(get(f"{url}/api/config")[2])["warm_up"] == "running":
            assert time.monotonic() < deadline, "the warm-up did not end"
            time.sleep(0.2)
        assert json.loads(get(f"{url}/api/config")[2])["warm_up"] == "done"
        assert len(panels._ONE_THREAD) == 1  # the reasons' one-thread model was made before any page asked
