"""Admin view: users and roles, audit log, preferences, system health. Component trees and ids
only; the callbacks fill them."""

from __future__ import annotations

import re

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import format as fmt
from layouts import preferences as prefs_layout
from services.audit_query import KNOWN_ACTIONS
from services.registry import ROLES

# Component ids (DESIGN.md: every id on a view starts with its slug).
TABS = "admin-tabs"
USERS_VERSION = "admin-users-version"  # bumped after every change, so the table reloads

USER_SEARCH = "admin-user-search"
USER_ROLE_FILTER = "admin-user-role-filter"
USER_COMPANY_FILTER = "admin-user-company-filter"
USER_ACTIVE_FILTER = "admin-user-active-filter"
USERS_GRID = "admin-users-grid"
USERS_COUNT = "admin-users-count"

NEW_EMAIL = "admin-new-email"
NEW_NAME = "admin-new-name"
NEW_ROLE = "admin-new-role"
NEW_COMPANY = "admin-new-company"
NEW_MODE = "admin-new-mode"
NEW_PASSWORD = "admin-new-password"
NEW_SUBMIT = "admin-new-submit"
NEW_RESULT = "admin-new-result"

SELECTED = "admin-selected"
EDIT_ROLE = "admin-edit-role"
EDIT_ROLE_SUBMIT = "admin-edit-role-submit"
EDIT_COMPANY = "admin-edit-company"
EDIT_COMPANY_SUBMIT = "admin-edit-company-submit"
DEACTIVATE = "admin-deactivate"
ACTIVATE = "admin-activate"
RESET_PASSWORD = "admin-reset-password"
RESET_SET = "admin-reset-set"
RESET_LINK = "admin-reset-link"
ACTION_RESULT = "admin-action-result"

AUDIT_ACTOR = "admin-audit-actor"
AUDIT_ACTION = "admin-audit-action"
AUDIT_DATES = "admin-audit-dates"
AUDIT_GRID = "admin-audit-grid"
AUDIT_COUNT = "admin-audit-count"
AUDIT_EXPORT = "admin-audit-export"
AUDIT_DOWNLOAD = "admin-audit-download"
AUDIT_MESSAGE = "admin-audit-message"

PREFS_USER = "admin-prefs-user"
PREFS_PREFIX = "admin"

HEALTH_WINDOW = "admin-health-window"
HEALTH_REFRESH = "admin-health-refresh"
HEALTH_INTERVAL = "admin-health-interval"
HEALTH_SERVERS = "admin-health-servers"
HEALTH_LATENCY = "admin-health-latency"
HEALTH_CHART = "admin-health-chart"
HEALTH_FRESHNESS = "admin-health-freshness"
HEALTH_SLOW = "admin-health-slow"
HEALTH_TOKENS = "admin-health-tokens"
HEALTH_QUALITY = "admin-health-quality"

NO_COMPANY = "none"  # dropdown value for "no company (picks one)"
ROLE_OPTIONS = [{"label": role.replace("_", " ").capitalize(), "value": role} for role in ROLES]
ACTIVE_OPTIONS = [{"label": "Active", "value": "yes"}, {"label": "Inactive", "value": "no"}]


def company_options(companies, with_none: bool = True) -> list[dict]:
    options = [{"label": c.name, "value": c.slug} for c in companies]
    if with_none:
        options.insert(0, {"label": "No company (picks one)", "value": NO_COMPANY})
    return options


def _field(label: str, component, help_text: str | None = None, html_for=None):
    return html.Div([
        dbc.Label(label, html_for=html_for, className="small fw-semibold mb-1"),
        component,
        dbc.FormText(help_text) if help_text else None,
    ], className="mb-2")


USER_COLUMNS = [
    {"field": "email", "headerName": "Email", "flex": 2, "minWidth": 180},
    {"field": "name", "headerName": "Name", "flex": 1, "minWidth": 90},
    {"field": "role_label", "headerName": "Role", "flex": 1.2, "minWidth": 165},
    {"field": "company", "headerName": "Company", "flex": 1.4, "minWidth": 170},
    {"field": "status", "headerName": "Status", "width": 105,
     "cellClassRules": {"text-danger fw-semibold": "params.value == 'inactive'",
                        "text-success": "params.value == 'active'"}},
    {"field": "last_login", "headerName": "Last sign-in", "width": 150},
]

AUDIT_COLUMNS = [
    {"field": "at", "headerName": "When (UTC)", "width": 170},
    {"field": "actor_email", "headerName": "Who", "flex": 1, "minWidth": 170},
    {"field": "action", "headerName": "Action", "width": 170},
    {"field": "target", "headerName": "Target", "flex": 1, "minWidth": 150},
    {"field": "remote_addr", "headerName": "From", "width": 120},
    {"field": "before", "headerName": "Before", "flex": 1, "minWidth": 160,
     "tooltipField": "before"},
    {"field": "after", "headerName": "After", "flex": 1, "minWidth": 160,
     "tooltipField": "after"},
]


def users_tab(companies) -> html.Div:
    table = dbc.Card([
        dbc.CardHeader(html.Div([html.Span("Users", className="fw-semibold"),
                                 html.Span(id=USERS_COUNT, className="text-muted small")],
                                className="d-flex justify-content-between")),
        dbc.CardBody([
            dbc.Row([
                dbc.Col(dbc.Input(id=USER_SEARCH, type="search", debounce=True,
                                  placeholder="Search email or name"), md=4),
                dbc.Col(dcc.Dropdown(id=USER_ROLE_FILTER, options=ROLE_OPTIONS,
                                     placeholder="Any role"), md=3),
                dbc.Col(dcc.Dropdown(id=USER_COMPANY_FILTER, options=company_options(companies),
                                     placeholder="Any company"), md=3),
                dbc.Col(dcc.Dropdown(id=USER_ACTIVE_FILTER, options=ACTIVE_OPTIONS,
                                     placeholder="Any status"), md=2),
            ], className="g-2 mb-2"),
            dcc.Loading(dag.AgGrid(
                id=USERS_GRID, columnDefs=USER_COLUMNS, rowData=[],
                getRowId="String(params.data.id)",  # AG Grid wants a string id
                defaultColDef={"sortable": True, "resizable": True},
                dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                  "enableClickSelection": True},
                                 "domLayout": "autoHeight", "pagination": True,
                                 "paginationPageSize": 20},
                style={"width": "100%"}, className="ag-theme-quartz",
            ), type="dot", delay_show=300),
            html.Div("Select a row to change that user.", className="text-muted small mt-1"),
        ]),
    ], className="shadow-sm")

    new_user = dbc.Card([
        dbc.CardHeader("New user", className="fw-semibold"),
        dbc.CardBody([
            _field("Email", dbc.Input(id=NEW_EMAIL, type="email", placeholder="name@company.com"),
                   html_for=NEW_EMAIL),
            _field("Name", dbc.Input(id=NEW_NAME, placeholder="optional"), html_for=NEW_NAME),
            dbc.Row([
                dbc.Col(_field("Role", dcc.Dropdown(id=NEW_ROLE, options=ROLE_OPTIONS,
                                                    value="campaign_specialist",
                                                    clearable=False)), sm=6),
                dbc.Col(_field("Company", dcc.Dropdown(id=NEW_COMPANY,
                                                       options=company_options(companies),
                                                       placeholder="Choose a company")), sm=6),
            ], className="g-2"),
            dbc.RadioItems(id=NEW_MODE, value="link", inline=True, className="small mb-2",
                           options=[{"label": "One-time set-password link", "value": "link"},
                                    {"label": "Initial password", "value": "password"}]),
            _field("Initial password", dbc.Input(id=NEW_PASSWORD, type="password",
                                                 autoComplete="new-password"),
                   "Only for “Initial password”: 12+ characters, not a common one.",
                   html_for=NEW_PASSWORD),
            dbc.Button("Create user", id=NEW_SUBMIT, color="primary", n_clicks=0,
                       className="w-100"),
            html.Div(id=NEW_RESULT, className="mt-2"),
        ]),
    ], className="shadow-sm h-100")

    selected = dbc.Card([
        dbc.CardHeader("Selected user", className="fw-semibold"),
        dbc.CardBody([
            html.Div(html.Span("No user selected.", className="text-muted"), id=SELECTED,
                     className="mb-2"),
            dbc.InputGroup([
                dcc.Dropdown(id=EDIT_ROLE, options=ROLE_OPTIONS, placeholder="New role",
                             style={"flex": "1 1 auto", "minWidth": "0"}),
                dbc.Button("Change role", id=EDIT_ROLE_SUBMIT, color="secondary",
                           outline=True, n_clicks=0),
            ], className="mb-2 flex-nowrap"),
            dbc.InputGroup([
                dcc.Dropdown(id=EDIT_COMPANY, options=company_options(companies),
                             placeholder="New company",
                             style={"flex": "1 1 auto", "minWidth": "0"}),
                dbc.Button("Change company", id=EDIT_COMPANY_SUBMIT, color="secondary",
                           outline=True, n_clicks=0),
            ], className="mb-2 flex-nowrap"),
            html.Div([
                dbc.Button("Deactivate", id=DEACTIVATE, color="danger", outline=True,
                           n_clicks=0),
                dbc.Button("Reactivate", id=ACTIVATE, color="success", outline=True,
                           n_clicks=0),
            ], className="d-flex gap-2 mb-3"),
            _field("Reset password", dbc.Input(id=RESET_PASSWORD, type="password",
                                               placeholder="New password (12+ characters)",
                                               autoComplete="new-password"),
                   "Either set it here, or issue a one-time link; both sign the user out.",
                   html_for=RESET_PASSWORD),
            html.Div([
                dbc.Button("Set password", id=RESET_SET, color="secondary", outline=True,
                           n_clicks=0),
                dbc.Button("Issue reset link", id=RESET_LINK, color="secondary",
                           outline=True, n_clicks=0),
            ], className="d-flex gap-2"),
            html.Div(id=ACTION_RESULT, className="mt-2"),
        ]),
    ], className="shadow-sm h-100")

    # Wide screens: table beside the forms; narrower: table on top, the two forms side by side.
    return dbc.Row([
        dbc.Col(table, xl=8, className="mb-3"),
        dbc.Col(dbc.Row([dbc.Col(new_user, md=6, xl=12), dbc.Col(selected, md=6, xl=12)],
                        className="g-3"), xl=4),
    ], className="g-3 pt-3")


def audit_tab(actions=KNOWN_ACTIONS) -> html.Div:
    return html.Div([
        dbc.Row([
            dbc.Col(dbc.Input(id=AUDIT_ACTOR, type="search", debounce=True,
                              placeholder="Who (part of an email)"), md=3),
            dbc.Col(dcc.Dropdown(id=AUDIT_ACTION, placeholder="Any action",
                                 options=[{"label": a.replace("_", " "), "value": a}
                                          for a in actions]), md=3),
            dbc.Col(dcc.DatePickerRange(id=AUDIT_DATES, display_format="YYYY-MM-DD",
                                        clearable=True, start_date_placeholder_text="From",
                                        end_date_placeholder_text="To"), md="auto"),
            dbc.Col(dbc.Button("Export CSV", id=AUDIT_EXPORT, color="primary", outline=True,
                               n_clicks=0), md="auto", className="ms-md-auto"),
        ], className="g-2 align-items-center mb-2"),
        html.Div(id=AUDIT_MESSAGE),
        html.Div(id=AUDIT_COUNT, className="text-muted small mb-1"),
        dcc.Loading(dag.AgGrid(
            id=AUDIT_GRID, columnDefs=AUDIT_COLUMNS, rowData=[],
            defaultColDef={"sortable": True, "resizable": True},
            # No overlayNoRowsTemplate: AG Grid evaluates that string (refused, with a
            # console error); the count above the grid says "0 matching entries".
            dashGridOptions={"pagination": True, "paginationPageSize": 20,
                             "tooltipShowDelay": 300},
            style={"height": "620px", "width": "100%"}, className="ag-theme-quartz",
        ), type="dot", delay_show=300),
        dcc.Download(id=AUDIT_DOWNLOAD),
    ], className="pt-3")


def preferences_tab(user) -> html.Div:
    options = [{"label": user.email, "value": user.id}]  # the callback lists every user
    return dbc.Row(dbc.Col(dbc.Card([
        dbc.CardHeader("Preferences", className="fw-semibold"),
        dbc.CardBody([
            html.P("Each user sets these from “Preferences” in the top bar; here an admin can "
                   "set them for anyone (a new specialist, say).", className="text-muted small"),
            _field("User", dcc.Dropdown(id=PREFS_USER, options=options, value=user.id,
                                        clearable=False)),
            prefs_layout.form(PREFS_PREFIX),
        ]),
    ], className="shadow-sm"), lg=6), className="pt-3")


def health_tab() -> html.Div:
    return html.Div([
        dbc.Row([
            dbc.Col(dbc.RadioItems(id=HEALTH_WINDOW, value="hour", inline=True,
                                   options=[{"label": "Last hour", "value": "hour"},
                                            {"label": "Last day", "value": "day"}]),
                    md="auto"),
            dbc.Col(dbc.Button("Refresh", id=HEALTH_REFRESH, color="primary", outline=True,
                               size="sm", n_clicks=0), md="auto", className="ms-md-auto"),
        ], className="g-2 align-items-center mb-3"),
        dcc.Interval(id=HEALTH_INTERVAL, interval=30_000),
        dcc.Loading(html.Div(id=HEALTH_SERVERS), type="dot", delay_show=300),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Latency by view and API route",
                                             className="fw-semibold"),
                              dbc.CardBody(html.Div(id=HEALTH_LATENCY))],
                             className="shadow-sm h-100"), xl=7, className="mb-3"),
            dbc.Col(dbc.Card([dbc.CardHeader("p50 / p95 / p99 (ms)", className="fw-semibold"),
                              dbc.CardBody(dcc.Graph(id=HEALTH_CHART,
                                                     config={"displayModeBar": False},
                                                     style={"height": "320px"}))],
                             className="shadow-sm h-100"), xl=5, className="mb-3"),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Data freshness", className="fw-semibold"),
                              dbc.CardBody(html.Div(id=HEALTH_FRESHNESS))],
                             className="shadow-sm h-100"), xl=5, className="mb-3"),
            dbc.Col(dbc.Card([dbc.CardHeader("Recent slow queries", className="fw-semibold"),
                              dbc.CardBody(html.Div(id=HEALTH_SLOW))],
                             className="shadow-sm h-100"), xl=7, className="mb-3"),
        ], className="g-3"),
        dbc.Card([dbc.CardHeader("Data quality by source", className="fw-semibold"),
                  dbc.CardBody(dcc.Loading(html.Div(id=HEALTH_QUALITY), type="dot",
                                           delay_show=300))], className="shadow-sm mb-3"),
        dbc.Card([dbc.CardHeader("API tokens for event ingest", className="fw-semibold"),
                  dbc.CardBody(html.Div(id=HEALTH_TOKENS))], className="shadow-sm mb-3"),
    ], className="pt-3")


def layout(user, companies, query: dict) -> html.Div:
    """The page. Company and user choices are filled by a callback (admins manage every
    tenant, whatever company they belong to)."""
    tab = query.get("tab") if query.get("tab") in ("users", "audit", "preferences",
                                                   "health") else "users"
    return html.Div([
        dcc.Store(id=USERS_VERSION, data=0),
        html.Div([
            html.H2("Administration", className="h3 mb-0"),
            html.Div("Users and roles, audit log, preferences and system health",
                     className="text-muted small"),
        ], className="mb-2"),
        dbc.Tabs([
            dbc.Tab(users_tab(companies), label="Users", tab_id="users"),
            dbc.Tab(audit_tab(), label="Audit log", tab_id="audit"),
            dbc.Tab(preferences_tab(user), label="Preferences",
                    tab_id="preferences"),
            dbc.Tab(health_tab(), label="System health", tab_id="health"),
        ], id=TABS, active_tab=tab),
    ])


# ------------------------------------------------------------------- pieces the callbacks fill


def message(text: str, color: str = "danger", children=None) -> dbc.Alert:
    return dbc.Alert([text, *(children or [])], color=color, className="mb-0 py-2 small",
                     dismissable=True)


def link_box(url: str) -> html.Div:
    """The one-time link, shown once, for the admin to copy and pass on."""
    return html.Div([
        html.Div("One-time set-password link (shown once; valid 72 hours):",
                 className="small mt-2"),
        html.Div([
            html.Code(url, id="admin-link-text", className="text-break user-select-all"),
            dcc.Clipboard(target_id="admin-link-text", title="Copy",
                          className="ms-2 d-inline-block"),
        ], className="p-2 bg-light border rounded"),
    ])


def selected_summary_empty() -> html.Span:
    return html.Span("No user selected.", className="text-muted")


def selected_summary(row: dict) -> html.Div:
    status = dbc.Badge("active" if row["active"] else "inactive",
                       color="success" if row["active"] else "danger", className="ms-2")
    return html.Div([
        html.Div([html.Span(row["email"], className="fw-semibold"), status]),
        html.Div(f"{row['role'].replace('_', ' ')} · {row['company_slug'] or 'no company'}",
                 className="text-muted small"),
    ])


def user_rows(users: list[dict], company_names: dict[str, str] | None = None) -> list[dict]:
    """Grid rows; ``company_names`` maps slugs to the names shown."""
    names = company_names or {}
    return [{**u, "role_label": u["role"].replace("_", " "),
             "company": names.get(u["company_slug"], u["company_slug"]) or "no company",
             "status": "active" if u["active"] else "inactive",
             "last_login": (u["last_login_at"] or "")[:16].replace("T", " ") or fmt.DASH}
            for u in users]


def audit_rows(rows: list[dict]) -> list[dict]:
    def short(value):
        if not value:
            return ""
        return ", ".join(f"{k}: {v}" for k, v in value.items())

    return [{**r, "at": r["at"][:19].replace("T", " "), "before": short(r["before"]),
             "after": short(r["after"])} for r in rows]


def _status_card(title: str, status: dict, detail: str) -> dbc.Col:
    up = status.get("status") == "up"
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(title, className="cd-kpi-label"),
        html.Div("Up" if up else "Down", className="cd-kpi-value " +
                 ("cd-change-good" if up else "cd-change-bad")),
        html.Div(detail, className="text-muted small"),
    ]), className="cd-kpi-card h-100 shadow-sm"), xs=12, sm=6, xl=3)


TONE_CLASS = {"good": "cd-change-good", "warn": "text-warning", "bad": "cd-change-bad",
              "neutral": "cd-change-neutral"}


def _metric_card(title: str, value: str, detail: str, tone: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(title, className="cd-kpi-label"),
        html.Div(value, className=f"cd-kpi-value {TONE_CLASS[tone]}"),
        html.Div(detail, className="text-muted small"),
    ]), className="cd-kpi-card h-100 shadow-sm"), xs=12, sm=6, xl=3)


def ms(value: float | None) -> str:
    if value is None:
        return fmt.DASH
    return f"{value:,.0f} ms" if value >= 10 else f"{value:,.1f} ms"


def servers_row(servers: dict, latency: dict) -> dbc.Row:
    db, cache = servers["database"], servers["redis"]
    total = latency.get("total") or {}
    error_rate = total.get("error_rate")
    hit_rate = latency["cache"]["hit_rate"]
    if hit_rate is None and cache.get("server_hit_rate") is not None:
        hit_text, hit_detail = (fmt.percent(cache["server_hit_rate"] * 100),
                                "Redis server keyspace hits (no app lookups counted yet)")
        hit_rate = cache["server_hit_rate"]
    else:
        hit_text = fmt.percent(hit_rate * 100) if hit_rate is not None else fmt.DASH
        hit_detail = (f"{fmt.count(latency['cache']['hits'])} hits, "
                      f"{fmt.count(latency['cache']['misses'])} misses")
    error_tone = "neutral" if error_rate is None else (
        "good" if error_rate < 0.01 else "warn" if error_rate < 0.05 else "bad")
    requests = total.get("requests") or 0
    return dbc.Row([
        _status_card("PostgreSQL", db, f"{ms(db.get('ms'))} round trip" if db.get("ms")
                     is not None else db.get("error", "")),
        _status_card("Redis", cache, (f"{ms(cache.get('ms'))} · {cache.get('memory', '')}"
                                      if cache.get("status") == "up"
                                      else "uncached: pages still work")),
        _metric_card("Error rate", fmt.percent(error_rate * 100, 2) if error_rate is not None
                     else fmt.DASH,
                     f"{fmt.count(total.get('errors') or 0)} server errors in "
                     f"{fmt.count(requests)} requests", error_tone),
        _metric_card("Cache hit rate", hit_text, hit_detail,
                     "neutral" if hit_rate is None else "good" if hit_rate >= 0.8 else "warn"),
    ], className="g-3 mb-3")


def latency_table(latency: dict):
    if not latency["available"]:
        return dbc.Alert("Redis is unreachable, so request timings are not being recorded.",
                         color="warning", className="mb-0")
    if not latency["routes"]:
        return html.Div("No requests recorded in this window yet.", className="text-muted")
    header = html.Thead(html.Tr([html.Th("Route"), html.Th("Requests", className="text-end"),
                                 html.Th("p50", className="text-end"),
                                 html.Th("p95", className="text-end"),
                                 html.Th("p99", className="text-end"),
                                 html.Th("Errors", className="text-end")]))
    body = html.Tbody([
        html.Tr([html.Td(row["route"], className="text-break"),
                 html.Td(fmt.count(row["requests"]), className="text-end"),
                 html.Td(ms(row["p50"]), className="text-end"),
                 html.Td(ms(row["p95"]), className="text-end"),
                 html.Td(ms(row["p99"]), className="text-end"),
                 html.Td(fmt.percent(row["error_rate"] * 100, 1) if row["errors"] else "0",
                         className="text-end " + ("text-danger" if row["errors"] else ""))])
        for row in latency["routes"]
    ])
    return dbc.Table([header, body], size="sm", hover=True, responsive=True,
                     className="mb-0 small")


def freshness_table(rows: list[dict]):
    if not rows:
        return html.Div("No companies yet.", className="text-muted")

    def lag(seconds):
        if seconds is None:
            return fmt.DASH, "text-muted"
        minutes = seconds / 60
        text = (f"{minutes:,.0f} min" if minutes < 120 else f"{minutes / 60:,.1f} h"
                if minutes < 48 * 60 else f"{minutes / 1440:,.0f} days")
        tone = "text-success" if minutes <= 5 else "text-warning" if minutes <= 60 \
            else "text-danger"
        return text, tone

    def models(row):
        fitted = (row.get("models_fitted_at") or "")[:16].replace("T", " ")
        if not fitted:
            return "not fitted yet", "text-muted"
        if row.get("models_current"):
            return f"current ({fitted})", "text-success"
        return f"refitting (last {fitted})", "text-warning"

    body = []
    for row in rows:
        text, tone = lag(row["lag_seconds"])
        model_text, model_tone = models(row)
        body.append(html.Tr([
            html.Td(row["name"]),
            html.Td((row["newest_event"] or fmt.DASH)[:16].replace("T", " ")),
            html.Td(text, className=f"text-end {tone}"),
            html.Td(model_text, className=model_tone),
        ]))
    header = html.Tr([html.Th("Company"), html.Th("Newest event (UTC)"),
                      html.Th("Behind", className="text-end"),
                      html.Th("Insight models (UTC)",
                              title="Anomalies, trend changes and the forecast, fitted by the "
                                    "worker when a company's history changes")])
    return dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", responsive=True,
                     className="mb-0 small")


def _share_text(value, *, good_high: bool = True, warn: float = 0.95, bad: float = 0.8):
    """A share as a percentage with a tone (a dash when not known)."""
    if value is None:
        return fmt.DASH, "text-muted"
    score = value if good_high else 1 - value
    tone = "text-success" if score >= warn else "text-warning" if score >= bad \
        else "text-danger"
    return f"{value:.1%}", tone


def quality_table(report: dict):
    """Per company and source: newest data and its age (a late stream in red), completeness,
    rejected share of imported rows and duplicates (``services.data_quality``)."""
    rows = [(company, source) for company in report["companies"]
            for source in company["sources"]]
    pending = [company["name"] for company in report["companies"] if company.get("pending")]
    note = html.Div(
        f"Not computed yet for {', '.join(pending)}: the worker checks a company's data "
        "within minutes of a change (campaign-dash worker).",
        className="text-muted small mb-2") if pending else None
    if not rows:
        return note or html.Div("No data yet.", className="text-muted")
    body = []
    for company, source in rows:
        age = source["age_hours"]
        age_text = fmt.DASH if age is None else (
            f"{age * 60:,.0f} min" if age < 2 else f"{age:,.1f} h" if age < 48
            else f"{age / 24:,.0f} days")
        age_tone = "text-danger fw-semibold" if source["late"] else "text-muted" \
            if not source["streaming"] else "text-success"
        complete, complete_tone = _share_text(source["completeness"])
        valid, valid_tone = _share_text(source["validity"], good_high=False, warn=0.99,
                                        bad=0.9)
        missing = [name for name, share in source["fields"].items()
                   if share is not None and share < 1]
        body.append(html.Tr([
            html.Td(company["name"]),
            html.Td(source["source"] + (" (stream)" if source["streaming"] else "")),
            html.Td(f"{source['rows']:,}", className="text-end"),
            html.Td((source["newest"] or fmt.DASH)[:16].replace("T", " ")),
            html.Td(age_text + (" late" if source["late"] else ""),
                    className=f"text-end {age_tone}"),
            html.Td(complete, className=f"text-end {complete_tone}",
                    title="fields not always given: " + (", ".join(missing) or "none")),
            html.Td(valid, className=f"text-end {valid_tone}",
                    title=(f"{source['rows_rejected']:,} of {source['rows_read']:,} imported "
                           "rows rejected" if source["rows_read"] else "never imported")),
            html.Td(f"{source['duplicates']:,}", className="text-end"),
        ]))
    header = html.Tr([
        html.Th("Company"), html.Th("Source"), html.Th("Rows", className="text-end"),
        html.Th("Newest (UTC)"),
        html.Th("Age", className="text-end",
                title=f"a stream more than {report['late_after_hours']} hours behind is late"),
        html.Th("Complete", className="text-end",
                title="share of the required fields that are given"),
        html.Th("Rejected", className="text-end", title="share of imported rows rejected"),
        html.Th("Duplicates", className="text-end",
                title="rows equal to another in every column")])
    return html.Div([note, dbc.Table([html.Thead(header), html.Tbody(body)], size="sm",
                                     responsive=True, className="mb-0 small")])


def tokens_table(rows: list[dict]):
    """Each API token's company, name, prefix, state, expiry and last use (created and
    revoked with `campaign-dash token`)."""
    if not rows:
        return html.Div(["No API tokens. Create one with ",
                         html.Code("campaign-dash token create --company SLUG --name NAME"),
                         "."], className="text-muted")

    def when(value):
        return str(value)[:16].replace("T", " ") if value else fmt.DASH

    tone = {"active": "success", "expired": "warning", "revoked": "secondary"}
    header = html.Tr([html.Th(h) for h in ("Company", "Name", "Prefix", "State",
                                           "Expires (UTC)", "Last used (UTC)")])
    body = [html.Tr([html.Td(row["company"]), html.Td(row["name"]),
                     html.Td(html.Code(f"{row['prefix']}...")),
                     html.Td(dbc.Badge(row["state"], color=tone.get(row["state"], "info"))),
                     html.Td(when(row["expires_at"])), html.Td(when(row["last_used_at"]))])
            for row in rows]
    return dbc.Table([html.Thead(header), html.Tbody(body)], size="sm", responsive=True,
                     className="mb-0 small")


_TABLES = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)
_VERBS = {"SELECT": "Read", "WITH": "Read", "INSERT": "Write", "UPDATE": "Update",
          "DELETE": "Delete", "COPY": "Copy into", "ANALYZE": "Analyze"}
_CTES = re.compile(r"(?:\bWITH|,)\s*([a-z_][a-z0-9_]*)\s+AS\s*\(", re.IGNORECASE)
_NOT_TABLES = {"lateral", "unnest", "jsonb_to_recordset", "generate_series", "select"}


def statement_summary(statement: str) -> str:
    """A slow statement in words ("Read rollup_campaign_daily, campaigns"): the SQL itself
    stays one click away."""
    words = statement.split(None, 1)
    verb = words[0].upper() if words else ""
    if verb == "WITH":  # a CTE that writes is a write
        verb = next((w for w in ("INSERT", "UPDATE", "DELETE") if w in statement.upper()),
                    "SELECT")
    action = _VERBS.get(verb, verb.title() or "Statement")
    ctes = {name.lower() for name in _CTES.findall(statement)}
    tables = list(dict.fromkeys(t.lower() for t in _TABLES.findall(statement)
                                if t.lower() not in _NOT_TABLES | ctes))
    named = ", ".join(tables[:3]) + (" and others" if len(tables) > 3 else "")
    return f"{action} {named}".strip()


def slow_table(rows: list[dict], threshold_ms: float):
    if not rows:
        return html.Div(f"No queries slower than {threshold_ms:,.0f} ms recorded.",
                        className="text-muted")
    return dbc.Table([
        html.Thead(html.Tr([html.Th("ms", className="text-end"), html.Th("Route"),
                            html.Th("Query (click for its SQL)")])),
        html.Tbody([html.Tr([html.Td(f"{row['ms']:,.0f}", className="text-end"),
                             html.Td(row.get("route") or fmt.DASH),
                             html.Td(html.Details([
                                 html.Summary(statement_summary(row["statement"])),
                                 html.Code(row["statement"][:600],
                                           className="small text-break")]))])
                    for row in rows]),
    ], size="sm", responsive=True, className="mb-0 small")
