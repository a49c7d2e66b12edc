"""Company (tenant) lookups."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Company


def all_companies(session: Session) -> list[Company]:
    return list(session.scalars(select(Company).order_by(Company.name)))


def company_by_slug(session: Session, slug: str) -> Company | None:
    return session.scalars(select(Company).where(Company.slug == slug)).first()


def company_by_id(session: Session, company_id: int) -> Company | None:
    return session.get(Company, company_id)
