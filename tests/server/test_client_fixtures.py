"""Start-up and introspection statements real clients send, written down from their public sources
(``tests/server/fixtures/clients/*.sql``, each saying where it came from) and replayed as the client sends
them: one simple-query message. Every statement must answer without an error, and with what the client
needs from the answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server import wire

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "clients").glob("*.sql"))


def _replay(server, path: Path) -> list[tuple[bytes, bytes]]:
    client = wire.Wire(server.port)
    try:
        client.startup()
        return client.query(path.read_text())
    finally:
        client.close()


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_a_client_start_up_sequence_answers_without_an_error(server, path):
    messages = _replay(server, path)
    errors = [wire.error_fields(body) for kind, body in messages if kind == b"E"]
    assert errors == []
    statements = sum(1 for line in path.read_text().splitlines() if line.rstrip().endswith(";"))
    assert [kind for kind, _ in messages].count(b"C") == statements


def test_npgsql_type_loading_gives_each_array_its_element_first(server):
    """Npgsql resolves an array's element by OID from the rows before it; a missing one fails the connection."""
    rows = [r for r in wire.data_rows(_replay(server, FIXTURES[0].parent / "npgsql_load_types.sql")) if len(r) == 6]
    seen, arrays = set(), 0
    for _namespace, oid, name, typtype, _notnull, element in rows:
        if typtype == "a":
            assert element in seen, f"array {name} comes before its element {element}"
            arrays += 1
        seen.add(oid)
    assert {"int8", "text", "numeric", "timestamp"} <= {r[2] for r in rows} and arrays >= 10
