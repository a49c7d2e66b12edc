"""The audit log: append-only for the application (there is no update or delete path)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import AuditLog


def record(session: Session, action: str, *, user_id: int | None = None,
           actor_email: str | None = None, target: str | None = None,
           remote_addr: str | None = None, before: dict | None = None,
           after: dict | None = None) -> None:
    """Stage one audit row on the caller's session (committed with the caller's change)."""
    session.add(AuditLog(action=action, user_id=user_id, actor_email=actor_email, target=target,
                         remote_addr=remote_addr, before=before, after=after))
