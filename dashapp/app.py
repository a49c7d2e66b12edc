"""The app factory: one Flask server hosting Dash, the login pages, the API and /healthz."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dash import Dash
from flask import Flask, jsonify, redirect

import callbacks.shell
from dashapp import (
    api,
    auth,
    db_errors,
    guard,
    health,
    public_url,
    request_limits,
    set_password,
    timing,
)
from dashapp.config import Config
from dashapp.views import BUILT
from layouts import shell
from services.context import ServiceContext
from services.errors import Forbidden, NotFound, ValidationError

ASSETS = Path(__file__).parent / "assets"


def create_app(config: Config | None = None) -> Flask:
    """Build the server. ``config`` must carry both URLs (the CLI starts embedded servers)."""
    config = config or Config.from_env()
    config.validate()
    if not config.database_url:
        raise ValueError("create_app needs a database URL (campaign-dash run starts one)")

    server = Flask(__name__)
    server.config.update(
        SECRET_KEY=config.secret_key,
        CAMPAIGN_DASH=config,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.production,
        SESSION_COOKIE_NAME="campaign_dash_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=config.session_idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,  # the lifetime counts from the last request: idle
        REMEMBER_COOKIE_DURATION=dt.timedelta(seconds=0),
    )
    server.extensions["campaign_dash"] = ServiceContext(
        database_url=config.database_url,
        redis_url=config.redis_url,
        namespace=config.cache_namespace,
        statement_timeout_ms=config.db_statement_timeout_ms,
        lock_timeout_ms=config.db_lock_timeout_ms,
    )
    timing.init_app(server)  # first: the guard's work is part of each request's time
    auth.init_app(server)
    guard.init_app(server)
    request_limits.init_app(server)
    set_password.init_app(server)
    db_errors.init_app(server)
    public_url.init_app(server, config.base_url)
    if config.trusted_proxies:  # behind a load balancer: the client's address, not nginx's
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=config.trusted_proxies, x_proto=0)
    server.register_blueprint(api.blueprint)
    server.register_blueprint(health.blueprint)
    server.add_url_rule("/favicon.ico", "favicon", lambda: redirect("/_favicon.ico", 301))
    _answer_refusals(server)

    app = Dash(
        __name__,
        server=server,
        title="Campaign Dash",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,  # views are rendered on demand by the router
        update_title=None,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        external_stylesheets=[],  # the Bootstrap theme is served from assets/, not a CDN
    )
    app.layout = shell.layout
    callbacks.shell.register(app)
    for view in BUILT.values():
        view.callbacks.register(app)
    server.extensions["dash_app"] = app
    # Dash's own inline scripts (its renderer start and the clientside callbacks) by hash,
    # so the CSP needs no 'unsafe-inline' for scripts.
    server.config["CSP_SCRIPT_HASHES"] = tuple(app.csp_hashes())
    return server


def _answer_refusals(server: Flask) -> None:
    """A refusal raised in a callback (the access check, an id outside the scope, bad input)
    answers 403 / 404 / 400 with its message, never a 500 with a stack trace."""
    for error, status in ((Forbidden, 403), (NotFound, 404), (ValidationError, 400)):
        server.register_error_handler(
            error, lambda e, status=status: (jsonify(error=type(e).__name__.lower(),
                                                     message=str(e)), status))

