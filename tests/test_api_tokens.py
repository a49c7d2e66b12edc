"""API tokens with an optional expiry and a last-used time (issue #11, finding 9)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from services import api_tokens
from services.errors import ValidationError


@pytest.fixture
def company_id(live_ctx):
    with live_ctx.session() as session:
        return session.execute(text("SELECT id FROM companies ORDER BY id LIMIT 1")).scalar()


def _listed(ctx, company_id, token_id) -> dict:
    return next(t for t in api_tokens.list_tokens(ctx, company_id) if t["id"] == token_id)


def _authorized(server, token: str) -> bool:
    """Whether POST /api/v1/events gets past the token check (an empty batch stores nothing)."""
    response = server.test_client().post("/api/v1/events", json=[],
                                         headers={"Authorization": f"Bearer {token}"})
    return response.status_code != 401


def test_tok001_expired_token_is_refused(live_server, live_ctx, live_users, company_id):
    made = api_tokens.create_token(live_ctx, live_users["admin"], company_id, "expiring",
                                   expires_in_days=30)
    listed = _listed(live_ctx, company_id, made["id"])
    left = listed["expires_at"] - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(days=29) < left <= dt.timedelta(days=30)
    assert listed["last_used_at"] is None and listed["state"] == "active"

    assert _authorized(live_server, made["token"])
    listed = _listed(live_ctx, company_id, made["id"])
    assert listed["last_used_at"] is not None  # admins see when it was last used

    with live_ctx.session() as session:
        session.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 minute' "
                             "WHERE id = :id"), {"id": made["id"]})
    assert not _authorized(live_server, made["token"])
    assert _listed(live_ctx, company_id, made["id"])["state"] == "expired"


def test_tok002_expiry_is_optional_and_checked(live_server, live_ctx, live_users, company_id):
    made = api_tokens.create_token(live_ctx, live_users["admin"], company_id, "forever")
    assert _listed(live_ctx, company_id, made["id"])["expires_at"] is None
    assert _authorized(live_server, made["token"])
    for days in (0, -1, 100_000, 1.5, "30"):
        with pytest.raises(ValidationError, match="expires_in_days"):
            api_tokens.create_token(live_ctx, live_users["admin"], company_id, "bad",
                                    expires_in_days=days)


def test_the_cli_creates_expiring_tokens_and_lists_their_state(live_config, live_ctx,
                                                               monkeypatch, capsys):
    """Admins see each token's state, expiry and last use (issue #11, finding 9)."""
    from dashapp.cli import main

    with live_ctx.session() as session:
        slug = session.execute(text("SELECT slug FROM companies ORDER BY id LIMIT 1")).scalar()
    monkeypatch.setenv("DATABASE_URL", live_config.database_url)
    monkeypatch.setenv("REDIS_URL", live_config.redis_url)
    assert main(["token", "create", "--company", slug, "--name", "cli-expiring",
                 "--expires-in-days", "30"]) == 0
    assert "expires in 30 days" in capsys.readouterr().out
    assert main(["token", "list", "--company", slug]) == 0
    listing = capsys.readouterr().out
    assert "last used" in listing.splitlines()[0] and "expires" in listing.splitlines()[0]
    row = next(line for line in listing.splitlines() if "cli-expiring" in line)
    assert "active" in row and "UTC" in row


def test_the_health_tab_lists_tokens_of_the_admins_companies_only(server, dash_app, ctx,
                                                                  companies):
    """An admin sees each token's state and expiry in System health; an admin with a
    company sees that company's tokens only."""
    from conftest import PASSWORD, callback_payload, login
    from services.access import CLI_USER, choose_company
    from services.users import create_user

    first, second = (choose_company(ctx, CLI_USER, slug) for slug in companies[:2])
    api_tokens.create_token(ctx, None, first.id, "ours-feed", expires_in_days=7)
    api_tokens.create_token(ctx, None, second.id, "theirs-feed")
    admin = create_user(ctx, "tokens-admin@a.test", PASSWORD, "admin", first.slug)
    client = server.test_client()
    assert login(client, admin.email).status_code == 302
    body = client.post("/_dash-update-component", json=callback_payload(
        dash_app, "admin-health-servers", {"admin-tabs.active_tab": "health",
                                           "admin-health-window.value": "hour"})).json
    tokens = str(body["response"]["admin-health-tokens"]["children"])
    assert "ours-feed" in tokens and "active" in tokens
    assert "theirs-feed" not in tokens and second.name not in tokens
