"""Fixed-window rate limits in Redis (login attempts). With Redis down the limit is not
enforced: logins keep working and the slow password hash still bounds guessing speed."""

from __future__ import annotations

import time

import redis

from services.context import ServiceContext


def allow(ctx: ServiceContext, bucket: str, limit: int, window_s: int = 60) -> bool:
    client = ctx.redis()
    if client is None:
        return True
    key = ctx.key("rl", bucket, int(time.time() // window_s))
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, window_s)
        count, _ = pipe.execute()
    except redis.RedisError as error:
        ctx.redis_failed(error)
        return True
    return int(count) <= limit
