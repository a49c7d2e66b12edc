"""What every callback needs: the service context and the logged-in user, checked again here
(the request guard already did) so a callback can never run for a role outside its view."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from services.context import ServiceContext
from services.errors import Forbidden
from services.roles import can_open
from services.users import UserRecord


def service_context() -> ServiceContext:
    return current_app.extensions["campaign_dash"]


def require_view(view: str) -> UserRecord:
    """The current user if their role may open ``view``; raises Forbidden otherwise."""
    if not current_user.is_authenticated:
        raise Forbidden("log in first")
    record = current_user.record
    if not can_open(record.role, view):
        raise Forbidden(f"the {record.role} role may not open the {view} view")
    return record
