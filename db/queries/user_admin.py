"""User administration reads and writes (staged on the caller's session; the service commits)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.orm import Session

from db.models import Company, PasswordToken, User, UserSession

# Serializes changes that could remove the last active admin (two admins demoting each other
# at once must not both succeed).
ADMIN_CHANGE_LOCK_KEY = 72_410_005


def lock_admin_changes(session: Session) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADMIN_CHANGE_LOCK_KEY})


def users_query(search: str | None = None, role: str | None = None,
                company_id: int | None | str = "any", active: bool | None = None) -> Select:
    """Users with their company slug; ``company_id`` is "any", None (no company) or an id."""
    query = select(User, Company.slug).outerjoin(Company, Company.id == User.company_id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(User.email).like(pattern),
                                func.lower(User.name).like(pattern)))
    if role:
        query = query.where(User.role == role)
    if company_id is None:
        query = query.where(User.company_id.is_(None))
    elif company_id != "any":
        query = query.where(User.company_id == company_id)
    if active is not None:
        query = query.where(User.active.is_(active))
    return query.order_by(User.email)


def list_users(session: Session, **filters) -> list[tuple[User, str | None]]:
    return [(user, slug) for user, slug in session.execute(users_query(**filters)).all()]


def user_for_update(session: Session, user_id: int) -> User | None:
    return session.scalars(select(User).where(User.id == user_id).with_for_update()).first()


def other_active_admins(session: Session, user_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user_id)
    ).scalar_one()


def revoke_sessions(session: Session, user_id: int) -> int:
    """End every live session of the user; returns how many were live."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return result.rowcount or 0


def add_token(session: Session, token_hash: str, user_id: int, purpose: str,
              created_by: int | None, expires_at: dt.datetime) -> None:
    session.add(PasswordToken(token_hash=token_hash, user_id=user_id, purpose=purpose,
                              created_by=created_by, expires_at=expires_at))


def token_by_hash(session: Session, token_hash: str, lock: bool = False) -> PasswordToken | None:
    query = select(PasswordToken).where(PasswordToken.token_hash == token_hash)
    return session.scalars(query.with_for_update() if lock else query).first()


def retire_tokens(session: Session, user_id: int) -> None:
    """Mark every unused link of the user as used (a newer link or a new password wins)."""
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user_id, PasswordToken.used_at.is_(None))
        .values(used_at=func.now())
    )
