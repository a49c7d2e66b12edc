"""Headers (issue #11, finding 8): HSTS in production, no caching of anything a logged-in
user is shown."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

from conftest import callback_payload

NO_STORE = "no-store"


def test_sec001_hsts_only_in_production(config, server):
    from dashapp.app import create_app

    production = create_app(replace(config, env="production", secret_key=secrets.token_hex(32),
                                    cache_namespace=f"{config.cache_namespace}-{uuid.uuid4().hex[:6]}"))
    hsts = production.test_client().get("/login").headers.get("Strict-Transport-Security")
    assert hsts and "max-age=31536000" in hsts and "includeSubDomains" in hsts
    assert "Strict-Transport-Security" not in server.test_client().get("/login").headers


def test_sec002_authenticated_responses_are_not_stored(client_for, dash_app):
    client = client_for("analyst")
    responses = {
        "page": client.get("/executive"),
        "layout": client.get("/_dash-layout"),
        "dependencies": client.get("/_dash-dependencies"),
        "api": client.get("/api/v1/kpis"),
        "callback": client.post("/_dash-update-component", json=callback_payload(
            dash_app, "app-page", {"app-url.pathname": "/executive"})),
        "login redirect": client.get("/login"),
    }
    for name, response in responses.items():
        assert response.status_code < 500, name
        assert NO_STORE in response.headers.get("Cache-Control", ""), name
    # Static files stay cacheable: they are the same for everyone.
    asset = client.get("/assets/10-app.css")
    assert NO_STORE not in asset.headers.get("Cache-Control", "")
