"""Competitive view: market share, share of voice, estimated ad spend, positioning, gaps,
threats, recommendations and the competitor updates feed for the selected company and period
(one long page, one filter bar without channel, segment and project: the figures are monthly
and brand-wide). Every competitor figure is a range with its method and source."""

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
    page_header,
    panel,
    table,
)
from layouts.filter_bar import FilterBar

BAR = FilterBar("competitive", ())
URL = "competitive-url"
COMPANY_NAME = "competitive-company-name"
AS_OF = "competitive-as-of"
MESSAGE = "competitive-message"
CHANGED = "competitive-changed"  # a counter bumped when the competitor list changes

SHARE_CHART = "competitive-share-chart"
SHARE_TABLE = "competitive-share-table"
VOICE = "competitive-voice"
SPEND_CHART = "competitive-spend-chart"
SPEND_NOTE = "competitive-spend-note"
POSITION_CHANNEL = "competitive-position-channel"
POSITION_CHART = "competitive-position-chart"
POSITION_TEXT = "competitive-position-text"
GAPS = "competitive-gaps"
THREATS = "competitive-threats"
RECOMMENDATIONS = "competitive-recommendations"
FEED = "competitive-feed"
FEED_COMPETITOR = "competitive-feed-competitor"
FEED_KIND = "competitive-feed-kind"
COMPETITORS = "competitive-competitors"
MANAGE = "competitive-manage"
NEW_NAME = "competitive-new-name"
NEW_WEBSITE = "competitive-new-website"
ADD = "competitive-add"
MANAGE_MESSAGE = "competitive-manage-message"
CONFIRM = "competitive-confirm"
CONFIRM_BODY = "competitive-confirm-body"
CONFIRM_REMOVE = "competitive-confirm-remove"
CONFIRM_CANCEL = "competitive-confirm-cancel"
PENDING_REMOVAL = "competitive-pending-removal"
REMOVE = "competitive-remove-competitor"  # pattern id type: {"type": REMOVE, "index": id}

# Colour language: green good, amber warning, red critical, blue neutral.
GREEN, AMBER, RED, BLUE, GREY = "#18bc9c", "#f39c12", "#e74c3c", "#3498db", "#95a5a6"
OWN_COLOUR = "#2c3e50"
BRAND_COLOURS = ["#3498db", "#e67e22", "#8e44ad", "#16a085", "#d35400", "#7f8c8d"]
LEVEL_COLOURS = {"critical": "danger", "warning": "warning", "steady": "info",
                 "losing ground": "success"}
KIND_LABELS = {"pricing": "Pricing", "product": "Product", "campaign": "Campaign",
               "partnership": "Partnership", "hiring": "Hiring", "positioning": "Positioning",
               "other": "Other"}




def graph_static(component_id: str, figure: dict, height: int = 280) -> dcc.Graph:
    """A chart drawn with its figure (the share-of-voice charts, one per channel)."""
    return dcc.Graph(id=component_id, figure=figure, config=GRAPH_CONFIG,
                     style={"height": f"{height}px"})






def _dropdown(component_id: str, label: str, width: str = "13rem", options=None):
    return dcc.Dropdown(id=component_id, clearable=False, value=filter_bar.ALL,
                        searchable=False, style={"minWidth": width},
                        options=options or [{"label": label, "value": filter_bar.ALL}])


def _manage(can_manage: bool) -> dbc.Card:
    form = html.Div([
        dbc.Input(id=NEW_NAME, placeholder="Competitor name", maxLength=200,
                  style={"maxWidth": "16rem"}),
        dbc.Input(id=NEW_WEBSITE, placeholder="https://website (optional)", maxLength=200,
                  style={"maxWidth": "16rem"}),
        dbc.Button("Add competitor", id=ADD, color="primary", size="sm", n_clicks=0),
    ], className="d-flex flex-wrap gap-2 mt-3" if can_manage else "d-none", id=MANAGE)
    hint = None if can_manage else html.Small(
        "Admins and marketing managers manage this list (here or with `campaign-dash "
        "competitor add|list|remove`).", className="text-muted d-block mt-2")
    modal = dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Remove competitor?")),
        dbc.ModalBody(id=CONFIRM_BODY),
        dbc.ModalFooter([dbc.Button("Cancel", id=CONFIRM_CANCEL, color="secondary",
                                    outline=True, n_clicks=0),
                         dbc.Button("Remove", id=CONFIRM_REMOVE, color="danger",
                                    n_clicks=0)]),
    ], id=CONFIRM, is_open=False)
    return panel("Competitors tracked", html.Div([
        loading(COMPETITORS), form, hint, html.Div(id=MANAGE_MESSAGE, className="mt-2"),
        modal, dcc.Store(id=PENDING_REMOVAL)]))


def layout(user, companies, query: dict) -> html.Div:
    # Monthly figures: a year is the useful default when the URL names no range.
    query = {"range": "year", **query}
    can_manage = user.role in ("admin", "marketing_manager")
    kinds = [{"label": "All kinds", "value": filter_bar.ALL}] + [
        {"label": text, "value": key} for key, text in KIND_LABELS.items()]
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        dcc.Store(id=CHANGED, data=0),
        page_header("Competitive", "competitive", user, COMPANY_NAME, AS_OF),
        filter_bar.layout(BAR, user, companies, query),
        html.Div(id=MESSAGE),
        dbc.Row([
            dbc.Col(panel("Threats", loading(THREATS),
                          note="Each competitor's momentum over the last quarter, most "
                               "threatening first. Red: critical, amber: warning, blue: "
                               "steady, green: losing ground."), lg=7),
            dbc.Col(panel("Recommendations", loading(RECOMMENDATIONS)), lg=5),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(panel("Market share by month", html.Div([
                graph(SHARE_CHART, 320), loading(SHARE_TABLE)]),
                note="Competitors' shares are estimates: bands from low to high. Your "
                     "share is as you report it."), lg=7),
            dbc.Col(panel("Positioning: share of voice against share of market",
                          html.Div([graph(POSITION_CHART, 320), loading(POSITION_TEXT)]),
                          extra=dcc.Dropdown(id=POSITION_CHANNEL, clearable=False,
                                             searchable=False, style={"minWidth": "9rem"},
                                             options=[])), lg=5),
        ], className="g-3 mt-1"),
        dbc.Row([
            dbc.Col(panel("Share of voice by channel", loading(VOICE)), lg=7),
            dbc.Col(panel("Estimated ad spend per month", html.Div([
                graph(SPEND_CHART, 320), loading(SPEND_NOTE)])), lg=5),
        ], className="g-3 mt-1"),
        html.Div(panel("Gap analysis", loading(GAPS)), className="mt-3"),
        dbc.Row([
            dbc.Col(panel("Competitor updates", loading(FEED), extra=html.Div([
                _dropdown(FEED_COMPETITOR, "All competitors"),
                _dropdown(FEED_KIND, "All kinds", "10rem", kinds)],
                className="d-flex flex-wrap gap-2")), lg=8),
            dbc.Col(_manage(can_manage), lg=4),
        ], className="g-3 mt-1 mb-4"),
    ])





