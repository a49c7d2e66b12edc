"""Executive view: how marketing is doing, for the selected company and period."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import filter_bar
from layouts import format as fmt
from layouts.components import (  # noqa: F401 (ids.*)
    GRAPH_CONFIG,
    change_class,
    empty_figure,
    page_header,
)
from layouts.filter_bar import FilterBar
from services.kpis import CARDS, SEGMENTS

# The shared filter bar (company, range, dates, compare to), without campaign dimensions:
# the executive view has its own visitor segment.
BAR = FilterBar("executive", ())
# Component ids (DESIGN.md: every id on a view starts with its slug).
URL = "executive-url"
COMPANY = BAR.company
COMPANY_NAME = "executive-company-name"
RANGE = BAR.range
DATES = BAR.dates
COMPARE = BAR.compare
REFRESH = "executive-refresh"
AS_OF = "executive-as-of"
KPI_CARDS = "executive-kpi-cards"
MESSAGE = "executive-message"
SEGMENT = "executive-segment"
HORIZON = "executive-horizon"
REVENUE_CHART = "executive-revenue-chart"
BACKTEST = "executive-backtest"
INSIGHTS = "executive-insights"
INSIGHT_STORE = "executive-insight-store"
SELECTED = "executive-selected"
INSIGHT_DETAIL = "executive-insight-detail"
ACTIONS = "executive-actions"
FUNNEL = "executive-funnel"
CHANNELS = "executive-channels"
CAMPAIGNS = "executive-campaigns"
MAX_INSIGHTS = 8
# Company events and holiday country (issue #20): a dialog opened from the filter bar.
EVENTS_OPEN = "executive-events-open"
EVENTS_MODAL = "executive-events-modal"
EVENTS_LIST = "executive-events-list"
EVENTS_MESSAGE = "executive-events-message"
EVENTS_VERSION = "executive-events-version"  # moves on when an event changed: the chart
EVENT_START = "executive-event-start"
EVENT_END = "executive-event-end"
EVENT_KIND = "executive-event-kind"
EVENT_TITLE = "executive-event-title"
EVENT_ADD = "executive-event-add"
EVENT_REMOVE = "executive-event-remove"  # pattern-matching: {"type": ..., "index": id}
HOLIDAY_COUNTRY = "executive-holiday-country"
HOLIDAY_SAVE = "executive-holiday-save"
# The drivers of the clicked insight: a waterfall from the previous value to the current.
DRIVERS_MODAL = "executive-drivers-modal"
DRIVERS_TITLE = "executive-drivers-title"
DRIVERS_DIMENSION = "executive-drivers-dimension"
DRIVERS_CHART = "executive-drivers-chart"
DRIVERS_NOTE = "executive-drivers-note"
# No mode bar: on a phone it covered the top of every chart, and nobody pans a KPI chart.


def insight_id(rank: int) -> str:
    """Fixed ids for the insight slots (1..MAX_INSIGHTS), filled by a callback."""
    return f"executive-insight-{rank}"

KPI_PREFERENCE = "executive-kpi-preference"

KPI_ORDER = CARDS  # the cards in the view's order
# Which direction of change is good news; spend rising is neither (blue, neutral).
GOOD_DIRECTION = {"revenue": 1, "roas": 1, "conversions": 1, "spend": 0}


def layout(user, companies, query: dict) -> html.Div:
    """The page; ``companies`` are the tenants the user may pick (one when they have a company)."""
    segment_value = query.get("segment") if query.get("segment") in SEGMENTS else "all"
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        dcc.Store(id=INSIGHT_STORE),
        dcc.Store(id=KPI_PREFERENCE,
                  data=[metric for metric in (query.get("kpis") or "").split(",") if metric]),
        dcc.Store(id=SELECTED),
        page_header("Executive summary", "executive", user, COMPANY_NAME, AS_OF),
        filter_bar.layout(BAR, user, companies, query, extra=[
            dcc.Dropdown(id=SEGMENT, clearable=False, value=segment_value,
                         style={"minWidth": "11rem"}, className="cd-filter",
                         options=[{"label": label, "value": key}
                                  for key, label in SEGMENTS.items()]),
            dbc.Button("Refresh", id=REFRESH, color="primary", outline=True, n_clicks=0,
                       style={"flex": "0 0 auto"}),
            dbc.Button("Company events", id=EVENTS_OPEN, color="secondary", outline=True,
                       n_clicks=0, style={"flex": "0 0 auto"},
                       title="Launches, outages and sales marked on the charts, and the "
                             "country whose public holidays are expected"),
        ]),
        dcc.Store(id=EVENTS_VERSION, data=0),
        events_dialog(user),
        drivers_dialog(),
        html.Div(id=MESSAGE),
        dcc.Loading(dbc.Row(id=KPI_CARDS, className="g-3"), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader(html.Div([
                    html.Span("Revenue: last 12 months and forecast", className="fw-semibold"),
                    dcc.Dropdown(id=HORIZON, clearable=False, value="3", searchable=False,
                                 style={"minWidth": "10rem"},
                                 options=[{"label": f"Forecast {m} month{'s' * (m > 1)}",
                                           "value": str(m)} for m in (1, 3, 6, 12)]),
                ], className="d-flex justify-content-between align-items-center gap-2")),
                dbc.CardBody([
                    dcc.Loading(dcc.Graph(id=REVENUE_CHART, config=GRAPH_CONFIG,
                                          style={"height": "360px"}, figure=empty_figure()),
                                type="dot", delay_show=300),
                    html.Div(id=BACKTEST, className="small text-muted"),
                ]),
            ], className="shadow-sm"), lg=8),
            dbc.Col(dbc.Card([
                dbc.CardHeader("What changed and what to do", className="fw-semibold"),
                dbc.CardBody([
                    html.Div(html.Small("Most important first; click one for its evidence "
                                        "(a dated one is marked on the chart) and, where it "
                                        "splits into drivers, their waterfall. Badge colour: "
                                        "red critical, amber high, blue medium.",
                                        className="text-muted")),
                    dcc.Loading(dbc.ListGroup(
                        [dbc.ListGroupItem(id=insight_id(rank), n_clicks=0, action=True,
                                           className="cd-insight small",
                                           style={"display": "none"})
                         for rank in range(1, MAX_INSIGHTS + 1)],
                        id=INSIGHTS, flush=True, className="mb-3"), type="dot",
                        delay_show=300),
                    html.Div(id=INSIGHT_DETAIL, className="small mb-3"),
                    html.H6("Action items", className="mt-2"),
                    html.Ul(id=ACTIONS, className="small ps-3 mb-0"),
                ], className="cd-insights-body"),
            ], className="shadow-sm h-100"), lg=4),
        ], className="g-3 mt-1 align-items-start"),
        dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader("Customer acquisition funnel", className="fw-semibold"),
                dbc.CardBody(dcc.Loading(dcc.Graph(id=FUNNEL, config=GRAPH_CONFIG,
                                                   style={"height": "300px"},
                                                   figure=empty_figure()),
                                         type="dot", delay_show=300)),
            ], className="shadow-sm h-100"), lg=5),
            dbc.Col(dbc.Card([
                dbc.CardHeader("Marketing ROI by channel", className="fw-semibold"),
                dbc.CardBody(dcc.Loading(dcc.Graph(id=CHANNELS, config=GRAPH_CONFIG,
                                                   style={"height": "300px"},
                                                   figure=empty_figure()),
                                         type="dot", delay_show=300)),
            ], className="shadow-sm h-100"), lg=7),
        ], className="g-3 mt-1"),
        dbc.Card([
            dbc.CardHeader("Top performing campaigns", className="fw-semibold"),
            dbc.CardBody(dcc.Loading(html.Div(id=CAMPAIGNS), type="dot", delay_show=300)),
        ], className="shadow-sm mt-3"),
    ])


# Flatly's success, warning, danger and info colours (green good, amber warning, red
# critical, blue neutral).
STATUS_COLOUR = {"green": "#18bc9c", "amber": "#f39c12", "red": "#e74c3c",
                 "neutral": "#3498db"}
STATUS_TEXT = {"green": "on target", "amber": "near target", "red": "off target"}


def sparkline(values: list, colour: str) -> dcc.Graph | None:
    """A tiny static line. A plain figure dict: building plotly's validated objects for a
    dozen cards would cost more than the data behind them."""
    points = [v for v in values if v is not None]
    if len(points) < 2:
        return None
    figure = {
        "data": [{"type": "scatter", "y": values, "mode": "lines", "connectgaps": True,
                  "line": {"width": 1.5, "color": colour}, "hoverinfo": "skip"}],
        "layout": {"margin": {"l": 0, "r": 0, "t": 2, "b": 2}, "height": 34,
                   "showlegend": False, "paper_bgcolor": "rgba(0,0,0,0)",
                   "plot_bgcolor": "rgba(0,0,0,0)", "xaxis": {"visible": False},
                   "yaxis": {"visible": False}},
    }
    return dcc.Graph(figure=figure, config={"staticPlot": True}, style={"height": "34px"},
                     className="mt-1")


def kpi_card(kpi: dict, compared: str) -> dbc.Col:
    """One card; ``compared`` names the compared period ("vs previous 30 days")."""
    change = kpi["change"]
    status = kpi.get("status", "neutral")
    good = kpi.get("good", GOOD_DIRECTION.get(kpi["metric"], 0))
    monthly = kpi["metric"] in MONTHLY
    if kpi["previous"] is None:
        # No equal earlier period (before the history, or no earlier month): say so.
        comparison = [html.Span("no earlier period to compare", className="text-muted")]
    elif monthly:
        comparison = [html.Span(fmt.signed_change(change, kpi.get("change_unit", "%")),
                                className=change_class(good, change,
                                                        kpi.get("change_unit", "%"))),
                      html.Span(f" {kpi.get('note') or ''}", className="text-muted")]
    else:
        comparison = [html.Span(fmt.signed_change(change, kpi.get("change_unit", "%")),
                                className=change_class(good, change,
                                                        kpi.get("change_unit", "%"))),
                      html.Span(f" {compared} "
                                f"({fmt.by_unit(kpi['previous'], kpi['unit'])})",
                                className="text-muted")]
    lines = [
        # The metric catalogue's definition on hover (dotted underline, help cursor).
        html.Div(kpi["label"], className="cd-kpi-label cd-defined",
                 title=kpi.get("definition")),
        html.Div(fmt.by_unit(kpi["value"], kpi["unit"]), className="cd-kpi-value",
                 id=f"executive-kpi-{kpi['metric']}"),
        html.Div(comparison, className="cd-kpi-change"),
    ]
    if kpi.get("target") is not None:
        lines.append(html.Div([
            f"Target {fmt.by_unit(kpi['target'], kpi['unit'])} · ",
            html.Span(STATUS_TEXT.get(status, ""), style={"color": STATUS_COLOUR[status],
                                                          "fontWeight": 600}),
        ], className="small text-muted"))
    elif kpi.get("note") and not monthly:
        lines.append(html.Div(kpi["note"], className="small text-muted"))
    graph = sparkline(kpi.get("sparkline") or [], STATUS_COLOUR[status]
                      if status != "neutral" else "#2c3e50")
    if graph is not None:
        lines.append(graph)
    return dbc.Col(
        dbc.Card(dbc.CardBody(lines), className="cd-kpi-card h-100 shadow-sm",
                 style={"borderLeft": f"4px solid {STATUS_COLOUR[status]}"},
                 id=f"executive-card-{kpi['metric']}"),
        xs=12, sm=6, lg=4, xl=3,
    )


MONTHLY = ("mrr", "customers", "cac", "ltv", "ltv_cac", "market_share", "nps", "churn_rate")


def kpi_cards(summary: dict, preferred: list[str] | None = None) -> list:
    """Cards from ``executive_kpis``; the user's preferred cards (admin view, preferences)
    come first."""
    items = summary.get("cards") or []
    by_metric = {kpi["metric"]: kpi for kpi in items}
    days = summary["previous_period"]["days"]
    compared = ("vs a year earlier" if summary.get("compare") == "year"
                else f"vs previous {days} days")
    # ``preferred`` comes from a browser store: only known card names count.
    pinned = [metric for metric in (preferred if isinstance(preferred, list) else [])
              if isinstance(metric, str) and metric in KPI_ORDER]
    order = [*pinned, *(metric for metric in KPI_ORDER if metric not in pinned)]
    return [kpi_card(by_metric[metric], compared) for metric in order if metric in by_metric]


def notice(text: str) -> dbc.Alert:
    """A hint about the filters (not an error): shown once, above the cards."""
    return dbc.Alert(text, color="info", className="mb-3 py-2")


def error_message(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="danger", className="mb-3")


# --------------------------------------------------------------------------- calendar (#20)
def events_dialog(user) -> dbc.Modal:
    """The company's events (each removable by those who may annotate) and its holiday
    country; read-only for the other roles (the service checks again on every change)."""
    from services import registry
    from services.insights.calendar import countries
    from services.insights.events import KINDS

    may_annotate = registry.can_take(user.role, "annotate_events")
    may_set_country = registry.can_take(user.role, "set_holiday_country")
    if may_annotate:
        form = dbc.Row([
            dbc.Col([dbc.Label("Start", html_for=EVENT_START, className="small mb-0"),
                     dcc.DatePickerSingle(id=EVENT_START, display_format="YYYY-MM-DD",
                                          placeholder="YYYY-MM-DD", className="d-block")],
                    xs=6, md=3),
            dbc.Col([dbc.Label("End (optional)", html_for=EVENT_END, className="small mb-0"),
                     dcc.DatePickerSingle(id=EVENT_END, display_format="YYYY-MM-DD",
                                          placeholder="same day", clearable=True,
                                          className="d-block")], xs=6, md=3),
            dbc.Col([dbc.Label("Kind", html_for=EVENT_KIND, className="small mb-0"),
                     dcc.Dropdown(id=EVENT_KIND, value="launch", clearable=False,
                                  searchable=False,
                                  options=[{"label": kind.capitalize(), "value": kind}
                                           for kind in KINDS])], xs=12, md=6),
            dbc.Col([dbc.Label("Title", html_for=EVENT_TITLE, className="small mb-0"),
                     dbc.Input(id=EVENT_TITLE, maxLength=200,
                               placeholder="What happened, e.g. Spring sale")], xs=12, md=9),
            dbc.Col(dbc.Button("Add event", id=EVENT_ADD, color="primary", n_clicks=0,
                               className="w-100"), xs=12, md=3,
                    className="d-flex align-items-end"),
        ], className="g-2 mb-3")
    else:
        form = html.P("Only admins, marketing managers and analysts add or remove events.",
                      className="small text-muted")
    country = html.Div([
        html.H6("Holiday country", className="mt-3"),
        html.P("Its public holidays are expected to differ from ordinary days: a Christmas "
               "like the other Christmases is no anomaly. By default the country of most "
               "of the company's campaign locations.", className="small text-muted mb-1"),
        html.Div([
            dcc.Dropdown(id=HOLIDAY_COUNTRY, clearable=False, disabled=not may_set_country,
                         options=[{"label": f"{name} ({code})", "value": code}
                                  for code, name in countries()],
                         style={"minWidth": "14rem", "flex": "1 1 14rem"}),
            dbc.Button("Save country", id=HOLIDAY_SAVE, color="primary", outline=True,
                       n_clicks=0, disabled=not may_set_country),
        ], className="d-flex flex-wrap gap-2"),
        None if may_set_country else html.Small(
            "Only admins and marketing managers change the holiday country.",
            className="text-muted"),
    ])
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Company events")),
        dbc.ModalBody([
            html.P("Launches, outages and sales marked here show on the revenue chart, and an "
                   "anomaly on one of their days is explained rather than alarming. Insights "
                   "are refitted within a minute of a change.",
                   className="small text-muted"),
            html.Div(id=EVENTS_MESSAGE),
            form,
            dcc.Loading(html.Div(id=EVENTS_LIST), type="dot", delay_show=300),
            country,
        ]),
    ], id=EVENTS_MODAL, is_open=False, size="lg", scrollable=True, fullscreen="sm-down")


def events_table(events: list[dict], removable: bool) -> html.Div:
    if not events:
        return html.Div("No events yet.", className="text-muted small")
    rows = []
    for event in events:
        days = event["start"] if event["end"] == event["start"] else \
            f"{event['start']} to {event['end']}"
        remove = dbc.Button("Remove", id={"type": EVENT_REMOVE, "index": event["id"]},
                            color="danger", outline=True, size="sm", n_clicks=0,
                            title=f"Remove {event['title']}") if removable else None
        rows.append(html.Tr([
            html.Td(days, className="text-nowrap"),
            html.Td(dbc.Badge(event["kind"].capitalize(), color=EVENT_COLOUR.get(
                event["kind"], "secondary"))),
            html.Td(event["title"], style={"overflowWrap": "anywhere"}),
            html.Td(event.get("created_by") or "\u2014", className="d-none d-md-table-cell"),
            html.Td(remove, className="text-end"),
        ]))
    return dbc.Table([
        html.Thead(html.Tr([html.Th("Days"), html.Th("Kind"), html.Th("Title"),
                            html.Th("By", className="d-none d-md-table-cell"), html.Th()])),
        html.Tbody(rows)], size="sm", hover=True, className="mb-0 align-middle small")


# An outage is bad news (red), a sale or launch neutral news (blue), the rest grey.
EVENT_COLOUR = {"outage": "danger", "sale": "info", "launch": "info", "campaign": "info"}


def drivers_dialog() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(id=DRIVERS_TITLE)),
        dbc.ModalBody([
            html.Div([
                html.Span("Split by", className="small text-muted me-2"),
                dbc.RadioItems(id=DRIVERS_DIMENSION, value="channel", inline=True,
                               className="small",
                               options=[{"label": label, "value": value} for value, label in
                                        (("channel", "Channel"), ("campaign", "Campaign"),
                                         ("segment", "Segment"), ("location", "Location"))]),
            ], className="d-flex flex-wrap align-items-center mb-2"),
            dcc.Loading(dcc.Graph(id=DRIVERS_CHART, config=GRAPH_CONFIG,
                                  style={"height": "420px"}, figure=empty_figure()),
                        type="dot", delay_show=300),
            html.Div(id=DRIVERS_NOTE, className="small"),
        ]),
    ], id=DRIVERS_MODAL, is_open=False, size="lg", scrollable=True, fullscreen="sm-down")

