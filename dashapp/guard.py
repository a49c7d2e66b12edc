"""The access check that runs before every request (DESIGN.md: security on every request).

Pages: anonymous users get the login page, users outside the matrix a 403 page. Dash callback
requests: each callback is mapped to a view by the prefix of its output ids and refused (401 /
403) when the user may not open that view. API: the resource's view decides, as for pages.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, current_app, g, jsonify, redirect, request
from flask_login import current_user

from dashapp.auth import current_record, remote_addr, service_context
from dashapp.security_headers import set_security_headers
from services import api_tokens, registry, users
from services.preferences import preferred_landing

# Static files, the login form and the health check need no login.
# /favicon.ico too: a browser fetches it beside the login page, and sending it through the
# login redirect would race the page for the session's CSRF token.
PUBLIC_PATHS = ("/login", "/logout", "/healthz", "/_favicon.ico", "/favicon.ico",
                "/set-password", "/api/v1/openapi.json")
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
# Dash's own endpoints that return no data but the app shell; login required.
DASH_SHELL_PATHS = ("/_dash-layout", "/_dash-dependencies", "/_reload-hash")
CALLBACK_PATH = "/_dash-update-component"
# Callbacks of the app shell (routing, navigation) belong to every logged-in user.
SHELL_PREFIX = "app"


def callback_output_ids(body: dict) -> list[str]:
    """The output component ids of a Dash callback request (string ids or pattern types)."""
    outputs = body.get("outputs")
    if isinstance(outputs, dict):
        outputs = [outputs]
    ids: list[str] = []
    for output in outputs if isinstance(outputs, list) else []:
        if isinstance(output, list):  # pattern-matching ALL outputs come as lists
            ids.extend(callback_output_ids({"outputs": output}))
            continue
        component_id = output.get("id") if isinstance(output, dict) else None
        if isinstance(component_id, dict):
            component_id = component_id.get("type")
        if isinstance(component_id, str):
            ids.append(component_id)
    return ids


def view_of_component(component_id: str) -> str | None:
    """The view a component id belongs to (its prefix), the shell's prefix, or None."""
    if component_id.split("-", 1)[0] == SHELL_PREFIX:
        return SHELL_PREFIX
    return registry.view_of_component(component_id)


def _output_matches(registered, sent) -> bool:
    """Whether one sent output is the registered one (a pattern output: any ids of its type,
    one dict or, for ALL, a list of them)."""
    pattern = isinstance(registered.component_id, dict)
    if pattern and isinstance(sent, list):
        return all(_output_matches(registered, one) for one in sent)
    if not isinstance(sent, dict) or not isinstance(sent.get("property"), str):
        return False
    # An output several callbacks share (allow_duplicate) is sent as "children@<hash>".
    if sent["property"].split("@", 1)[0] != registered.component_property:
        return False
    sent_id = sent.get("id")
    if pattern:
        return isinstance(sent_id, dict) and \
            sent_id.get("type") == registered.component_id.get("type")
    return sent_id == registered.component_id


def callback_well_formed(body: dict, callback_map: dict) -> bool:
    """Whether the request names a registered callback (``output``) and sends exactly its
    outputs. Dash runs the callback ``output`` names while the guard reads ``outputs``: a
    request must not pass the check with one view's ids and run another view's callback."""
    spec = callback_map.get(body.get("output")) if isinstance(body.get("output"), str) \
        else None
    if spec is None:
        return False
    registered, sent = spec["output"], body.get("outputs")
    if isinstance(registered, list):
        return isinstance(sent, list) and len(sent) == len(registered) and all(
            _output_matches(r, s) for r, s in zip(registered, sent, strict=True))
    return _output_matches(registered, sent)


def callback_allowed(role: str, body: dict) -> bool:
    ids = callback_output_ids(body)
    if not ids:
        return False
    for component_id in ids:
        view = view_of_component(component_id)
        if view is None:
            return False
        if view != SHELL_PREFIX and not registry.can_open(role, view):
            return False
    return True


def _message_page(title: str, text: str, tone: str, status: int) -> Response:
    """A small page in the app's theme, with the way back to the user's dashboard."""
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Campaign Dash</title>
<link rel="stylesheet" href="/assets/00-bootstrap-flatly-5.3.8.min.css"></head>
<body class="bg-light"><main class="container" style="max-width:560px;margin-top:12vh">
<div class="alert alert-{tone}"><h1 class="h4">{title}</h1>
<p class="mb-2">{text}</p>
<a class="alert-link" href="/">Go to your dashboard</a> · <a class="alert-link" href="/logout">
Sign out</a></div></main></body></html>"""
    return Response(body, status=status, mimetype="text/html")


def forbidden_page() -> Response:
    return _message_page("Access denied", "Your role does not give access to this page.",
                         "danger", 403)


def not_found_page() -> Response:
    return _message_page("Page not found", "There is no page at this address.", "warning",
                         404)


def _deny(kind: str) -> Response:
    users.record_event(service_context(), "denied", current_record(), remote_addr(),
                       target=f"{request.method} {request.path}"[:255])
    if kind == "page":
        return forbidden_page()
    return jsonify(error="forbidden", message="your role may not access this"), 403


# The one exception to login sessions: event ingest is called by machines with a per-company
# API token (Authorization: Bearer ...), never with a browser session.
EVENTS_PATH = "/api/v1/events"


def _token_auth():
    company_id = api_tokens.authenticate(service_context(), request.headers.get("Authorization"))
    if company_id is None:
        return jsonify(error="unauthorized",
                       message="send a company API token: Authorization: Bearer <token>"), 401
    g.api_company_id = company_id
    return None


def check_request():
    """Flask before_request hook: None lets the request through, a response ends it."""
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    logged_in = current_user.is_authenticated
    role = current_user.role if logged_in else None

    if path == EVENTS_PATH and request.method == "POST":
        return _token_auth()
    if path.startswith("/api/"):
        if not logged_in:
            return jsonify(error="unauthorized", message="log in first"), 401
        resource = path.removeprefix("/api/v1/").split("/")[0]
        view = registry.API_RESOURCES.get(resource)
        if view is None:
            return jsonify(error="not_found", message=f"no API resource {resource!r}"), 404
        return None if registry.can_open(role, view.slug) else _deny("api")

    if path == CALLBACK_PATH:
        if not logged_in:
            return jsonify(error="unauthorized", message="log in first"), 401
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not callback_well_formed(
                body, current_app.extensions["dash_app"].callback_map):
            return jsonify(error="bad_request",
                           message="not a callback of this app, or not its outputs"), 400
        if callback_allowed(role, body):
            return None
        return _deny("callback")

    if path in DASH_SHELL_PATHS:
        return None if logged_in else (jsonify(error="unauthorized"), 401)

    if not logged_in:
        next_path = request.full_path.rstrip("?")
        return redirect(f"/login?next={quote(next_path, safe='/?=&')}")
    if path == "/":
        # The user's preferred landing view when their role may open it, else the role's.
        landing = preferred_landing(service_context(), current_record())
        return redirect(f"/{landing}") if landing else forbidden_page()
    view = registry.view_for_path(path)
    if view is None or path.rstrip("/") != view.path:
        return not_found_page()
    return None if registry.can_open(role, view.slug) else _deny("page")


def init_app(server: Flask) -> None:
    server.before_request(check_request)
    server.after_request(set_security_headers)

