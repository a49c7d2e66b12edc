"""The bench's readable table and its JSON object."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

TARGETS = {"cold_p95_ms": 100.0, "warm_p95_ms": 20.0, "viewers_p95_ms": 150.0,
           "ingest_events_per_s": 300_000.0, "freshness_s": 60.0, "naive_ratio": 20.0}


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": memory_gb,
            "python": platform.python_version(), "system": platform.platform(),
            "load_average_at_end": [round(x, 2) for x in load] if load else None}


def _ms(value) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def table(result: dict) -> str:
    lines = []
    add = lines.append
    m = result.get("machine", {})
    add(f"campaign-dash bench · {result.get('events', 0):,} events (seed {result.get('seed')})"
        f" · {m.get('cpu')} · {m.get('cores')} cores · {m.get('memory_gb')} GB")
    if result.get("server"):
        s = result["server"]
        if s.get("hosts", 1) > 1:
            add(f"served by {s['hosts']} hosts (`campaign-dash serve`: gunicorn, {s['workers']} "
                f"workers x {s['threads']} threads each) behind {s['balancer']} on loopback")
        else:
            add(f"served by gunicorn: {s['workers']} workers x {s['threads']} threads (gthread), "
                f"loopback HTTP; server time from the Server-Timing header")
    if result.get("history_models"):
        h = result["history_models"]
        add(f"history models (anomalies, trends, forecast) fitted and stored by the worker's "
            f"pass before measuring: {h['seconds']:.1f} s (slowest company "
            f"{h['slowest_company_s']:.1f} s); a cold request reads them from PostgreSQL")
    if result.get("callbacks"):
        add("")
        add(f"{'view':<12} {'callback':<58} {'cold p50':>9} {'cold p95':>9} {'cold max':>9} "
            f"{'warm p50':>9} {'warm p95':>9} {'warm max':>9} {'n':>4} {'err':>4}  target")
        for row in result["callbacks"]:
            ok = None
            if row.get("cold_p95_ms") is not None:
                ok = (row["cold_p95_ms"] <= TARGETS["cold_p95_ms"]
                      and row["warm_p95_ms"] <= TARGETS["warm_p95_ms"] and not row["errors"])
            add(f"{row['view']:<12} {row['callback'][:58]:<58} {_ms(row.get('cold_p50_ms')):>9} "
                f"{_ms(row.get('cold_p95_ms')):>9} {_ms(row.get('cold_max_ms')):>9} "
                f"{_ms(row.get('warm_p50_ms')):>9} {_ms(row.get('warm_p95_ms')):>9} "
                f"{_ms(row.get('warm_max_ms')):>9} {row.get('requests', 0):>4} "
                f"{row.get('errors', 0):>4}  {_mark(ok) or row.get('skipped') or ''}")
        add("(ms, server time per request; cold = the bench's cache namespace emptied before "
            "each request; target p95 <= 100 cold, <= 20 warm)")
    if result.get("views"):
        add("")
        add(f"{'whole view (router + initial callbacks, 6 parallel)':<58} {'cold p50':>9} "
            f"{'cold p95':>9} {'warm p50':>9} {'warm p95':>9} {'calls':>6} {'err':>4}")
        for row in result["views"]:
            add(f"{row['view']:<58} {_ms(row['cold_ms']):>9} {_ms(row.get('cold_p95_ms')):>9} "
                f"{_ms(row['warm_ms']):>9} {_ms(row.get('warm_p95_ms')):>9} "
                f"{row.get('initial_callbacks', 0):>6} {row.get('errors', 0):>4}")
        add("(ms, wall time seen by the client on loopback)")
    if result.get("ingest"):
        i = result["ingest"]
        ok = i["events_per_s"] >= TARGETS["ingest_events_per_s"]
        add("")
        add(f"ingest: {i['events_per_s']:,.0f} events/s ({i['events']:,} events in batches of "
            f"{i['batch']:,}, {i['seconds']:.2f} s) via {i['path']}  target >= 300,000 "
            f"{_mark(ok)}")
    if result.get("freshness"):
        f = result["freshness"]
        if f.get("seconds") is None:
            add(f"freshness: not measured ({f.get('reason')})")
        else:
            add(f"freshness: {f['seconds']:.2f} s from ingest to the {f['view']} view's data "
                f"(polled every {f['poll_s']} s)  target < 60 {_mark(f['seconds'] < 60)}")
    if result.get("naive"):
        n = result["naive"]
        ratio = n["naive_ratio"]
        bound = ">= " if n["naive_timed_out"] else ""
        stopped = " (timed out)" if n["naive_timed_out"] else ""
        add(f"naive fan-out view: {_ms(n['naive_ms'])} ms{stopped}"
            f" vs ours {_ms(n['ours_ms'])} ms: {bound}{ratio:,.0f}x  target >= 20x "
            f"{_mark(ratio >= TARGETS['naive_ratio'])}")
        add(f"  revenue: naive {n['naive_revenue_total']:,.2f} ({n['naive_revenue_source']}) "
            f"wrong on {n['naive_wrong_campaigns']} of {n['campaigns']} campaigns; true "
            f"{n['true_revenue_total']:,.2f}; ours {n['ours_revenue_total']:,.2f} "
            f"(wrong on {n['ours_wrong_campaigns']})")
    if result.get("attribution"):
        a = result["attribution"]
        models = a["models"]
        exact = all(m["credits_add_up"] for m in models.values())
        add(f"attribution over {a['journeys']:,} journeys ({a['touches']:,} touches): "
            f"heuristics {a['heuristics_s']:.2f} s (all five), markov "
            f"{models['markov']['seconds']:.2f} s, shapley {models['shapley']['seconds']:.2f} s"
            f", reading rows {a['from_rows_s']:.2f} s; credits add up: {exact}  target "
            f"heuristics < 10 s, markov < 60 s "
            f"{_mark(a['heuristics_s'] < 10 and models['markov']['seconds'] < 60 and exact)}")
    if result.get("viewers"):
        v = result["viewers_run"]
        ok = v["p95_ms"] is not None and v["p95_ms"] < TARGETS["viewers_p95_ms"] \
            and not v["errors"]
        add("")
        add(f"viewers: {v['viewers']:,} of /{v['view']} refreshing every 30 s for "
            f"{v['minutes']:g} min: {v['rps']:,.1f} requests/s, p50 {_ms(v['p50_ms'])} ms, "
            f"p95 {_ms(v['p95_ms'])} ms, p99 {_ms(v['p99_ms'])} ms, max {_ms(v['max_ms'])} ms, "
            f"errors {v['errors']} {v['error_kinds'] or ''}, late refreshes "
            f"{v['late_refreshes']}  target p95 < 150, 0 errors {_mark(ok)}")
        add(f"  statuses {v.get('statuses')} (204: nothing new since the last refresh); "
            f"ingest during the run: {v.get('ingest_rate', 0):,} events/s")
        if v.get("hosts"):
            h = v["hosts"]
            per_host = ", ".join(f"{n:,}" for _, n in sorted(h["per_host"].items()))
            add(f"  {h['hosts']} hosts (`campaign-dash serve`, {h['workers_per_host']} workers x "
                f"{h['threads']} threads each) behind {h['balancer']}, round robin: callback "
                f"requests per host {per_host}; 5xx or no host at nginx: {h['errors']}")
        add("  (client time on loopback: includes HTTP and queueing in gunicorn"
            + (" and nginx)" if v.get("hosts") else ")"))
    if result.get("notes"):
        add("")
        for note in result["notes"]:
            add(f"note: {note}")
    return "\n".join(lines)


def json_object(result: dict) -> dict:
    out = {
        "events": result.get("events"),
        "seed": result.get("seed"),
        "machine": result.get("machine"),
        "callbacks": result.get("callbacks", []),
        "views": result.get("views", []),
        "ingest_events_per_s": (result.get("ingest") or {}).get("events_per_s"),
        "freshness_s": (result.get("freshness") or {}).get("seconds"),
        "naive_ratio": (result.get("naive") or {}).get("naive_ratio"),
        "details": {k: result.get(k) for k in ("server", "database", "ingest", "freshness",
                                               "naive", "attribution", "notes")},
    }
    if result.get("viewers"):
        v = result["viewers_run"]
        out.update(viewers=v["viewers"], rps=v["rps"], p95_ms=v["p95_ms"], errors=v["errors"],
                   viewers_detail=v)
    return out


def write_json(result: dict, path: str) -> None:
    Path(path).write_text(json.dumps(json_object(result), indent=2, default=str) + "\n")
