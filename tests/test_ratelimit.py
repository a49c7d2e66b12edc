"""The login rate limit while Redis is down (issue #11, finding 6): counted in PostgreSQL.

Redis is made unreachable by pointing a ServiceContext at a port nothing listens on; the
machine's own Redis is never stopped."""

from __future__ import annotations

import uuid
from dataclasses import replace

from conftest import login
from services import ratelimit
from services.context import ServiceContext

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def _down_ctx(config) -> ServiceContext:
    return ServiceContext(config.database_url, UNREACHABLE_REDIS,
                          f"{config.cache_namespace}-rl-{uuid.uuid4().hex[:6]}")


def test_rl001_limit_holds_with_redis_down(config):
    ctx = _down_ctx(config)
    bucket = f"test:{uuid.uuid4().hex}"
    assert [ratelimit.allow(ctx, bucket, 5) for _ in range(7)] == [True] * 5 + [False] * 2
    assert ratelimit.allow(ctx, f"other:{uuid.uuid4().hex}", 5)  # buckets are separate


def test_rl002_limit_is_shared_between_processes_with_redis_down(config):
    """Two app processes (two contexts) count into the same PostgreSQL window."""
    first, second = _down_ctx(config), _down_ctx(config)
    second.namespace = first.namespace
    bucket = f"test:{uuid.uuid4().hex}"
    allowed = [ratelimit.allow(ctx, bucket, 4) for ctx in (first, second) * 3]
    assert allowed == [True] * 4 + [False] * 2


def test_rl003_wrong_passwords_are_refused_with_redis_down(config, users):
    from dashapp.app import create_app

    server = create_app(replace(config, redis_url=UNREACHABLE_REDIS,
                                cache_namespace=f"{config.cache_namespace}-rl-{uuid.uuid4().hex[:6]}",
                                login_attempts_per_minute=5))
    client = server.test_client()
    statuses = [login(client, users["campaign_specialist"], "wrong-password").status_code
                for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
