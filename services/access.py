"""The one access check (DESIGN.md, roles and tenancy).

A ``Scope`` (user, role, company) is built once per request from the server-side session's
user, never from request data. Staff (users with no company) choose a company through
``choose_company``, the one function that validates that choice; everyone else always gets
their own company. ``require(scope, view_or_action)`` is what every callback, API handler, CLI
command and writing service goes through. Ids that come from the browser (inputs, stores,
pattern-matching ids) are resolved inside the scope by the ``*_in_scope`` helpers: a foreign
or unknown id is a NotFound with an audit row, never data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from db.queries import companies as company_queries
from db.queries import scope as queries
from services import audit, registry
from services.context import ServiceContext
from services.errors import Forbidden, NotFound
from services.tenancy import Tenant, tenant_of
from services.users import UserRecord


@dataclass(frozen=True)
class Scope:
    """Who acts, in which role, on which company. ``company`` is None only for staff on a
    view that spans companies (the admin view of an admin with no company)."""

    user: UserRecord
    company: Tenant | None
    remote_addr: str | None = None

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def company_id(self) -> int | None:
        return self.company.id if self.company else None

    @property
    def audit_user_id(self) -> int | None:
        """The user id audit rows name (None for the command line and the worker)."""
        return self.user.id or None

    @property
    def is_staff(self) -> bool:
        return self.user.company_id is None

    def covers(self, company_id: int | None) -> bool:
        """Whether records of ``company_id`` are inside this scope."""
        return self.is_staff or company_id == self.user.company_id


# How a refused action reads in a message ("the analyst role may not pause campaigns").
ACTION_TEXT = {"pause_campaign": "pause campaigns", "acknowledge_alert": "acknowledge alerts",
               "edit_alert_rules": "edit alert rules",
               "edit_alert_settings": "change alert settings", "manage_users": "manage users",
               "manage_preferences": "change other users' preferences",
               "read_audit": "read the audit log",
               "read_system_health": "read the system health",
               "manage_competitors": "manage competitors", "import_data": "import data",
               "edit_report_schedules": "create, change or send report schedules",
               "allow_report_recipients": "allow outside report recipients",
               "annotate_events": "annotate company events",
               "set_holiday_country": "change the company's holiday country"}


def deny(ctx: ServiceContext, scope: Scope, target: str, error: Exception) -> Exception:
    """Audit a refused attempt and return the error to raise."""
    with ctx.session() as session:
        audit.record(session, "denied", user_id=scope.audit_user_id,
                     actor_email=scope.user.email,
                     target=target[:255], remote_addr=scope.remote_addr)
    return error


# Company rows change rarely (a rename): each callback resolves its tenant from this small
# in-process cache instead of a database round trip. Keyed by database, since one process
# may serve several (the tests); only companies that exist are kept.
COMPANY_TTL_S = 30.0
_companies: dict[tuple, tuple[float, Tenant]] = {}


def _company(ctx: ServiceContext, *, company_id: int | None = None,
             slug: str | None = None) -> Tenant | None:
    key = (ctx.database_url, company_id, slug)
    hit = _companies.get(key)
    if hit is not None and time.monotonic() - hit[0] < COMPANY_TTL_S:
        return hit[1]
    with ctx.session() as session:
        row = (company_queries.company_by_id(session, company_id) if company_id is not None
               else company_queries.company_by_slug(session, slug))
        tenant = tenant_of(row) if row is not None else None
    if tenant is not None:
        _companies[key] = (time.monotonic(), tenant)
    return tenant


def choose_company(ctx: ServiceContext, user: UserRecord, requested_slug: str | None,
                   remote_addr: str | None = None) -> Tenant:
    """The company a request acts on: the user's own, or the one staff picked (validated),
    or the first company for staff who picked none. A user with a company who asks for
    another one is refused and audited (the page never offers it: it is a forged request)."""
    requested_slug = str(requested_slug) if requested_slug else None
    if user.company_id is not None:
        tenant = _company(ctx, company_id=user.company_id)
        if tenant is not None and requested_slug not in (None, tenant.slug):
            raise deny(ctx, Scope(user, None, remote_addr), f"company:{requested_slug}",
                       NotFound(f"no company {requested_slug[:60]!r}"))
    elif requested_slug is not None:
        tenant = _company(ctx, slug=requested_slug)
        if tenant is None:
            raise NotFound(f"no company {requested_slug[:60]!r}")
    else:
        with ctx.session() as session:
            companies = company_queries.all_companies(session)
            tenant = tenant_of(companies[0]) if companies else None
    if tenant is None:
        raise NotFound("no company data yet: run `campaign-dash seed` or import data")
    return tenant


def require(ctx: ServiceContext, scope: Scope, view_or_action: str) -> Scope:
    """The scope back if its role may open the view or take the action; else Forbidden,
    audited."""
    if scope.company is not None and not scope.covers(scope.company.id):
        # Defence in depth: a scope is only ever built for the user's own company.
        raise deny(ctx, scope, f"company:{scope.company.id}",
                   Forbidden("this company is outside your account"))
    if view_or_action in registry.ACTIONS:
        allowed = registry.can_take(scope.role, view_or_action)
        what = f"may not {ACTION_TEXT.get(view_or_action, view_or_action)}"
    else:
        allowed = registry.can_open(scope.role, view_or_action)
        what = f"may not open the {view_or_action} view"
    if not allowed:
        raise deny(ctx, scope, f"{view_or_action}",
                   Forbidden(f"the {scope.role.replace('_', ' ')} role {what}"))
    return scope


def scope_for(ctx: ServiceContext, user: UserRecord | None, view: str,
              requested_company: str | None = None, *, remote_addr: str | None = None,
              needs_company: bool = True) -> Scope:
    """The request's scope on ``view``: the user must be logged in and may open the view; the
    company is chosen by ``choose_company``. ``needs_company`` False (the admin view) leaves
    staff without a company, so they administer all companies."""
    if user is None:
        raise Forbidden("log in first")
    bare = Scope(user, None, remote_addr)
    require(ctx, bare, view)
    if not needs_company and user.company_id is None and not requested_company:
        return bare
    return Scope(user, choose_company(ctx, user, requested_company, remote_addr), remote_addr)


# The command line and the worker act as an admin with no company and no user row (id 0).
CLI_USER = UserRecord(0, "cli", "command line", "admin", None, None, True)


def system_scope(ctx: ServiceContext, company_id: int, actor: str = "cli") -> Scope:
    """The scope of the command line (``actor`` "cli") or the alert worker on one company."""
    with ctx.session() as session:
        company = company_queries.company_by_id(session, company_id)
        if company is None:
            raise NotFound(f"no company {company_id}")
        tenant = tenant_of(company)
    return Scope(replace(CLI_USER, email=actor), tenant)


# --------------------------------------------------------------------------- ids from requests


def _as_id(value) -> int | None:
    """A record id from request data, or None when it is not a plain positive integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**31 else None
    # ASCII digits only: "²".isdigit() is true but int("²") raises.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value) or None
    return None


def record_in_scope(ctx: ServiceContext, scope: Scope, kind: str, record_id, lookup):
    """A record of the scope's company by an id from a request: ``lookup(session,
    company_id, number)`` finds it (None or False when the company has none). Otherwise
    NotFound, audited: another company's id reads like one that does not exist."""
    number = _as_id(record_id)
    found = None
    if number is not None and scope.company_id is not None:
        with ctx.session() as session:
            found = lookup(session, scope.company_id, number)
    if not found:
        shown = str(record_id)[:40]
        raise deny(ctx, scope, f"{kind.replace(' ', '_')}:{shown}",
                   NotFound(f"no {kind} {shown} in this company"))
    return found


def campaign_in_scope(ctx: ServiceContext, scope: Scope, campaign_id) -> dict:
    """{id, name, status} of a campaign of the scope's company, or NotFound (audited)."""
    return record_in_scope(ctx, scope, "campaign", campaign_id, queries.campaign)


def alert_in_scope(ctx: ServiceContext, scope: Scope, alert_id) -> int:
    """The id of an alert of the scope's company, or NotFound (audited)."""
    record_in_scope(ctx, scope, "alert", alert_id, queries.alert_exists)
    return _as_id(alert_id)


def competitor_in_scope(ctx: ServiceContext, scope: Scope, competitor_id) -> dict:
    """{id, name, website, industry} of a competitor of the scope's company, or NotFound
    (audited)."""
    from db.queries import competitive as competitive_queries

    return record_in_scope(ctx, scope, "competitor", competitor_id,
                           competitive_queries.competitor)


def user_in_scope(ctx: ServiceContext, scope: Scope, user_id) -> int:
    """The id of a user the scope may administer (any for staff, else its company's), or
    NotFound (audited)."""
    number = _as_id(user_id)
    company = None
    found = False
    if number is not None:
        with ctx.session() as session:
            found, company = queries.user_company(session, number)
    if not found or not scope.covers(company):
        raise deny(ctx, scope, f"user:{str(user_id)[:40]}",
                   NotFound(f"no user {str(user_id)[:40]}"))
    return number
