"""API token rows (hashed). Company-scoped except the lookup by hash, which is how a token
finds its company."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def company_exists(session: Session, company_id: int) -> bool:
    return bool(session.execute(text("SELECT 1 FROM companies WHERE id = :c"),
                                {"c": company_id}).scalar())


def insert_token(session: Session, company_id: int, name: str, token_hash: str, prefix: str,
                 created_by: int | None, expires_in_days: int | None = None) -> int:
    return int(session.execute(text("""
        INSERT INTO api_tokens (company_id, name, token_hash, prefix, created_by, expires_at)
        VALUES (:c, :name, :hash, :prefix, :by, now() + make_interval(days => :days))
        RETURNING id"""),
        {"c": company_id, "name": name, "hash": token_hash, "prefix": prefix,
         "by": created_by, "days": expires_in_days}).scalar())


def tokens_of(session: Session, company_ids: list[int]) -> list[dict]:
    """These companies' tokens with their company id, in the order of ``company_ids`` and
    newest first within each, and their state: active, expired or revoked."""
    rows = session.execute(text("""
        SELECT id, company_id, name, prefix, created_at, last_used_at, expires_at, revoked_at,
               CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                    WHEN expires_at <= now() THEN 'expired'
                    ELSE 'active' END AS state
        FROM api_tokens WHERE company_id = ANY(CAST(:c AS int[]))
        ORDER BY array_position(CAST(:c AS int[]), company_id), created_at DESC, id DESC"""),
        {"c": [int(c) for c in company_ids]})
    return [dict(row._mapping) for row in rows]


def revoke(session: Session, company_id: int, token_id: int) -> bool:
    return session.execute(text("""
        UPDATE api_tokens SET revoked_at = now()
        WHERE id = :id AND company_id = :c AND revoked_at IS NULL"""),
        {"id": token_id, "c": company_id}).rowcount == 1


def live_token(session: Session, token_hash: str):
    """(id, company_id, last_used_at) of an unrevoked, unexpired token with this hash, or
    None."""
    row = session.execute(text("""
        SELECT id, company_id, last_used_at FROM api_tokens
        WHERE token_hash = :hash AND revoked_at IS NULL
          AND (expires_at IS NULL OR expires_at > now())"""), {"hash": token_hash}).first()
    return tuple(row) if row else None


def touch(session: Session, token_id: int) -> None:
    session.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"),
                    {"id": token_id})
