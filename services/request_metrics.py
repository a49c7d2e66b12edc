"""The app measuring itself: request latency per view and API route, error rate, cache hit
rate, slow queries, database and Redis status, data freshness.

A request timer (dashapp/timing.py) calls ``record_request`` once per request. Durations go
into log-spaced histogram buckets kept in Redis hashes, one per minute (kept 2 hours) and one
per hour (kept 26 hours), with atomic HINCRBY, so any number of workers can write at once and
the last hour (60 minute hashes) or day (24 hour hashes) is read in one round trip. A
percentile is the geometric middle of the bucket holding that rank: buckets grow by 2^(1/8),
so it is within 4.5 % of the exact value. With Redis down nothing is recorded and the health
panel says so; the requests themselves are unaffected.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict

import redis

from db.queries import system as queries
from services.context import ServiceContext

BUCKET_GROWTH = 2 ** (1 / 8)
MIN_MS = 0.05
MAX_BUCKET = 260  # 0.05 ms x 2^(260/8) is about 5 hours: everything fits
MINUTE_TTL_S = 2 * 3600
HOUR_TTL_S = 26 * 3600
SLOW_QUERY_KEEP = 50
WINDOWS = {"hour": ("m", 60, 60), "day": ("h", 3600, 24)}  # key letter, seconds, slots
SEP = "|"


def bucket_of(ms: float) -> int:
    if ms <= MIN_MS:
        return 0
    return min(MAX_BUCKET, int(math.log(ms / MIN_MS) / math.log(BUCKET_GROWTH)))


def bucket_value(index: int) -> float:
    """The geometric middle of a bucket, in milliseconds."""
    return MIN_MS * BUCKET_GROWTH ** (index + 0.5)


def _slot_keys(ctx: ServiceContext, now: float) -> list[tuple[str, int]]:
    return [(ctx.key("rm", letter, int(now // seconds)), ttl)
            for letter, seconds, ttl in (("m", 60, MINUTE_TTL_S), ("h", 3600, HOUR_TTL_S))]


def _client(ctx: ServiceContext):
    return ctx.redis()


def record_request(ctx: ServiceContext, route: str, status: int, duration_ms: float,
                   now: float | None = None) -> None:
    """Count one request of ``route`` (e.g. "view:executive", "api:/api/v1/kpis")."""
    client = _client(ctx)
    if client is None:
        return
    now = time.time() if now is None else now
    route = route.replace(SEP, "/")
    try:
        pipe = client.pipeline(transaction=False)
        for key, ttl in _slot_keys(ctx, now):
            pipe.hincrby(key, f"{route}{SEP}b{bucket_of(duration_ms)}", 1)
            pipe.hincrby(key, f"{route}{SEP}n", 1)
            if status >= 500:
                pipe.hincrby(key, f"{route}{SEP}e", 1)
            pipe.expire(key, ttl)
        pipe.execute()
    except redis.RedisError as error:
        ctx.redis_failed(error)


def record_cache(ctx: ServiceContext, hit: bool, now: float | None = None) -> None:
    """Count one cache lookup of services.cache (hit or miss)."""
    client = _client(ctx)
    if client is None:
        return
    now = time.time() if now is None else now
    try:
        pipe = client.pipeline(transaction=False)
        for key, ttl in _slot_keys(ctx, now):
            pipe.hincrby(key, f"cache{SEP}{'hit' if hit else 'miss'}", 1)
            pipe.expire(key, ttl)
        pipe.execute()
    except redis.RedisError as error:
        ctx.redis_failed(error)


def record_slow_query(ctx: ServiceContext, statement: str, duration_ms: float,
                      route: str | None = None, now: float | None = None) -> None:
    """Keep the statement (never its parameters) in a bounded list of recent slow queries."""
    client = _client(ctx)
    if client is None:
        return
    entry = json.dumps({"at": time.time() if now is None else now,
                        "ms": round(duration_ms, 1), "route": route,
                        "statement": " ".join(statement.split())[:600]})
    try:
        pipe = client.pipeline(transaction=False)
        pipe.lpush(ctx.key("rm", "slow"), entry)
        pipe.ltrim(ctx.key("rm", "slow"), 0, SLOW_QUERY_KEEP - 1)
        pipe.execute()
    except redis.RedisError as error:
        ctx.redis_failed(error)


def _read_window(ctx: ServiceContext, window: str, now: float) -> list[dict] | None:
    letter, seconds, slots = WINDOWS[window]
    current = int(now // seconds)
    client = _client(ctx)
    if client is None:
        return None
    try:
        pipe = client.pipeline(transaction=False)
        for slot in range(current - slots + 1, current + 1):
            pipe.hgetall(ctx.key("rm", letter, slot))
        return pipe.execute()
    except redis.RedisError as error:
        ctx.redis_failed(error)
        return None


def percentile(buckets: dict[int, int], q: float) -> float | None:
    """The q-th percentile (0-100, nearest rank) of a bucket histogram, in milliseconds."""
    total = sum(buckets.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for index in sorted(buckets):
        seen += buckets[index]
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(max(buckets))


def latency_summary(ctx: ServiceContext, window: str = "hour",
                    now: float | None = None) -> dict:
    """Per route over the last hour or day: requests, p50/p95/p99 (ms), errors, error rate;
    plus the totals and the cache hit rate. ``available`` is False when Redis is down."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}")
    hashes = _read_window(ctx, window, time.time() if now is None else now)
    if hashes is None:
        return {"window": window, "available": False, "routes": [], "total": None,
                "cache": {"hits": 0, "misses": 0, "hit_rate": None}}
    buckets: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[str, int] = defaultdict(int)
    errors: dict[str, int] = defaultdict(int)
    cache = {"hit": 0, "miss": 0}
    for fields in hashes:
        for raw_field, raw_value in fields.items():
            name, _, kind = raw_field.decode().rpartition(SEP)
            value = int(raw_value)
            if name == "cache":
                cache[kind] = cache.get(kind, 0) + value
            elif kind == "n":
                counts[name] += value
            elif kind == "e":
                errors[name] += value
            elif kind.startswith("b"):
                buckets[name][int(kind[1:])] += value

    def row(route: str, histogram: dict[int, int], n: int, e: int) -> dict:
        return {"route": route, "requests": n, "p50": percentile(histogram, 50),
                "p95": percentile(histogram, 95), "p99": percentile(histogram, 99),
                "errors": e, "error_rate": e / n if n else None}

    routes = [row(route, buckets[route], counts[route], errors[route])
              for route in sorted(counts, key=lambda r: (-counts[r], r))]
    merged: dict[int, int] = defaultdict(int)
    for histogram in buckets.values():
        for index, value in histogram.items():
            merged[index] += value
    lookups = cache["hit"] + cache["miss"]
    return {"window": window, "available": True, "routes": routes,
            "total": row("all", merged, sum(counts.values()), sum(errors.values())),
            "cache": {"hits": cache["hit"], "misses": cache["miss"],
                      "hit_rate": cache["hit"] / lookups if lookups else None}}


def slow_queries(ctx: ServiceContext, limit: int = 20) -> list[dict]:
    client = _client(ctx)
    if client is None:
        return []
    try:
        entries = client.lrange(ctx.key("rm", "slow"), 0, limit - 1)
    except redis.RedisError as error:
        ctx.redis_failed(error)
        return []
    return [json.loads(entry) for entry in entries]


def _timed(probe) -> dict:
    started = time.perf_counter()
    try:
        detail = probe() or {}
    except Exception as error:  # any failure means "down"; the type is enough to diagnose
        return {"status": "down", "error": type(error).__name__}
    return {"status": "up", "ms": round((time.perf_counter() - started) * 1000, 1), **detail}


def server_status(ctx: ServiceContext) -> dict:
    """PostgreSQL and Redis: up or down, round-trip time, and a few server facts."""

    def database():
        with ctx.session() as session:
            queries.database_now(session)
        return {}

    def cache():
        client = ctx.redis()
        if client is None:
            raise ConnectionError("redis unavailable")
        info = client.info()
        hits, misses = info.get("keyspace_hits", 0), info.get("keyspace_misses", 0)
        return {"version": info.get("redis_version"),
                "memory": info.get("used_memory_human"),
                "server_hit_rate": hits / (hits + misses) if hits + misses else None}

    return {"database": _timed(database), "redis": _timed(cache)}


def refitted_models() -> tuple[str, ...]:
    # Imported here: precompute reaches the cache, which records its timings here.
    from services.insights.precompute import REFITTED

    return REFITTED


def data_freshness(ctx: ServiceContext, now=None, *, company_id: int | None = None
                   ) -> list[dict]:
    """Per company: newest event time, its ingest time, the last ingest and the lag (s)."""
    with ctx.session() as session:
        rows = queries.data_freshness(session, company_id, refitted_models())
        db_now = queries.database_now(session) if now is None else now
    out = []
    for row in rows:
        newest = row["occurred_at"]
        out.append({
            "company": row["slug"], "name": row["name"],
            "newest_event": newest.isoformat() if newest else None,
            "newest_ingested": row["ingested_at"].isoformat() if row["ingested_at"] else None,
            "last_ingest": row["last_ingest"].isoformat() if row["last_ingest"] else None,
            "lag_seconds": (db_now - newest).total_seconds() if newest else None,
            "models_fitted_at": (row["models_fitted_at"].isoformat()
                                 if row["models_fitted_at"] else None),
            "models_current": row["models_current"],
        })
    return out


def system_health(ctx: ServiceContext, window: str = "hour", *,
                  company_id: int | None = None) -> dict:
    """Everything the admin view's health tab and /api/v1/system-health show; an admin with
    a company (``company_id``) sees that company's data freshness only."""
    return {"servers": server_status(ctx), "latency": latency_summary(ctx, window),
            "slow_queries": slow_queries(ctx),
            "freshness": data_freshness(ctx, company_id=company_id)}
