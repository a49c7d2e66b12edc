"""Companies as tenants: the plain record a scope carries, and the companies a user may pick
(their own, or all for brand or agency staff). Choosing one is ``services.access``'s job."""

from __future__ import annotations

from dataclasses import dataclass

from db.queries import companies as queries
from services.context import ServiceContext


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    name: str
    industry: str


def tenant_of(company) -> Tenant:
    return Tenant(company.id, company.slug, company.name, company.industry)


def selectable_companies(ctx: ServiceContext, user_company_id: int | None) -> list[Tenant]:
    """The companies the user may look at: their own, or all for a user with none."""
    with ctx.session() as session:
        if user_company_id is not None:
            company = queries.company_by_id(session, user_company_id)
            return [tenant_of(company)] if company else []
        return [tenant_of(c) for c in queries.all_companies(session)]
