"""User administration: the commands behind the admin view, the admin API and
`campaign-dash user ...`.

Every command validates its input (clear messages), runs in one transaction and writes exactly
one audit row with who did it, from where, and the user's state before and after. Two rules
protect the installation: the last active admin cannot be deactivated or demoted, and an admin
cannot deactivate or demote themselves. Deactivation and password resets end the user's
sessions at once (the session table is checked on every request).

``actor`` is the admin's UserRecord, or None for the command line (audited as ``cli``). An
admin with a company administers that company only: other companies' users are "not found",
and users can be created in or moved to that company only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import asdict, dataclass

from db.models import User
from db.queries import companies as company_queries
from db.queries import user_admin as queries
from db.queries import users as user_queries
from services import audit
from services.context import ServiceContext
from services.errors import Forbidden, NotFound, ValidationError
from services.passwords import check_policy, hash_password
from services.registry import ROLES, can_take
from services.users import EMAIL_RE, UserRecord, user_record

TOKEN_TTL_HOURS = 72
CLI_ACTOR = "cli"
MAX_NAME = 200


@dataclass(frozen=True)
class Result:
    """What a command did: the user afterwards and, for link-based flows, the raw one-time
    token (shown once, to be passed on; only its hash is stored)."""

    user: UserRecord
    token: str | None = None

    def as_dict(self, base_url: str | None = None) -> dict:
        out = {"user": user_dict(self.user)}
        if self.token:
            out["set_password_url"] = set_password_url(self.token, base_url)
        return out


def user_dict(user: UserRecord) -> dict:
    return asdict(user)


def set_password_url(token: str, base_url: str | None = None) -> str:
    return f"{(base_url or '').rstrip('/')}/set-password?token={token}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- validation


def validate_email(email: str | None) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError("enter an email address")
    if not EMAIL_RE.match(email) or len(email) > 255:
        raise ValidationError(f"{email!r} is not a valid email address")
    return email


def validate_role(role: str | None) -> str:
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    return role


def _check_actor(actor: UserRecord | None) -> None:
    if actor is not None and not can_take(actor.role, "manage_users"):
        raise Forbidden(f"the {actor.role.replace('_', ' ')} role may not manage users")


def _company_id(session, company_slug: str | None, actor: UserRecord | None) -> int | None:
    """The company a user is put in; an admin with a company may only name theirs."""
    company = company_queries.company_by_slug(session, company_slug) if company_slug else None
    if company_slug and (company is None or (actor is not None and actor.company_id
                                             not in (None, company.id))):
        raise ValidationError(f"there is no company {company_slug!r}")
    if company is None and actor is not None and actor.company_id is not None:
        raise ValidationError("choose your company: you administer its users only")
    return company.id if company else None


def _state(user: User, company_slug: str | None) -> dict:
    """The audited view of a user (never the password hash)."""
    return {"email": user.email, "name": user.name, "role": user.role,
            "company": company_slug, "active": user.active}


def _slug(session, company_id: int | None) -> str | None:
    if company_id is None:
        return None
    company = company_queries.company_by_id(session, company_id)
    return company.slug if company else None


def _audit(session, action: str, actor: UserRecord | None, target: str, remote_addr,
           before: dict | None, after: dict | None) -> None:
    audit.record(session, action, user_id=actor.id if actor else None,
                 actor_email=actor.email if actor else CLI_ACTOR, target=target[:255],
                 remote_addr=remote_addr, before=before, after=after)


def _issue_token(session, user: User, purpose: str, actor: UserRecord | None,
                 hours: int = TOKEN_TTL_HOURS) -> str:
    queries.retire_tokens(session, user.id)
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)
    queries.add_token(session, token_hash(token), user.id, purpose, actor.id if actor else None,
                      expires)
    return token


def _unusable_password_hash() -> str:
    """A hash no one knows the password of: the account waits for its set-password link."""
    return hash_password(secrets.token_urlsafe(48))


# --------------------------------------------------------------------------- commands


def create_user(ctx: ServiceContext, actor: UserRecord | None, email: str, role: str,
                company_slug: str | None = None, name: str | None = None,
                password: str | None = None, *, remote_addr: str | None = None) -> Result:
    """A new active user with ``password``, or (password None) a one-time set-password link."""
    email = validate_email(email)
    role = validate_role(role)
    name = (name or "").strip() or email.split("@")[0]
    if len(name) > MAX_NAME:
        raise ValidationError(f"the name may have at most {MAX_NAME} characters")
    _check_actor(actor)
    if password is not None:
        check_policy(password)
    with ctx.session() as session:
        if user_queries.user_by_email(session, email):
            raise ValidationError(f"a user with email {email} already exists")
        company_id = _company_id(session, company_slug, actor)
        user = User(email=email, name=name, role=role, company_id=company_id, active=True,
                    password_hash=hash_password(password) if password is not None
                    else _unusable_password_hash())
        session.add(user)
        session.flush()
        token = _issue_token(session, user, "invite", actor) if password is None else None
        after = {**_state(user, company_slug or None),
                 "password": "set" if password is not None else "link issued"}
        _audit(session, "user_created", actor, email, remote_addr, None, after)
        return Result(user_record(user, company_slug or None), token)


def _load(session, user_id: int, actor: UserRecord | None) -> User:
    """The user, locked for the change, if the actor may administer them."""
    _check_actor(actor)
    user = queries.user_for_update(session, user_id)
    if user is None or (actor is not None and actor.company_id not in (None, user.company_id)):
        raise NotFound(f"no user with id {user_id}")
    return user


def _guard_admin_removal(session, actor: UserRecord | None, user: User, what: str) -> None:
    """Refuse to take away the last active admin, or the acting admin's own access."""
    if actor is not None and actor.id == user.id:
        raise ValidationError(f"you cannot {what} your own account: ask another admin")
    if user.role == "admin" and user.active:
        queries.lock_admin_changes(session)
        if queries.other_active_admins(session, user.id) == 0:
            raise ValidationError(
                f"{user.email} is the last active admin; make another admin first")


def set_role(ctx: ServiceContext, actor: UserRecord | None, user_id: int, role: str, *,
             remote_addr: str | None = None) -> Result:
    """Change the role; it applies from the user's next request (sessions re-read the user)."""
    role = validate_role(role)
    with ctx.session() as session:
        user = _load(session, user_id, actor)
        if user.role == role:
            raise ValidationError(f"{user.email} already has the {role} role")
        if user.role == "admin":
            _guard_admin_removal(session, actor, user, "remove the admin role from")
        slug = _slug(session, user.company_id)
        before = _state(user, slug)
        user.role = role
        _audit(session, "user_role_changed", actor, user.email, remote_addr, before,
               _state(user, slug))
        return Result(user_record(user, slug))


def set_company(ctx: ServiceContext, actor: UserRecord | None, user_id: int,
                company_slug: str | None, *, remote_addr: str | None = None) -> Result:
    """Move the user to another company (tenant), or to none (staff who pick a company)."""
    with ctx.session() as session:
        user = _load(session, user_id, actor)
        company_id = _company_id(session, company_slug, actor)
        if user.company_id == company_id:
            raise ValidationError(f"{user.email} already belongs to "
                                  f"{company_slug or 'no company'}")
        before = _state(user, _slug(session, user.company_id))
        user.company_id = company_id
        _audit(session, "user_company_changed", actor, user.email, remote_addr, before,
               _state(user, company_slug or None))
        return Result(user_record(user, company_slug or None))


def deactivate(ctx: ServiceContext, actor: UserRecord | None, user_id: int, *,
               remote_addr: str | None = None) -> Result:
    """Deactivate and end every session of the user at once."""
    with ctx.session() as session:
        user = _load(session, user_id, actor)
        if not user.active:
            raise ValidationError(f"{user.email} is already inactive")
        _guard_admin_removal(session, actor, user, "deactivate")
        slug = _slug(session, user.company_id)
        before = _state(user, slug)
        user.active = False
        ended = queries.revoke_sessions(session, user.id)
        queries.retire_tokens(session, user.id)
        _audit(session, "user_deactivated", actor, user.email, remote_addr, before,
               {**_state(user, slug), "sessions_ended": ended})
        return Result(user_record(user, slug))


def activate(ctx: ServiceContext, actor: UserRecord | None, user_id: int, *,
             remote_addr: str | None = None) -> Result:
    """Reactivate; the user signs in again (sessions ended at deactivation stay ended)."""
    with ctx.session() as session:
        user = _load(session, user_id, actor)
        if user.active:
            raise ValidationError(f"{user.email} is already active")
        slug = _slug(session, user.company_id)
        before = _state(user, slug)
        user.active = True
        _audit(session, "user_activated", actor, user.email, remote_addr, before,
               _state(user, slug))
        return Result(user_record(user, slug))


def reset_password(ctx: ServiceContext, actor: UserRecord | None, user_id: int,
                   password: str | None = None, *, remote_addr: str | None = None) -> Result:
    """Set a new password, or (password None) replace it with a one-time set-password link;
    either way the user's sessions end and earlier links stop working."""
    if password is not None:
        check_policy(password)
    with ctx.session() as session:
        user = _load(session, user_id, actor)
        if password is None and actor is not None and actor.id == user.id:
            raise ValidationError("you cannot send yourself a reset link: that would lock you "
                                  "out; set a new password instead")
        slug = _slug(session, user.company_id)
        queries.retire_tokens(session, user.id)
        if password is not None:
            user.password_hash = hash_password(password)
            token = None
        else:
            user.password_hash = _unusable_password_hash()
            token = _issue_token(session, user, "reset", actor)
        ended = queries.revoke_sessions(session, user.id)
        _audit(session, "password_reset", actor, user.email, remote_addr,
               {"password": "set"},
               {"password": "set by admin" if token is None else "link issued",
                "sessions_ended": ended})
        return Result(user_record(user, slug), token)


def list_users(ctx: ServiceContext, search: str | None = None, role: str | None = None,
               company: str | None = None, active: bool | None = None, *,
               actor: UserRecord | None = None) -> list[dict]:
    """Users for the table: ``company`` is a slug, "none" (no company) or None (any). An
    admin with a company lists that company's users only, whatever was asked."""
    for name, value in (("search", search), ("role", role), ("company", company)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"{name} must be text")
    if role:
        validate_role(role)
    _check_actor(actor)
    with ctx.session() as session:
        if actor is not None and actor.company_id is not None:
            company_id = actor.company_id
        elif company == "none":
            company_id: int | None | str = None
        elif company:
            found = company_queries.company_by_slug(session, company)
            if found is None:
                raise ValidationError(f"there is no company {company!r}")
            company_id = found.id
        else:
            company_id = "any"
        rows = queries.list_users(session, search=(search or "").strip() or None, role=role,
                                  company_id=company_id, active=active)
        return [{**user_dict(user_record(user, slug)),
                 "created_at": user.created_at.isoformat() if user.created_at else None,
                 "last_login_at": user.last_login_at.isoformat() if user.last_login_at
                 else None}
                for user, slug in rows]


def user_by_email(ctx: ServiceContext, email: str) -> UserRecord:
    with ctx.session() as session:
        user = user_queries.user_by_email(session, (email or "").strip())
        if user is None:
            raise NotFound(f"no user {email!r}")
        return user_record(user, _slug(session, user.company_id))


# --------------------------------------------------------------------------- set-password links


def token_user(ctx: ServiceContext, token: str) -> UserRecord:
    """The user a still-valid link belongs to; raises ValidationError with the reason."""
    with ctx.session() as session:
        row = queries.token_by_hash(session, token_hash(token or ""))
        return _check_token(session, row)


def _check_token(session, row) -> UserRecord:
    if row is None:
        raise ValidationError("this set-password link is not valid; ask an admin for a new one")
    if row.used_at is not None:
        raise ValidationError("this set-password link was already used; ask an admin for a "
                              "new one")
    if row.expires_at <= dt.datetime.now(dt.timezone.utc):
        raise ValidationError("this set-password link has expired; ask an admin for a new one")
    user = user_queries.user_by_id(session, row.user_id)
    if user is None or not user.active:
        raise ValidationError("this account is not active; ask an admin")
    return user_record(user, _slug(session, user.company_id))


def redeem_token(ctx: ServiceContext, token: str, password: str, *,
                 remote_addr: str | None = None) -> UserRecord:
    """Set the password through a one-time link; the link is spent in the same transaction."""
    with ctx.session() as session:
        row = queries.token_by_hash(session, token_hash(token or ""), lock=True)
        record = _check_token(session, row)
        check_policy(password or "")
        user = user_queries.user_by_id(session, record.id)
        user.password_hash = hash_password(password)
        queries.retire_tokens(session, user.id)
        ended = queries.revoke_sessions(session, user.id)
        audit.record(session, "password_set", user_id=user.id, actor_email=user.email,
                     target=user.email, remote_addr=remote_addr,
                     before={"password": row.purpose + " link"},
                     after={"password": "set by user", "sessions_ended": ended})
        return record
