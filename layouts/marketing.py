"""Marketing view: where traffic comes from, what a lead costs, which content works and how the
retailer emails perform, for the selected company and filters (four tabs, one filter bar)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import filter_bar
from layouts import format as fmt
from layouts.components import (  # noqa: F401 (ids.*: the views' shared widgets)
    ALWAYS,
    GRAPH_CONFIG,
    change_class,
    empty_figure,
    empty_state,
    graph,
    loading,
    message,
    page_header,
    table,
)
from layouts.filter_bar import FilterBar

BAR = FilterBar("marketing")
URL = "marketing-url"
COMPANY_NAME = "marketing-company-name"
AS_OF = "marketing-as-of"
TABS = "marketing-tabs"
SECTIONS = {"traffic": "Traffic", "leads": "Leads", "content": "Content",
            "email": "Email and retailers"}
DEFAULT_SECTION = "traffic"

# Traffic
TRAFFIC_MESSAGE = "marketing-traffic-message"
TRAFFIC_CARDS = "marketing-traffic-cards"
TRAFFIC_METRIC = "marketing-traffic-metric"
TRAFFIC_TREND = "marketing-traffic-trend"
TRAFFIC_SOURCES = "marketing-traffic-sources"
TRAFFIC_DEVICES = "marketing-traffic-devices"
TRAFFIC_VISITORS = "marketing-traffic-visitors"
TRAFFIC_TREND_METRICS = {"sessions": "Visitors (sessions)", "new_sessions": "New visitors",
                         "returning_sessions": "Returning visitors",
                         "bounce_rate": "Bounce rate",
                         "avg_session_duration": "Avg. session duration",
                         "pages_per_session": "Pages per session"}
# Leads
LEADS_MESSAGE = "marketing-leads-message"
LEADS_CARDS = "marketing-leads-cards"
LEADS_TREND = "marketing-leads-trend"
LEADS_STATUS = "marketing-leads-status"
LEADS_CHANGES = "marketing-leads-changes"
LEADS_FUNNEL = "marketing-leads-funnel"
LEADS_PROJECTS = "marketing-leads-projects"
LEADS_DOWNLOAD = "marketing-leads-download"
LEADS_DOWNLOAD_BUTTON = "marketing-leads-download-button"
LEADS_DOWNLOAD_NOTE = "marketing-leads-download-note"
LEADS_CHANNELS = "marketing-leads-channels"
CHANNEL_PICK = "marketing-channel-pick"
PROJECT_PICK = "marketing-project-pick"  # pattern id type: {"type": PROJECT_PICK, "index": n}
# Content
CONTENT_MESSAGE = "marketing-content-message"
CONTENT_CARDS = "marketing-content-cards"
CONTENT_TREND = "marketing-content-trend"
CONTENT_KINDS = "marketing-content-kinds"
CONTENT_TOP_VIEWS = "marketing-content-top-views"
CONTENT_TOP_RATE = "marketing-content-top-rate"
# Email and retailers
EMAIL_MESSAGE = "marketing-email-message"
RETAILER = "marketing-retailer"
REGION = "marketing-region"
EMAIL_CARDS = "marketing-email-cards"
EMAIL_FUNNEL = "marketing-email-funnel"
EMAIL_HOURS = "marketing-email-hours"
EMAIL_TABLE = "marketing-email-table"
EMAIL_CAMPAIGNS = "marketing-email-campaigns"
RETAILER_BOARD = "marketing-retailer-board"
REGION_TABLE = "marketing-region-table"
RETAILER_PICK = "marketing-retailer-pick"  # pattern id type: {"type": ..., "index": id}
REGION_PICK = "marketing-region-pick"

BLUE, GREEN, AMBER, RED, GREY = "#2c3e50", "#18bc9c", "#f39c12", "#e74c3c", "#95a5a6"
LIGHT_BLUE = "#3498db"


def _panel(title, body, *, extra=None) -> dbc.Card:
    header = html.Div([html.Span(title, className="fw-semibold"), extra],
                      className="d-flex justify-content-between align-items-center gap-2 "
                                "flex-wrap") if extra is not None else title
    return dbc.Card([dbc.CardHeader(header, className="fw-semibold" if extra is None else ""),
                     dbc.CardBody(body)], className="shadow-sm h-100")




def _traffic() -> html.Div:
    metric = dcc.Dropdown(id=TRAFFIC_METRIC, clearable=False, value="sessions",
                          searchable=False, style={"minWidth": "13rem"},
                          options=[{"label": label, "value": key}
                                   for key, label in TRAFFIC_TREND_METRICS.items()])
    return html.Div([
        html.Div(id=TRAFFIC_MESSAGE),
        dcc.Loading(dbc.Row(id=TRAFFIC_CARDS, className="g-3"), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(_panel("Trend", graph(TRAFFIC_TREND, 340), extra=metric), lg=8),
            dbc.Col(_panel("Sessions by source", graph(TRAFFIC_SOURCES, 340)), lg=4),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(_panel("Sessions by device", graph(TRAFFIC_DEVICES, 240)), lg=6),
            dbc.Col(_panel("New and returning visitors", graph(TRAFFIC_VISITORS, 240)),
                    lg=6),
        ], className="g-3 mt-1"),
    ])


def _leads() -> html.Div:
    download = html.Div([
        dbc.Button("Download leads (CSV)", id=LEADS_DOWNLOAD_BUTTON, color="primary",
                   outline=True, size="sm", n_clicks=0),
        dcc.Download(id=LEADS_DOWNLOAD),
    ])
    return html.Div([
        html.Div(id=LEADS_MESSAGE),
        dcc.Loading(dbc.Row(id=LEADS_CARDS, className="g-3"), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(_panel("Leads and spend over time", graph(LEADS_TREND, 320)), lg=8),
            dbc.Col(_panel("Lead funnel", graph(LEADS_FUNNEL, 320)), lg=4),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(_panel("Lead status (leads created in the period)",
                           graph(LEADS_STATUS, 300)), lg=5),
            dbc.Col(_panel("Status changes per week", graph(LEADS_CHANGES, 300)), lg=7),
        ], className="g-3 mt-1"),
        html.Div(_panel("Cost per lead and CTR by channel", [
            html.Div(html.Small("Click a channel to filter the whole view by it.",
                                className="text-muted")),
            loading(LEADS_CHANNELS)]), className="mt-3"),
        html.Div([
            _panel("Cost per lead and CTR by project", [
                html.Div(html.Small("Click a project to filter the whole view by it.",
                                    className="text-muted")),
                loading(LEADS_PROJECTS),
            ], extra=html.Div([download, html.Div(id=LEADS_DOWNLOAD_NOTE,
                                                  className="small text-muted")],
                              className="d-flex gap-2 align-items-center")),
        ], className="mt-3"),
    ])


def _content() -> html.Div:
    return html.Div([
        html.Div(id=CONTENT_MESSAGE),
        dcc.Loading(dbc.Row(id=CONTENT_CARDS, className="g-3"), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(_panel("Views and engagements by week published",
                           graph(CONTENT_TREND, 300)), lg=7),
            dbc.Col(_panel("By kind", loading(CONTENT_KINDS)), lg=5),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(_panel("Top content by views", loading(CONTENT_TOP_VIEWS)), lg=6),
            dbc.Col(_panel("Top content by engagement rate", loading(CONTENT_TOP_RATE)),
                    lg=6),
        ], className="g-3 mt-1"),
    ])


def _email(query: dict) -> html.Div:
    retailer = query.get("retailer") or filter_bar.ALL
    region = query.get("region") or filter_bar.ALL
    pickers = html.Div([
        dcc.Dropdown(id=RETAILER, clearable=False, value=retailer, style={"minWidth": "14rem"},
                     options=[{"label": "All retailers", "value": filter_bar.ALL}]
                     + ([{"label": f"Retailer {retailer}", "value": retailer}]
                        if retailer != filter_bar.ALL else [])),
        dcc.Dropdown(id=REGION, clearable=False, value=region, style={"minWidth": "11rem"},
                     options=[{"label": "All regions", "value": filter_bar.ALL}]
                     + ([{"label": region, "value": region}]
                        if region != filter_bar.ALL else [])),
    ], className="d-flex flex-wrap gap-2 mb-3")
    return html.Div([
        pickers,
        html.Div(id=EMAIL_MESSAGE),
        dcc.Loading(dbc.Row(id=EMAIL_CARDS, className="g-3"), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(_panel("Email funnel", graph(EMAIL_FUNNEL, 300)), lg=6),
            dbc.Col(_panel("Opens and clicks by hours since sending",
                           graph(EMAIL_HOURS, 300)), lg=6),
        ], className="g-3 mt-1"),
        html.Div(_panel("Emails", loading(EMAIL_TABLE)), className="mt-3"),
        html.Div(_panel("Email campaigns: revenue, cost and ROI", loading(EMAIL_CAMPAIGNS)),
                 className="mt-3"),
        dbc.Row([
            dbc.Col(_panel("Retailer leaderboard", [
                html.Div(html.Small("Ranked by revenue (CRM conversions plus completed "
                                    "orders). Click a retailer to filter by it.",
                                    className="text-muted")),
                loading(RETAILER_BOARD)]), lg=8),
            dbc.Col(_panel("By region", [
                html.Div(html.Small("Click a region to filter by it.",
                                    className="text-muted")),
                loading(REGION_TABLE)]), lg=4),
        ], className="g-3 mt-1"),
    ])


def layout(user, companies, query: dict) -> html.Div:
    section = query.get("tab") if query.get("tab") in SECTIONS else DEFAULT_SECTION
    bodies = {"traffic": _traffic(), "leads": _leads(), "content": _content(),
              "email": _email(query)}
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        page_header("Marketing", "marketing", user, COMPANY_NAME, AS_OF),
        filter_bar.layout(BAR, user, companies, query),
        dbc.Tabs([dbc.Tab(html.Div(bodies[key], className="pt-3"), label=label, tab_id=key,
                          id=f"marketing-tab-{key}")
                  for key, label in SECTIONS.items()],
                 id=TABS, active_tab=section),
    ])


# --------------------------------------------------------------------------- pieces


def metric_card(card: dict, compare_label: str) -> dbc.Col:
    """A catalogue metric with the compared period's value and the change (pp for rates)."""
    if card["previous"] is None:
        comparison = [html.Span(f"nothing to compare {compare_label}", className="text-muted")]
    else:
        comparison = [
            html.Span(fmt.signed_change(card["change"], card["change_unit"]),
                      className=change_class(card["good"], card["change"],
                                              card["change_unit"])),
            html.Span(f" {compare_label} ({fmt.by_unit(card['previous'], card['unit'])})",
                      className="text-muted"),
        ]
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(card["label"], className="cd-kpi-label cd-defined", title=card["definition"]),
        html.Div(fmt.by_unit(card["value"], card["unit"]), className="cd-kpi-value",
                 id=f"marketing-kpi-{card['metric']}"),
        html.Div(comparison, className="cd-kpi-change"),
    ]), className="cd-kpi-card cd-kpi-compact h-100 shadow-sm",
        style={"borderLeft": f"4px solid {LIGHT_BLUE}"}), xs=6, lg=4, xl=3)




def num(value, unit: str, shown: str = ALWAYS) -> html.Td:
    return html.Td(fmt.by_unit(value, unit), className=" ".join(
        c for c in ("text-end", "cd-num", shown) if c))






