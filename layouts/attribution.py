"""Attribution view (issue #15): credit per channel or campaign under every model side by side
(one grouped bar chart, one table that adds up to the conversions), the change against last
touch, budget advice with its evidence, the Markov chain's removal effects and transitions,
journey lengths, time to convert, top converting paths and what the data allows. One filter
bar (company for staff, date range) with the view's own options in the same row."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import filter_bar
from layouts.components import (  # noqa: F401 (ids.*: the views' shared widgets)
    GRAPH_CONFIG,
    empty_figure,
    empty_state,
    graph,
    loading,
    message,
    panel,
    table,
)
from layouts.filter_bar import FilterBar
from services.attribution import DEFAULTS, LEVELS, LOOKBACK_DAYS

BAR = FilterBar("attribution", ())
URL = "attribution-url"
COMPANY_NAME = "attribution-company-name"
AS_OF = "attribution-as-of"
MESSAGE = "attribution-message"
CONTENT = "attribution-content"  # hidden when there is nothing to show (the message says why)
LEVEL = "attribution-level"
LOOKBACK = "attribution-lookback"
DIRECT = "attribution-direct"
MEASURE = "attribution-measure"
SUMMARY = "attribution-summary"
CREDIT_CHART = "attribution-credit-chart"
CREDIT_TABLE = "attribution-credit-table"
VERDICTS = "attribution-verdicts"
ADVICE = "attribution-advice"
REMOVAL_CHART = "attribution-removal-chart"
TRANSITIONS = "attribution-transitions"
LENGTHS = "attribution-lengths"
DAYS = "attribution-days"
PATHS = "attribution-paths"
DATA_NOTE = "attribution-data-note"
DOWNLOAD = "attribution-download"
DOWNLOAD_BUTTON = "attribution-download-button"

# Heuristic models in quiet tones, last touch (the usual default) in grey, the data-driven
# models in the strong colours: the eye goes to the comparison that matters.
MODEL_COLOURS = {"first_touch": "#9ecae1", "last_touch": "#7f8c8d", "linear": "#6baed6",
                 "time_decay": "#4292c6", "position": "#2171b5", "markov": "#e67e22",
                 "shapley": "#8e44ad"}
MEASURES = {"conversions": "Conversions", "value": "Value ($)"}








def _hide(component, component_id: str) -> None:
    """Hide the shared bar's compare-to: attribution compares models, not periods (the
    control stays, so the bar's inputs are the same on every view)."""
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if getattr(child, "id", None) == component_id:
            child.style = {"display": "none"}
        elif child is not None and not isinstance(child, str):
            _hide(child, component_id)


def option_values(query: dict) -> dict:
    """The view's own options from the URL, defaults for anything unknown."""
    level = query.get("level") if query.get("level") in LEVELS else DEFAULTS["level"]
    lookback = query.get("lookback")
    lookback = int(lookback) if lookback in {str(d) for d in LOOKBACK_DAYS} \
        else DEFAULTS["lookback"]
    direct = query.get("direct") if query.get("direct") in ("yes", "no") \
        else DEFAULTS["direct"]
    measure = query.get("measure") if query.get("measure") in MEASURES else "conversions"
    return {"level": level, "lookback": lookback, "direct": direct, "measure": measure}


def controls(values: dict) -> list:
    return [
        dcc.Dropdown(id=LEVEL, clearable=False, searchable=False, value=values["level"],
                     style={"minWidth": "11rem"}, className="cd-filter",
                     options=[{"label": f"{label} level", "value": key}
                              for key, label in LEVELS.items()]),
        dcc.Dropdown(id=LOOKBACK, clearable=False, searchable=False,
                     value=values["lookback"], style={"minWidth": "11rem"},
                     className="cd-filter",
                     options=[{"label": f"Lookback {d} days", "value": d}
                              for d in LOOKBACK_DAYS]),
        dcc.Dropdown(id=DIRECT, clearable=False, searchable=False, value=values["direct"],
                     style={"minWidth": "14rem"}, className="cd-filter",
                     options=[{"label": "Direct visits take credit", "value": "yes"},
                              {"label": "Direct visits take no credit", "value": "no"}]),
    ]


def layout(user, companies, query: dict) -> html.Div:
    # Journeys are few per day: a year is the useful default when the URL names no range.
    query = {"range": DEFAULTS["range"], **query}
    values = option_values(query)
    bar = filter_bar.layout(BAR, user, companies, query, extra=controls(values))
    _hide(bar, BAR.compare)
    measure = dcc.Dropdown(id=MEASURE, clearable=False, searchable=False,
                           value=values["measure"], style={"minWidth": "12rem"},
                           options=[{"label": f"Show {label.lower()}", "value": key}
                                    for key, label in MEASURES.items()])
    download = html.Div([
        dbc.Button("Download CSV", id=DOWNLOAD_BUTTON, color="secondary", outline=True,
                   size="sm", n_clicks=0),
        dcc.Download(id=DOWNLOAD)])
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        html.Div([
            html.H2("Attribution", className="h3 mb-0"),
            html.Div([html.Span(id=COMPANY_NAME, className="fw-semibold"), " · ",
                      html.Span(id=AS_OF)], className="text-muted small"),
        ], className="mb-2"),
        bar,
        html.Div(id=MESSAGE),
        html.Div(id=CONTENT, children=[
            loading(SUMMARY),
            html.Div(panel("Credit by model", html.Div([graph(CREDIT_CHART, 380),
                                                       loading(CREDIT_TABLE)]),
                           note="Each model shares every conversion (and its value) among the "
                                "touches before it; every column adds up to the same total. "
                                "Markov and Shapley learn from converting and non-converting "
                                "journeys; the others follow fixed rules.",
                           extra=html.Div([measure, download],
                                          className="d-flex flex-wrap gap-2")),
                     className="mt-3"),
            dbc.Row([
                dbc.Col(panel("Against last touch", loading(VERDICTS),
                              note="Channels whose share under both data-driven models "
                                   "(Markov and Shapley) differs from their last-touch share "
                                   "by 3 points or more in the same direction."), lg=6),
                dbc.Col(panel("Budget advice", loading(ADVICE),
                              note="Attribution shares credit among touches; it does not show "
                                   "that a channel caused a conversion. Test a shift (a holdout "
                                   "or a budget experiment) before moving much."), lg=6),
            ], className="g-3 mt-1"),
            dbc.Row([
                dbc.Col(panel("Markov removal effects", graph(REMOVAL_CHART, 360),
                              note="The share of the chain's conversions lost if a channel's "
                                   "touches led nowhere."), lg=5),
                dbc.Col(panel("Transition probabilities", graph(TRANSITIONS, 360),
                              note="From a state (row) to the next touch, the conversion or the "
                                   "journey's end without one (columns)."), lg=7),
            ], className="g-3 mt-1"),
            dbc.Row([
                dbc.Col(panel("Journey length", graph(LENGTHS, 280)), lg=4),
                dbc.Col(panel("Time to convert", graph(DAYS, 280),
                              note="Days from a converting journey's first touch to its "
                                   "conversion (journeys with times)."), lg=4),
                dbc.Col(panel("Top converting paths", loading(PATHS)), lg=4),
            ], className="g-3 mt-1"),
            html.Div(panel("About the data", loading(DATA_NOTE)), className="mt-3 mb-4"),
        ]),
    ])





