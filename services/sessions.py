"""Server-side login sessions. The signed cookie carries only a random session id; the row
here decides whether it is still valid, so logout and deactivation take effect at once."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update

from db.models import Company, User, UserSession
from services.context import ServiceContext
from services.users import UserRecord, user_record


def start_session(ctx: ServiceContext, user_id: int, remote_addr: str | None) -> str:
    session_id = secrets.token_urlsafe(32)
    with ctx.session() as session:
        session.add(UserSession(id=session_id, user_id=user_id, remote_addr=remote_addr))
    return session_id


def user_for_session(ctx: ServiceContext, session_id: str) -> UserRecord | None:
    """The active user of a live session, or None."""
    with ctx.session() as session:
        row = session.execute(
            select(User, Company.slug)
            .join(UserSession, UserSession.user_id == User.id)
            .outerjoin(Company, Company.id == User.company_id)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None),
                   User.active.is_(True))
        ).first()
        return user_record(row[0], row[1]) if row else None


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
