"""/healthz: database and Redis status, no login needed, no data revealed."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

blueprint = Blueprint("health", __name__)


def _check(probe) -> dict:
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:  # any failure means "down"; the type is enough to diagnose
        return {"status": "down", "error": type(error).__name__}
    return {"status": "up", "ms": round((time.perf_counter() - started) * 1000, 1)}


@blueprint.get("/healthz")
def healthz():
    ctx = current_app.extensions["campaign_dash"]

    def database():
        with ctx.session() as session:
            session.execute(text("SELECT 1"))

    def cache():
        client = ctx.redis()
        if client is None:
            raise ConnectionError("redis unavailable")
        client.ping()

    checks = {"database": _check(database), "redis": _check(cache)}
    # Redis down degrades (uncached) but serves; the database down does not.
    status = "ok" if all(c["status"] == "up" for c in checks.values()) else (
        "degraded" if checks["database"]["status"] == "up" else "down")
    return jsonify(status=status, **checks), 200 if status != "down" else 503
