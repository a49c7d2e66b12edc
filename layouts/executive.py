"""Executive view: how marketing is doing, for the selected company and period."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import format as fmt
from services.periods import DEFAULT_RANGE, RANGE_LABELS

# Component ids (DESIGN.md: every id on a view starts with its slug).
URL = "executive-url"
COMPANY = "executive-company"
COMPANY_NAME = "executive-company-name"
RANGE = "executive-range"
DATES = "executive-dates"
REFRESH = "executive-refresh"
AS_OF = "executive-as-of"
KPI_CARDS = "executive-kpi-cards"
MESSAGE = "executive-message"

KPI_ORDER = ("spend", "revenue", "roas", "conversions")
# Which direction of change is good news; spend rising is neither (blue, neutral).
GOOD_DIRECTION = {"revenue": 1, "roas": 1, "conversions": 1, "spend": 0}


def layout(user, companies, query: dict) -> html.Div:
    """The page; ``companies`` are the tenants the user may pick (one when they have a company)."""
    range_value = query.get("range") if query.get("range") in RANGE_LABELS else DEFAULT_RANGE
    company_value = query.get("company") or (companies[0].slug if companies else None)
    # Users with a company see only it: the picker is hidden and the server ignores its value.
    company_picker = dcc.Dropdown(
        id=COMPANY, clearable=False, value=company_value,
        options=[{"label": c.name, "value": c.slug} for c in companies],
        disabled=user.company_id is not None,
        style={"minWidth": "16rem"} if user.company_id is None else {"display": "none"},
    )
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        dbc.Row([
            dbc.Col([
                html.H2("Executive summary", className="h3 mb-0"),
                html.Div([html.Span(id=COMPANY_NAME, className="fw-semibold"), " · ",
                          html.Span(id=AS_OF)], className="text-muted small"),
            ], md=5),
            dbc.Col(
                html.Div([
                    company_picker,
                    dcc.Dropdown(
                        id=RANGE, clearable=False, value=range_value, style={"minWidth": "13rem"},
                        options=[{"label": label, "value": key}
                                 for key, label in RANGE_LABELS.items()],
                    ),
                    dcc.DatePickerRange(id=DATES, start_date=query.get("start"),
                                        end_date=query.get("end"), display_format="YYYY-MM-DD",
                                        disabled=range_value != "custom"),
                    dbc.Button("Refresh", id=REFRESH, color="primary", outline=True,
                               n_clicks=0),
                ], className="d-flex flex-wrap gap-2 justify-content-md-end align-items-center"),
                md=7,
            ),
        ], className="mb-3 g-2 align-items-center"),
        html.Div(id=MESSAGE),
        dcc.Loading(dbc.Row(id=KPI_CARDS, className="g-3"), type="dot", delay_show=300),
    ])


def _change_class(metric: str, change: float | None) -> str:
    direction = GOOD_DIRECTION.get(metric, 0)
    if change is None or direction == 0 or change == 0:
        return "cd-change-neutral"
    return "cd-change-good" if change * direction > 0 else "cd-change-bad"


def kpi_card(kpi: dict, previous_days: int) -> dbc.Col:
    change = kpi["change_pct"]
    return dbc.Col(
        dbc.Card(dbc.CardBody([
            html.Div(kpi["label"], className="cd-kpi-label"),
            html.Div(fmt.by_unit(kpi["value"], kpi["unit"]), className="cd-kpi-value",
                     id=f"executive-kpi-{kpi['metric']}"),
            html.Div([
                html.Span(fmt.signed_percent(change), className=_change_class(kpi["metric"],
                                                                              change)),
                html.Span(f" vs previous {previous_days} days "
                          f"({fmt.by_unit(kpi['previous'], kpi['unit'])})",
                          className="text-muted"),
            ], className="cd-kpi-change"),
        ]), className="cd-kpi-card h-100 shadow-sm"),
        xs=12, sm=6, xl=3,
    )


def kpi_cards(summary: dict) -> list:
    by_metric = {kpi["metric"]: kpi for kpi in summary["kpis"]}
    days = summary["previous_period"]["days"]
    return [kpi_card(by_metric[metric], days) for metric in KPI_ORDER if metric in by_metric]


def error_message(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="danger", className="mb-3")
