"""User lookups and writes (staged on the caller's session; the service commits)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Company, User


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.lower())).first()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[tuple[User, str | None]]:
    """All users with their company slug, ordered by email."""
    rows = session.execute(
        select(User, Company.slug).outerjoin(Company, Company.id == User.company_id)
        .order_by(User.email)
    ).all()
    return [(user, slug) for user, slug in rows]
