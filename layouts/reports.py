"""Reports view (issue #17): the company's report schedules with their next run (in the
schedule's time zone and the viewer's) and last run, a create/edit form for admins and
marketing managers (others read), Send now and Preview, and the runs log with errors."""

from __future__ import annotations

from zoneinfo import available_timezones

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import filter_bar
from layouts.components import (  # noqa: F401 (ids.*: the views' shared widgets)
    empty_state,
    loading,
    message,
    panel,
    table,
)
from layouts.filter_bar import FilterBar

BAR = FilterBar("reports")
URL = "reports-url"
COMPANY_NAME = "reports-company-name"
MESSAGE = "reports-message"
CHANGED = "reports-changed"  # counters bumped when a run is made or a schedule deleted,
SAVED = "reports-saved"  # a schedule saved,
ALLOWED = "reports-allowed"  # an outside address allowed
SCHEDULES = "reports-schedules"
RUNS = "reports-runs"
RUNS_TITLE = "reports-runs-title"
RUNS_FOR = "reports-runs-for"  # store: {"schedule_id": id} or None (all runs)
ALL_RUNS = "reports-all-runs"

FORM = "reports-form"
FORM_TITLE = "reports-form-title"
EDITING = "reports-editing"  # store: {"schedule_id": id} while editing, None for a new one
NAME = "reports-name"
SECTIONS = "reports-sections"
FORMATS = "reports-formats"
CADENCE = "reports-cadence"
DAY = "reports-day"
TIME = "reports-time"
TIMEZONE = "reports-timezone"
CRON = "reports-cron"
RECIPIENTS = "reports-recipients"
OTHER_RECIPIENTS = "reports-other-recipients"
OPTIONS = "reports-options"  # checklist: skip_if_empty, slack, notify, active
SAVE = "reports-save"
NEW = "reports-new"
FORM_MESSAGE = "reports-form-message"
ALLOW_ADDRESS = "reports-allow-address"
ALLOW = "reports-allow"
ALLOW_MESSAGE = "reports-allow-message"

PREVIEW = "reports-preview"
PREVIEW_TITLE = "reports-preview-title"
PREVIEW_FRAME = "reports-preview-frame"
PREVIEWING = "reports-previewing"  # store: {"schedule_id": id}
DOWNLOAD = "reports-download"
DOWNLOAD_PDF = "reports-download-pdf"
DOWNLOAD_HTML = "reports-download-html"
DOWNLOAD_CSV = "reports-download-csv"
PREVIEW_MESSAGE = "reports-preview-message"
DOWNLOAD_MESSAGE = "reports-download-message"

# Pattern-matching button types: {"type": EDIT, "index": schedule id}.
EDIT = "reports-edit"
SEND = "reports-send"
SHOW = "reports-preview-open"
HISTORY = "reports-history"
DELETE = "reports-delete"

STATUS_COLOURS = {"sent": "success", "partial": "warning", "retrying": "warning",
                  "working": "info", "skipped": "secondary", "failed": "danger"}
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
OPTION_LABELS = {"skip_if_empty": "Skip when every section is empty",
                 "slack": "Post a summary to the company's Slack",
                 "notify": "In-app notification", "active": "Active"}






def _field(label: str, control, hint: str | None = None, width: int = 12, md: int = 6):
    return dbc.Col([dbc.Label(label, className="small fw-semibold mb-1"), control,
                    html.Small(hint, className="text-muted") if hint else None],
                   xs=width, md=md, className="mb-2")


def subscribed_sections(user, query: dict) -> list[str]:
    """The sections a new schedule starts with: those of the view named by ``?view=`` (a
    link "subscribe to this view" carries the view and its filters in the URL: the filter
    bar below reads them too), else the executive KPIs."""
    from services.reports.sections import SECTIONS as ALL_SECTIONS
    from services.reports.sections import allowed_sections

    allowed = allowed_sections(user.role)
    chosen = [key for key in allowed if ALL_SECTIONS[key].view == query.get("view")]
    return chosen or [key for key in ("kpis",) if key in allowed]


def _form(user, companies, query: dict) -> html.Div:
    return html.Div([
        dbc.Row([
            _field("Name", dbc.Input(id=NAME, maxLength=200,
                                     placeholder="Weekly performance for the leadership")),
            _field("When", dcc.Dropdown(id=CADENCE, clearable=False, value="weekdays",
                                        searchable=False, options=[
                                            {"label": "Every day", "value": "daily"},
                                            {"label": "Weekdays (Mon-Fri)",
                                             "value": "weekdays"},
                                            {"label": "Weekly on a day", "value": "weekly"},
                                            {"label": "Monthly on a day", "value": "monthly"},
                                            {"label": "Cron expression", "value": "cron"}]),
                   md=3),
            _field("Day", dcc.Dropdown(id=DAY, clearable=True, searchable=False, options=[],
                                       placeholder="—"), md=3),
            _field("Local time", dbc.Input(id=TIME, value="08:00", placeholder="HH:MM",
                                           maxLength=5), md=3),
            _field("Time zone", dcc.Dropdown(id=TIMEZONE, value="UTC", clearable=False,
                                             options=["UTC", *ZONES]), md=5),
            _field("Cron (minute hour day month weekday)",
                   dbc.Input(id=CRON, placeholder="0 9 * * 1", maxLength=64),
                   "Only for 'Cron expression'; local time in the zone.", md=4),
        ], className="g-2"),
        dbc.Label("Sections", className="small fw-semibold mb-1"),
        dbc.Checklist(id=SECTIONS, options=[], value=subscribed_sections(user, query),
                      inline=True,
                      className="mb-2 small"),
        dbc.Label("Filters (the same as the views' filter bars)",
                  className="small fw-semibold mb-1"),
        filter_bar.layout(BAR, user, companies, query),
        dbc.Row([
            _field("Formats", dbc.Checklist(id=FORMATS, inline=True, value=["pdf"], options=[
                {"label": "PDF", "value": "pdf"}, {"label": "Interactive HTML", "value": "html"},
                {"label": "CSV", "value": "csv"}], className="small"), md=5),
            _field("Options", dbc.Checklist(id=OPTIONS, inline=True,
                                            value=["notify", "active"],
                                            options=[{"label": v, "value": k}
                                                     for k, v in OPTION_LABELS.items()],
                                            className="small"), md=7),
            _field("Recipients (users of this company)",
                   dcc.Dropdown(id=RECIPIENTS, multi=True, options=[],
                                placeholder="Pick users")),
            _field("Other addresses", dbc.Input(id=OTHER_RECIPIENTS, maxLength=2000,
                                                placeholder="a@partner.example, ..."),
                   "Outside the company only once an admin allowed them."),
        ], className="g-2"),
        html.Div([dbc.Button("Save schedule", id=SAVE, color="primary", n_clicks=0),
                  dbc.Button("New schedule", id=NEW, color="secondary", outline=True,
                             n_clicks=0)], className="d-flex gap-2 mt-1"),
        dcc.Loading(html.Div(id=FORM_MESSAGE, className="mt-2"), type="dot",
                    delay_show=300),
    ])


def _allow(can_allow: bool):
    if not can_allow:
        return None
    return html.Div([
        html.Hr(),
        dbc.Label("Allow an outside address (admins)", className="small fw-semibold"),
        html.Div([dbc.Input(id=ALLOW_ADDRESS, placeholder="name@agency.example",
                            maxLength=254, style={"maxWidth": "18rem"}),
                  dbc.Button("Allow", id=ALLOW, size="sm", color="secondary", n_clicks=0)],
                 className="d-flex flex-wrap gap-2"),
        html.Div(id=ALLOW_MESSAGE, className="mt-2")])


def _preview_modal() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(id=PREVIEW_TITLE)),
        dbc.ModalBody([
            dcc.Loading(html.Div(id=PREVIEW_MESSAGE), type="dot", delay_show=300),
            html.Iframe(id=PREVIEW_FRAME, sandbox="", title="Report preview",
                        style={"width": "100%", "height": "70vh", "border": "1px solid #dee2e6",
                               "borderRadius": "4px", "background": "white"}),
        ]),
        dbc.ModalFooter([
            dbc.Button("Download PDF", id=DOWNLOAD_PDF, color="primary", n_clicks=0),
            dbc.Button("Download interactive HTML", id=DOWNLOAD_HTML, color="secondary",
                       outline=True, n_clicks=0),
            dbc.Button("Download CSV", id=DOWNLOAD_CSV, color="secondary", outline=True,
                       n_clicks=0),
            dcc.Download(id=DOWNLOAD), html.Div(id=DOWNLOAD_MESSAGE, className="w-100"),
        ]),
    ], id=PREVIEW, is_open=False, size="xl", scrollable=True)


def layout(user, companies, query: dict) -> html.Div:
    can_edit = user.role in ("admin", "marketing_manager")
    # The form is always in the page (the list callback fills its options); for the roles
    # that only read it is hidden, except for staff, who pick the company in its filter bar
    # (saving is refused for them by the access check).
    body = html.Div([_form(user, companies, query), _allow(user.role == "admin")],
                    className="" if can_edit or user.company_id is None else "d-none")
    form = panel(html.Span("New schedule" if can_edit else "Schedules are read-only for your "
                           "role", id=FORM_TITLE), body,
                 note="Reports are rendered on the server from the views' numbers at send "
                      "time, within the owner's access, and sent once per due time."
                 if can_edit else "Admins and marketing managers create, change and send "
                 "report schedules; you can read them and their runs, and preview them.")
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        dcc.Store(id=CHANGED, data=0), dcc.Store(id=SAVED, data=0),
        dcc.Store(id=ALLOWED, data=0),
        dcc.Store(id=EDITING),
        dcc.Store(id=RUNS_FOR),
        dcc.Store(id=PREVIEWING),
        html.Div([
            html.H2("Reports", className="h3 mb-0"),
            html.Div([html.Span(id=COMPANY_NAME, className="fw-semibold"),
                      " · scheduled PDF, HTML and CSV reports by e-mail, Slack and in-app"],
                     className="text-muted small"),
        ], className="mb-2"),
        html.Div(id=MESSAGE),
        html.Div(panel("Schedules", loading(SCHEDULES),
                       note="Next run in the schedule's time zone, and in yours below it."),
                 className="mb-3"),
        dbc.Row([
            dbc.Col(form, lg=7),
            dbc.Col(panel(html.Span("Recent runs", id=RUNS_TITLE), loading(RUNS),
                          extra=dbc.Button("All runs", id=ALL_RUNS, size="sm",
                                           color="link", n_clicks=0)), lg=5),
        ], className="g-3 mb-4"),
        _preview_modal(),
    ])





