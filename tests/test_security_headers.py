"""Headers and logout (issue #11, finding 8): HSTS in production, no caching of anything a
logged-in user is shown, logout only by POST with the session's CSRF token."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace

from conftest import callback_payload

NO_STORE = "no-store"


def _csrf_of(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_sec001_hsts_only_in_production(config, server):
    from dashapp.app import create_app

    production = create_app(replace(config, env="production", secret_key=secrets.token_hex(32),
                                    public_url="https://dash.example.com",
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


def test_sec003_get_logout_does_not_log_out(client_for):
    client = client_for("executive")
    page = client.get("/logout")
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    assert client.get("/api/v1/kpis").status_code == 200  # still logged in


def test_sec004_logout_post_needs_the_csrf_token(client_for):
    client = client_for("executive")
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 400
    assert client.get("/api/v1/kpis").status_code == 200

    token = _csrf_of(client.get("/logout").get_data(as_text=True))
    done = client.post("/logout", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/login?signed_out=1"
    assert client.get("/api/v1/kpis").status_code == 401
    assert "You are signed out." in client.get(done.headers["Location"]).get_data(as_text=True)


def _find(component, type_name: str):
    """Depth-first search of a Dash JSON component tree for the first of a type."""
    if isinstance(component, list):
        for child in component:
            found = _find(child, type_name)
            if found:
                return found
    elif isinstance(component, dict):
        if component.get("type") == type_name:
            return component
        return _find(component.get("props", {}).get("children"), type_name)
    return None


def test_sec005_user_menu_signs_out_by_post_with_the_token(client_for, dash_app):
    client = client_for("marketing_manager")
    body = callback_payload(dash_app, "app-page", {"app-url.pathname": "/executive"})
    reply = client.post("/_dash-update-component", json=body)
    assert reply.status_code == 200
    menu = reply.get_json()["response"]["app-user"]["children"]
    form = _find(menu, "Form")
    assert form["props"]["method"] == "POST" and form["props"]["action"] == "/logout"
    hidden = _find(form["props"]["children"], "Input")
    assert hidden["props"]["name"] == "csrf_token"
    done = client.post("/logout", data={"csrf_token": hidden["props"]["value"]})
    assert done.status_code == 302
    assert client.get("/api/v1/kpis").status_code == 401
