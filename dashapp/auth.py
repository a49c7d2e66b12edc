"""Login, logout and the current user (Flask-Login over server-side sessions)."""

from __future__ import annotations

import datetime as dt
import html
import secrets
from urllib.parse import urlparse

from flask import Blueprint, Flask, current_app, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from services import ratelimit, sessions, users
from services.users import UserRecord

login_manager = LoginManager()
blueprint = Blueprint("auth", __name__)


class SessionUser(UserMixin):
    """The logged-in user as Flask-Login sees it; ``get_id`` is the server-side session id."""

    def __init__(self, record: UserRecord, session_id: str):
        self.record = record
        self.session_id = session_id

    def get_id(self) -> str:
        return self.session_id

    @property
    def role(self) -> str:
        return self.record.role

    @property
    def company_id(self) -> int | None:
        return self.record.company_id


def service_context():
    return current_app.extensions["campaign_dash"]


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    config = current_app.config["CAMPAIGN_DASH"]
    record = sessions.user_for_session(
        service_context(), session_id,
        idle=dt.timedelta(minutes=config.session_idle_minutes),
        lifetime=dt.timedelta(hours=config.session_max_hours))
    return SessionUser(record, session_id) if record else None


def current_record() -> UserRecord | None:
    return current_user.record if current_user.is_authenticated else None


def remote_addr() -> str | None:
    return (request.remote_addr or "")[:64] or None


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Campaign Dash</title>
<link rel="stylesheet" href="/assets/00-bootstrap-flatly-5.3.8.min.css">
<link rel="stylesheet" href="/assets/10-app.css">
</head><body class="bg-light">
<main class="container" style="max-width: 420px; margin-top: 12vh">
  <div class="card shadow-sm"><div class="card-body p-4">
    <h1 class="h4 mb-1">Campaign Dash</h1>
    <p class="text-muted mb-4">Sign in to see your campaign performance.</p>
    {error}
    <form method="post" action="/login" novalidate>
      <input type="hidden" name="csrf_token" value="{csrf}">
      <input type="hidden" name="next" value="{next}">
      <div class="mb-3"><label class="form-label" for="email">Email</label>
        <input class="form-control" id="email" name="email" type="email" autocomplete="username"
               value="{email}" required autofocus></div>
      <div class="mb-3"><label class="form-label" for="password">Password</label>
        <input class="form-control" id="password" name="password" type="password"
               autocomplete="current-password" required></div>
      <button class="btn btn-primary w-100" type="submit" id="login-submit">Sign in</button>
    </form>
  </div></div>
</main></body></html>"""


def _login_page(error: str | None = None, email: str = "", next_url: str = "/", status=200):
    token = session.get("csrf_token") or secrets.token_urlsafe(32)
    session["csrf_token"] = token
    alert = f'<div class="alert alert-danger" role="alert">{html.escape(error)}</div>' if error \
        else ""
    if not error and request.args.get("signed_out"):
        alert = '<div class="alert alert-success" role="status">You are signed out.</div>'
    config = current_app.config.get("CAMPAIGN_DASH")
    if config is not None and not config.production:
        # A newcomer's first question; production never says this.
        alert += ('<p class="small text-muted">Development: the demo logins are printed by '
                  '<code>make run</code> (<code>campaign-dash run</code>).</p>')
    page = LOGIN_PAGE.format(error=alert, csrf=token, next=html.escape(next_url),
                             email=html.escape(email))
    return page, status, {"Content-Type": "text/html; charset=utf-8"}


@blueprint.route("/login", methods=["GET"])
def login_form():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    return _login_page(next_url=_safe_next(request.args.get("next")))


@blueprint.route("/login", methods=["POST"])
def login_submit():
    ctx = service_context()
    config = current_app.config["CAMPAIGN_DASH"]
    email = (request.form.get("email") or "").strip()[:255]
    password = request.form.get("password") or ""
    next_url = _safe_next(request.form.get("next"))
    sent_token = request.form.get("csrf_token") or ""
    expected_token = session.get("csrf_token") or ""
    if not expected_token or not secrets.compare_digest(sent_token, expected_token):
        return _login_page("Your sign-in form expired; please try again.", email, next_url, 400)
    if not email or not password:
        return _login_page("Enter your email and password.", email, next_url, 400)
    limit = config.login_attempts_per_minute
    if not (ratelimit.allow(ctx, f"login-ip:{remote_addr()}", limit * 3)
            and ratelimit.allow(ctx, f"login-email:{email.lower()}", limit)):
        return _login_page("Too many sign-in attempts; wait a minute and try again.", email,
                           next_url, 429)
    record = users.authenticate(ctx, email, password, remote_addr())
    if record is None:
        return _login_page("Wrong email or password.", email, next_url, 401)
    session.clear()  # rotate: nothing from before the login survives it
    session.permanent = True
    session["csrf_token"] = secrets.token_urlsafe(32)  # the signed-in forms' (sign-out)
    login_user(SessionUser(record, sessions.start_session(ctx, record.id, remote_addr())))
    return redirect(next_url)


LOGOUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out · Campaign Dash</title>
<link rel="stylesheet" href="/assets/00-bootstrap-flatly-5.3.8.min.css">
</head><body class="bg-light">
<main class="container" style="max-width: 420px; margin-top: 12vh">
  <div class="card shadow-sm"><div class="card-body p-4">
    <h1 class="h4 mb-3">Sign out of Campaign Dash?</h1>
    {error}
    <form method="post" action="/logout">
      <input type="hidden" name="csrf_token" value="{csrf}">
      <button class="btn btn-primary" type="submit" id="logout-submit" autofocus>Sign out</button>
      <a class="btn btn-link" href="/">Stay signed in</a>
    </form>
  </div></div>
</main></body></html>"""


def session_csrf_token() -> str:
    """The session's CSRF token for its forms (sign-out), made when missing."""
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def _logout_page(error: str | None = None, status: int = 200):
    alert = f'<div class="alert alert-warning" role="alert">{html.escape(error)}</div>' \
        if error else ""
    page = LOGOUT_PAGE.format(error=alert, csrf=html.escape(session_csrf_token()))
    return page, status, {"Content-Type": "text/html; charset=utf-8"}


@blueprint.route("/logout", methods=["GET"])
def logout_form():
    """A link to /logout (or a foreign site's) only asks: signing out takes a POST."""
    if not current_user.is_authenticated:
        return redirect("/login")
    return _logout_page()


@blueprint.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        sent_token = request.form.get("csrf_token") or ""
        expected_token = session.get("csrf_token") or ""
        if not expected_token or not secrets.compare_digest(sent_token, expected_token):
            return _logout_page("Your sign-out form expired; press Sign out again.", 400)
        ctx = service_context()
        sessions.end_session(ctx, current_user.session_id)
        users.record_event(ctx, "logout", current_user.record, remote_addr())
        logout_user()
    session.clear()
    return redirect("/login?signed_out=1")


def init_app(server: Flask) -> None:
    login_manager.init_app(server)
    login_manager.session_protection = "basic"
    server.register_blueprint(blueprint)
