"""Real-time monitor: today so far, hourly trends, locations, campaign pacing and alerts,
refreshed every 30 seconds. Component trees and ids only; no data access."""

from __future__ import annotations

import datetime as dt

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import format as fmt
from layouts import shell
from layouts.components import FROM_MD, FROM_SM, metric_header

# Component ids (DESIGN.md: every id on a view starts with its slug).
COMPANY = "realtime-company"
COMPANY_NAME = "realtime-company-name"
FRESHNESS = "realtime-freshness"
STALE = "realtime-stale"
PAUSE = "realtime-pause"
REFRESH = "realtime-refresh"
INTERVAL = "realtime-interval"
STATE = "realtime-state"
CHANGED = "realtime-changed"
KPIS = "realtime-kpis"
HOURLY = "realtime-hourly"
GEO_MAP = "realtime-geo-map"
GEO_TABLE = "realtime-geo-table"
CAMPAIGNS = "realtime-campaigns"
ALERTS = "realtime-alerts"
MESSAGE = "realtime-message"
CONFIRM = "realtime-confirm"
CONFIRM_BODY = "realtime-confirm-body"
CONFIRM_YES = "realtime-confirm-yes"
CONFIRM_NO = "realtime-confirm-no"
PENDING_PAUSE = "realtime-pending-pause"
# Pattern-matching button ids: {"type": ..., "index": campaign or alert id}.
PAUSE_CAMPAIGN = "realtime-pause-campaign"
ACK_ALERT = "realtime-ack-alert"

REFRESH_MS = 30_000
MAX_CAMPAIGN_ROWS = 25
# Which direction of change is good news (spend is neither: blue).
GOOD_DIRECTION = {"spend": 0, "impressions": 1, "clicks": 1, "conversions": 1, "cpc": -1,
                  "ctr": 1}
SEVERITY_COLOR = {"high": "danger", "medium": "warning", "low": "info"}
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}
# The US map's outlines are served from assets/ (no CDN: the CSP allows only 'self').
MAP_CONFIG = {**GRAPH_CONFIG, "topojsonURL": "/assets/topojson/"}


def _card(title: str, body, subtitle: str | None = None) -> dbc.Card:
    header = [html.Span(title, className="fw-semibold")]
    if subtitle:
        header.append(html.Span(f" · {subtitle}", className="text-muted small"))
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="shadow-sm h-100")


def layout(user, companies, query: dict) -> html.Div:
    company_picker = shell.company_picker(COMPANY, user, companies, query)
    return html.Div([
        dcc.Interval(id=INTERVAL, interval=REFRESH_MS, n_intervals=0),
        dcc.Store(id=STATE),
        dcc.Store(id=CHANGED, data=0),
        dcc.Store(id=PENDING_PAUSE),
        dbc.Row([
            dbc.Col([
                html.H2("Real-time monitor", className="h3 mb-0"),
                html.Div([html.Span(id=COMPANY_NAME, className="fw-semibold"), " · ",
                          html.Span(id=FRESHNESS)], className="text-muted small"),
            ], md=6),
            dbc.Col(html.Div([
                company_picker,
                dbc.Button("Pause updates", id=PAUSE, color="primary", outline=True,
                           n_clicks=0, title="Stop the 30-second refresh"),
                dbc.Button("Refresh now", id=REFRESH, color="primary", outline=True,
                           n_clicks=0),
            ], className="d-flex flex-wrap gap-2 justify-content-md-end align-items-center"),
                md=6),
        ], className="mb-2 g-2 align-items-center"),
        # Shown and filled by assets/40-realtime.js from the freshness timestamps.
        dbc.Alert(id=STALE, color="warning", className="d-none py-2 mb-3"),
        html.Div(id=MESSAGE),
        dcc.Loading(dbc.Row(id=KPIS, className="g-3 mb-3"), type="dot", delay_show=400),
        dbc.Row([
            dbc.Col(_card("Today by hour", dcc.Graph(id=HOURLY, config=GRAPH_CONFIG,
                                                     style={"height": "420px"}),
                          "bars: today · line: average of the last 7 days · UTC"), lg=12),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(_card("Where today's money goes",
                          dcc.Graph(id=GEO_MAP, config=MAP_CONFIG, style={"height": "360px"}),
                          "bubble size: spend · colour: cost per acquisition"), lg=7),
            dbc.Col(_card("Locations today", html.Div(id=GEO_TABLE, className="cd-rt-scroll")),
                    lg=5),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(_card("Campaigns today", html.Div(id=CAMPAIGNS, className="cd-rt-scroll"),
                          "pacing: spend against daily budget"), lg=8),
            dbc.Col(_card("Open alerts", html.Div(id=ALERTS, className="cd-rt-scroll"),
                          "checked every minute"), lg=4),
        ], className="g-3"),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Pause campaign?")),
            dbc.ModalBody(id=CONFIRM_BODY),
            dbc.ModalFooter([
                dbc.Button("Cancel", id=CONFIRM_NO, color="secondary", outline=True,
                           n_clicks=0),
                dbc.Button("Pause campaign", id=CONFIRM_YES, color="danger", n_clicks=0),
            ]),
        ], id=CONFIRM, is_open=False),
    ])


# --------------------------------------------------------------------------- pieces


def freshness(newest_event_at: str | None, stale_after_s: int, zone: str = "UTC") -> html.Span:
    """The "data as of" text in the user's time zone; assets/40-realtime.js keeps its age and
    the warning current."""
    if newest_event_at is None:
        return html.Span("no events yet", className="cd-rt-asof",
                         **{"data-newest": "", "data-stale-after": str(stale_after_s)})
    newest = dt.datetime.fromisoformat(newest_event_at).astimezone(dt.timezone.utc)
    label = f"data as of {fmt.clock(newest, zone, seconds=True)}"
    return html.Span(label, className="cd-rt-asof",
                     **{"data-newest": newest.isoformat(), "data-label": label,
                        "data-stale-after": str(stale_after_s)})


def _change_class(metric: str, change: float | None) -> str:
    direction = GOOD_DIRECTION.get(metric, 0)
    if change is None or direction == 0 or change == 0:
        return "cd-change-neutral"
    return "cd-change-good" if change * direction > 0 else "cd-change-bad"


def _value(metric: str, unit: str, value: float | None) -> str:
    if metric == "cpc":
        return fmt.money(value, 2)
    if metric == "ctr":
        return fmt.percent(value, 2)
    if metric == "spend":
        return fmt.money(value, 2 if value is not None and value < 1000 else 0)
    return fmt.by_unit(value, unit)


def kpi_cards(live: dict) -> list:
    cards = []
    for kpi in live["metrics"]:
        metric, change = kpi["metric"], kpi["change_pct"]
        cards.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.Div(kpi["label"], className="cd-kpi-label"),
            html.Div(_value(metric, kpi["unit"], kpi["value"]), className="cd-kpi-value",
                     id=f"realtime-kpi-{metric}"),
            html.Div([
                html.Span(fmt.signed_percent(change), className=_change_class(metric, change)),
                html.Span(" vs same time yesterday "
                          f"({_value(metric, kpi['unit'], kpi['previous'])})",
                          className="text-muted"),
            ], className="cd-kpi-change"),
        ]), className="cd-kpi-card h-100 shadow-sm"), xs=12, sm=6, lg=4, xxl=2))
    if not live["has_data"]:
        cards.append(dbc.Col(dbc.Alert(
            "No activity recorded yet today (UTC). Numbers appear here as events arrive.",
            color="info", className="mb-0 py-2"), xs=12))
    return cards


def geo_table(locations: list[dict]):
    if not locations:
        return html.P("No location activity yet today.", className="text-muted mb-0")
    header = html.Thead(html.Tr([html.Th("Location"), metric_header("spend"),
                                 metric_header("conversions"), metric_header("cpa")]))
    body = html.Tbody([
        html.Tr([html.Td([loc["name"], html.Span(f" {loc['region']}",
                                                  className="text-muted small")]),
                 html.Td(fmt.money(loc["spend"], 2), className="text-end"),
                 html.Td(fmt.count(loc["conversions"]), className="text-end"),
                 html.Td(fmt.money(loc["cpa"], 2), className="text-end")])
        for loc in locations
    ])
    return dbc.Table([header, body], size="sm", hover=True, className="mb-0 cd-rt-table")


STATUS_COLOR = {"active": "success", "paused": "secondary", "completed": "dark",
                "draft": "light"}


def _pacing(campaign: dict):
    pct = campaign["pacing_pct"]
    if pct is None:
        return html.Span(fmt.DASH)
    color = "success" if pct < 90 else "warning" if pct <= 100 else "danger"
    return html.Div([
        dbc.Progress(value=min(pct, 100), color=color, style={"height": "0.6rem"},
                     className="mb-1"),
        html.Div(f"{fmt.money(campaign['spend'], 2)} of {fmt.money(campaign['daily_budget'])}"
                 f" · {pct:,.0f}%", className="small text-muted"),
    ], style={"minWidth": "10rem"})


def campaigns_table(campaigns: list[dict], may_act: bool):
    if not campaigns:
        return html.P("No active campaigns.", className="text-muted mb-0")
    # On a phone: campaign, pacing and the pause button; status from sm, CPC and conversion
    # rate from md (the status shows as the disabled button anyway).
    header = html.Thead(html.Tr([
        html.Th("Campaign"), html.Th("Status", className=FROM_SM), html.Th("Pacing"),
        metric_header("cpc", shown=FROM_MD),
        metric_header("conversion_rate", "Conv. rate", shown=FROM_MD),
        *([html.Th("")] if may_act else []),
    ]))
    rows = []
    for c in campaigns[:MAX_CAMPAIGN_ROWS]:
        action = []
        if may_act:
            action = [html.Td(dbc.Button(
                "Pause", id={"type": PAUSE_CAMPAIGN, "index": c["id"]}, size="sm",
                color="danger", outline=True, n_clicks=0,
                disabled=c["status"] != "active"), className="text-end")]
        rows.append(html.Tr([
            html.Td([html.Div(c["name"], className="fw-semibold"),
                     html.Div(c["channel"], className="small text-muted")]),
            html.Td(dbc.Badge(c["status"], color=STATUS_COLOR.get(c["status"], "secondary")),
                    className=FROM_SM),
            html.Td(_pacing(c)),
            html.Td(fmt.money(c["cpc"], 2), className=f"text-end {FROM_MD}"),
            html.Td(fmt.percent(c["cvr"], 2), className=f"text-end {FROM_MD}"),
            *action,
        ]))
    more = []
    if len(campaigns) > MAX_CAMPAIGN_ROWS:
        more = [html.P(f"Showing the {MAX_CAMPAIGN_ROWS} biggest spenders of "
                       f"{len(campaigns)} campaigns.", className="small text-muted mb-0")]
    return html.Div([dbc.Table([header, html.Tbody(rows)], size="sm", hover=True,
                               className="mb-1 align-middle cd-rt-table"), *more])


def alerts_feed(alerts: list[dict], may_act: bool, zone: str = "UTC"):
    if not alerts:
        return html.P("No open alerts. Rules are checked every minute.",
                      className="text-muted mb-0", id="realtime-no-alerts")
    items = []
    for alert in alerts:
        fired = dt.datetime.fromisoformat(alert["fired_at"]).astimezone(dt.timezone.utc) \
            if alert["fired_at"] else None
        if alert["acknowledged_at"]:
            ack = html.Span(f"Acknowledged by {alert['acknowledged_by'] or 'a user'}",
                            className="small text-muted")
        elif may_act:
            ack = dbc.Button("Acknowledge", id={"type": ACK_ALERT, "index": alert["id"]},
                             size="sm", color="secondary", outline=True, n_clicks=0)
        else:
            ack = None
        items.append(dbc.ListGroupItem([
            html.Div([
                dbc.Badge(alert["severity"], color=SEVERITY_COLOR.get(alert["severity"],
                                                                      "secondary"),
                          className="me-2 text-uppercase"),
                html.Span(f"fired {fmt.clock(fired, zone)}" if fired else "",
                          className="small text-muted"),
            ], className="d-flex align-items-center mb-1"),
            html.Div(alert["message"], className="mb-1"),
            ack,
        ], className=f"cd-rt-alert cd-rt-alert-{alert['severity']}"))
    return dbc.ListGroup(items, flush=True)


def message(text: str, color: str = "success") -> dbc.Alert:
    return dbc.Alert(text, color=color, dismissable=True, duration=8000, className="py-2")


def confirm_text(name: str) -> list:
    return [html.P(["Pause ", html.Strong(name), " now? It stops spending until someone "
                    "resumes it in the ad platform."]),
            html.P("The pause is written to the audit log.", className="small text-muted "
                   "mb-0")]
