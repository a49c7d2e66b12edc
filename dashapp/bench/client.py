"""HTTP driver: logs in through the real /login form and posts Dash callback requests."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import requests

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TIMING = re.compile(r"app;dur=([0-9.]+)")


@dataclass
class Timed:
    status: int
    server_ms: float  # from the Server-Timing header; the client time when it is missing
    client_ms: float
    body: bytes


class Client:
    """One browser: a cookie jar and a kept-alive connection to the served app."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        self.base_url = base_url
        self.session = requests.Session()
        self.timeout = timeout

    def login(self, email: str, password: str) -> None:
        page = self.session.get(self.base_url + "/login", timeout=self.timeout)
        match = _CSRF.search(page.text)
        if not match:
            raise RuntimeError(f"no csrf_token on the login page (HTTP {page.status_code})")
        response = self.session.post(self.base_url + "/login", allow_redirects=False,
                                     timeout=self.timeout,
                                     data={"email": email, "password": password,
                                           "csrf_token": match.group(1), "next": "/"})
        if response.status_code != 302:
            raise RuntimeError(f"login as {email} failed: HTTP {response.status_code}")

    def get_json(self, path: str):
        response = self.session.get(self.base_url + path, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def post_callback(self, payload: dict) -> Timed:
        started = time.perf_counter()
        response = self.session.post(self.base_url + "/_dash-update-component", json=payload,
                                     timeout=self.timeout)
        client_ms = (time.perf_counter() - started) * 1000.0
        match = _TIMING.search(response.headers.get("Server-Timing", ""))
        server_ms = float(match.group(1)) if match else client_ms
        return Timed(response.status_code, server_ms, client_ms, response.content)

    def clone(self) -> Client:
        """Another connection of the same browser (same cookies)."""
        other = Client(self.base_url, self.timeout)
        other.session.cookies.update(self.session.cookies)
        return other
