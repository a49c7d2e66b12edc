"""What every callback needs: the service context and the request's scope, built by the one
access check (``services.access``) from the logged-in user, never from callback inputs. The
request guard has already refused roles outside the view; this is the second check, and the
place where a company picked in the browser is validated."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

from services import access
from services.context import ServiceContext


def service_context() -> ServiceContext:
    return current_app.extensions["campaign_dash"]


def sentence(error) -> str:
    """A service error's message as a sentence (messages start lower-case, no full stop)."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def request_scope(view: str, company_slug: str | None = None, *,
                  needs_company: bool = True) -> access.Scope:
    """The scope of this callback request on ``view``; Forbidden when the user may not open
    it, NotFound (audited) when a user asks for a company outside their scope."""
    user = current_user.record if current_user.is_authenticated else None
    return access.scope_for(service_context(), user, view, company_slug,
                            remote_addr=request.remote_addr, needs_company=needs_company)


def require_action(scope: access.Scope, action: str) -> access.Scope:
    return access.require(service_context(), scope, action)
