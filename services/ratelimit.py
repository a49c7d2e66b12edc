"""Fixed-window rate limits (login attempts, set-password posts).

Counted in Redis; while Redis is down (no client, or a Redis error) counted in PostgreSQL
instead, in the UNLOGGED ``rate_limit_hits`` table, so the limit never disappears. PostgreSQL
rather than a per-process counter: gunicorn workers and app hosts share it, so the limit stays
the configured one instead of growing with the number of processes (and surviving a restart);
the login path already reads the user and writes an audit row there, so one upsert more per
attempt during an outage costs little. UNLOGGED: counters need no crash safety, so no WAL."""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy import text

from services.context import ServiceContext

log = logging.getLogger(__name__)


def allow(ctx: ServiceContext, bucket: str, limit: int, window_s: int = 60) -> bool:
    """Count one hit in ``bucket``'s current window; False once it holds more than ``limit``."""
    client = ctx.redis()
    if client is None:
        return _allow_in_postgres(ctx, bucket, limit, window_s)
    key = ctx.key("rl", bucket, int(time.time() // window_s))
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, window_s)
        count, _ = pipe.execute()
    except redis.RedisError as error:
        ctx.redis_failed(error)
        return _allow_in_postgres(ctx, bucket, limit, window_s)
    return int(count) <= limit


def _allow_in_postgres(ctx: ServiceContext, bucket: str, limit: int, window_s: int) -> bool:
    # The window number from PostgreSQL's clock: one clock for every app host.
    with ctx.session() as session:
        hits = session.execute(text("""
            INSERT INTO rate_limit_hits (bucket, window_no, hits, expires_at)
            VALUES (:bucket, floor(extract(epoch FROM now()) / :w)::bigint, 1,
                    now() + make_interval(secs => :w))
            ON CONFLICT (bucket, window_no) DO UPDATE SET hits = rate_limit_hits.hits + 1
            RETURNING hits"""), {"bucket": ctx.key("rl", bucket)[:300], "w": window_s}).scalar()
        if hits == 1:  # a new window: the ended ones of every bucket go (a small table)
            session.execute(text("DELETE FROM rate_limit_hits WHERE expires_at < now()"))
    return int(hits) <= limit
