"""The app's own address comes from configuration, not from the request.

A WSGI middleware sets every request's host and scheme to the configured public base URL
(Config.base_url: CAMPAIGN_DASH_PUBLIC_URL), so ``request.host_url`` and anything built from
it, such as the set-password link an admin passes on, can never point at a host an attacker
put in the Host header (``Host: evil.example`` gave ``http://evil.example/set-password?...``).
Routing does not depend on the host, and redirects are relative, so nothing else changes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask


class PinnedHost:
    def __init__(self, app, base_url: str):
        parsed = urlsplit(base_url)
        self.app = app
        self.scheme = parsed.scheme
        self.host = parsed.netloc

    def __call__(self, environ, start_response):
        environ["HTTP_HOST"] = self.host
        environ["wsgi.url_scheme"] = self.scheme
        return self.app(environ, start_response)


def init_app(server: Flask, base_url: str) -> None:
    server.wsgi_app = PinnedHost(server.wsgi_app, base_url)
