"""One measured query end to end: c360 and the peer through the proxies, answers checked, bytes counted, reported."""

from __future__ import annotations

import os

import pytest

import c360
from benchmarks.tpch import catalog, report, run
from benchmarks.tpch.load import json_file
from benchmarks.tpch.peer import Peer
from benchmarks.tpch.proxy import Proxies


@pytest.fixture(scope="module")
def measured(tpch, tpch_local, tpch_reference, tmp_path_factory):
    """Query 9 (all four sources), two runs per side, through the proxies."""
    place, _, _ = tpch
    upstreams = {
        "shop": (place.shop.host, place.shop.port, "mysql"),
        "crm": (place.crm.host, place.crm.port, "postgres"),
        "vendors": (place.vendors.host, place.vendors.port, "http"),
    }
    saved = dict(os.environ)
    try:
        with Proxies(upstreams) as proxies:
            proxied = place.via({name: proxies.port(name) for name in upstreams})
            folder, environment = catalog.write(tmp_path_factory.mktemp("proxied") / "catalog", proxied)
            os.environ.update(environment)
            connection, peer = c360.connect(folder), Peer(proxied)
            try:
                sides = [run.C360Side(connection, place.partners), run.PeerSide(peer, place.partners)]
                for side in sides:
                    run.warm_up(side, 60)
                yield (
                    run.run_query(
                        9,
                        local=tpch_local,
                        sides=sides,
                        reference=tpch_reference[9],
                        proxies=proxies,
                        runs=2,
                        timeout=60,
                    ),
                    place,
                )
            finally:
                connection.close()
                peer.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_both_sides_answer_right_and_every_source_is_counted(measured, tpch_reference):
    result, place = measured
    json_bytes = sum(json_file(place.partners, t).stat().st_size for t in ("part", "partsupp"))
    for side in (result.c360, result.peer):
        assert side.ok, (side.error, side.problem)
        assert len(side.seconds) == 2 and side.rows == len(tpch_reference[9])
        assert side.moved["shop"].rows > 0 and side.moved["shop"].bytes > 0
        assert side.moved["crm"].rows >= 25  # every nation
        assert side.moved["partners"].bytes == json_bytes
        assert side.bytes == sum(c.bytes for c in side.moved.values())
    assert result.c360.moved["vendors"].bytes > 0  # the peer may answer from DuckDB's external file cache


def test_the_report_shows_times_bytes_and_the_summary(measured):
    result, _ = measured
    lines: list[str] = []
    figures = report.print_report([result], stat="median", header="TPC-H test", out=lines.append)
    assert figures["queries_compared"] == 1 and figures["c360_right"] == figures["peer_right"] == 1
    assert figures["geomean_c360_over_peer"] == pytest.approx(result.c360.time("median") / result.peer.time("median"))
    assert figures["bytes_c360_over_peer"] == pytest.approx(result.c360.bytes / result.peer.bytes)
    text = "\n".join(lines)
    assert "geometric mean of per-query time ratios c360/peer" in text and "right answers: c360 1/1, peer 1/1" in text
    assert any(line.startswith("  9 c360 ") for line in lines) and any(line.startswith("    peer ") for line in lines)
