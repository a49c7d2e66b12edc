"""The campaigns view at 100,000 campaigns (issue #14): every callback of the view, cold and
warm, for one company that has N campaigns, and the first visit of a fresh server process.

    DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/0 python -m dashapp.bench.explorer --campaigns 100000

Builds (once; reused while its mark matches) a database ``campaign_dash_bench_explorer_<N>``:
the demo seed at a small size plus the company "Bulk Campaigns" with N campaigns, each active
7 to 60 days somewhere in the seed's last year, with one rollup row per campaign and day
(about 33 per campaign). Then, as the worker does after a load, fits the company's models
and snapshots the explorer's named ranges (its seconds are reported: the worker's cost at N
campaigns), and measures:

- ``first_visit``: a new server process per sample, logged in, opening /campaigns: each
  initial callback's server time (nothing of this company in the process yet, the request
  cache flushed; the worker's stored results and snapshots are there, as in production);
- ``callbacks``: ``campaign-dash bench``'s cold (request cache flushed) and warm timings of
  every callback of the view, as this company's users;
- ``custom_range``: a custom date range's first request (nothing built for it yet), in
  process: the sections reading the period asked at once, as the page fires them;
- ``custom_range_served``: the same through the served app (three processes), each
  callback's server time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from dataclasses import replace

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dashapp.bench.client import Client
from dashapp.bench.database import ensure_users
from dashapp.bench.measure import Measurer, flush_cache, percentile
from dashapp.bench.payloads import PageState, build_payload, discover, initial_levels
from dashapp.bench.server import BenchServer
from dashapp.config import Config

SLUG = "bulk-campaigns"
MARK = "campaign-dash explorer bench"
SEED_EVENTS = 50_000
VIEW = "campaigns"

_CAMPAIGNS_SQL = """
    INSERT INTO campaigns (company_id, channel_id, segment_id, location_id, name, goal, status,
                           start_date, end_date, budget_allocated, daily_budget, language, tags)
    SELECT :company,
           (SELECT array_agg(id ORDER BY id) FROM channels)[(1 + g % :channels)::int],
           (SELECT array_agg(id ORDER BY id) FROM segments)[(1 + (g * 13) % :segments)::int],
           (SELECT array_agg(id ORDER BY id) FROM locations)[(1 + (g * 31) % :locations)::int],
           'Bulk campaign ' || lpad(g::text, 6, '0'),
           (ARRAY['awareness','traffic','leads','sales'])[(1 + g % 4)::int],
           CASE WHEN s.start_day + s.days - 1 >= :last THEN 'active' ELSE 'completed' END,
           s.start_day, s.start_day + s.days - 1, s.days * 100, 100,
           (ARRAY['English','Spanish','German','French'])[(1 + (g / 4) % 4)::int], '{}'
    FROM generate_series(1::bigint, :n) AS g,
         LATERAL (SELECT (:last - ((g * 7919) % 365)::int)::date AS start_day,
                         (7 + (g * 104729) % 54)::int AS days) AS s"""

# One row per campaign and active day up to the last day: deterministic from the ids.
_ROLLUP_SQL = """
    INSERT INTO rollup_campaign_daily (company_id, campaign_id, channel_id, day, impressions,
                                       clicks, conversions, spend, revenue, events)
    SELECT c.company_id, c.id, c.channel_id, d.day::date, m.impressions,
           m.impressions * (1 + c.id % 5) / 100, m.impressions * (1 + c.id % 3) / 2000,
           round((m.impressions * 0.004)::numeric, 2),
           round((m.impressions * 0.004 * (0.5 + (c.id % 7) * 0.4))::numeric, 2), 1
    FROM campaigns c,
         generate_series(c.start_date, LEAST(c.end_date, :last), interval '1 day') AS d(day),
         LATERAL (SELECT 500 + ((c.id * 37 + extract(doy FROM d.day)::int * 101) % 4500)
                  AS impressions) AS m
    WHERE c.company_id = :company"""


def _admin(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT",
                         poolclass=NullPool)


def prepare(config: Config, campaigns: int, log=print) -> Config:
    """The bench's configuration over its own database, built unless already there."""
    from db import migrate
    from db.seed import seed as load_seed

    name = f"campaign_dash_bench_explorer_{campaigns}"
    url = make_url(config.database_url).set(database=name).render_as_string(
        hide_password=False)
    bench = replace(config, database_url=url, login_attempts_per_minute=100_000,
                    cache_namespace=f"{config.cache_namespace}-bench-explorer-{campaigns}")
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            mark = conn.execute(text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = :n"), {"n": name}).scalar()
            if mark == f"{MARK} {campaigns}":
                migrate.upgrade(url)
                log(f"database {name} reused")
                return bench
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        migrate.upgrade(url)
        started = time.perf_counter()
        load_seed(url, events=SEED_EVENTS, seed=42, progress=False)
        _add_bulk_company(url, campaigns)
        log(f"database {name} built in {time.perf_counter() - started:.1f} s")
        with admin.connect() as conn:
            conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{MARK} {campaigns}'"))
    finally:
        admin.dispose()
    return bench


def _add_bulk_company(url: str, campaigns: int) -> None:
    from db.rollups import bump_data_version

    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        company = conn.execute(text("""
            INSERT INTO companies (name, slug, industry)
            SELECT 'Bulk Campaigns', :slug, industry FROM companies ORDER BY id LIMIT 1
            RETURNING id"""), {"slug": SLUG}).scalar()
        last = conn.execute(text("SELECT MAX(day) FROM rollup_campaign_daily")).scalar()
        counts = conn.execute(text(
            "SELECT (SELECT count(*) FROM channels), (SELECT count(*) FROM segments), "
            "(SELECT count(*) FROM locations)")).one()
        conn.execute(text(_CAMPAIGNS_SQL), {"company": company, "n": campaigns, "last": last,
                                            "channels": counts[0], "segments": counts[1],
                                            "locations": counts[2]})
        conn.execute(text(_ROLLUP_SQL), {"company": company, "last": last})
        bump_data_version(conn, [company])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE campaigns"))
        conn.execute(text("ANALYZE rollup_campaign_daily"))
    engine.dispose()


def first_visit(bench: Config, user, password: str, specs, samples: int, log=print) -> dict:
    """Per initial callback of the view, its server time in a process that has just started
    (one sample per new process)."""
    import redis

    client_redis = redis.Redis.from_url(bench.redis_url)
    timings: dict[str, list[float]] = {}
    view_specs = [s for s in specs if s.view == VIEW]
    for sample in range(samples):
        flush_cache(client_redis, bench.cache_namespace)
        with BenchServer(bench, workers=1, threads=4) as server:
            client = Client(server.base_url)
            client.login(user.email, password)
            measurer = Measurer(server.base_url, specs, [user], password, bench.redis_url,
                                bench.cache_namespace, None)
            timed = client.post_callback(measurer.router_payload(f"/{VIEW}"))
            timings.setdefault("render_page", []).append(timed.server_ms)
            state = PageState()
            state.apply_response(json.loads(timed.body).get("response", {}))
            for level in initial_levels(view_specs):
                for spec in level:
                    payload = build_payload(spec, state)
                    if payload is None:
                        continue
                    timed = client.post_callback(payload)
                    if timed.status == 200:
                        state.apply_response(json.loads(timed.body).get("response", {}))
                    if timed.status in (200, 204):
                        timings.setdefault(spec.name, []).append(timed.server_ms)
        log(f"  first visit {sample + 1}/{samples}")
    return {name: {"p50_ms": round(statistics.median(values), 1),
                   "p95_ms": round(percentile(values, 95), 1), "n": len(values)}
            for name, values in timings.items()}


def _new_range(rng, last_day):
    """A custom range of 20 to 90 days ending 3 to 250 days before the data's last day."""
    end = last_day - dt.timedelta(days=rng.randint(3, 250))
    return end - dt.timedelta(days=rng.randint(19, 89)), end


def custom_ranges(ctx, company_id: int, last_day, samples: int, log=print) -> dict:
    """A custom date range's first request, in process: the sections of /campaigns that
    read the period (explorer, segments, channels, matrix, top and bottom) asked at once,
    as the page fires them, for ranges of 20 to 90 days no one asked before. Wall time from
    the first call to the last answer, and how many campaigns the range had."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from services import campaigns
    from services.access import system_scope

    scope = system_scope(ctx, company_id)
    sections = (campaigns.explorer, campaigns.segments, campaigns.channels,
                campaigns.performance_matrix, campaigns.top_bottom)
    # seeded by the clock: an earlier run's ranges (built, kept in Redis) are not asked again
    rng = random.Random(f"custom ranges {time.time_ns()}")
    walls, sizes = [], []
    for _ in range(samples):
        start, end = _new_range(rng, last_day)
        raw = {"range": "custom", "start": start.isoformat(), "end": end.isoformat()}
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(sections)) as pool:
            answers = list(pool.map(lambda section, raw=raw: section(ctx, scope, raw),
                                    sections))
        walls.append((time.perf_counter() - started) * 1000.0)
        sizes.append(answers[0]["campaigns"])
        log(f"  custom range {raw['start']} to {raw['end']}: {walls[-1]:.0f} ms "
            f"({sizes[-1]:,} campaigns)")
    return {"p50_ms": round(statistics.median(walls), 1),
            "p95_ms": round(percentile(walls, 95), 1), "n": samples,
            "campaigns_min": min(sizes), "campaigns_max": max(sizes)}


SECTION_CALLBACKS = ("update_explorer", "update_segments", "update_channels", "update_matrix",
                     "update_rank")


def custom_ranges_served(bench: Config, user, password: str, specs, last_day, samples: int,
                         warm_up: int = 6, log=print) -> dict:
    """A custom date range's first request through the served app (three server processes
    of four threads, as ``callbacks``): the page's five sections that read the period
    posted at once on five connections of one browser, as the page fires them when the
    range is picked; each callback's server time (Server-Timing) and the slowest of the
    five per range. The first ``warm_up`` ranges are not timed: a process's first one also
    loads the campaigns' dimensions (once per process and history version; ``first_visit``
    times a new process)."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    view_specs = {s.name.split(" ")[0]: s for s in specs if s.view == VIEW}
    sections = [view_specs[name] for name in SECTION_CALLBACKS]
    rng = random.Random(f"served custom ranges {time.time_ns()}")  # never asked before
    per_callback: dict[str, list[float]] = {name: [] for name in SECTION_CALLBACKS}
    slowest, errors = [], 0
    with BenchServer(bench, workers=3, threads=4) as server:
        client = Client(server.base_url)
        client.login(user.email, password)
        measurer = Measurer(server.base_url, specs, [user], password, bench.redis_url,
                            bench.cache_namespace, None)
        state, _status = measurer.render(client, VIEW)
        browsers = [client.clone() for _ in sections]
        for sample in range(warm_up + samples):
            start, end = _new_range(rng, last_day)
            values = {f"{VIEW}-range.value": "custom",
                      f"{VIEW}-dates.start_date": start.isoformat(),
                      f"{VIEW}-dates.end_date": end.isoformat()}
            payloads = [build_payload(spec, state, values, [f"{VIEW}-dates.end_date"])
                        for spec in sections]
            with ThreadPoolExecutor(max_workers=len(sections)) as pool:
                answers = list(pool.map(lambda pair: pair[0].post_callback(pair[1]),
                                        zip(browsers, payloads, strict=True)))
            errors += sum(a.status != 200 for a in answers)
            if sample < warm_up:
                continue
            for name, answer in zip(SECTION_CALLBACKS, answers, strict=True):
                per_callback[name].append(answer.server_ms)
            slowest.append(max(a.server_ms for a in answers))
            log(f"  served custom range {start} to {end}: slowest section "
                f"{slowest[-1]:.0f} ms")
    everything = [ms for values in per_callback.values() for ms in values]
    return {"n": samples, "errors": errors,
            "slowest_p50_ms": round(statistics.median(slowest), 1),
            "slowest_p95_ms": round(percentile(slowest, 95), 1),
            "callback_p50_ms": round(statistics.median(everything), 1),
            "callback_p95_ms": round(percentile(everything, 95), 1),
            "callbacks": {name: {"p50_ms": round(statistics.median(v), 1),
                                 "p95_ms": round(percentile(v, 95), 1)}
                          for name, v in per_callback.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--first-visits", type=int, default=10)
    parser.add_argument("--custom-ranges", type=int, default=20)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)

    from services.context import ServiceContext
    from services.insights import precompute

    config = Config.from_env()
    bench = prepare(config, args.campaigns)
    users, password = ensure_users(bench)
    mine = [u for u in users if u.company_slug == SLUG]
    ctx = ServiceContext(bench.database_url, bench.redis_url, bench.cache_namespace)
    with ctx.session() as session:
        company = session.execute(text("SELECT id FROM companies WHERE slug = :s"),
                                  {"s": SLUG}).scalar()
        last_day = session.execute(text("SELECT MAX(day) FROM rollup_campaign_daily")).scalar()
    started = time.perf_counter()
    precompute.refresh(ctx, [company])
    result = {"campaigns": args.campaigns,
              "worker_pass_s": round(time.perf_counter() - started, 1)}
    print(f"worker pass for the company (models, anomalies, snapshots): "
          f"{result['worker_pass_s']} s")
    print("custom date ranges, first request (in process, the page's sections at once)...")
    result["custom_range"] = custom_ranges(ctx, company, last_day, args.custom_ranges)

    from dashapp.app import create_app

    dash_app = create_app(bench).extensions["dash_app"]
    with BenchServer(bench, workers=3, threads=4) as server:
        probe = Client(server.base_url)
        probe.login(mine[0].email, password)
        specs = discover(dash_app, probe.get_json("/_dash-dependencies"))
    manager = next(u for u in mine if u.role == "marketing_manager")
    print("custom date ranges, first request, through the served app...")
    result["custom_range_served"] = custom_ranges_served(bench, manager, password, specs,
                                                         last_day, args.custom_ranges)
    print(f"first visits of /{VIEW} in new server processes...")
    result["first_visit"] = first_visit(bench, manager, password, specs, args.first_visits)
    print("callbacks, cold and warm...")
    with BenchServer(bench, workers=3, threads=4) as server:
        measurer = Measurer(server.base_url, specs, mine, password, bench.redis_url,
                            bench.cache_namespace, last_day, repeats=args.repeats,
                            views=[VIEW])
        callbacks = [measurer.measure_callback(spec, VIEW).as_dict()
                     for spec in measurer.view_specs(VIEW)]
    result["callbacks"] = callbacks
    row = result["custom_range"]
    print(f"\ncustom range, first request: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms "
          f"({row['n']} ranges of {row['campaigns_min']:,} to {row['campaigns_max']:,} "
          "campaigns)")
    row = result["custom_range_served"]
    print(f"custom range, first request through the served app: each callback p50 "
          f"{row['callback_p50_ms']} ms, p95 {row['callback_p95_ms']} ms; the slowest of the "
          f"five p50 {row['slowest_p50_ms']} ms, p95 {row['slowest_p95_ms']} ms "
          f"({row['n']} ranges, {row['errors']} errors)")
    print("\n| first visit (new process) | p50 ms | p95 ms |\n| --- | --- | --- |")
    for name, row in result["first_visit"].items():
        print(f"| {name} | {row['p50_ms']} | {row['p95_ms']} |")
    print("\n| callback | cold p95 ms | warm p95 ms | errors |\n| --- | --- | --- | --- |")
    for row in callbacks:
        print(f"| {row['callback']} | {_ms(row['cold_p95_ms'])} | {_ms(row['warm_p95_ms'])} "
              f"| {row['errors']} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2, default=str)
    return 0


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
