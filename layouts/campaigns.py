"""Campaigns view (issue #14): the campaign explorer (server-side paged, sorted and filtered,
CSV export, a campaign's detail on click), segments against their industry, channels against
everyone, goal x segment, top and bottom performers, duration bands and campaign clusters,
on the shared filter bar (company and period)."""

from __future__ import annotations

import dash_ag_grid as dag
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
from services import campaigns as service
from services.metrics import METRICS

BAR = FilterBar("campaigns", ())
URL = "campaigns-url"
COMPANY_NAME = "campaigns-company-name"
AS_OF = "campaigns-as-of"
MESSAGE = "campaigns-message"

# The explorer's own filters: (service name, label of "all").
EXPLORER_FILTERS = (("channel", "All channels"), ("segment", "All segments"),
                    ("goal", "All goals"), ("location", "All locations"),
                    ("language", "All languages"), ("duration", "Any duration"),
                    ("status", "Any status"), ("tier", "Any tier"))


def filter_id(name: str) -> str:
    return f"campaigns-filter-{name}"


CLEAR = "campaigns-clear"
EXPORT = "campaigns-export"
DOWNLOAD = "campaigns-download"
EXPORT_MESSAGE = "campaigns-export-message"
GRID_HOLDER = "campaigns-grid-holder"
GRID = "campaigns-grid"
SUMMARY = "campaigns-summary"
DETAIL = "campaigns-detail"
DETAIL_TITLE = "campaigns-detail-title"
DETAIL_BODY = "campaigns-detail-body"
DETAIL_CLOSE = "campaigns-detail-close"
SEGMENTS_CHART = "campaigns-segments-chart"
SEGMENTS_BEST = "campaigns-segments-best"
CHANNEL_METRIC = "campaigns-channel-metric"
CHANNELS_CHART = "campaigns-channels-chart"
CHANNELS_NOTE = "campaigns-channels-note"
MATRIX_METRIC = "campaigns-matrix-metric"
MATRIX_CHART = "campaigns-matrix-chart"
RANK_METRIC = "campaigns-rank-metric"
RANK_BY = "campaigns-rank-by"
RANK_MIN = "campaigns-rank-min"
RANK_TABLE = "campaigns-rank-table"
FORECAST_BY = "campaigns-forecast-by"
FORECAST_METRIC = "campaigns-forecast-metric"
FORECASTS = "campaigns-forecasts"
DURATION_CHART = "campaigns-duration-chart"
DURATION_TABLE = "campaigns-duration-table"
CLUSTERS = "campaigns-clusters"

GREEN, AMBER, RED, BLUE, GREY = "#18bc9c", "#f39c12", "#e74c3c", "#3498db", "#95a5a6"
# Diverging scale for "worse / in line / better than the benchmark" (red - white - green).
DIVERGING = [[0.0, RED], [0.5, "#f8f9fa"], [1.0, GREEN]]
SEQUENTIAL = [[0.0, "#eaf2fb"], [1.0, BLUE]]


def _metric_col(metric: str, width: int = 120, **extra) -> dict:
    spec = METRICS[metric]
    return {"field": metric, "headerName": spec.label, "headerTooltip": spec.definition,
            "width": width, "type": "rightAligned", **extra}


# Values arrive formatted from the server (the grid sorts and filters there, not here).
GRID_COLUMNS = [
    # An anomalous campaign (its newest complete day against its previous 28): red, with
    # the reason on hover.
    {"field": "campaign", "headerName": "Campaign", "minWidth": 220, "flex": 2,
     "tooltipField": "anomaly",
     "cellClassRules": {"text-danger fw-semibold": "params.data && params.data.anomaly"}},
    {"field": "channel", "headerName": "Channel", "width": 125},
    {"field": "goal", "headerName": "Goal", "width": 115},
    {"field": "segment", "headerName": "Segment", "width": 160},
    {"field": "location", "headerName": "Location", "width": 130},
    {"field": "language", "headerName": "Language", "width": 110},
    {"field": "duration_days", "headerName": "Duration", "width": 110,
     "headerTooltip": "Days from start to end, both counted", "type": "rightAligned"},
    {"field": "status", "headerName": "Status", "width": 110},
    _metric_col("spend"), _metric_col("impressions", 130), _metric_col("clicks", 110),
    _metric_col("ctr", 95), _metric_col("conversions", 125),
    _metric_col("conversion_rate", 150), _metric_col("cpa", 110), _metric_col("revenue"),
    _metric_col("roas", 95), _metric_col("roi_pct", 110),
    {"field": "tier", "headerName": "Tier", "width": 120,
     "headerTooltip": METRICS["roi_pct"].definition,
     "cellClassRules": {"text-success fw-semibold": "params.value == 'High ROI'",
                        "text-primary": "params.value == 'Good ROI'"}},
]
PAGE_ROWS = 100


def grid(key: str) -> dag.AgGrid:
    """A fresh explorer grid (drawn again whenever a filter changes, so its row cache starts
    empty); rows come page by page from the server (infinite row model)."""
    return dag.AgGrid(
        id=GRID, columnDefs=GRID_COLUMNS, rowModelType="infinite",
        defaultColDef={"sortable": True, "resizable": True,
                       "sortingOrder": ["desc", "asc", None]},
        getRowId="params.data.campaign_id",
        dashGridOptions={"cacheBlockSize": PAGE_ROWS, "maxBlocksInCache": 20,
                         "infiniteInitialRowCount": 1, "rowBuffer": 10,
                         "tooltipShowDelay": 300, "suppressCellFocus": True,
                         "context": {"key": key}},
        style={"height": "460px", "width": "100%"}, className="ag-theme-quartz cd-grid")








def _select(component_id: str, options: list[tuple[str, str]], value: str,
            width: str = "11rem") -> dcc.Dropdown:
    return dcc.Dropdown(id=component_id, clearable=False, searchable=False, value=value,
                        style={"minWidth": width}, className="cd-filter",
                        options=[{"label": label, "value": key} for key, label in options])


def _metric_options(metrics) -> list[tuple[str, str]]:
    return [(m, METRICS[m].label) for m in metrics]


def _explorer_filters(query: dict) -> html.Div:
    dropdowns = []
    for name, label in EXPLORER_FILTERS:
        value = query.get(name) if isinstance(query.get(name), str) else filter_bar.ALL
        options = [{"label": label, "value": filter_bar.ALL}]
        if value != filter_bar.ALL:
            options.append({"label": value, "value": value})
        dropdowns.append(dcc.Dropdown(id=filter_id(name), clearable=False, value=value,
                                      options=options, style={"minWidth": "10rem"},
                                      className="cd-filter"))
    return html.Div([*dropdowns,
                     dbc.Button("Clear filters", id=CLEAR, color="secondary", outline=True,
                                size="sm", n_clicks=0),
                     dbc.Button("Export CSV", id=EXPORT, color="primary", size="sm",
                                n_clicks=0, title="Every campaign the filters keep, in the "
                                                  "table's order"),
                     dcc.Download(id=DOWNLOAD)],
                    className="d-flex flex-wrap gap-2 align-items-center mb-2")


def layout(user, companies, query: dict) -> html.Div:
    query = {"range": "quarter", **query}
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        html.Div([
            html.H2("Campaigns", className="h3 mb-0"),
            html.Div([html.Span(id=COMPANY_NAME, className="fw-semibold"), " · ",
                      html.Span(id=AS_OF)], className="text-muted small"),
        ], className="mb-2"),
        filter_bar.layout(BAR, user, companies, query),
        html.Div(id=MESSAGE),
        panel("Campaign explorer", html.Div([
            _explorer_filters(query),
            html.Div(id=EXPORT_MESSAGE),
            loading(SUMMARY),
            html.Div(grid("initial"), id=GRID_HOLDER),
            html.Small("Click a campaign for its daily trend and its channel and segment "
                       "averages. Sort on any column; every figure is the campaign's over "
                       "the period.", className="text-muted d-block mt-1"),
        ])),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle(id=DETAIL_TITLE)),
            dbc.ModalBody(dcc.Loading(html.Div(id=DETAIL_BODY), type="dot")),
            dbc.ModalFooter(dbc.Button("Close", id=DETAIL_CLOSE, color="secondary",
                                       n_clicks=0)),
        ], id=DETAIL, is_open=False, size="xl", fullscreen="md-down", scrollable=True,
            fade=False),
        dbc.Row([
            dbc.Col(panel("Segments against their industry", html.Div([
                loading(SEGMENTS_BEST), graph(SEGMENTS_CHART, 340)]),
                note="Colour: how far each figure is from the average of the same segment at "
                     "other companies of your industry (green better, red worse); a cell "
                     "needs at least 3 such companies."), lg=7),
            dbc.Col(panel("Channels against the global average", html.Div([
                graph(CHANNELS_CHART, 300), loading(CHANNELS_NOTE)]),
                extra=_select(CHANNEL_METRIC, _metric_options(service.CHANNEL_METRICS),
                              "conversion_rate", "10rem")), lg=5),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(panel("Goal × segment", graph(MATRIX_CHART, 340),
                          note="Each cell: the metric over the cell's campaigns (darker is "
                               "better) and how many campaigns it rests on (n). Few "
                               "campaigns: read with care.",
                          extra=_select(MATRIX_METRIC,
                                        _metric_options(service.MATRIX_METRICS),
                                        "conversion_rate", "10rem")), lg=7),
            dbc.Col(panel("Top and bottom performers", loading(RANK_TABLE), extra=html.Div([
                _select(RANK_BY, [("campaign", "Campaigns"), ("segment", "Segments"),
                                  ("channel", "Channels")], "campaign", "8rem"),
                _select(RANK_METRIC, _metric_options(service.RANK_METRICS), "roas", "9rem"),
                dbc.Input(id=RANK_MIN, type="number", min=0, step=100, debounce=True,
                          placeholder="Min. spend $", style={"maxWidth": "8.5rem"},
                          size="sm"),
            ], className="d-flex flex-wrap gap-2")), lg=5),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(panel("Campaign length", html.Div([graph(DURATION_CHART, 300),
                                                       loading(DURATION_TABLE)]),
                          note="Whole history through yesterday, by length from start to "
                               "end date."), lg=6),
            dbc.Col(panel("Campaign clusters", loading(CLUSTERS),
                          note="Campaigns grouped by channel, segment, goal, length and "
                               "location; whole history through yesterday."), lg=6),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(panel("Forecasts by segment and channel", loading(FORECASTS),
                          note="Weekly ads' figures through last week and the next 13 weeks "
                               "with their 95 % band, from the insights engine's forecast "
                               "(the model its backtest picks per series), fitted on each "
                               "group's latest unbroken run of active weeks (26 at least).",
                          extra=html.Div([
                              _select(FORECAST_BY, [("segment", "By segment"),
                                                    ("channel", "By channel")], "segment",
                                      "9rem"),
                              _select(FORECAST_METRIC,
                                      _metric_options(service.FORECAST_METRICS), "revenue",
                                      "9rem")], className="d-flex flex-wrap gap-2"))),
        ], className="g-3 mt-1 mb-4"),
    ])





