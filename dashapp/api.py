"""JSON API under /api/v1/: one resource per service, the same services and tenancy as the
views. The request guard has already checked login and role for the resource."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from dashapp.auth import current_record, service_context
from services.errors import Forbidden, NotFound, ValidationError
from services.kpis import kpi_summary
from services.tenancy import resolve_tenant

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.errorhandler(ValidationError)
def _bad_request(error):
    return jsonify(error="invalid", message=str(error)), 400


@blueprint.errorhandler(NotFound)
def _not_found(error):
    return jsonify(error="not_found", message=str(error)), 404


@blueprint.errorhandler(Forbidden)
def _forbidden(error):
    return jsonify(error="forbidden", message=str(error)), 403


def _tenant():
    """The user's company; only a user without one may choose with ?company=slug."""
    user = current_record()
    return resolve_tenant(service_context(), user.company_id, request.args.get("company"))


@blueprint.get("/kpis")
def kpis():
    """Spend, revenue, ROAS and conversions: ?range=7d|30d|quarter|year or
    ?range=custom&start=YYYY-MM-DD&end=YYYY-MM-DD."""
    tenant = _tenant()
    args = request.args
    summary = kpi_summary(service_context(), tenant.id, args.get("range"), args.get("start"),
                          args.get("end"))
    return jsonify(company={"slug": tenant.slug, "name": tenant.name}, **summary)
