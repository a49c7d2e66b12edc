"""Users: creation, authentication and listing. Returns plain records, never ORM objects, so
callers cannot lazy-load across a closed session."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from db.models import User
from db.queries import companies as company_queries
from db.queries import users as queries
from services import audit
from services.context import ServiceContext
from services.errors import NotFound, ValidationError
from services.passwords import DUMMY_HASH, check_policy, hash_password, verify_password
from services.registry import validate_role

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class UserRecord:
    id: int
    email: str
    name: str
    role: str
    company_id: int | None
    company_slug: str | None
    active: bool


def user_record(user: User, company_slug: str | None) -> UserRecord:
    return UserRecord(user.id, user.email, user.name, user.role, user.company_id, company_slug,
                      user.active)


def _validate_email(email: str) -> str:
    email = (email or "").strip()
    if not EMAIL_RE.match(email) or len(email) > 255:
        raise ValidationError(f"{email!r} is not a valid email address")
    return email


def create_user(ctx: ServiceContext, email: str, password: str, role: str,
                company_slug: str | None = None, name: str | None = None,
                actor: UserRecord | None = None, check_password: bool = True) -> UserRecord:
    email = _validate_email(email)
    validate_role(role)
    if check_password:
        check_policy(password)
    with ctx.session() as session:
        if queries.user_by_email(session, email):
            raise ValidationError(f"a user with email {email} already exists")
        company_id = None
        if company_slug:
            company = company_queries.company_by_slug(session, company_slug)
            if company is None:
                raise ValidationError(f"no company {company_slug!r}")
            company_id = company.id
        user = User(email=email, name=name or email.split("@")[0], role=role,
                    company_id=company_id, password_hash=hash_password(password), active=True)
        session.add(user)
        session.flush()
        audit.record(session, "user_created", user_id=actor.id if actor else None,
                     actor_email=actor.email if actor else "cli", target=email,
                     after={"role": role, "company": company_slug, "active": True})
        return user_record(user, company_slug)


def authenticate(ctx: ServiceContext, email: str, password: str,
                 remote_addr: str | None = None) -> UserRecord | None:
    """The user if the password is right and the account active; audits either outcome."""
    with ctx.session() as session:
        user = queries.user_by_email(session, (email or "").strip())
        if user is None:
            verify_password(DUMMY_HASH, password or "")
            ok = False
        else:
            ok = verify_password(user.password_hash, password or "") and user.active
        audit.record(session, "login" if ok else "login_failed", user_id=user.id if ok else None,
                     actor_email=(email or "")[:255], remote_addr=remote_addr)
        if not ok:
            return None
        user.last_login_at = dt.datetime.now(dt.timezone.utc)
        company = company_queries.company_by_id(session, user.company_id) if user.company_id \
            else None
        return user_record(user, company.slug if company else None)


def get_user(ctx: ServiceContext, user_id: int) -> UserRecord | None:
    with ctx.session() as session:
        user = queries.user_by_id(session, user_id)
        if user is None:
            return None
        company = company_queries.company_by_id(session, user.company_id) if user.company_id \
            else None
        return user_record(user, company.slug if company else None)


def list_users(ctx: ServiceContext) -> list[UserRecord]:
    with ctx.session() as session:
        return [user_record(user, slug) for user, slug in queries.list_users(session)]


def require_user(ctx: ServiceContext, email: str) -> UserRecord:
    with ctx.session() as session:
        user = queries.user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user {email!r}")
        company = company_queries.company_by_id(session, user.company_id) if user.company_id \
            else None
        return user_record(user, company.slug if company else None)


def record_event(ctx: ServiceContext, action: str, user: UserRecord | None,
                 remote_addr: str | None, target: str | None = None) -> None:
    """Audit a request-level event (logout, denied request)."""
    with ctx.session() as session:
        audit.record(session, action, user_id=user.id if user else None,
                     actor_email=user.email if user else None, target=target,
                     remote_addr=remote_addr)
