"""Input the app refuses before any handler sees it: text with NUL bytes.

PostgreSQL text cannot hold a NUL character (psycopg2 raises on one), so a NUL anywhere in a
form, a query string or a JSON body used to end as a 500. No field of this app takes one, so
the request is a 400 saying so. Event ingest is the exception: there each row is validated
on its own and a bad row is rejected without losing the others.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

EXEMPT = ("/api/v1/events",)
NUL_MARKERS = (b"\x00", b"\\u0000", b"%00")


def refuse_nul_bytes():
    if request.path in EXEMPT:
        return None
    body = request.get_data(cache=True) if request.content_length else b""
    if any(marker in body or marker in request.query_string for marker in NUL_MARKERS):
        return jsonify(error="bad_request",
                       message="text may not contain NUL (0x00) characters"), 400
    return None


def init_app(server: Flask) -> None:
    server.before_request(refuse_nul_bytes)
