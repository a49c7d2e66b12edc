"""Preferences: validation, one audit row per change, and the views using them (the landing
redirect, the router's query defaults, the shell dialog)."""

from __future__ import annotations

import uuid

import pytest

from conftest import PASSWORD, callback_payload, login
from services import admin, preferences
from services.errors import ValidationError
from services.kpis import CARDS
from services.registry import landing
from services.users import require_user


@pytest.fixture
def manager(ctx, companies):
    email = f"prefs-{uuid.uuid4().hex[:8]}@prefs.test"
    return admin.create_user(ctx, None, email, "marketing_manager", companies[0],
                             password=PASSWORD).user


def test_defaults_and_validation(ctx, manager):
    assert preferences.get_preferences(ctx, manager.id) == {
        "default_range": "30d", "kpi_cards": list(CARDS), "landing_view": None,
        "time_zone": "UTC"}
    with pytest.raises(ValidationError, match="unknown time range"):
        preferences.set_preferences(ctx, manager, "fortnight", ["spend"], None)
    with pytest.raises(ValidationError, match="unknown KPI card 'likes'"):
        preferences.set_preferences(ctx, manager, "7d", ["likes"], None)
    with pytest.raises(ValidationError, match="at least one KPI card"):
        preferences.set_preferences(ctx, manager, "7d", [], None)
    with pytest.raises(ValidationError, match="cannot open the Admin view"):
        preferences.set_preferences(ctx, manager, "7d", ["spend"], "admin")
    saved = preferences.set_preferences(ctx, manager, "7d", ["roas", "spend"], "executive")
    assert saved == {"default_range": "7d", "kpi_cards": ["spend", "roas"],
                     "landing_view": "executive", "time_zone": "UTC"}
    assert preferences.get_preferences(ctx, manager.id) == saved


def test_a_change_writes_one_audit_row_and_no_change_none(ctx, manager):
    from sqlalchemy import text

    preferences.set_preferences(ctx, manager, "quarter", ["revenue"], None)
    preferences.set_preferences(ctx, manager, "quarter", ["revenue"], None)  # unchanged
    with ctx.session() as session:
        rows = session.execute(text("SELECT before, after FROM audit_log WHERE target = :t "
                                    "AND action = 'preferences_changed'"),
                               {"t": manager.email}).all()
    assert len(rows) == 1
    assert rows[0].before["default_range"] == "30d"
    assert rows[0].after == {"default_range": "quarter", "kpi_cards": ["revenue"],
                             "landing_view": None, "time_zone": "UTC"}


def test_landing_view_preference_drives_the_root_redirect(server, ctx, manager):
    client = server.test_client()
    assert login(client, manager.email).status_code == 302
    role_default = landing("marketing_manager")
    assert client.get("/").headers["Location"] == f"/{role_default}"
    preferences.set_preferences(ctx, manager, "30d", ["spend"], "executive")
    assert client.get("/").headers["Location"] == "/executive"
    # After a role change that forbids the preferred view, the role's default applies again.
    admin.set_role(ctx, None, manager.id, "campaign_specialist")
    specialist = require_user(ctx, manager.email)
    assert preferences.preferred_landing(ctx, specialist) == landing("campaign_specialist")
    expected = landing("campaign_specialist")
    assert client.get("/").headers.get("Location") == (f"/{expected}" if expected else None)


def test_router_fills_the_default_range_when_the_url_has_none(server, dash_app, ctx, manager):
    preferences.set_preferences(ctx, manager, "quarter", ["spend", "roas"], None)
    client = server.test_client()
    login(client, manager.email)
    payload = callback_payload(dash_app, "app-page", {"app-url.pathname": "/executive",
                                                     "app-url.search": ""})
    body = client.post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert '"value":"quarter"' in body.replace(" ", "")
    payload = callback_payload(dash_app, "app-page", {"app-url.pathname": "/executive",
                                                     "app-url.search": "?range=7d"})
    body = client.post("/_dash-update-component", json=payload).get_data(as_text=True)
    assert '"value":"7d"' in body.replace(" ", "")  # the URL wins over the preference
    assert "app-prefs-open" in body  # every user gets the preferences dialog


def test_the_shell_dialog_saves_the_callers_own_preferences(server, dash_app, ctx, users):
    client = server.test_client()
    login(client, users["campaign_specialist"])
    me = require_user(ctx, users["campaign_specialist"])
    opened = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "app-prefs-modal", {"app-prefs-open.n_clicks": 1}))
    assert opened.status_code == 200 and "Real-time" in opened.get_data(as_text=True)
    def save(landing: str) -> str:
        return client.post("/_dash-update-component", json=callback_payload(
            dash_app, "app-prefs-result", {"app-prefs-save.n_clicks": 1,
                                           "app-prefs-range.value": "7d",
                                           "app-prefs-kpis.value": ["spend"],
                                           "app-prefs-landing.value": landing})
        ).get_data(as_text=True)

    assert "Saved" in save("realtime")
    assert preferences.get_preferences(ctx, me.id)["landing_view"] == "realtime"
    # A view the role may not open is not offered, and not accepted either; nor an unknown
    # one (every view of the registry is built since the competitive view, issue #16).
    assert "competitive" not in opened.get_data(as_text=True).lower()
    assert "cannot open the Competitive view" in save("competitive")
    assert "Unknown view" in save("no-such-view")
    # A built view the role may open is offered (marketing, issue #13).
    assert '"value":"marketing"' in opened.get_data(as_text=True)
    refused = save("admin")
    assert "cannot open the Admin view" in refused


def test_preferred_kpi_cards_come_first_on_the_executive_view(client_for, dash_app):
    from conftest import callback_payload

    payload = callback_payload(dash_app, "executive-kpi-cards", {
        "executive-range.value": "30d",
        "executive-kpi-preference.data": ["conversions", "roas"],
    })
    body = client_for("executive").post("/_dash-update-component", json=payload).json
    cards = body["response"]["executive-kpi-cards"]["children"]
    first_two = [str(card).split("executive-card-", 1)[1].split("'", 1)[0] for card in cards[:2]]
    assert first_two == ["conversions", "roas"]


def test_times_of_day_are_shown_in_the_users_time_zone(ctx, manager):
    import datetime as dt

    from layouts import format as fmt
    from layouts import realtime as realtime_layout

    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        preferences.set_preferences(ctx, manager, "7d", ["spend"], None,
                                    time_zone="Mars/Olympus")
    saved = preferences.set_preferences(ctx, manager, "7d", ["spend"], None,
                                        time_zone="Europe/Berlin")
    assert saved["time_zone"] == "Europe/Berlin"
    # Saving without a zone (the admin's tab, older clients) keeps the saved one.
    preferences.set_preferences(ctx, manager, "30d", ["spend"], None)
    assert preferences.time_zone_of(ctx, manager.id) == "Europe/Berlin"
    assert preferences.time_zone_of(ctx, None) == "UTC"

    winter = dt.datetime(2026, 1, 15, 13, 5, 9, tzinfo=dt.timezone.utc)
    summer = dt.datetime(2026, 7, 15, 13, 5, 9, tzinfo=dt.timezone.utc)
    assert fmt.clock(winter, "Europe/Berlin", today=winter.date()) == "14:05 CET"
    assert fmt.clock(summer, "Europe/Berlin", today=summer.date()) == "15:05 CEST"
    assert fmt.clock(summer, "UTC", today=winter.date()) == "2026-07-15 13:05 UTC"
    assert fmt.clock(summer.isoformat(), "America/New_York", seconds=True,
                     today=summer.date()) == "09:05:09 EDT"
    assert fmt.clock(None) == fmt.DASH
    label = realtime_layout.freshness(winter.isoformat(), 300, "Europe/Berlin")
    assert label.children.startswith("data as of ") and label.children.endswith("CET")
