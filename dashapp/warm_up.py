"""First-use costs of a server process, paid before it takes requests.

A gunicorn worker that has just started builds its first page slowly: lazy imports inside the
layouts (the holidays package behind the events dialog), Dash's first component classes and
the first database and Redis connections. Measured at 10 million events, the router's cold
p50 was 12 ms but its p95 over 200 ms, one slow first page per worker. ``campaign-dash
serve`` runs this in each worker after the fork (never in ``create_app``: tests build many
apps and would pay it each time).
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

from flask import Flask
from sqlalchemy import text

from dashapp.views import BUILT

log = logging.getLogger(__name__)

# Sees every view; has no company, so no layout reads one company's data.
_STAND_IN = SimpleNamespace(id=0, email="warm-up@localhost", role="admin", company_id=None)


def warm_up(app: Flask) -> float:
    """Build every view's layout once and open one database and one Redis connection. A
    failure is logged, never raised: a worker must start even while the database is down.
    Returns the seconds it took."""
    started = time.perf_counter()
    ctx = app.extensions["campaign_dash"]
    with app.test_request_context("/"):
        for slug, view in BUILT.items():
            try:
                view.layout.layout(_STAND_IN, [], {})
            except Exception:  # noqa: BLE001 - a warm-up never stops a worker
                log.warning("warm-up: the %s layout failed", slug, exc_info=True)
    try:
        with ctx.session() as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001
        log.warning("warm-up: no database connection yet (%s)", error)
    client = ctx.redis()
    if client is not None:
        try:
            client.ping()
        except Exception as error:  # noqa: BLE001
            ctx.redis_failed(error)
    return time.perf_counter() - started
