"""Real-time view callbacks: thin; read inputs, call services, build figures and components.

The 30-second refresh first compares the company's data version (one Redis GET) with the
version it rendered last (kept in a dcc.Store) and answers "no update" when nothing changed,
so an idle refresh costs almost nothing. The age of the data ("12 s ago") and the stale
warning are kept current in the browser by assets/40-realtime.js, without a request.
"""

from __future__ import annotations

import copy
import time

import plotly.io as pio
from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import request_scope, sentence, service_context
from layouts import format as fmt
from layouts import realtime as ids
from services import alerts, preferences
from services.access import campaign_in_scope
from services.cache import data_version
from services.errors import Forbidden, ServiceError
from services.realtime import (
    RERENDER_AFTER_S,
    STALE_AFTER_S,
    can_act,
    current_snapshot,
    pause_campaign,
)


def _unchanged(state, company_id: int, version: int) -> bool:
    """Whether the browser already shows this company at this data version. The store is
    browser data: it only ever saves work, the company always comes from the scope."""
    if not isinstance(state, dict):
        return False
    rendered_at = state.get("rendered_at")
    return (state.get("company_id") == company_id and state.get("version") == version
            and isinstance(rendered_at, (int, float))
            and time.time() - rendered_at < RERENDER_AFTER_S)


def refresh(_n_intervals, _refresh_clicks, _changed, company_slug, state):
    """Every panel of the view, or no update when the data has not changed."""
    service = service_context()
    try:
        scope = request_scope("realtime", company_slug)
    except ServiceError as error:
        return ([ids.message(str(error), "danger")], *([no_update] * 6), "", no_update)
    company_id, company_name = scope.company_id, scope.company.name
    version = data_version(service, company_id)
    if ctx.triggered_id == ids.INTERVAL and _unchanged(state, company_id, version):
        raise PreventUpdate
    snapshot = current_snapshot(service, scope)
    feed = alerts.open_alerts(service, scope)
    may_act = can_act(scope.role)
    zone = preferences.time_zone_of(service, scope.user.id)
    new_state = {"company_id": company_id, "version": version, "rendered_at": time.time(),
                 "newest_event_at": snapshot["newest_event_at"]}
    return (
        ids.kpi_cards(snapshot["live"]),
        hourly_figure(snapshot["hourly"]),
        geo_figure(snapshot["locations"]),
        ids.geo_table(snapshot["locations"]),
        ids.campaigns_table(snapshot["campaigns"], may_act),
        ids.alerts_feed(feed, may_act, zone),
        ids.freshness(snapshot["newest_event_at"], STALE_AFTER_S, zone),
        company_name,
        new_state,
    )


def toggle_pause(n_clicks):
    """Pause or resume the 30-second refresh."""
    request_scope("realtime")
    paused = isinstance(n_clicks, int) and n_clicks % 2 == 1
    return paused, "Resume updates" if paused else "Pause updates", \
        "warning" if paused else "primary"


def _clicked() -> bool:
    """Whether a pattern-matching button was really clicked (not just rendered)."""
    triggered = ctx.triggered[0] if ctx.triggered else {}
    return isinstance(ctx.triggered_id, dict) and bool(triggered.get("value"))


def request_pause(_clicks, company_slug):
    """A campaign's pause button: ask for confirmation (roles that may act only). The
    campaign id comes from the button's pattern id: it is resolved inside the scope."""
    if not _clicked():
        raise PreventUpdate
    try:
        scope = request_scope("realtime", company_slug)
        if not can_act(scope.role):
            raise Forbidden(f"the {scope.role.replace('_', ' ')} role may not pause campaigns")
        campaign = campaign_in_scope(service_context(), scope, ctx.triggered_id.get("index"))
    except ServiceError as error:
        return False, no_update, None, ids.message(sentence(error), "danger")
    return (True, ids.confirm_text(campaign["name"]),
            {"campaign_id": campaign["id"], "name": campaign["name"]}, no_update)



def confirm_pause(yes_clicks, _no_clicks, pending, company_slug):
    """Pause the campaign waiting for confirmation; the service checks role and tenant."""
    if ctx.triggered_id == ids.CONFIRM_NO:
        return False, no_update, no_update, None
    if ctx.triggered_id != ids.CONFIRM_YES or not yes_clicks or not isinstance(pending, dict):
        raise PreventUpdate
    try:
        scope = request_scope("realtime", company_slug)
        result = pause_campaign(service_context(), scope, pending.get("campaign_id"))
    except ServiceError as error:
        return False, ids.message(str(error), "danger"), no_update, None
    text = f"Paused {result['name']}." if result["changed"] else \
        f"{result['name']} is already {result['status']}."
    return False, ids.message(text), time.time(), None


def acknowledge(_clicks, company_slug):
    """An alert's acknowledge button (roles that may act only; checked by the service)."""
    if not _clicked():
        raise PreventUpdate
    try:
        scope = request_scope("realtime", company_slug)
        alerts.acknowledge_alert(service_context(), scope, ctx.triggered_id.get("index"))
    except Forbidden as error:
        return ids.message(str(error), "danger"), no_update
    except ServiceError as error:
        return ids.message(str(error), "warning"), no_update
    return ids.message("Alert acknowledged."), time.time()


def register(app: Dash) -> None:
    app.callback(
        Output(ids.KPIS, "children"),
        Output(ids.HOURLY, "figure"),
        Output(ids.GEO_MAP, "figure"),
        Output(ids.GEO_TABLE, "children"),
        Output(ids.CAMPAIGNS, "children"),
        Output(ids.ALERTS, "children"),
        Output(ids.FRESHNESS, "children"),
        Output(ids.COMPANY_NAME, "children"),
        Output(ids.STATE, "data"),
        Input(ids.INTERVAL, "n_intervals"),
        Input(ids.REFRESH, "n_clicks"),
        Input(ids.CHANGED, "data"),
        Input(ids.COMPANY, "value"),
        State(ids.STATE, "data"),
    )(refresh)
    app.callback(
        Output(ids.INTERVAL, "disabled"),
        Output(ids.PAUSE, "children"),
        Output(ids.PAUSE, "color"),
        Input(ids.PAUSE, "n_clicks"),
    )(toggle_pause)
    app.callback(
        Output(ids.CONFIRM, "is_open"),
        Output(ids.CONFIRM_BODY, "children"),
        Output(ids.PENDING_PAUSE, "data"),
        Output(ids.MESSAGE, "children"),
        Input({"type": ids.PAUSE_CAMPAIGN, "index": ALL}, "n_clicks"),
        State(ids.COMPANY, "value"),
        prevent_initial_call=True,
    )(request_pause)
    app.callback(
        Output(ids.CONFIRM, "is_open", allow_duplicate=True),
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Output(ids.CHANGED, "data"),
        Output(ids.PENDING_PAUSE, "data", allow_duplicate=True),
        Input(ids.CONFIRM_YES, "n_clicks"),
        Input(ids.CONFIRM_NO, "n_clicks"),
        State(ids.PENDING_PAUSE, "data"),
        State(ids.COMPANY, "value"),
        prevent_initial_call=True,
    )(confirm_pause)
    app.callback(
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Output(ids.CHANGED, "data", allow_duplicate=True),
        Input({"type": ids.ACK_ALERT, "index": ALL}, "n_clicks"),
        State(ids.COMPANY, "value"),
        prevent_initial_call=True,
    )(acknowledge)


# --------------------------------------------------------------------------- figures


# Figures are plain dicts: building plotly's validated objects (make_subplots, template
# resolution) cost ~100 ms per figure on every refresh, more than the data behind them.
# The templates are resolved once, here; each call builds small fresh dicts around them.


def _template(name: str, *types: str) -> dict:
    """A template's layout, and its trace defaults for the trace types we draw (bar
    outlines, the colour bar's look) only."""
    template = pio.templates[name].to_plotly_json()
    return {"layout": template["layout"],
            "data": {kind: template["data"][kind] for kind in types}}


_WHITE = _template("plotly_white", "bar", "scatter")
_PLOTLY = _template("plotly", "scattergeo")  # go.Figure()'s default, as before

_HOURLY_METRICS = ("spend", "clicks", "conversions", "ctr")
_HOURLY_TITLES = ("Spend (USD)", "Clicks", "Conversions", "CTR (%)")
# The 2x2 grid make_subplots(rows=2, cols=2, horizontal_spacing=0.08, vertical_spacing=0.16)
# drew: subplot i (row-major from the top left) uses axes x{i+1}/y{i+1}.
_H_SPACING, _V_SPACING = 0.08, 0.16
_COL_DOMAINS = ([0.0, (1 - _H_SPACING) / 2], [(1 + _H_SPACING) / 2, 1.0])
_ROW_DOMAINS = ([(1 + _V_SPACING) / 2, 1.0], [0.0, (1 - _V_SPACING) / 2])


def _hourly_base() -> dict:
    layout = {"template": _WHITE, "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
              "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
              "bargap": 0.15, "uirevision": "hourly", "annotations": []}
    for i, title in enumerate(_HOURLY_TITLES):
        row, col = divmod(i, 2)
        suffix = "" if i == 0 else str(i + 1)
        xdomain, ydomain = _COL_DOMAINS[col], _ROW_DOMAINS[row]
        layout[f"xaxis{suffix}"] = {
            "anchor": f"y{suffix}", "domain": xdomain, "dtick": 3, "range": [-0.5, 23.5],
            **({"title": {"text": "Hour of day (UTC)"}} if row == 1 else {})}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": ydomain,
                                    "rangemode": "nonnegative", "tickformat": ","}
        layout["annotations"].append({
            "text": title, "x": (xdomain[0] + xdomain[1]) / 2, "y": ydomain[1],
            "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
            "showarrow": False, "font": {"size": 16}})
    layout["yaxis"]["tickprefix"] = "$"
    layout["yaxis4"]["ticksuffix"] = "%"
    return layout


_HOURLY_LAYOUT = _hourly_base()


def hourly_figure(hourly: dict) -> dict:
    hours = hourly["hours"]
    data = []
    for i, metric in enumerate(_HOURLY_METRICS):
        suffix = "" if i == 0 else str(i + 1)
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        data.append({"type": "bar", "x": hours, "y": hourly["today"][metric], "name": "Today",
                     "marker": {"color": "#2c7be5"}, "showlegend": i == 0,
                     "hovertemplate": "%{x}:00 · %{y:,.2f}<extra>today</extra>", **axes})
        # connectgaps: an hour with no clicks in 7 days has no CTR; the line goes on.
        data.append({"type": "scatter", "x": hours, "y": hourly["avg7"][metric],
                     "name": "7-day average", "mode": "lines", "connectgaps": True,
                     "line": {"color": "#6c757d", "dash": "dot"}, "showlegend": i == 0,
                     "hovertemplate": "%{x}:00 · %{y:,.2f}<extra>7-day avg</extra>", **axes})
    return {"data": data, "layout": copy.deepcopy(_HOURLY_LAYOUT)}


# The US map; its outlines come from assets/topojson/ (layouts.realtime.MAP_CONFIG).
_GEO = {"scope": "usa", "projection": {"type": "albers usa"}, "showland": True,
        "landcolor": "#eef1f4", "subunitcolor": "#ffffff", "countrycolor": "#ffffff"}
_GEO_COLORSCALE = [[0, "#18bc9c"], [0.5, "#f39c12"], [1, "#e74c3c"]]


def _geo_layout(**extra) -> dict:
    return {"template": _PLOTLY, "geo": copy.deepcopy(_GEO),
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "uirevision": "geo", **extra}


def geo_figure(locations: list[dict]) -> dict:
    if not locations:
        return {"data": [{"type": "scattergeo", "lat": [], "lon": [], "hoverinfo": "skip"}],
                "layout": _geo_layout(annotations=[{
                    "text": "No location activity yet today", "showarrow": False,
                    "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                    "font": {"size": 14, "color": "#6c757d"},
                    "bgcolor": "rgba(255,255,255,0.8)"}])}
    biggest = max(loc["spend"] for loc in locations) or 1.0
    priced = [loc for loc in locations if loc["cpa"] is not None]
    unpriced = [loc for loc in locations if loc["cpa"] is None]
    highest = max((loc["cpa"] for loc in priced), default=1.0)

    def bubbles(rows: list[dict], marker: dict, **trace) -> dict:
        """One trace of spend-sized bubbles; ``marker`` says how they are coloured."""
        return {
            "type": "scattergeo", "hoverinfo": "text",
            "lat": [loc["latitude"] for loc in rows], "lon": [loc["longitude"] for loc in rows],
            "text": [f"{loc['name']}<br>spend {fmt.money(loc['spend'], 2)}<br>conversions "
                     f"{fmt.count(loc['conversions'])}<br>CPA {fmt.money(loc['cpa'], 2)}"
                     for loc in rows],
            "marker": {"size": [8 + 32 * (loc["spend"] / biggest) ** 0.5 for loc in rows],
                       "line": {"width": 1, "color": "white"}, "opacity": 0.85, **marker},
            **trace,
        }

    data = []
    if unpriced:  # no conversions yet: no CPA to colour by, so grey, not "the worst CPA"
        data.append(bubbles(unpriced, {"color": "#adb5bd"}, name="No conversions yet",
                            showlegend=True))
    if priced:
        data.append(bubbles(priced, name="CPA", showlegend=False, marker={
            "color": [loc["cpa"] for loc in priced], "colorscale": _GEO_COLORSCALE,
            # Anchored at $0 so one location (or a narrow range) is not coloured as if its
            # CPA were extreme. Horizontal under the map: a phone has no room beside it.
            "cmin": 0, "cmax": highest,
            "colorbar": {"title": {"text": "CPA (USD)", "side": "top"}, "tickprefix": "$",
                         "orientation": "h", "y": -0.02, "yanchor": "top", "len": 0.8,
                         "thickness": 12}}))
    return {"data": data, "layout": _geo_layout(
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})}
