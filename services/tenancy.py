"""Which company's data a user sees. The tenant comes from the logged-in user; only a user
with no company (brand or agency staff) may pick one."""

from __future__ import annotations

from dataclasses import dataclass

from db.queries import companies as queries
from services.context import ServiceContext
from services.errors import NotFound


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    name: str
    industry: str


def _tenant(company) -> Tenant:
    return Tenant(company.id, company.slug, company.name, company.industry)


def selectable_companies(ctx: ServiceContext, user_company_id: int | None) -> list[Tenant]:
    """The companies the user may look at: their own, or all for a user with none."""
    with ctx.session() as session:
        if user_company_id is not None:
            company = queries.company_by_id(session, user_company_id)
            return [_tenant(company)] if company else []
        return [_tenant(c) for c in queries.all_companies(session)]


def resolve_tenant(ctx: ServiceContext, user_company_id: int | None,
                   requested_slug: str | None = None) -> Tenant:
    """The user's own company, whatever was requested; else the requested or first company."""
    with ctx.session() as session:
        if user_company_id is not None:
            company = queries.company_by_id(session, user_company_id)
        elif requested_slug:
            company = queries.company_by_slug(session, requested_slug)
            if company is None:
                raise NotFound(f"no company {requested_slug!r}")
        else:
            companies = queries.all_companies(session)
            company = companies[0] if companies else None
        if company is None:
            raise NotFound("no company data yet: run `campaign-dash seed` or import data")
        return _tenant(company)
