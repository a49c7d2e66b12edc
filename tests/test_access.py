"""The role x view matrix on every path a request can take: pages, Dash callbacks, the API."""

from __future__ import annotations

import pytest

from conftest import callback_payload
from dashapp.views import BUILT
from services.registry import API_RESOURCES, BY_SLUG, ROLES, can_open, landing

ROLE_KEYS = [None, *ROLES]  # None = anonymous


@pytest.mark.parametrize("role", ROLE_KEYS)
@pytest.mark.parametrize("view", sorted(BY_SLUG))
def test_page_matrix(client_for, role, view):
    response = client_for(role).get(f"/{view}")
    if role is None:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=/" + view)
    elif view not in BUILT:
        assert response.status_code == 404
    elif can_open(role, view):
        assert response.status_code == 200
        assert "_dash-config" in response.get_data(as_text=True)
    else:
        assert response.status_code == 403
        assert "Access denied" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLE_KEYS)
@pytest.mark.parametrize("view", sorted(BUILT))
def test_callback_matrix(client_for, dash_app, role, view):
    """Direct POSTs to /_dash-update-component for every callback of every built view."""
    callback_keys = [key for key in dash_app.callback_map if key.lstrip(".").startswith(view)]
    assert callback_keys, f"no callbacks found for {view}"
    client = client_for(role)
    for key in callback_keys:
        payload = callback_payload(dash_app, key.lstrip("."), {f"{view}-range.value": "30d"})
        response = client.post("/_dash-update-component", json=payload)
        if role is None:
            assert response.status_code == 401
        elif can_open(role, view):
            # 204: the callback chose not to update (PreventUpdate) for these inputs.
            assert response.status_code in (200, 204), response.get_data(as_text=True)[:300]
        else:
            assert response.status_code == 403


@pytest.mark.parametrize("role", ROLE_KEYS)
@pytest.mark.parametrize("resource", sorted(API_RESOURCES))
def test_api_matrix(client_for, role, resource):
    response = client_for(role).get(f"/api/v1/{resource}")
    if role is None:
        assert response.status_code == 401
    elif can_open(role, API_RESOURCES[resource].slug):
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json["error"] == "forbidden"


def test_unknown_callback_output_is_refused(client_for):
    payload = {"output": "sneaky.children", "outputs": {"id": "sneaky", "property": "children"},
               "inputs": [], "changedPropIds": []}
    assert client_for("admin").post("/_dash-update-component", json=payload).status_code == 400


def test_router_does_not_hand_over_a_forbidden_layout(client_for, dash_app):
    """The page-rendering callback is open to every user but renders only allowed views."""
    client = client_for("campaign_specialist")
    payload = callback_payload(dash_app, "app-page", {"app-url.pathname": "/executive"})
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Access denied" in body
    assert "executive-kpi-cards" not in body

    allowed = client_for("executive").post("/_dash-update-component", json=payload)
    assert "executive-kpi-cards" in allowed.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_root_lands_on_the_roles_first_built_view(client_for, role):
    response = client_for(role).get("/")
    expected = landing(role)
    if expected:
        assert response.status_code == 302
        assert response.headers["Location"] == f"/{expected}"
        assert can_open(role, expected)
    else:
        assert response.status_code == 403


def test_navigation_shows_only_openable_views(client_for, dash_app):
    payload = callback_payload(dash_app, "app-page", {"app-url.pathname": "/executive"})
    body = client_for("executive").post("/_dash-update-component", json=payload).get_data(
        as_text=True)
    assert "app-nav-executive" in body
    assert "app-nav-admin" not in body


def test_denied_requests_are_audited(client_for, ctx):
    from sqlalchemy import text

    client_for("campaign_specialist").get("/api/v1/kpis")
    with ctx.session() as session:
        row = session.execute(text(
            "SELECT actor_email, target FROM audit_log WHERE action = 'denied' "
            "ORDER BY id DESC LIMIT 1")).one()
    assert row.actor_email == "campaign_specialist@a.test"
    assert row.target == "GET /api/v1/kpis"


def test_unknown_paths_are_not_found(client_for):
    page = client_for("admin").get("/no-such-view")
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)  # a page, with the way back
    assert 'href="/"' in page.get_data(as_text=True)
    assert client_for("admin").get("/api/v1/no-such-resource").status_code == 404


def test_healthz_needs_no_login(server):
    response = server.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["database"]["status"] == "up"
    assert response.json["redis"]["status"] == "up"
