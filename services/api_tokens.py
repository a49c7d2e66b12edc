"""Per-company API tokens for POST /api/v1/events. Admins create them; the token is shown
once and only its SHA-256 is stored, so a database leak does not leak working tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from db.queries import api_tokens as queries
from services import audit
from services.context import ServiceContext
from services.errors import Forbidden, NotFound, ValidationError
from services.users import UserRecord

TOKEN_PREFIX = "cdk_"
# last_used_at is written at most this often per token (not on every request).
TOUCH_EVERY = dt.timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_admin(actor: UserRecord | None) -> None:
    if actor is not None and actor.role != "admin":
        raise Forbidden("only admins manage API tokens")


def create_token(ctx: ServiceContext, actor: UserRecord | None, company_id: int,
                 name: str, expires_in_days: int | None = None) -> dict:
    """A new token for the company: {"id", "name", "prefix", "token"} (the token only now).
    ``actor`` None is the command line (an operator). ``expires_in_days``: the token stops
    working that many days from now (None: it works until revoked)."""
    _require_admin(actor)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("a token needs a name of 1 to 100 characters")
    if expires_in_days is not None and (
            isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int)
            or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS):
        raise ValidationError(
            f"expires_in_days must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.session() as session:
        if not queries.company_exists(session, company_id):
            raise NotFound(f"no company {company_id}")
        token_id = queries.insert_token(session, company_id, name, hash_token(token),
                                        token[:12], actor.id if actor else None,
                                        expires_in_days)
        audit.record(session, "api_token_create", user_id=actor.id if actor else None,
                     actor_email=actor.email if actor else "cli",
                     target=f"api_token:{token_id}",
                     after={"company_id": company_id, "name": name, "prefix": token[:12],
                            "expires_in_days": expires_in_days})
    return {"id": token_id, "name": name, "prefix": token[:12], "token": token}


def list_tokens(ctx: ServiceContext, company_id: int) -> list[dict]:
    """Each token's id, company_id, name, prefix, created_at, last_used_at, expires_at,
    revoked_at and state (active, expired, revoked), newest first."""
    return tokens_of_companies(ctx, [company_id])


def tokens_of_companies(ctx: ServiceContext, company_ids: list[int]) -> list[dict]:
    """``list_tokens`` of several companies in one query (the health tab's table)."""
    with ctx.session() as session:
        return queries.tokens_of(session, company_ids)


def revoke_token(ctx: ServiceContext, actor: UserRecord | None, company_id: int,
                 token_id: int) -> None:
    _require_admin(actor)
    with ctx.session() as session:
        if not queries.revoke(session, company_id, token_id):
            raise NotFound(f"no active token {token_id} for this company")
        audit.record(session, "api_token_revoke", user_id=actor.id if actor else None,
                     actor_email=actor.email if actor else "cli",
                     target=f"api_token:{token_id}", before={"revoked": False},
                     after={"revoked": True})


def authenticate(ctx: ServiceContext, authorization: str | None) -> int | None:
    """The company id of a live token in an ``Authorization: Bearer ...`` header, else None."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    token = authorization.removeprefix("Bearer ").strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with ctx.session() as session:
        found = queries.live_token(session, hash_token(token))
        if found is None:
            return None
        token_id, company_id, last_used = found
        now = dt.datetime.now(dt.timezone.utc)
        if last_used is None or now - last_used > TOUCH_EVERY:
            queries.touch(session, token_id)
        return company_id
