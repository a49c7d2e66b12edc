"""User administration (issue #5): commands, their audit rows, the last-admin and self-lockout
rules, role changes on the next request, deactivation ending sessions, set-password links and
the `campaign-dash user` commands."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import text

from conftest import PASSWORD, login
from services import admin
from services.context import ServiceContext
from services.errors import ValidationError
from services.users import get_user, require_user

NEW_PASSWORD = "a-fresh-long-passphrase-9"


def unique_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}@admin.test"


def audit_rows(ctx, target: str) -> list:
    with ctx.session() as session:
        return session.execute(text(
            "SELECT action, actor_email, remote_addr, before, after FROM audit_log "
            "WHERE target = :t ORDER BY id"), {"t": target}).all()


@pytest.fixture
def actor(ctx, users):
    return require_user(ctx, users["admin"])


@pytest.fixture
def member(ctx, companies, actor):
    """A fresh campaign specialist in the first company."""
    return admin.create_user(ctx, actor, unique_email("member"), "campaign_specialist",
                             companies[0], password=PASSWORD).user


# --------------------------------------------------------------------------- one audit row each


def test_each_command_writes_one_audit_row_with_before_and_after(ctx, actor, companies):
    email = unique_email("audited")
    user = admin.create_user(ctx, actor, email, "analyst", companies[0], "Ann Alyst",
                             password=PASSWORD, remote_addr="10.0.0.9").user
    admin.set_role(ctx, actor, user.id, "marketing_manager")
    admin.set_company(ctx, actor, user.id, companies[1])
    admin.deactivate(ctx, actor, user.id)
    admin.activate(ctx, actor, user.id)
    admin.reset_password(ctx, actor, user.id, NEW_PASSWORD)

    rows = audit_rows(ctx, email)
    assert [row.action for row in rows] == [
        "user_created", "user_role_changed", "user_company_changed", "user_deactivated",
        "user_activated", "password_reset"]
    assert all(row.actor_email == actor.email for row in rows)
    created, role, company, deactivated, activated, reset = rows
    assert created.before is None
    assert created.after == {"email": email, "name": "Ann Alyst", "role": "analyst",
                             "company": companies[0], "active": True, "password": "set"}
    assert created.remote_addr == "10.0.0.9"
    assert (role.before["role"], role.after["role"]) == ("analyst", "marketing_manager")
    assert (company.before["company"], company.after["company"]) == (companies[0],
                                                                      companies[1])
    assert (deactivated.before["active"], deactivated.after["active"]) == (True, False)
    assert (activated.before["active"], activated.after["active"]) == (False, True)
    assert reset.after["password"] == "set by admin"
    assert "password_hash" not in str(rows)


def test_validation_messages(ctx, actor, companies):
    cases = [
        (dict(email="not-an-email", role="analyst"), "not a valid email"),
        (dict(email=unique_email("r"), role="wizard"), "unknown role 'wizard'"),
        (dict(email=unique_email("c"), role="analyst", company_slug="no-such-co"),
         "there is no company 'no-such-co'"),
        (dict(email=unique_email("p"), role="analyst", password="short"),
         "at least 12 characters"),
        (dict(email=unique_email("p"), role="analyst", password="1qaz2wsx3edc"),
         "too common"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValidationError, match=message):
            admin.create_user(ctx, actor, **kwargs)
    with pytest.raises(ValidationError, match="already exists"):
        admin.create_user(ctx, actor, actor.email, "admin")


def test_filters_of_the_users_list(ctx, actor, member, companies):
    found = admin.list_users(ctx, search=member.email[:15], role="campaign_specialist",
                             company=companies[0], active=True)
    assert [u["email"] for u in found] == [member.email]
    no_company = admin.list_users(ctx, company="none")
    assert no_company and all(u["company_slug"] is None for u in no_company)
    assert admin.list_users(ctx, search=member.email, active=False) == []


# --------------------------------------------------------------------------- protections


@pytest.fixture
def lone_admin_ctx(empty_database_factory, config):
    """A private database whose only admin is the one created here."""
    ctx = ServiceContext(empty_database_factory("lone"), config.redis_url,
                         config.cache_namespace + "-lone")
    boss = admin.create_user(ctx, None, "boss@lone.test", "admin", password=PASSWORD).user
    return ctx, boss


def test_the_last_active_admin_cannot_be_removed(lone_admin_ctx):
    ctx, boss = lone_admin_ctx
    with pytest.raises(ValidationError, match="last active admin"):
        admin.deactivate(ctx, None, boss.id)
    with pytest.raises(ValidationError, match="last active admin"):
        admin.set_role(ctx, None, boss.id, "analyst")
    second = admin.create_user(ctx, boss, "second@lone.test", "admin", password=PASSWORD).user
    admin.set_role(ctx, second, boss.id, "analyst")  # now allowed: another admin remains
    with pytest.raises(ValidationError, match="last active admin"):
        admin.deactivate(ctx, None, second.id)
    assert get_user(ctx, second.id).active


def test_an_admin_cannot_lock_themselves_out(ctx, actor):
    with pytest.raises(ValidationError, match="your own account"):
        admin.deactivate(ctx, actor, actor.id)
    with pytest.raises(ValidationError, match="your own account"):
        admin.set_role(ctx, actor, actor.id, "analyst")
    with pytest.raises(ValidationError, match="lock you out"):
        admin.reset_password(ctx, actor, actor.id, None)
    assert get_user(ctx, actor.id).role == "admin"


# --------------------------------------------------------------------------- effect on sessions


def test_role_change_takes_effect_on_the_next_request(server, ctx, actor, member):
    client = server.test_client()
    assert login(client, member.email).status_code == 302
    assert client.get("/executive").status_code == 403  # specialists may not
    assert client.get("/api/v1/kpis").status_code == 403

    admin.set_role(ctx, actor, member.id, "executive")
    assert client.get("/api/v1/kpis").status_code == 200  # same session, next request
    assert client.get("/executive").status_code == 200

    admin.set_role(ctx, actor, member.id, "campaign_specialist")
    assert client.get("/api/v1/kpis").status_code == 403


def test_deactivation_logs_the_user_out_at_once(server, ctx, actor, member):
    client = server.test_client()
    assert login(client, member.email).status_code == 302
    other_device = server.test_client()
    assert login(other_device, member.email).status_code == 302
    assert client.get("/marketing").status_code in (200, 404)

    admin.deactivate(ctx, actor, member.id)
    for browser in (client, other_device):
        assert browser.get("/api/v1/kpis").status_code == 401
        response = browser.get("/executive")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(server.test_client(), member.email).status_code == 401

    # Reactivation does not revive the old sessions: the user signs in again.
    admin.activate(ctx, actor, member.id)
    assert client.get("/api/v1/kpis").status_code == 401
    assert login(server.test_client(), member.email).status_code == 302
    with ctx.session() as session:
        ended = session.execute(text(
            "SELECT after->>'sessions_ended' FROM audit_log WHERE target = :t "
            "AND action = 'user_deactivated'"), {"t": member.email}).scalar()
    assert ended == "2"


def test_password_reset_signs_the_user_out(server, ctx, actor, member):
    client = server.test_client()
    assert login(client, member.email).status_code == 302
    admin.reset_password(ctx, actor, member.id, NEW_PASSWORD)
    assert client.get("/api/v1/kpis").status_code == 401
    assert login(server.test_client(), member.email).status_code == 401
    assert login(server.test_client(), member.email, NEW_PASSWORD).status_code == 302


# --------------------------------------------------------------------------- set-password links


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_a_new_user_sets_a_password_through_a_one_time_link(server, ctx, actor, companies):
    email = unique_email("invited")
    result = admin.create_user(ctx, actor, email, "campaign_specialist", companies[0])
    assert result.token and admin.set_password_url(result.token, "http://x/").startswith(
        "http://x/set-password?token=")
    assert login(server.test_client(), email, PASSWORD).status_code == 401  # no password yet

    browser = server.test_client()
    page = browser.get(f"/set-password?token={result.token}")
    assert page.status_code == 200 and email in page.get_data(as_text=True)
    form = {"token": result.token, "csrf_token": _csrf(page.get_data(as_text=True))}
    weak = browser.post("/set-password", data={**form, "password": "password1234",
                                               "confirm": "password1234"})
    assert weak.status_code == 400 and "too common" in weak.get_data(as_text=True)
    mismatch = browser.post("/set-password", data={**form, "password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD + "x"})
    assert "do not match" in mismatch.get_data(as_text=True)
    done = browser.post("/set-password", data={**form, "password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "Your password is set" in done.get_data(as_text=True)
    assert login(server.test_client(), email, NEW_PASSWORD).status_code == 302

    # Single use.
    again = server.test_client().get(f"/set-password?token={result.token}")
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    actions = [row.action for row in audit_rows(ctx, email)]
    assert actions == ["user_created", "password_set"]


def test_set_password_links_expire_and_a_newer_link_replaces_an_older(server, ctx, actor,
                                                                        member):
    first = admin.reset_password(ctx, actor, member.id).token
    second = admin.reset_password(ctx, actor, member.id).token
    client = server.test_client()
    assert client.get(f"/set-password?token={first}").status_code == 410
    assert client.get(f"/set-password?token={second}").status_code == 200
    assert client.get("/set-password?token=forged").status_code == 404
    with pytest.raises(ValidationError):
        admin.redeem_token(ctx, first, NEW_PASSWORD)

    with ctx.session() as session:  # age the live link past its expiry
        session.execute(text("UPDATE password_tokens SET expires_at = now() - interval '1 s' "
                             "WHERE token_hash = :h"), {"h": admin.token_hash(second)})
    response = client.get(f"/set-password?token={second}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def cli_env(monkeypatch, config):
    monkeypatch.setenv("DATABASE_URL", config.database_url)
    monkeypatch.setenv("REDIS_URL", config.redis_url)
    monkeypatch.setenv("CAMPAIGN_DASH_CACHE_NAMESPACE", config.cache_namespace)


def test_every_admin_action_is_a_cli_command(cli_env, ctx, companies, capsys, monkeypatch):
    from dashapp.cli import main

    email = unique_email("cli")
    assert main(["user", "add", email, "--role", "analyst", "--company", companies[0],
                 "--link", "--base-url", "https://dash.example"]) == 0
    assert "https://dash.example/set-password?token=" in capsys.readouterr().out
    assert main(["user", "set-role", email, "executive"]) == 0
    assert main(["user", "set-company", email, companies[1]]) == 0
    assert main(["user", "set-company", email, "--none"]) == 0
    assert main(["user", "deactivate", email]) == 0
    assert main(["user", "activate", email]) == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(NEW_PASSWORD + "\n"))
    assert main(["user", "reset-password", email]) == 0
    assert main(["user", "preferences", email, "--range", "7d", "--kpis", "roas,spend"]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--search", email, "--active", "yes"]) == 0
    listed = capsys.readouterr().out
    assert email in listed and "executive" in listed
    with pytest.raises(SystemExit):  # argparse: invalid choice
        main(["user", "set-role", email, "wizard"])
    assert main(["user", "set-company", email, "nowhere"]) == 2
    assert "there is no company 'nowhere'" in capsys.readouterr().err

    rows = audit_rows(ctx, email)
    assert [row.action for row in rows] == [
        "user_created", "user_role_changed", "user_company_changed", "user_company_changed",
        "user_deactivated", "user_activated", "password_reset", "preferences_changed"]
    assert {row.actor_email for row in rows} == {"cli"}

    assert main(["user", "audit", "--user", "cli", "--start",
                 dt.date.today().isoformat()]) == 0
    assert email in capsys.readouterr().out
