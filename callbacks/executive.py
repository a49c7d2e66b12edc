"""Executive view callbacks: thin; read inputs, call services, build components."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import Dash, Input, Output, State, no_update

from callbacks.common import require_view, service_context
from layouts import executive as ids
from layouts import format as fmt
from services.errors import ServiceError
from services.kpis import kpi_summary
from services.tenancy import resolve_tenant


def update_kpis(range_name, start, end, company_slug, _refresh_clicks, current_search):
    """KPI cards, header texts and the shareable URL for the chosen company and period."""
    user = require_view("executive")
    ctx = service_context()
    custom = range_name == "custom"
    try:
        tenant = resolve_tenant(ctx, user.company_id, company_slug)
        summary = kpi_summary(ctx, tenant.id, range_name, start if custom else None,
                              end if custom else None)
    except ServiceError as error:
        return [], ids.error_message(str(error)), fmt.DASH, fmt.DASH, no_update, not custom
    period = summary["period"]
    as_of = f"{period['start']} to {period['end']} · data through {summary['as_of']}"
    params = {"range": range_name}
    if custom:
        params.update(start=start, end=end)
    if user.company_id is None:
        params["company"] = tenant.slug
    search = "?" + urlencode(params)
    return (ids.kpi_cards(summary), None, tenant.name, as_of,
            search if search != current_search else no_update, not custom)


def register(app: Dash) -> None:
    app.callback(
        Output(ids.KPI_CARDS, "children"),
        Output(ids.MESSAGE, "children"),
        Output(ids.COMPANY_NAME, "children"),
        Output(ids.AS_OF, "children"),
        Output(ids.URL, "search"),
        Output(ids.DATES, "disabled"),
        Input(ids.RANGE, "value"),
        Input(ids.DATES, "start_date"),
        Input(ids.DATES, "end_date"),
        Input(ids.COMPANY, "value"),
        Input(ids.REFRESH, "n_clicks"),
        State(ids.URL, "search"),
    )(update_kpis)
