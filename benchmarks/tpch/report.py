"""The figures: a time table, a data-moved table, the summary (geometric means, byte ratio), and JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

from benchmarks.tpch.run import QueryResult, Side

SOURCES = ("shop", "crm", "partners", "vendors")
MB = 1e6


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _verdict(side: Side | None) -> str:
    if side is None:
        return "-"
    if side.error:
        return "error"
    return "ok" if side.problem is None else "WRONG"


def geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summary(results: list[QueryResult], stat: str) -> dict:
    """Geometric means of the per-query time ratios, the bytes totals and the answer counts."""
    both = [r for r in results if r.c360 and r.peer and r.c360.time(stat) and r.peer.time(stat)]
    c360_bytes = sum(r.c360.bytes for r in both)
    peer_bytes = sum(r.peer.bytes for r in both)
    local = [r for r in both if r.local.time(stat)]
    return {
        "queries_compared": len(both),
        "geomean_c360_over_peer": geometric_mean([r.c360.time(stat) / r.peer.time(stat) for r in both]),
        "geomean_c360_over_local": geometric_mean([r.c360.time(stat) / r.local.time(stat) for r in local]),
        "geomean_peer_over_local": geometric_mean([r.peer.time(stat) / r.local.time(stat) for r in local]),
        "c360_bytes": c360_bytes,
        "peer_bytes": peer_bytes,
        "bytes_c360_over_peer": c360_bytes / peer_bytes if peer_bytes else None,
        "c360_right": sum(1 for r in results if r.c360 and r.c360.ok),
        "peer_right": sum(1 for r in results if r.peer and r.peer.ok),
        "queries": len(results),
        "slower_than_peer": [r.number for r in both if r.c360.time(stat) > r.peer.time(stat)],
        **_accelerated(results, stat),
    }


def _accelerated(results: list[QueryResult], stat: str) -> dict:
    """With ``--accelerated``: the geometric mean of c360-over-copies / local, and its right answers."""
    timed = [r for r in results if r.accel and r.accel.time(stat) and r.local.time(stat)]
    if not any(r.accel for r in results):
        return {}
    return {
        "geomean_accel_over_local": geometric_mean([r.accel.time(stat) / r.local.time(stat) for r in timed]),
        "accel_compared": len(timed),
        "accel_right": sum(1 for r in results if r.accel and r.accel.ok),
    }


def print_report(results: list[QueryResult], *, stat: str, header: str, out=print) -> dict:
    out(header)
    out("")
    accelerated = any(r.accel for r in results)
    extra = f" {'accel s':>9} {'accel/local':>12}" if accelerated else ""
    out(f"{'Q':>3} {'c360 s':>9} {'peer s':>9} {'c360/peer':>10} {'local s':>9} {'peer/local':>11}{extra}  c360   peer"
        + ("   accel" if accelerated else ""))
    for r in results:
        c360 = r.c360.time(stat) if r.c360 else None
        peer = r.peer.time(stat) if r.peer else None
        local = r.local.time(stat)
        ratio = f"{c360 / peer:.2f}x" if c360 and peer else "-"
        over_local = f"{peer / local:.1f}x" if peer and local else "-"
        accel = r.accel.time(stat) if r.accel else None
        cells = (f" {_seconds(accel):>9} {f'{accel / local:.1f}x' if accel and local else '-':>12}"
                 if accelerated else "")
        out(
            f"{r.number:>3} {_seconds(c360):>9} {_seconds(peer):>9} {ratio:>10} {_seconds(local):>9} {over_local:>11}"
            f"{cells}  {_verdict(r.c360):<6} {_verdict(r.peer)}" + (f"   {_verdict(r.accel)}" if accelerated else "")
        )
    counted = any("shop" in side.moved for r in results for side in (r.c360, r.peer) if side is not None)
    out("")
    if not counted:
        out("(no proxy: bytes and rows out of the servers were not counted)")
    out(
        "Out of each source, the measured run (rows as the server sent them; MB = 10^6 bytes on the wire, "
        "JSON = file bytes read):"
    )
    out(
        f"{'Q':>3} {'side':<5} {'shop rows':>11} {'shop MB':>9} {'crm rows':>10} {'crm MB':>8} {'json MB':>8} "
        f"{'blob MB':>8} {'total MB':>9}"
    )
    for r in results:
        for name, side in (("c360", r.c360), ("peer", r.peer)):
            if side is None:
                continue
            if side.error:
                out(f"{r.number:>3} {name:<5} {side.error[:100]}")
                continue
            m = side.moved
            shop, crm = m.get("shop"), m.get("crm")
            cells = [
                f"{shop.rows:>11,}" if shop else f"{'-':>11}",
                f"{shop.bytes / MB:>9.2f}" if shop else f"{'-':>9}",
                f"{crm.rows:>10,}" if crm else f"{'-':>10}",
                f"{crm.bytes / MB:>8.2f}" if crm else f"{'-':>8}",
                f"{m['partners'].bytes / MB:>8.2f}" if "partners" in m else f"{'-':>8}",
                f"{m['vendors'].bytes / MB:>8.2f}" if "vendors" in m else f"{'-':>8}",
                f"{side.bytes / MB:>9.2f}",
            ]
            out(f"{r.number if name == 'c360' else '':>3} {name:<5} " + " ".join(cells))
    for r in results:
        for name, side in (("local", r.local), ("c360", r.c360), ("peer", r.peer), ("accel", r.accel)):
            if side is not None and side.problem:
                out(f"Q{r.number} {name} answer differs: {side.problem}")
    figures = summary(results, stat)
    out("")
    if figures["geomean_c360_over_peer"] is not None:
        out(
            f"geometric mean of per-query time ratios c360/peer: {figures['geomean_c360_over_peer']:.2f}x "
            f"over {figures['queries_compared']} queries (c360/local {figures['geomean_c360_over_local']:.1f}x, "
            f"peer/local {figures['geomean_peer_over_local']:.1f}x)"
        )
        if counted:
            out(
                f"bytes out of all sources: c360 {figures['c360_bytes'] / MB:.1f} MB, "
                f"peer {figures['peer_bytes'] / MB:.1f} MB "
                f"(c360/peer {figures['bytes_c360_over_peer']:.2f}x)"
            )
        out(f"queries where c360 is slower than the peer: {figures['slower_than_peer'] or 'none'}")
    if figures.get("geomean_accel_over_local") is not None:
        out(
            f"accelerated (all eight tables as local copies): geometric mean accel/local "
            f"{figures['geomean_accel_over_local']:.2f}x over {figures['accel_compared']} queries"
        )
    out(
        f"right answers: c360 {figures['c360_right']}/{figures['queries']}, "
        f"peer {figures['peer_right']}/{figures['queries']}"
        + (f", accel {figures['accel_right']}/{figures['queries']}" if "accel_right" in figures else "")
    )
    return figures


def write_json(path, results: list[QueryResult], *, settings: dict, figures: dict) -> None:
    def side(s: Side | None):
        if s is None:
            return None
        data = asdict(s)
        data["moved"] = {name: asdict(c) for name, c in s.moved.items()}
        return data

    document = {
        "settings": settings,
        "summary": figures,
        "queries": [
            {"query": r.number, "local": side(r.local), "c360": side(r.c360), "peer": side(r.peer),
             "accel": side(r.accel)}
            for r in results
        ],
    }
    with open(path, "w") as handle:
        json.dump(document, handle, indent=1, default=str)
