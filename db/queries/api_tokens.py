"""API token rows (hashed). Company-scoped except the lookup by hash, which is how a token
finds its company."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def company_exists(session: Session, company_id: int) -> bool:
    return bool(session.execute(text("SELECT 1 FROM companies WHERE id = :c"),
                                {"c": company_id}).scalar())


def insert_token(session: Session, company_id: int, name: str, token_hash: str, prefix: str,
                 created_by: int | None) -> int:
    return int(session.execute(text("""
        INSERT INTO api_tokens (company_id, name, token_hash, prefix, created_by)
        VALUES (:c, :name, :hash, :prefix, :by) RETURNING id"""),
        {"c": company_id, "name": name, "hash": token_hash, "prefix": prefix,
         "by": created_by}).scalar())


def tokens_of(session: Session, company_id: int) -> list[dict]:
    rows = session.execute(text("""
        SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens
        WHERE company_id = :c ORDER BY created_at DESC"""), {"c": company_id})
    return [dict(row._mapping) for row in rows]


def revoke(session: Session, company_id: int, token_id: int) -> bool:
    return session.execute(text("""
        UPDATE api_tokens SET revoked_at = now()
        WHERE id = :id AND company_id = :c AND revoked_at IS NULL"""),
        {"id": token_id, "c": company_id}).rowcount == 1


def live_token(session: Session, token_hash: str):
    """(id, company_id, last_used_at) of an unrevoked token with this hash, or None."""
    row = session.execute(text("""
        SELECT id, company_id, last_used_at FROM api_tokens
        WHERE token_hash = :hash AND revoked_at IS NULL"""), {"hash": token_hash}).first()
    return tuple(row) if row else None


def touch(session: Session, token_id: int) -> None:
    session.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"),
                    {"id": token_id})
