"""Imports view (issue #12): upload real exports, see the recognised format, the mapping and
the first rows, check them with a dry run (counts and reasons), import with a progress bar,
and list past imports with their rejected rows as CSV. Admins and marketing managers, into
their own company (staff pick one)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components, shell
from services.competitive import UPDATE_KINDS
from services.imports import MAX_FILE_BYTES, MAX_FILES

COMPANY = "imports-company"
COMPANY_NAME = "imports-company-name"
UPLOAD = "imports-upload"
FILES = "imports-files"
START = "imports-start"
END = "imports-end"
YEAR = "imports-year"
LOCATION = "imports-location"
COMPETITOR = "imports-competitor"
KIND = "imports-kind"
CHANNEL_MAP = "imports-channel-map"
CHECK = "imports-check"
RUN = "imports-run"
MESSAGE = "imports-message"
RESULTS = "imports-results"
JOB = "imports-job"
POLL = "imports-poll"
PROGRESS = "imports-progress"
PROGRESS_TEXT = "imports-progress-text"
CHANGED = "imports-changed"  # bumped when an import finished: past imports reload
PAST = "imports-past"
DOWNLOAD = "imports-download"
REJECTED = "imports-rejected"  # pattern id type: {"type": REJECTED, "index": run id}

OPTION_IDS = (START, END, YEAR, LOCATION, COMPETITOR, KIND, CHANNEL_MAP)
OPTION_NAMES = ("start", "end", "year", "location", "competitor", "kind", "channel_map")


def _field(label: str, control, hint: str) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small fw-semibold mb-1"), control,
                    html.Small(hint, className="text-muted")], xs=12, sm=6, lg=3,
                   className="mb-2")


def _options() -> html.Details:
    kinds = [{"label": kind.capitalize(), "value": kind} for kind in UPDATE_KINDS]
    return html.Details([
        html.Summary("Options for files that lack a field (dates, year, location, "
                     "competitor)", className="small fw-semibold"),
        dbc.Row([
            _field("Date", dbc.Input(id=START, type="date"),
                   "Files without dates (Facebook ad conversions): the day of their totals."),
            _field("End date", dbc.Input(id=END, type="date"),
                   "Optional: the campaigns' last day."),
            _field("Year", dbc.Input(id=YEAR, type="number", min=1990, max=2100,
                                     placeholder="e.g. 2020"),
                   "Files with months and days only (online advertising)."),
            _field("Location", dbc.Input(id=LOCATION, maxLength=100,
                                         placeholder="a known location"),
                   "Files without a location."),
            _field("Competitor", dbc.Input(id=COMPETITOR, maxLength=200,
                                           placeholder="whose news a feed is"),
                   "Competitor updates without a competitor column (RSS or Atom)."),
            _field("Kind", dcc.Dropdown(id=KIND, options=kinds, placeholder="from the feed"),
                   "Competitor updates without a kind."),
            _field("Channel codes", dbc.Input(id=CHANNEL_MAP, maxLength=500,
                                              placeholder="1=Facebook,2=Google Ads"),
                   "Customer journeys: the channel of each code."),
        ], className="mt-2 g-2"),
    ], className="mt-3")


def layout(user, companies, query: dict) -> html.Div:
    limit = f"{MAX_FILE_BYTES // 2**20} MB"
    return html.Div([
        dcc.Store(id=JOB),
        dcc.Store(id=CHANGED, data=0),
        dcc.Interval(id=POLL, interval=1000, disabled=True),
        dcc.Download(id=DOWNLOAD),
        html.Div([
            html.H2("Imports", className="h3 mb-0"),
            html.Div(html.Span(id=COMPANY_NAME, className="fw-semibold"),
                     className="text-muted small"),
        ], className="mb-2"),
        html.Div(shell.company_picker(COMPANY, user, companies, query), className="mb-3"),
        dbc.Card([
            dbc.CardHeader(html.Span("Upload exports", className="fw-semibold")),
            dbc.CardBody([
                dcc.Upload(id=UPLOAD, multiple=True, max_size=MAX_FILE_BYTES,
                           className="cd-upload", children=html.Div([
                               html.Div("Drag and drop files here, or click to choose",
                                        className="fw-semibold"),
                               html.Small(f"CSV, JSON lines, RSS or Atom; up to {MAX_FILES} "
                                          f"files of {limit} each (larger files: "
                                          "`campaign-dash import FILE`)",
                                          className="text-muted")])),
                html.Div(id=FILES, className="mt-2 small"),
                _options(),
                html.Div([
                    dbc.Button("Check (dry run)", id=CHECK, color="secondary", outline=True,
                               n_clicks=0),
                    dbc.Button("Import", id=RUN, color="primary", n_clicks=0),
                ], className="d-flex flex-wrap gap-2 mt-3"),
                html.Div(id=MESSAGE, className="mt-3"),
                html.Div([dbc.Progress(id=PROGRESS, value=0, striped=True, animated=True,
                                       className="mt-2"),
                          html.Small(id=PROGRESS_TEXT, className="text-muted")],
                         id=f"{PROGRESS}-box", style={"display": "none"}),
            ]),
        ], className="shadow-sm"),
        dcc.Loading(html.Div(id=RESULTS, className="mt-3"), type="dot", delay_show=300),
        dbc.Card([
            dbc.CardHeader(html.Span("Past imports", className="fw-semibold")),
            dbc.CardBody(dcc.Loading(html.Div(id=PAST), type="dot", delay_show=300)),
        ], className="shadow-sm mt-3 mb-4"),
    ])


def message(text: str, colour: str = "info") -> dbc.Alert:
    return components.message(text, colour, margin="mb-0")


def table(header: list[str], rows: list) -> dbc.Table:
    return components.table([html.Th(h) for h in header], rows)
