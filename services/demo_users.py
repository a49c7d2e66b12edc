"""Demo logins, one per role, created by `campaign-dash run` in development mode only."""

from __future__ import annotations

from db.queries import companies as company_queries
from db.queries import users as user_queries
from services.context import ServiceContext
from services.registry import ROLES
from services.users import create_user

DEMO_DOMAIN = "demo.campaign-dash.local"


def demo_password(role: str) -> str:
    return f"demo-{role.replace('_', '-')}-pass"


def _demo_company_slug(ctx: ServiceContext) -> str | None:
    """The luxury jewellery brand when seeded (it has the richest data), else the first."""
    with ctx.session() as session:
        companies = company_queries.all_companies(session)
    luxury = [c for c in companies if c.industry.lower().startswith("luxury")]
    chosen = (luxury or companies or [None])[0]
    return chosen.slug if chosen else None


def ensure_demo_users(ctx: ServiceContext) -> list[dict]:
    """Create any missing demo user; return every demo login (email, password, role, company).

    Admins and analysts get no company (they pick one); the other roles belong to one.
    """
    company = _demo_company_slug(ctx)
    logins = []
    for role in ROLES:
        email = f"{role.replace('_', '-')}@{DEMO_DOMAIN}"
        company_slug = None if role in ("admin", "analyst") else company
        with ctx.session() as session:
            exists = user_queries.user_by_email(session, email) is not None
        if not exists:
            create_user(ctx, email, demo_password(role), role, company_slug,
                        name=f"Demo {role.replace('_', ' ')}")
        logins.append({"email": email, "password": demo_password(role), "role": role,
                       "company": company_slug})
    return logins


def disable_demo_users(ctx: ServiceContext) -> list[str]:
    """Production has no demo users: deactivate any left from a development start, ending
    their sessions. Returns the emails deactivated."""
    from sqlalchemy import select, update

    from db.models import User
    from services import audit
    from services.sessions import end_user_sessions

    with ctx.session() as session:
        demo = session.execute(
            select(User.id, User.email).where(User.email.like(f"%@{DEMO_DOMAIN}"),
                                              User.active.is_(True))
        ).all()
        if demo:
            session.execute(update(User).where(User.id.in_([row.id for row in demo]))
                            .values(active=False))
            for row in demo:
                audit.record(session, "user_deactivated", actor_email="production-start",
                             target=row.email, before={"active": True},
                             after={"active": False})
    for row in demo:
        end_user_sessions(ctx, row.id)
    return [row.email for row in demo]
