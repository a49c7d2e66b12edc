"""History models' results, kept per history version in Redis and in PostgreSQL.

Anomalies, trend changes and forecasts are fitted to the days before today, so they change
only when that history does (``DataVersion.history_version``, and the date: at midnight
yesterday joins the history). ``@history_model`` keys a model's result by both. A result is
looked up in Redis, then in ``insight_results`` (which survives a Redis flush or restart and
which the worker fills ahead of the first request, see ``precompute``), and only then fitted,
on the request, and stored in both.

When the history has just changed (late events for yesterday, midnight), the stored result of
the previous history is still served for up to ``STALE_SERVE_S`` while the worker refits: a
few late events barely move a year of history, and otherwise every open dashboard would refit
the same models at once, for a second each.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from db.queries import insight_results as queries
from services.cache import (
    DEFAULT_TTL_S,
    call_arguments,
    data_version,
    dumps,
    read_cached,
    write_cached,
)
from services.context import ServiceContext
from services.periods import utc_today

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
STALE_SERVE_S = 600  # ten worker passes
STALE_TTL_S = 30  # how long Redis keeps a stale answer before PostgreSQL is asked again


def history_through() -> dt.date:
    """The last day of the history the models see (today is still filling up)."""
    return utc_today() - dt.timedelta(days=1)


def json_safe(value: Any) -> Any:
    """NaN and infinities (a MAPE over a zero week...) as None: PostgreSQL's jsonb, like
    JSON itself, has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def _name(fn: Callable, arguments: dict[str, Any]) -> str:
    name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}"
    if arguments:
        name += dumps(arguments)
    if len(name) > 200:  # the column's width: a digest keeps long arguments apart
        name = name[:167] + "#" + hashlib.sha256(name.encode()).hexdigest()[:32]
    return name


def history_model(fn: F) -> F:
    """Decorate ``fn(ctx, company_id, ...)``, a pure function of the company's history.
    ``fn.refit_if_stale(ctx, company_id, ...)`` is the worker's call: it never serves the
    previous history's result."""
    signature = inspect.signature(fn)

    def lookup(ctx: ServiceContext, company_id: int, args, kwargs, serve_stale: bool):
        name = _name(fn, call_arguments(signature, ctx, company_id, args, kwargs))
        version = data_version(ctx, company_id, history=True)
        through = history_through()
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        # Under "cache:" like every cached value, so flushing the cache flushes these too.
        key = ctx.key("cache", "history", company_id, version, through.isoformat(), digest)
        # The worker skips Redis: it may hold, under this key, the previous history's result
        # served while the refit was pending.
        if serve_stale:
            hit = read_cached(ctx, key)
            if hit is not None:
                return json.loads(hit)
        with ctx.session() as session:
            stored = queries.load(session, company_id, name)
        payload, ttl = None, DEFAULT_TTL_S
        if stored is not None:
            if (stored.history_version, stored.through) == (version, through):
                payload = stored.payload
            elif serve_stale and stored.age_s < STALE_SERVE_S:
                payload, ttl = stored.payload, STALE_TTL_S  # the worker's refit comes soon
        if payload is None:
            started = time.perf_counter()
            payload = dumps(json_safe(fn(ctx, company_id, *args, **kwargs)))
            try:
                with ctx.session() as session:
                    queries.save(session, company_id, name, version, through,
                                 time.perf_counter() - started, payload)
            except DBAPIError:  # the answer stands; only its stored copy is lost
                log.exception("could not store %s for company %s", name, company_id)
        write_cached(ctx, key, payload, ttl)
        return json.loads(payload)

    @functools.wraps(fn)
    def wrapper(ctx: ServiceContext, company_id: int, *args, **kwargs):
        return lookup(ctx, company_id, args, kwargs, serve_stale=True)

    def refit_if_stale(ctx: ServiceContext, company_id: int, *args, **kwargs):
        return lookup(ctx, company_id, args, kwargs, serve_stale=False)

    wrapper.uncached = fn  # type: ignore[attr-defined]
    wrapper.refit_if_stale = refit_if_stale  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
