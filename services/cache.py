"""Redis cache for service functions.

``@cached()`` stores a service function's result under a key made of the function, the tenant,
the normalized arguments and the tenant's data version. Ingest bumps the version, so a cached
answer is never served after its data changed; values are JSON, never pickle. When Redis is
unreachable the function simply runs uncached.

A cached function is a read service: ``fn(ctx: ServiceContext, scope: Scope, ...)``. It takes
the request's scope (``services.access``), never a bare company id, so a caller cannot read a
tenant it did not resolve; the key holds the scope's company, not the user, so everyone of a
company shares an entry. The result is always returned after a JSON round trip, so callers see
the same types cached or not.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import redis
from sqlalchemy import text

from services import request_metrics
from services.access import Scope
from services.context import ServiceContext

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TTL_S = 3600
# The version key in Redis is only a shortcut for the PostgreSQL counter: it expires quickly so
# a bump missed during a Redis outage cannot keep stale answers alive for long.
VERSION_TTL_S = 10


def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "_asdict"):
        return value._asdict()
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_to_json, sort_keys=True, separators=(",", ":"))


def _version_key(ctx: ServiceContext, company_id: int, history: bool) -> str:
    return ctx.key("dv", company_id, "history") if history else ctx.key("dv", company_id)


def data_version(ctx: ServiceContext, company_id: int, *, history: bool = False) -> int:
    """The tenant's data version (``history``: its history version, see ``DataVersion``):
    from Redis when it has it, else from PostgreSQL."""
    client = ctx.redis()
    key = _version_key(ctx, company_id, history)
    column = "history_version" if history else "version"
    if client is not None:
        try:
            cached_version = client.get(key)
            if cached_version is not None:
                return int(cached_version)
        except redis.RedisError as error:
            ctx.redis_failed(error)
            client = None
    with ctx.session() as session:
        version = session.execute(
            text(f"SELECT {column} FROM data_versions WHERE company_id = :c"), {"c": company_id}
        ).scalar() or 0
    if client is not None:
        try:
            client.set(key, version, ex=VERSION_TTL_S)
        except redis.RedisError as error:
            ctx.redis_failed(error)
    return int(version)


def forget_data_version(ctx: ServiceContext, company_ids: list[int]) -> None:
    """Called after an ingest bumped the versions in PostgreSQL."""
    client = ctx.redis()
    if client is None:
        return
    try:
        client.delete(*[_version_key(ctx, company_id, history) for company_id in company_ids
                        for history in (False, True)])
    except redis.RedisError as error:
        ctx.redis_failed(error)


def cache_key(ctx: ServiceContext, fn: Callable, company_id: int, version: int,
              arguments: dict[str, Any]) -> str:
    digest = hashlib.sha256(dumps(arguments).encode()).hexdigest()[:32]
    return ctx.key("cache", f"{fn.__module__}.{fn.__qualname__}", company_id, version, digest)


def call_arguments(signature: inspect.Signature, ctx, tenant, args, kwargs) -> dict:
    """A cached function's arguments other than the context and tenant (a company id or a
    scope), defaults filled in."""
    bound = signature.bind(ctx, tenant, *args, **kwargs)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items()
            if k not in ("ctx", "company_id", "scope")}


def read_cached(ctx: ServiceContext, key: str) -> bytes | None:
    """The cached value (counted as a hit or a miss), or None; None too when Redis is down."""
    client = ctx.redis()
    if client is None:
        return None
    try:
        hit = client.get(key)
    except redis.RedisError as error:
        ctx.redis_failed(error)
        return None
    request_metrics.record_cache(ctx, hit is not None)
    return hit


def write_cached(ctx: ServiceContext, key: str, payload: str, ttl: int) -> None:
    client = ctx.redis()
    if client is None:
        return
    try:
        client.set(key, payload, ex=ttl)
    except redis.RedisError as error:
        ctx.redis_failed(error)


def cached(ttl: int = DEFAULT_TTL_S) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(ctx: ServiceContext, scope: Scope, *args, **kwargs):
            if not isinstance(scope, Scope) or scope.company_id is None:
                raise TypeError(f"{fn.__qualname__} reads one company: pass the request's "
                                "Scope (services.access), not a company id")
            company_id = scope.company_id
            arguments = call_arguments(signature, ctx, scope, args, kwargs)
            key = None
            if ctx.redis() is not None:  # the version costs a lookup: only when it is used
                key = cache_key(ctx, fn, company_id, data_version(ctx, company_id), arguments)
                hit = read_cached(ctx, key)
                if hit is not None:
                    return json.loads(hit)
            payload = dumps(fn(ctx, scope, *args, **kwargs))
            if key is not None:
                write_cached(ctx, key, payload, ttl)
            return json.loads(payload)

        wrapper.uncached = fn  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
