"""A statement or lock timeout answers 503, logged, instead of a 500 or a stalled worker.

The web app's database sessions carry ``statement_timeout`` and ``lock_timeout``
(Config.db_statement_timeout_ms / db_lock_timeout_ms): a query stuck behind a lock held
elsewhere gives up after the timeout, and the request that ran it gets a clear "busy, try
again" answer (JSON for the API and Dash callbacks, a page otherwise) while the other requests
go on. Other database errors keep their usual handling.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs: query_canceled (statement_timeout), lock_not_available (lock_timeout).
TIMEOUT_CODES = {"57014": "statement timeout", "55P03": "lock timeout"}
RETRY_AFTER_S = 5

BUSY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Busy · Campaign Dash</title>
<link rel="stylesheet" href="/assets/00-bootstrap-flatly-5.3.8.min.css"></head>
<body class="bg-light"><main class="container" style="max-width:560px;margin-top:12vh">
<div class="alert alert-warning"><h1 class="h4">The database is busy</h1>
<p class="mb-0">This took longer than allowed; nothing was changed. Please try again in a few
seconds.</p></div></main></body></html>"""


def timeout_kind(error: BaseException) -> str | None:
    """'statement timeout' / 'lock timeout' when the error is one, else None."""
    code = getattr(getattr(error, "orig", None), "pgcode", None)
    return TIMEOUT_CODES.get(code)


def _database_error(error: DBAPIError):
    kind = timeout_kind(error)
    if kind is None:
        raise error  # not ours: Flask's usual 500 handling
    log.warning("database timeout (%s) on %s %s", kind, request.method, request.path)
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.path.startswith(("/api/", "/_dash-")) or request.is_json:
        return (jsonify(error="database_busy",
                        message=f"the database did not answer in time ({kind}); try again"),
                503, headers)
    return BUSY_PAGE, 503, {**headers, "Content-Type": "text/html; charset=utf-8"}


def init_app(server: Flask) -> None:
    server.register_error_handler(DBAPIError, _database_error)
