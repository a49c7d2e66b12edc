"""Server-side login sessions. The signed cookie carries only a random session id; the row
here decides whether it is still valid, so logout and deactivation take effect at once.

A session also dies on the row's own clock (PostgreSQL's ``now()``, one clock for every app
host): when it has been idle longer than ``idle`` (``last_seen_at``) or has lived longer than
``lifetime`` (``created_at``) however active it was. The cookie's own expiry is only a second
line; a replayed or re-signed cookie cannot stretch either limit."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select, update

from db.models import Company, User, UserSession
from services.context import ServiceContext
from services.users import UserRecord

IDLE_LIMIT = dt.timedelta(minutes=60)
LIFETIME = dt.timedelta(hours=12)
# last_seen_at is written at most this often per session, not on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def start_session(ctx: ServiceContext, user_id: int, remote_addr: str | None) -> str:
    session_id = secrets.token_urlsafe(32)
    with ctx.session() as session:
        session.add(UserSession(id=session_id, user_id=user_id, remote_addr=remote_addr))
    return session_id


def user_for_session(ctx: ServiceContext, session_id: str, *,
                     idle: dt.timedelta = IDLE_LIMIT,
                     lifetime: dt.timedelta = LIFETIME) -> UserRecord | None:
    """The active user of a live session, or None. A session past either limit is ended."""
    now = func.now()
    with ctx.session() as session:
        # Columns in UserRecord's field order, not the User entity: this runs on every
        # request, and no ORM object is needed to answer it.
        row = session.execute(
            select(User.id, User.email, User.name, User.role, User.company_id, Company.slug,
                   User.active, UserSession.last_seen_at < now - idle,
                   UserSession.created_at < now - lifetime,
                   UserSession.last_seen_at < now - min(TOUCH_EVERY, idle / 2))
            .join(UserSession, UserSession.user_id == User.id)
            .outerjoin(Company, Company.id == User.company_id)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None),
                   User.active.is_(True))
        ).first()
        if row is None:
            return None
        *fields, idle_too_long, too_old, stale = row
        if idle_too_long or too_old:
            session.execute(update(UserSession).where(UserSession.id == session_id)
                            .values(revoked_at=now))
            return None
        if stale:
            session.execute(update(UserSession).where(UserSession.id == session_id)
                            .values(last_seen_at=now))
        return UserRecord(*fields)


def end_session(ctx: ServiceContext, session_id: str) -> None:
    with ctx.session() as session:
        session.execute(update(UserSession).where(UserSession.id == session_id)
                        .values(revoked_at=dt.datetime.now(dt.timezone.utc)))


def end_user_sessions(ctx: ServiceContext, user_id: int) -> None:
    """Log a user out everywhere (deactivation, password reset)."""
    with ctx.session() as session:
        session.execute(update(UserSession)
                        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                        .values(revoked_at=dt.datetime.now(dt.timezone.utc)))
