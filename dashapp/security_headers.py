"""Security headers on every response (DESIGN.md: security headers are set).

Kept apart from the access check in dashapp/guard.py, which registers it as an after_request
hook, so header policy and access policy change independently.

- ``Cache-Control: no-store`` on every response except static files: pages, Dash's layout and
  callbacks, the API and the login forms may hold a user's data or a CSRF token, and must not
  stay in a shared or back-button cache after logout. Static files (assets, Dash's component
  bundles) are the same for everyone and stay cacheable.
- ``Strict-Transport-Security`` in production (served over HTTPS there; the session cookie is
  Secure): a year, subdomains included.
"""

from __future__ import annotations

from flask import Response, current_app, request

STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico", "/favicon.ico")
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(script_hashes) -> str:
    """As strict as Dash allows: scripts from this origin plus Dash's inline scripts by their
    hashes (no 'unsafe-inline', no 'unsafe-eval': every view renders without them); nothing
    from elsewhere, no frames, no plugins, forms to this origin. What remains:
    'unsafe-inline' for styles, since Dash, Plotly and the components set style attributes
    on elements."""
    hashes = " ".join(script_hashes)  # quoted by Dash: 'sha256-...'
    return ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self' {hashes}; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", content_security_policy(
        current_app.config.get("CSP_SCRIPT_HASHES", ())))
    if not request.path.startswith(STATIC_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    config = current_app.config.get("CAMPAIGN_DASH")
    if config is not None and config.production:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
