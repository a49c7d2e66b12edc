"""/set-password?token=...: where a new user (or one whose password an admin reset) chooses a
password through the one-time link an admin passed on. No login needed; the link is spent on
success and expires after services.admin.TOKEN_TTL_HOURS."""

from __future__ import annotations

import html
import secrets

from flask import Blueprint, Flask, request, session

from dashapp.auth import remote_addr, service_context
from services import admin, ratelimit
from services.errors import ValidationError
from services.passwords import MIN_LENGTH

blueprint = Blueprint("set_password", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Set your password · Campaign Dash</title>
<link rel="stylesheet" href="/assets/00-bootstrap-flatly-5.3.8.min.css">
<link rel="stylesheet" href="/assets/10-app.css">
</head><body class="bg-light">
<main class="container" style="max-width: 460px; margin-top: 12vh">
  <div class="card shadow-sm"><div class="card-body p-4">
    <h1 class="h4 mb-1">Set your password</h1>
    {body}
  </div></div>
</main></body></html>"""

FORM = """<p class="text-muted mb-4">For <strong>{email}</strong>. At least {min_length}
characters, and not a common password.</p>
{error}
<form method="post" action="/set-password" novalidate>
  <input type="hidden" name="csrf_token" value="{csrf}">
  <input type="hidden" name="token" value="{token}">
  <input type="text" name="username" value="{email}" autocomplete="username" hidden>
  <div class="mb-3"><label class="form-label" for="password">New password</label>
    <input class="form-control" id="password" name="password" type="password"
           autocomplete="new-password" minlength="{min_length}" required autofocus></div>
  <div class="mb-3"><label class="form-label" for="confirm">Repeat the password</label>
    <input class="form-control" id="confirm" name="confirm" type="password"
           autocomplete="new-password" required></div>
  <button class="btn btn-primary w-100" type="submit" id="set-password-submit">Set password
  </button>
</form>"""



def _sentence(error) -> str:
    """A service error's message as a sentence (messages start lower-case, no full stop)."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")

def _page(body: str, status: int = 200):
    return PAGE.format(body=body), status, {"Content-Type": "text/html; charset=utf-8",
                                            "Cache-Control": "no-store"}


def _problem(message: str, status: int = 400):
    return _page(f'<div class="alert alert-danger mt-3" role="alert">{html.escape(message)}'
                 '</div><a href="/login">Go to sign in</a>', status)


def _form(token: str, email: str, error: str | None = None, status: int = 200):
    csrf = session.get("csrf_token") or secrets.token_urlsafe(32)
    session["csrf_token"] = csrf
    alert = f'<div class="alert alert-danger" role="alert">{html.escape(error)}</div>' \
        if error else ""
    return _page(FORM.format(email=html.escape(email), token=html.escape(token), csrf=csrf,
                             error=alert, min_length=MIN_LENGTH), status)


@blueprint.get("/set-password")
def set_password_form():
    token = request.args.get("token") or ""
    try:
        user = admin.token_user(service_context(), token)
    except ValidationError as error:
        return _problem(str(error), 404 if "not valid" in str(error) else 410)
    return _form(token, user.email)


@blueprint.post("/set-password")
def set_password_submit():
    ctx = service_context()
    token = request.form.get("token") or ""
    password = request.form.get("password") or ""
    if not secrets.compare_digest(request.form.get("csrf_token") or "",
                                  session.get("csrf_token") or ""):
        return _problem("Your form expired; open the link again.")
    if not ratelimit.allow(ctx, f"set-password-ip:{remote_addr()}", 20):
        return _problem("Too many attempts; wait a minute and try again.", 429)
    try:
        user = admin.token_user(ctx, token)
    except ValidationError as error:
        return _problem(str(error), 410)
    if password != (request.form.get("confirm") or ""):
        return _form(token, user.email, "The two passwords do not match.", 400)
    try:
        admin.redeem_token(ctx, token, password, remote_addr=remote_addr())
    except ValidationError as error:
        return _form(token, user.email, _sentence(error), 400)
    session.clear()
    return _page('<div class="alert alert-success mt-3" role="status" id="set-password-done">'
                 f'Your password is set, {html.escape(user.email)}.</div>'
                 '<a class="btn btn-primary w-100" href="/login">Sign in</a>')


def init_app(server: Flask) -> None:
    server.register_blueprint(blueprint)
