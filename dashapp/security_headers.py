"""Security headers on every response (DESIGN.md: security headers are set).

Kept apart from the access check in dashapp/guard.py, which registers it as an after_request
hook, so header policy and access policy change independently.
"""

from __future__ import annotations

from flask import Response, request

CALLBACK_PATH = "/_dash-update-component"


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'; frame-ancestors 'none'",
    )
    if request.path.startswith("/api/") or request.path == CALLBACK_PATH:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
