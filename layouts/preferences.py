"""The preferences form (default time range, KPI cards, landing view, and in the user's own
dialog their time zone). Used twice: in the app shell's "Preferences" dialog (ids
``app-prefs-*``, every user, their own) and on the admin view's Preferences tab (ids
``admin-prefs-*``, any user). The callbacks fill options and values.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from services.kpis import KPI_LABELS
from services.periods import RANGE_LABELS, RANGES
from services.preferences import time_zones

SHELL_PREFIX = "app"
OPEN = "app-prefs-open"
MODAL = "app-prefs-modal"


def ids(prefix: str) -> dict:
    return {name: f"{prefix}-prefs-{name}" for name in ("range", "kpis", "landing", "timezone",
                                                        "save", "result")}


RANGE_OPTIONS = [{"label": RANGE_LABELS[key], "value": key} for key in RANGES]
KPI_OPTIONS = [{"label": label, "value": key} for key, (label, _unit) in KPI_LABELS.items()]


def form(prefix: str) -> html.Div:
    i = ids(prefix)
    return html.Div([
        dbc.Label("Default time range", html_for=i["range"], className="small fw-semibold"),
        dbc.Select(id=i["range"], options=RANGE_OPTIONS, className="mb-3"),
        dbc.Label("KPI cards to show", className="small fw-semibold"),
        dbc.Checklist(id=i["kpis"], options=KPI_OPTIONS, inline=True, className="mb-3"),
        dbc.Label("Landing view (opened at sign-in)", html_for=i["landing"],
                  className="small fw-semibold"),
        dbc.Select(id=i["landing"], options=[], className="mb-3"),
        *(_time_zone(i) if prefix == SHELL_PREFIX else []),
        dbc.Button("Save preferences", id=i["save"], color="primary", n_clicks=0),
        html.Div(id=i["result"], className="mt-2"),
    ])


def _time_zone(i: dict) -> list:
    return [
        dbc.Label("Time zone", html_for=i["timezone"], className="small fw-semibold"),
        dbc.Select(id=i["timezone"], options=[{"label": z.replace("_", " "), "value": z}
                                              for z in time_zones()]),
        html.Small("Times of day (data as of, alerts, imports) are shown in it; the charts' "
                   "days and hours stay UTC, the days the data is kept in.",
                   className="text-muted d-block mb-3"),
    ]


def landing_options(views: list[tuple[str, str]]) -> list[dict]:
    """``views`` as (slug, title); the empty value means "my role's default"."""
    return [{"label": "My role's default", "value": ""},
            *({"label": title, "value": slug} for slug, title in views)]


def shell_button() -> dbc.Button:
    return dbc.Button("Preferences", id=OPEN, size="sm", color="light", outline=True,
                      n_clicks=0)


def shell_modal() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Your preferences")),
        dbc.ModalBody(form(SHELL_PREFIX)),
    ], id=MODAL, is_open=False)


def saved(text: str = "Saved.") -> dbc.Alert:
    return dbc.Alert(text, color="success", className="mb-0 py-2 small", duration=4000)


def problem(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="danger", className="mb-0 py-2 small")
