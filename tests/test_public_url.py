"""Links the app hands out are built from the configured public base URL, never from the
request's Host header (issue #11, finding 9)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

import pytest

from conftest import PASSWORD
from dashapp.config import DEFAULT_PUBLIC_URL, Config, ConfigError

PRODUCTION = {"env": "production", "database_url": "postgresql://x/y", "redis_url": "redis://x"}


EVIL = "http://evil.example"


def _admin_at(app, admin_email: str, base_url: str = EVIL):
    """A test client logged in as the admin, every request sent as ``Host: evil.example``."""
    client = app.test_client()
    page = client.get("/login", base_url=base_url).get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", base_url=base_url, data={
        "email": admin_email, "password": PASSWORD, "csrf_token": csrf, "next": "/"})
    assert response.status_code == 302
    return client


def test_url001_set_password_link_ignores_a_forged_host(server, users, companies):
    client = _admin_at(server, users["admin"])
    created = client.post("/api/v1/users", base_url=EVIL,
                          json={"email": f"host-{uuid.uuid4().hex[:8]}@a.test",
                                "role": "analyst", "company": companies[0]})
    assert created.status_code == 201, created.get_data(as_text=True)
    link = created.get_json()["set_password_url"]
    assert "evil.example" not in link
    assert link.startswith(f"{DEFAULT_PUBLIC_URL}/set-password?token=")


def test_url002_configured_public_url_is_used(config, users, companies):
    from dashapp.app import create_app

    app = create_app(replace(config, public_url="https://dash.example.com/",
                             cache_namespace=f"{config.cache_namespace}-{uuid.uuid4().hex[:6]}"))
    client = _admin_at(app, users["admin"])
    reset = client.post("/api/v1/users", base_url=EVIL,
                        json={"email": f"url-{uuid.uuid4().hex[:8]}@a.test",
                              "role": "analyst", "company": companies[0]})
    assert reset.get_json()["set_password_url"].startswith(
        "https://dash.example.com/set-password?token=")


def test_url003_production_needs_a_public_url(monkeypatch):
    secret = secrets.token_hex(32)
    with pytest.raises(ConfigError, match="CAMPAIGN_DASH_PUBLIC_URL"):
        Config(**PRODUCTION, secret_key=secret).validate()
    with pytest.raises(ConfigError, match="CAMPAIGN_DASH_PUBLIC_URL"):
        Config(**PRODUCTION, secret_key=secret, public_url="dash.example.com").validate()
    Config(**PRODUCTION, secret_key=secret, public_url="https://dash.example.com").validate()

    monkeypatch.setenv("CAMPAIGN_DASH_PUBLIC_URL", "https://dash.example.com")
    assert Config.from_env().public_url == "https://dash.example.com"
    monkeypatch.delenv("CAMPAIGN_DASH_PUBLIC_URL")
    assert Config.from_env().public_url is None  # development: DEFAULT_PUBLIC_URL
    assert Config().base_url == DEFAULT_PUBLIC_URL
