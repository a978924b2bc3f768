"""A panel's query is cancelled when its browser goes away: :class:`c360.app.db.Ticket` stops a running
statement, and the server cancels the query of a request whose client disconnected, so the connection is
free for the next one (with one connection, the next panel would otherwise wait for the abandoned one)."""

from __future__ import annotations

import socket
import threading
import time

from c360.app import queries
from c360.app.db import Database, Ticket

from .conftest import get_json, serving

#: Billions of rows joined on the engine (the CRM four times): minutes, unless cancelled.
SLOW = """
SELECT count(*) AS customer_id FROM crm.customers AS a, crm.customers AS b, crm.customers AS c, crm.customers AS d
WHERE a.customer_id <> ? + b.customer_id + c.customer_id + d.customer_id
"""


def test_a_ticket_cancels_a_running_statement(project):
    db = Database(project / "catalog", size=1)
    ticket, answers = Ticket(), []
    worker = threading.Thread(target=lambda: answers.append(db.run(SLOW, [-1], ticket=ticket)))
    started = time.monotonic()
    worker.start()
    time.sleep(1.5)
    ticket.cancel()
    worker.join(60)
    try:
        assert not worker.is_alive() and time.monotonic() - started < 30
        assert answers[0].error and answers[0].error.startswith("cancelled"), answers[0].error
        assert db.run(queries.PROFILE, [1]).rows[0]["customer_id"] == 1  # the connection serves the next query
    finally:
        db.close()


def test_a_cancelled_ticket_does_not_start(project):
    db = Database(project / "catalog", size=1)
    ticket = Ticket()
    ticket.cancel()
    try:
        answer = db.run(SLOW, [-1], ticket=ticket)
        assert answer.error == "cancelled: before it started" and answer.rows == []
    finally:
        db.close()


def _left_by_its_browser(project, request: bytes) -> None:
    """Serve the app on one connection, send ``request`` (which runs the slow statement) and leave; the next
    request must get the connection back long before the slow statement would have ended."""
    with serving(project, connections=1) as url:
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as client:
            client.sendall(request)
            time.sleep(1.5)  # the slow statement holds the only connection
        started = time.monotonic()
        answer = get_json(f"{url}/api/customer/1/profile")  # waits for that connection
        assert answer["error"] is None and answer["rows"][0]["customer_id"] == 1
        assert time.monotonic() - started < 20


def test_the_server_cancels_the_query_of_a_browser_that_left(project, monkeypatch):
    monkeypatch.setattr(queries, "ENRICHMENT", SLOW)  # the panel's statement, looked up per request
    _left_by_its_browser(project, b"GET /api/customer/1/enrichment HTTP/1.1\r\nHost: x\r\n\r\n")


def test_the_server_cancels_what_a_page_request_still_runs_when_its_browser_left(project, monkeypatch):
    monkeypatch.setattr(queries, "ENRICHMENT", SLOW)  # rfm, the page's other panel, waits behind it
    _left_by_its_browser(project, b"GET /api/customer/1?panels=enrichment,rfm HTTP/1.1\r\nHost: x\r\n\r\n")
