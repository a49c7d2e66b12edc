"""Audit log reads. The application never updates or deletes audit rows (and a trigger from
migration 0002 refuses it in PostgreSQL); writes go through services.audit.record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from db.models import AuditLog, User


def audit_query(actor: str | None = None, action: str | None = None,
                start: dt.datetime | None = None, end: dt.datetime | None = None,
                company_id: int | None = None) -> Select:
    """Rows newest first; ``actor`` matches part of the actor's email, ``end`` is exclusive;
    ``company_id`` keeps the rows of that company's users only."""
    query = select(AuditLog)
    if company_id is not None:
        query = query.where(AuditLog.user_id.in_(
            select(User.id).where(User.company_id == company_id)))
    if actor:
        query = query.where(func.lower(AuditLog.actor_email).like(f"%{actor.lower()}%"))
    if action:
        query = query.where(AuditLog.action == action)
    if start is not None:
        query = query.where(AuditLog.at >= start)
    if end is not None:
        query = query.where(AuditLog.at < end)
    return query.order_by(AuditLog.at.desc(), AuditLog.id.desc())


def search(session: Session, limit: int, offset: int = 0, **filters) -> list[AuditLog]:
    return list(session.scalars(audit_query(**filters).limit(limit).offset(offset)))


def count(session: Session, **filters) -> int:
    return session.execute(
        select(func.count()).select_from(audit_query(**filters).order_by(None).subquery())
    ).scalar_one()


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))
