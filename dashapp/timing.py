"""The request timer: every request's route (view or API route), status and duration go to
services.request_metrics, and SQL statements slower than a threshold go to its slow-query
list. This is how the admin view's system-health tab knows its numbers.

Routes: a page or a Dash callback of a view counts as ``view:<slug>`` (callbacks are mapped to
views by their output ids, as the guard does; the app shell's router is ``view:app``), an API
call as ``api:/api/v1/<resource>``, anything else by its path (``page:/login``). Static files,
Dash's framework files and /healthz are not counted.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from dashapp.guard import (
    CALLBACK_PATH,
    DASH_SHELL_PATHS,
    PUBLIC_PREFIXES,
    callback_output_ids,
    view_of_component,
)
from services import request_metrics
from services.registry import view_for_path

log = logging.getLogger(__name__)

DEFAULT_SLOW_QUERY_MS = 100.0
SKIPPED = ("/healthz", "/_favicon.ico", "/favicon.ico", *DASH_SHELL_PATHS)


def route_of_request() -> str | None:
    """The route a request is counted under, or None when it is not counted."""
    path = request.path
    if path in SKIPPED or path.startswith(PUBLIC_PREFIXES):
        return None
    if path == CALLBACK_PATH:
        body = request.get_json(silent=True)
        ids = callback_output_ids(body) if isinstance(body, dict) else []
        view = view_of_component(ids[0]) if ids else None
        return f"view:{view}" if view else "view:unknown"
    if path.startswith("/api/"):
        resource = path.removeprefix("/api/v1/").split("/")[0]
        return f"api:/api/v1/{resource}"
    view = view_for_path(path)
    if view is not None and path.rstrip("/") == view.path:
        return f"view:{view.slug}"
    return f"page:{path}"


def _start() -> None:
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.pop("request_started", None)
    if started is None:
        return response
    try:
        route = route_of_request()
        if route is not None:
            duration_ms = (time.perf_counter() - started) * 1000
            request_metrics.record_request(current_app.extensions["campaign_dash"], route,
                                           response.status_code, duration_ms)
    except Exception:  # measuring must never break a request
        log.exception("request timer failed")
    return response


def _teardown(error):
    """A request that raised past Flask's handlers still counts, as a 500."""
    if error is None:
        return
    started = g.pop("request_started", None)
    route = route_of_request() if started is not None else None
    if route is not None:
        request_metrics.record_request(current_app.extensions["campaign_dash"], route, 500,
                                       (time.perf_counter() - started) * 1000)


# --------------------------------------------------------------------------- slow queries

_listening = False


def _before_cursor(conn, cursor, statement, parameters, context, executemany):
    conn.info.setdefault("cd_query_started", []).append(time.perf_counter())


def _after_cursor(conn, cursor, statement, parameters, context, executemany):
    stack = conn.info.get("cd_query_started")
    if not stack:
        return
    duration_ms = (time.perf_counter() - stack.pop()) * 1000
    if not has_request_context():
        return  # the CLI, the worker and seeding are not the web app's health
    try:
        threshold = current_app.config.get("CAMPAIGN_DASH_SLOW_QUERY_MS", DEFAULT_SLOW_QUERY_MS)
        if duration_ms >= threshold:
            request_metrics.record_slow_query(current_app.extensions["campaign_dash"],
                                              statement, duration_ms, route_of_request())
    except Exception:
        log.exception("slow-query recorder failed")


def listen_for_slow_queries() -> None:
    """Time every statement of every engine in this process (once per process)."""
    global _listening
    if not _listening:
        event.listen(Engine, "before_cursor_execute", _before_cursor)
        event.listen(Engine, "after_cursor_execute", _after_cursor)
        _listening = True


def init_app(server: Flask) -> None:
    server.config.setdefault("CAMPAIGN_DASH_SLOW_QUERY_MS", DEFAULT_SLOW_QUERY_MS)
    # First in line, so the guard's own work (session lookup) is inside the measured time.
    server.before_request_funcs.setdefault(None, []).insert(0, _start)
    server.after_request(_finish)
    server.teardown_request(_teardown)
    listen_for_slow_queries()
