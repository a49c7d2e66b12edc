"""Non-admins are refused on every admin callback and API route (403), direct POSTs included;
admins get working answers from each."""

from __future__ import annotations

import uuid

import pytest

from conftest import callback_payload
from services.registry import ROLES

NON_ADMINS = [role for role in ROLES if role != "admin"]
WRITES = [
    ("post", "/api/v1/users", {"email": "x@y.test", "role": "admin"}),
    ("patch", "/api/v1/users/1", {"role": "admin"}),
    ("post", "/api/v1/users/1/reset-password", {}),
]
READS = ["/api/v1/users", "/api/v1/audit", "/api/v1/audit?format=csv",
         "/api/v1/system-health"]


def admin_callback_keys(dash_app) -> list[str]:
    return [key.lstrip(".") for key in dash_app.callback_map
            if key.lstrip(".").startswith("admin-")]


@pytest.mark.parametrize("role", NON_ADMINS)
def test_non_admins_are_refused_everywhere(client_for, dash_app, role, ctx):
    client = client_for(role)
    keys = admin_callback_keys(dash_app)
    assert len(keys) >= 8
    for key in keys:
        payload = callback_payload(dash_app, key, {"admin-new-submit.n_clicks": 1,
                                                   "admin-new-email.value": "sneak@x.test",
                                                   "admin-new-role.value": "admin",
                                                   "admin-tabs.active_tab": "health"})
        assert client.post("/_dash-update-component", json=payload).status_code == 403, key
    for path in READS:
        assert client.get(path).status_code == 403, path
    for method, path, body in WRITES:
        assert getattr(client, method)(path, json=body).status_code == 403, path
    from services.errors import NotFound
    from services.users import require_user
    with pytest.raises(NotFound):
        require_user(ctx, "sneak@x.test")


def test_anonymous_requests_get_401(client_for):
    client = client_for(None)
    for path in READS:
        assert client.get(path).status_code == 401
    for method, path, body in WRITES:
        assert getattr(client, method)(path, json=body).status_code == 401


def test_admin_api_round_trip(client_for, companies):
    client = client_for("admin")
    email = f"api-{uuid.uuid4().hex[:8]}@admin.test"
    created = client.post("/api/v1/users", json={"email": email, "role": "analyst",
                                                 "company": companies[0]})
    assert created.status_code == 201, created.json
    assert "/set-password?token=" in created.json["set_password_url"]
    user_id = created.json["user"]["id"]

    bad = client.post("/api/v1/users", json={"email": "nope", "role": "analyst"})
    assert bad.status_code == 400 and "not a valid email" in bad.json["message"]
    form_post = client.post("/api/v1/users", data={"email": email, "role": "admin"})
    assert form_post.status_code == 400  # JSON only: no cross-site form posts

    changed = client.patch(f"/api/v1/users/{user_id}", json={"role": "executive",
                                                             "company": companies[1]})
    assert changed.status_code == 200
    assert (changed.json["user"]["role"], changed.json["user"]["company_slug"]) == (
        "executive", companies[1])
    assert client.patch(f"/api/v1/users/{user_id}", json={"active": False}).json[
        "user"]["active"] is False
    assert client.patch("/api/v1/users/999999", json={"role": "analyst"}).status_code == 404
    reset = client.post(f"/api/v1/users/{user_id}/reset-password")
    assert reset.status_code == 200  # inactive users keep their row; a link is issued
    listed = client.get(f"/api/v1/users?search={email}&active=no").json
    assert listed["count"] == 1

    audit = client.get("/api/v1/audit?user=admin@a.test&action=user_role_changed").json
    assert any(row["target"] == email for row in audit["rows"])
    csv_response = client.get("/api/v1/audit?format=csv&action=user_created")
    assert csv_response.mimetype == "text/csv" and email in csv_response.get_data(as_text=True)
    health = client.get("/api/v1/system-health?window=day")
    assert health.status_code == 200 and health.json["servers"]["database"]["status"] == "up"
    assert client.get("/api/v1/system-health?window=week").status_code == 400


def test_admin_callbacks_work_for_admins(client_for, dash_app):
    client = client_for("admin")
    users = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "admin-users-grid.rowData", {"admin-user-search.value": "a.test"}))
    assert users.status_code == 200 and "admin@a.test" in users.get_data(as_text=True)
    health = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "admin-health-servers", {"admin-tabs.active_tab": "health",
                                           "admin-health-window.value": "hour"}))
    assert health.status_code == 200
    body = health.get_data(as_text=True)
    assert "PostgreSQL" in body and "view:admin" in body  # the timer saw the last request
    created = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "admin-new-result", {"admin-new-submit.n_clicks": 1,
                                       "admin-new-email.value": "bad email",
                                       "admin-new-role.value": "analyst"}))
    assert created.status_code == 200 and "not a valid email" in created.get_data(as_text=True)
