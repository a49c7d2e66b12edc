"""``campaign-dash bench``: proves the performance targets of DESIGN.md with one command.

Modules: ``database`` (the bench's own warehouse keyed by N and seed, bench users),
``server`` (gunicorn child with a Server-Timing middleware), ``client`` (HTTP driver through
the login form), ``payloads`` (callback discovery from the Dash app's ``callback_map`` and
realistic request variations), ``measure`` (cold and warm per callback, whole views),
``ingest`` (ingest rate and freshness), ``naive`` (the fan-out view baseline), ``viewers``
(V viewers of the real-time view), ``report`` (table and JSON).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from sqlalchemy import text

from dashapp.config import Config


@dataclass
class BenchOptions:
    events: int = 20_000
    seed: int = 42
    json_path: str | None = None
    repeats: int = 20
    view_repeats: int = 8
    views: list[str] | None = None
    workers: int | None = None
    threads: int = 4
    ingest_events: int | None = None
    ingest_batch: int = 50_000
    naive_timeout_s: float = 300.0
    users_per_role: int = 3
    viewers: int | None = None
    minutes: float = 5.0
    ingest_rate: int = 0  # events/s streamed through the ingest path during the viewers run
    # Viewers mode only: app hosts (`campaign-dash serve` each) behind a private nginx.
    hosts: int = 1
    progress: bool = True
    # Generated journeys the attribution models are timed over (issue #15); 0: skipped.
    attribution_journeys: int = 1_000_000


def _refresh_specs(specs, view: str):
    """What a refresh of the view posts: the callbacks driven by an Interval, else all the
    view's initial callbacks."""
    from dashapp.bench.payloads import initial_levels

    own = [s for s in specs if s.view == view]
    ticking = [s for s in own if any(d["property"] == "n_intervals" for d in s.inputs)]
    return ticking or [s for level in initial_levels(own) for s in level]


def _refresh_payloads(measurer, sess, view: str, specs) -> list[dict]:
    from dashapp.bench.payloads import build_payload

    state = measurer.page(sess, view)
    payloads = []
    for spec in specs:
        changed = [f"{d['id']}.{d['property']}" for d in spec.inputs
                   if d["property"] == "n_intervals"][:1]
        payload = build_payload(spec, state, changed=changed)
        if payload:
            payloads.append(payload)
    return payloads


def _impressions_today(client) -> float:
    snapshot = client.get_json("/api/v1/realtime")
    for metric in snapshot["live"]["metrics"]:
        if metric["metric"] == "impressions":
            return float(metric["value"] or 0)
    raise RuntimeError("the realtime snapshot has no impressions metric")


def _wait_past_midnight_utc(margin_s: float) -> None:
    """"Today" must not change between the baseline and the marker's appearance: when UTC
    midnight is closer than the measurement could last, wait until just after it."""
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    remaining = (midnight - now).total_seconds()
    if remaining < margin_s:
        time.sleep(remaining + 2)


def measure_freshness(measurer, ctx, poll_s: float = 0.25, timeout_s: float = 120.0) -> dict:
    """Seconds from the start of an ingest (through services.ingest) to the first answer of
    the real-time view's data (``/api/v1/realtime``, the same service function as the view's
    callback) that contains the ingested impressions."""
    from dashapp.bench import ingest
    from services.registry import API_RESOURCES, can_open

    if "realtime" not in API_RESOURCES:
        return {"seconds": None, "view": "realtime", "reason": "the realtime view is not built"}
    users = [u for u in measurer.users if u.company_id and can_open(u.role, "realtime")]
    sess = measurer.session(users[0])
    _wait_past_midnight_utc(margin_s=30)
    baseline = _impressions_today(sess.client)
    started = time.perf_counter()
    first, last, impressions = ingest.ingest_marker(ctx, users[0].company_id)
    ingest_s = time.perf_counter() - started
    try:
        polls = 0
        while time.perf_counter() - started < timeout_s:
            polls += 1
            if _impressions_today(sess.client) >= baseline + impressions:
                return {"seconds": time.perf_counter() - started, "ingest_s": ingest_s,
                        "view": "realtime", "poll_s": poll_s, "polls": polls,
                        "company_id": users[0].company_id, "events": last - first + 1,
                        "path": ingest.path_name()}
            time.sleep(poll_s)
        return {"seconds": None, "view": "realtime",
                "reason": f"not visible after {timeout_s:.0f} s"}
    finally:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        engine = create_engine(ctx.database_url, poolclass=NullPool)
        ingest.remove_events(engine, ctx, [(first, last)])
        engine.dispose()


def run_bench(config: Config, options: BenchOptions, log=print) -> dict:
    from dashapp.app import create_app
    from dashapp.bench import database, naive, report
    from dashapp.bench.client import Client
    from dashapp.bench.ingest import measure_ingest
    from dashapp.bench.measure import Measurer, flush_cache
    from dashapp.bench.payloads import discover
    from dashapp.bench.server import BenchServer
    from dashapp.bench.viewers import run_viewers
    from dashapp.views import BUILT
    from db.engine import session_scope
    from services import data_quality
    from services.context import ServiceContext
    from services.insights import precompute

    if options.hosts < 1 or (options.hosts > 1 and not options.viewers):
        raise ValueError("--hosts N (N >= 1) is for the viewers mode: add --viewers V")
    bench = database.bench_config(config, options.events, options.seed)
    log(f"bench database {bench.database_url.rsplit('/', 1)[-1].split('?')[0]} "
        f"({options.events:,} events, seed {options.seed})...")
    db = database.prepare_database(bench, options.events, options.seed,
                                   progress=options.progress)
    log("  reused" if db.reused else f"  seeded in {db.seed_seconds:.1f} s")
    users, password = database.ensure_users(bench)
    ctx = ServiceContext(bench.database_url, bench.redis_url, bench.cache_namespace)
    with session_scope(bench.database_url) as session:
        last_day = session.execute(text("SELECT MAX(day) FROM rollup_campaign_daily")).scalar()
    # What `campaign-dash worker` does after a load: fit the history models and store them.
    started = time.perf_counter()
    fitted = precompute.refresh(ctx)
    history_models = {"seconds": round(time.perf_counter() - started, 2),
                      "slowest_company_s": round(max(fitted.values(), default=0.0), 2)}
    log(f"  history models current in {history_models['seconds']:.1f} s (the worker's pass)")
    started = time.perf_counter()
    data_quality.refresh_stale(ctx, min_age_s=0)
    history_models["data_quality_s"] = round(time.perf_counter() - started, 2)
    log(f"  data quality computed in {history_models['data_quality_s']:.1f} s (the worker's "
        "pass)")
    dash_app = create_app(bench).extensions["dash_app"]
    workers = options.workers or (2 * (os.cpu_count() or 1) + 1)
    result: dict = {"events": options.events, "seed": options.seed, "notes": [],
                    "database": {"reused": db.reused, "seed_seconds": db.seed_seconds,
                                 "end_date": db.end_date},
                    "server": {"workers": workers, "threads": options.threads},
                    "history_models": history_models}
    built = list(BUILT)
    log_path = bench.data_dir / "bench-server.log"
    bench.data_dir.mkdir(parents=True, exist_ok=True)
    if options.hosts > 1:
        from dashapp.bench.hosts import Hosts

        serving = Hosts(bench, options.hosts, options.workers, options.threads, bench.data_dir)
        log(f"{options.hosts} hosts (`campaign-dash serve`, {serving.workers} workers x "
            f"{options.threads} threads each) behind nginx on {serving.base_url}...")
    else:
        serving = BenchServer(bench, workers, options.threads, log_path)
    with serving as server:
        probe = Client(server.base_url)
        probe.login(users[0].email, password)
        specs = discover(dash_app, probe.get_json("/_dash-dependencies"))
        measurer = Measurer(server.base_url, specs, users, password, bench.redis_url,
                            bench.cache_namespace, last_day, repeats=options.repeats,
                            seed=options.seed, views=options.views,
                            users_per_role=options.users_per_role, log=log)
        measurer.built = tuple(built)
        live_view = "realtime" if "realtime" in built else built[0]
        if live_view != "realtime":
            result["notes"].append(f"the realtime view is not built yet: freshness and viewers "
                                   f"use /{live_view}")
        if options.viewers:
            live_specs = _refresh_specs(specs, live_view)
            from services.registry import can_open

            sessions = []
            for user in [u for u in users if can_open(u.role, live_view)]:
                sess = measurer.session(user)
                sessions.append((sess.client, _refresh_payloads(measurer, sess, live_view,
                                                                live_specs)))
            flush_cache(measurer.redis, bench.cache_namespace)
            log(f"{options.viewers:,} viewers of /{live_view} for {options.minutes:g} min "
                f"({len(sessions)} logged-in users)...")
            from dashapp.bench.ingest import BackgroundIngest

            run_started = time.time()
            with BackgroundIngest(ctx, options.ingest_rate):
                run = run_viewers(sessions, options.viewers, options.minutes, log=log)
                log(f"  {run}")  # before the ingested events are taken out again
            run["view"] = live_view
            run["ingest_rate"] = options.ingest_rate
            result["viewers"] = options.viewers
            result["viewers_run"] = run
        else:
            log("callbacks (cold and warm) and whole views...")
            for sess_user in users[:1]:
                measurer.session(sess_user)
            result["callbacks"], result["views"] = measurer.run(built, options.view_repeats)
            log("freshness...")
            result["freshness"] = measure_freshness(measurer, ctx)
    if options.hosts > 1:  # what nginx saw: every host served, none failed (log read at stop)
        result["viewers_run"]["hosts"] = serving.summary(since=run_started,
                                                         uri="/_dash-update-component")
        result["server"].update(hosts=options.hosts, workers=serving.workers,
                                balancer=result["viewers_run"]["hosts"]["balancer"])
        serving.cleanup()
    if not options.viewers:
        n_ingest = options.ingest_events or max(50_000, min(options.events // 10, 2_000_000))
        log(f"ingest of {n_ingest:,} events...")
        result["ingest"] = measure_ingest(ctx, n_ingest, min(options.ingest_batch, n_ingest),
                                          seed=options.seed)
        log("naive fan-out view vs ours...")
        result["naive"] = naive.compare(bench.database_url, options.naive_timeout_s)
        if options.attribution_journeys:
            from dashapp.bench import attribution

            log(f"attribution models over {options.attribution_journeys:,} journeys...")
            result["attribution"] = attribution.measure(options.attribution_journeys,
                                                        log=lambda line: log(f"  {line}"))
    result["machine"] = report.machine()
    with session_scope(bench.database_url) as session:
        result["machine"]["postgresql"] = session.execute(text("SHOW server_version")).scalar()
    log("")
    log(report.table(result))
    if options.json_path:
        report.write_json(result, options.json_path)
        log(f"\nJSON written to {options.json_path}")
    return result


def dumps(result: dict) -> str:
    from dashapp.bench.report import json_object

    return json.dumps(json_object(result), indent=2, default=str)
