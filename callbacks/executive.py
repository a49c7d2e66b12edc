"""Executive view callbacks: thin; read inputs, call services, build components and figures."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from callbacks import filter_bar as filter_bar_callbacks
from callbacks.common import request_scope, sentence, service_context
from layouts import components
from layouts import executive as ids
from layouts import format as fmt
from layouts.components import ALWAYS, FROM_LG, FROM_MD, FROM_SM, metric_header
from services.errors import ServiceError
from services.insights.benchmarks import peer_revenue_index
from services.insights.drivers import insight_drivers
from services.insights.events import add_event, list_events, remove_event, set_holiday_country
from services.insights.forecast import metric_forecast
from services.insights.sentences import company_insights
from services.kpis import executive_breakdowns, executive_kpis

SEVERITY_COLOUR = {"critical": "danger", "high": "warning", "medium": "info"}
KIND_LABEL = {"anomaly": "Anomaly", "trend_change": "Trend change", "benchmark": "Benchmark",
              "change": "Change", "segment": "Segment", "explained": "Explained"}
TIER_COLOUR = {"High ROI": "success", "Good ROI": "info", "Standard": "secondary"}
BLUE, GREEN, AMBER, RED, GREY = "#2c3e50", "#18bc9c", "#f39c12", "#e74c3c", "#95a5a6"
# The revenue chart's insights (its markers) are read beside its forecast, peers and events:
# both halves mostly wait on PostgreSQL and Redis, and on a cold cache one after the other
# took the chart past 100 ms for a year's range. Threads start on first use (after the fork).
_BESIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="revenue-chart")


def _inputs(range_name, start, end):
    """(range, start, end) for the services. A custom range still being picked (one date
    missing, or the start after the end) leaves every panel as it is (PreventUpdate); the
    KPI callback says what is missing, once (``custom_range_problem``)."""
    if range_name != "custom":
        return range_name, None, None
    if custom_range_problem(start, end):
        raise PreventUpdate
    return range_name, start, end


def custom_range_problem(start, end) -> str | None:
    if not start or not end:
        return "Pick both a start and an end date for the custom range."
    if str(start) > str(end):
        return "The start date is after the end date: pick them the other way round."
    return None


# --------------------------------------------------------------------------- KPI cards


def update_kpis(range_name, start, end, company_slug, segment, _refresh_clicks, compare,
                current_search, preferred=None):
    """KPI cards, header texts and the shareable URL for the chosen company and period."""
    ctx = service_context()
    if range_name == "custom" and custom_range_problem(start, end):
        # The header still names the company (a reversed range from a link left it blank).
        scope = request_scope("executive", company_slug)
        return (no_update, ids.notice(custom_range_problem(start, end)), scope.company.name,
                "pick a valid range", no_update)
    range_name, start, end = _inputs(range_name, start, end)
    custom = range_name == "custom"
    try:
        scope = request_scope("executive", company_slug)
        tenant = scope.company
        summary = executive_kpis(ctx, scope, range_name, start, end, segment, compare)
    except ServiceError as error:
        return [], ids.error_message(str(error)), fmt.DASH, fmt.DASH, no_update
    period = summary["period"]
    as_of = f"{period['start']} to {period['end']} · data through {summary['as_of']}"
    params = {"range": range_name or "30d"}
    if custom:
        params.update(start=start, end=end)
    if summary["segment"] != "all":
        params["segment"] = summary["segment"]
    if summary["compare"] != "previous":
        params["compare"] = summary["compare"]
    if scope.is_staff:
        params["company"] = tenant.slug
    search = "?" + urlencode(params)
    return (ids.kpi_cards(summary, preferred), None, tenant.name, as_of,
            search if search != current_search else no_update)


# --------------------------------------------------------------------------- revenue chart


# Figures are plain dicts: plotly's validated objects cost tens of milliseconds per figure,
# more than the cached data behind them. The white template is resolved once, here.
TEMPLATE = components.TEMPLATE


def _layout(**extra) -> dict:
    return {"template": TEMPLATE, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, **extra}


def revenue_figure(forecast: dict, insights: list[dict], benchmark: dict,
                   selected: dict | None, events: list[dict] = ()) -> dict:
    history, future = forecast["history"], forecast["forecast"]
    if not history:
        return ids.empty_figure(forecast.get("message") or "No revenue history yet")
    weeks = [h["week"] for h in history]
    values = [h["value"] for h in history]
    data = []
    shapes = []
    if future:
        band_x = [f["week"] for f in future]
        data.append({"type": "scatter", "x": band_x + band_x[::-1],
                     "y": [f["upper"] for f in future] + [f["lower"] for f in future][::-1],
                     "fill": "toself", "fillcolor": "rgba(52,152,219,0.18)",
                     "line": {"width": 0}, "hoverinfo": "skip",
                     "name": "95% prediction interval"})
    data.append({"type": "scatter", "x": weeks, "y": values, "mode": "lines",
                 "name": "Revenue (weekly)", "line": {"color": BLUE, "width": 2},
                 "hovertemplate": "Week of %{x|%d %b %Y}<br>$%{y:,.0f}<extra></extra>"})
    if future:
        data.append({"type": "scatter", "x": [weeks[-1]] + [f["week"] for f in future],
                     "y": [values[-1]] + [f["mean"] for f in future], "mode": "lines",
                     "name": "Forecast", "line": {"color": "#3498db", "dash": "dash", "width": 2},
                     "hovertemplate": "Week of %{x|%d %b %Y}<br>forecast $%{y:,.0f}"
                                      "<extra></extra>"})
    if benchmark.get("weeks"):
        by_week = {w["week"]: w["index"] for w in benchmark["weeks"]}
        xs = [w for w in weeks if w in by_week]
        peers = "Industry" if benchmark["scope"] == "industry" else "All companies"
        data.append({"type": "scatter", "x": xs, "y": [values[0] * by_week[w] for w in xs],
                     "mode": "lines",
                     "name": f"{peers} trend ({benchmark['peers']} peers, indexed)",
                     "line": {"color": GREY, "width": 1.5, "dash": "dot"},
                     "hovertemplate": "Peers' trend at your level<br>$%{y:,.0f}<extra></extra>"})
    # Insights that point at a date: anomalies and trend turns, on the revenue line.
    week_of = {}
    for week in weeks:
        start = dt.date.fromisoformat(week)
        for offset in range(7):
            week_of[(start + dt.timedelta(days=offset)).isoformat()] = week
    value_of = dict(zip(weeks, values, strict=True))
    for kind, symbol, colour, name in (("anomaly", "x", RED, "Anomaly"),
                                       ("trend_change", "diamond", AMBER, "Trend change")):
        points = [i for i in insights if i["kind"] == kind and i["evidence"].get("date")
                  in week_of]
        if points:
            data.append({"type": "scatter", "mode": "markers", "name": name,
                         "x": [week_of[i["evidence"]["date"]] for i in points],
                         "y": [value_of[week_of[i["evidence"]["date"]]] for i in points],
                         "marker": {"symbol": symbol, "size": 12, "color": colour,
                                    "line": {"width": 1, "color": "white"}},
                         "text": [i["text"] for i in points],
                         "hovertemplate": "%{text}<extra></extra>"})
    _event_markers(events, week_of, max((v for v in values if v is not None), default=0.0),
                   data, shapes)
    if isinstance(selected, dict) and selected.get("date") in week_of:
        week = week_of[selected["date"]]
        data.append({"type": "scatter", "x": [week], "y": [value_of[week]], "mode": "markers",
                     "name": "Selected insight", "hoverinfo": "skip",
                     "marker": {"size": 22, "color": "rgba(0,0,0,0)",
                                "line": {"width": 3, "color": RED}}})
        shapes.append({"type": "line", "x0": week, "x1": week, "xref": "x", "yref": "paper",
                       "y0": 0, "y1": 1, "line": {"color": RED, "width": 1, "dash": "dot"}})
    return {"data": data, "layout": _layout(
        hovermode="closest", shapes=shapes, legend={"orientation": "h", "y": -0.18, "x": 0},
        yaxis={"title": {"text": "Revenue per week (USD)"}, "tickprefix": "$",
               "tickformat": ",.0f", "rangemode": "tozero"},
        xaxis={"title": {"text": "Week"}})}


def _event_markers(events, week_of: dict, top: float, data: list, shapes: list) -> None:
    """The company's annotated events (issue #20) as dotted vertical lines at their week,
    with a marker on top that names them on hover."""
    shown = [e for e in events if e["start"] in week_of]
    if not shown:
        return
    for event in shown:
        week = week_of[event["start"]]
        shapes.append({"type": "line", "x0": week, "x1": week, "xref": "x", "yref": "paper",
                       "y0": 0, "y1": 1, "line": {"color": GREY, "width": 1, "dash": "dot"}})
    data.append({"type": "scatter", "mode": "markers", "name": "Company event",
                 "x": [week_of[e["start"]] for e in shown], "y": [top * 1.05] * len(shown),
                 "marker": {"symbol": "triangle-down", "size": 10, "color": GREY},
                 "text": [f"{e['kind'].capitalize()}: {e['title']} ({e['start']}"
                          + (f" to {e['end']})" if e["end"] != e["start"] else ")")
                          for e in shown],
                 "hovertemplate": "%{text}<extra></extra>"})


def backtest_text(forecast: dict):
    test = forecast.get("backtest")
    if not test:
        return forecast.get("message") or "Not enough history for a backtest."
    verdict = ("better than" if test["beats_seasonal_naive"] else "no better than")
    # Stored results from before issue #20 have no model choice.
    name = test.get("model_name") or forecast.get("model_name") or forecast["model"]
    others = [c for c in test.get("candidates", []) if c["model"] != "seasonal_naive"]
    if test.get("model") == "seasonal_naive" and others:
        best = min(others, key=lambda c: c["mape"])
        model = (f"model: {name} (no model tried beat it: the best, {best['name']}, missed by "
                 f"{best['mape']:.1f}%). ")
    elif test["beats_seasonal_naive"]:
        model = (f"model: {name}; beats same-week-last-year by "
                 f"{test['seasonal_naive_mape'] - test['mape']:.1f} points. ")
    else:
        model = f"model: {name}. "
    tried = "; ".join(f"{c['name']} {c['mape']:.1f}%" for c in test.get("candidates", []))
    return [
        html.Span("How far to trust it: ", className="fw-semibold"),
        html.Span(model),
        html.Span(f"Forecasting {test['horizon_weeks']} weeks ahead from {test['origins']} "
                  f"points in the past, it missed actual weekly revenue by "
                  f"{test['mape']:.1f}% on average, against {test['seasonal_naive_mape']:.1f}% "
                  f"for simply repeating the same week last year: {verdict} that simple "
                  "guess. "),
        html.Span(f"The shaded band should hold 95% of weeks and held "
                  f"{test['coverage'] * 100:.0f}% in those tests; it widens the further "
                  "ahead it looks, because uncertainty adds up week by week. ",
                  title=f"Models tried (MAPE): {tried or name}; error = mean absolute "
                        "percentage error of rolling-origin backtests; the lowest serves",
                  className="cd-defined"),
    ]


def update_revenue_chart(range_name, start, end, company_slug, segment, _refresh, horizon,
                         selected, _events_version=None):
    ctx = service_context()
    range_name, start, end = _inputs(range_name, start, end)
    try:
        scope = request_scope("executive", company_slug)
        insights_job = _BESIDE.submit(company_insights, ctx, scope, range_name, start, end,
                                      segment)
        forecast = metric_forecast(ctx, scope, "revenue", horizon or "3")
        benchmark = {}
        if forecast["history"]:
            benchmark = peer_revenue_index(ctx, scope, forecast["history"][0]["week"],
                                           (dt.date.fromisoformat(forecast["history"][-1]
                                                                  ["week"])
                                            + dt.timedelta(days=6)).isoformat())
        events = list_events(ctx, scope)["events"]  # the company's annotated days (#20)
        insights = insights_job.result()
    except ServiceError as error:
        return ids.empty_figure(str(error)), str(error)
    selected = selected if isinstance(selected, dict) else None  # a browser store
    return (revenue_figure(forecast, insights["insights"], benchmark, selected, events),
            backtest_text(forecast))


# --------------------------------------------------------------------------- insights


def _insight_item(insight: dict) -> list:
    evidence = insight["evidence"]
    where = " · ".join(x for x in (evidence.get("label"), evidence.get("channel"),
                                   evidence.get("date")) if x)
    return [
        html.Div([
            dbc.Badge(KIND_LABEL.get(insight["kind"], insight["kind"]),
                      color=SEVERITY_COLOUR.get(insight["severity"], "info"), className="me-2"),
            html.Span(where, className="text-muted"),
        ], className="mb-1"),
        html.Div(insight["text"]),
    ]


def update_insights(range_name, start, end, company_slug, segment, _refresh):
    ctx = service_context()
    range_name, start, end = _inputs(range_name, start, end)
    hidden = {"display": "none"}
    try:
        scope = request_scope("executive", company_slug)
        result = company_insights(ctx, scope, range_name, start, end, segment)
    except ServiceError as error:
        empty = [[] for _ in range(ids.MAX_INSIGHTS)]
        return (*empty, *[hidden] * ids.MAX_INSIGHTS, [html.Li(str(error))], None)
    insights = result["insights"]
    children, styles = [], []
    for rank in range(1, ids.MAX_INSIGHTS + 1):
        if rank <= len(insights):
            insight = insights[rank - 1]
            children.append(_insight_item(insight))
            styles.append({"cursor": "pointer"})
        else:
            children.append([])
            styles.append(hidden)
    if not insights:
        children[0] = "Nothing unusual in this period: no anomalies, trend changes or large " \
                      "gaps to peers."
        styles[0] = {}
    actions = [html.Li(action["text"]) for action in result["actions"]] or \
        [html.Li("No action needed for this period.", className="text-muted")]
    store = [{"rank": i["rank"], "kind": i["kind"], "evidence": i["evidence"]}
             for i in insights]
    return (*children, *styles, actions, store)


def select_insight(*args):
    """Clicking an insight selects it: its rank (the evidence panel looks it up on the
    server) and its date (marked on the revenue chart)."""
    request_scope("executive")
    store = args[-1]
    triggered = dash_ctx.triggered_id if dash_ctx.triggered else None
    ranks = {ids.insight_id(rank): rank for rank in range(1, ids.MAX_INSIGHTS + 1)}
    if not store or triggered not in ranks:
        raise PreventUpdate
    rank = ranks[triggered]
    for insight in store if isinstance(store, list) else []:
        if isinstance(insight, dict) and insight.get("rank") == rank:
            # Only the rank and a date go back: the store is browser data; the evidence shown
            # is looked up again on the server (``show_insight_detail``).
            date = (insight.get("evidence") or {}).get("date")
            try:
                date = dt.date.fromisoformat(str(date)).isoformat()
            except ValueError:
                date = None
            return {"rank": rank, "date": date}
    raise PreventUpdate


_EVIDENCE = (("value", "Value"), ("expected", "Expected"), ("benchmark", "Peers' median"),
             ("change_pct", "Change"), ("multiple", "Times the average"))


def insight_evidence(insight: dict) -> list:
    """The numbers behind an insight, in words and units."""
    evidence = insight["evidence"]
    unit = evidence.get("unit", "count")
    rows = []
    for key, label in _EVIDENCE:
        value = evidence.get(key)
        if value is None:
            continue
        text = (fmt.signed_percent(value) if key == "change_pct" else
                f"{value:,.2f}x" if key == "multiple" else fmt.by_unit(value, unit))
        if key == "expected" and evidence.get("expected_low") is not None:
            text += (f" (usual range {fmt.by_unit(evidence['expected_low'], unit)} to "
                     f"{fmt.by_unit(evidence['expected_high'], unit)})")
        rows.append(html.Li([html.Span(f"{label}: ", className="text-muted"), text]))
    if evidence.get("benchmark") is not None:
        peers = "industry" if evidence.get("benchmark_scope") == "industry" else "all"
        rows.append(html.Li(f"Peers: {evidence.get('peers')} companies ({peers}), "
                            "anonymous"))
    for key, label in (("channel", "Channel"), ("segment", "Segment"), ("date", "Date")):
        if evidence.get(key):
            rows.append(html.Li([html.Span(f"{label}: ", className="text-muted"),
                                 evidence[key]]))
    period = evidence.get("period") or {}
    if period.get("start"):
        rows.append(html.Li([html.Span("Period: ", className="text-muted"),
                             f"{period['start']} to {period['end']}"]))
    if evidence.get("related"):
        rows.append(html.Li([html.Span("Moved with it: ", className="text-muted"),
                             ", ".join(evidence["related"])]))
    note = ("Marked on the revenue chart by its date." if evidence.get("date") and
            evidence.get("metric") != "revenue" else None)
    return [html.Div(f"Evidence: {evidence.get('label', '')}", className="fw-semibold"),
            html.Ul(rows, className="mb-1 ps-3"),
            html.Div(note, className="text-muted") if note else None]


def show_insight_detail(selected, range_name, start, end, company_slug, segment, _refresh):
    """The selected insight's evidence, looked up on the server by its rank; cleared when a
    filter changes (the ranks then name other insights)."""
    ctx = service_context()
    scope = request_scope("executive", company_slug)
    if dash_ctx.triggered_id != ids.SELECTED:
        return None
    rank = selected.get("rank") if isinstance(selected, dict) else None
    if not isinstance(rank, int) or isinstance(rank, bool):
        return None
    range_name, start, end = _inputs(range_name, start, end)
    try:
        insights = company_insights(ctx, scope, range_name, start, end, segment)["insights"]
    except ServiceError:
        return None
    found = next((i for i in insights if i["rank"] == rank), None)
    return insight_evidence(found) if found else None


# --------------------------------------------------------------------------- drivers (#20)
MAX_BARS = 8  # groups drawn one by one; the rest are one "other" bar
DIMENSION_WORDS = {"channel": "channel", "campaign": "campaign", "segment": "segment",
                   "location": "location"}
UNIT_WORDS = {"USD": "USD", "%": "%", "x": "x", "count": "count"}


def _amount(value: float, unit: str, signed: bool = False) -> str:
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    size = abs(value)
    if unit == "USD":
        return f"{sign}${size:,.2f}" if size < 100 else f"{sign}${size:,.0f}"
    if unit == "%":
        return f"{sign}{size:,.2f} pp" if signed else f"{sign}{size:,.2f}%"
    if unit == "x":
        return f"{sign}{size:,.2f}x"
    return f"{sign}{size:,.0f}"


def waterfall_figure(result: dict) -> dict:
    """The change from the previous value to the current one as a horizontal waterfall
    (plotly's Waterfall): the previous value, each group's contribution (the largest
    ``MAX_BARS``; the rest as one bar), the current value. The contributions are the
    service's, so the bars add up exactly to the change the insight states."""
    if result.get("change") is None or not result.get("drivers"):
        return ids.empty_figure("Nothing to split: the metric is undefined in a period")
    unit, label = result["unit"], result["label"]
    rows = result["drivers"]
    shown, rest = rows[:MAX_BARS], rows[MAX_BARS:]
    per_day = result.get("per") == "day" and result.get("mix_total") is None
    previous = "Baseline" if result.get("per") == "day" else "Previous period"
    names = [f"{previous}"] + [_wrapped(r["group"]) for r in shown]
    values = [result["before"]] + [r["contribution"] for r in shown]
    measures = ["absolute"] + ["relative"] * len(shown)
    hover = [f"{previous}: {_amount(result['before'], unit)}"] + [
        f"{r['group']}: {_amount(r['contribution'], unit, True)}"
        + ("" if r.get("mix") is None else
           f" (mix {_amount(r['mix'], unit, True)}, rate {_amount(r['rate'], unit, True)})")
        for r in shown]
    if rest:
        names.append(f"{len(rest)} other {DIMENSION_WORDS[result['dimension']]}s")
        values.append(sum(r["contribution"] for r in rest))
        measures.append("relative")
        hover.append(f"{len(rest)} others together: {_amount(values[-1], unit, True)}")
    current = "This period" if result.get("per") != "day" else "Now"
    names.append(current)
    values.append(result["after"])
    measures.append("total")
    hover.append(f"{current}: {_amount(result['after'], unit)}")
    texts = [_amount(v, unit, measure == "relative") for v, measure in zip(values, measures,
                                                                           strict=True)]
    axis = f"{label} ({UNIT_WORDS.get(unit, unit)}{' per day' if per_day else ''})"
    figure = go.Figure(go.Waterfall(
        orientation="h", y=names, x=values, measure=measures, text=texts,
        textposition="auto", hovertext=hover, hoverinfo="text", cliponaxis=False,
        increasing={"marker": {"color": _colour(result, 1)}},
        decreasing={"marker": {"color": _colour(result, -1)}},
        totals={"marker": {"color": BLUE}},
        connector={"line": {"color": GREY, "width": 1}}))
    low = min(result["before"], result["after"])
    figure.update_layout(
        template=TEMPLATE, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
        xaxis={"title": {"text": axis}, "tickformat": ",",
               "tickprefix": "$" if unit == "USD" else "",
               "ticksuffix": "%" if unit == "%" else ("x" if unit == "x" else "")},
        yaxis={"title": {"text": f"Contribution by {DIMENSION_WORDS[result['dimension']]}"},
               "autorange": "reversed", "automargin": True})
    if low > 0:  # start the bars near the values, not at zero: the changes are what matter
        ends = [result["before"]]
        for value in values[1:-1]:
            ends.append(ends[-1] + value)
        span = max(ends + [result["after"]]) - min(ends + [result["after"]])
        figure.update_xaxes(range=[max(0.0, min(ends + [result["after"]]) - 0.6 * span
                                       - 1e-9), max(ends + [result["after"]]) + 0.3 * span
                                   + 1e-9])
    return figure.to_plotly_json()


def _wrapped(name: str) -> str:
    """A group's name on up to three short lines: long campaign names would otherwise take
    most of a phone's width from the bars."""
    lines = textwrap.wrap(name, 18)
    if len(lines) > 3:
        lines = lines[:2] + [textwrap.shorten(" ".join(lines[2:]), 18, placeholder="…")]
    return "<br>".join(lines) or "—"


def _colour(result: dict, direction: int) -> str:
    """Green for a move in the good direction, red against it, blue where neither is good
    (spend)."""
    from services.metrics import METRICS

    spec = METRICS.get(result["metric"])
    good = spec.good if spec else 0
    if not good:
        return "#3498db"
    return GREEN if good * direction > 0 else RED


def drivers_note(insight: dict, result: dict) -> list:
    """The sentence, the two periods compared and the biggest contributions in a table."""
    unit = result["unit"]
    before, after = result.get("period_before") or {}, result.get("period_after") or {}

    def days(period: dict) -> str:
        listed = period.get("days") or []
        if len(listed) > 2 and period.get("start"):
            return f"{len(listed)} days from {period['start']} to {period['end']}"
        return ", ".join(listed) or f"{period.get('start')} to {period.get('end')}"

    ratio = result.get("mix_total") is not None
    head = [html.Th("Group"), html.Th("Contribution", className="text-end")]
    if ratio:
        head += [html.Th("Mix", className="text-end"), html.Th("Rate", className="text-end")]
    rows = [html.Tr([html.Td(r["group"], style={"overflowWrap": "anywhere"}),
                     html.Td(_amount(r["contribution"], unit, True), className="text-end"),
                     *([html.Td(_amount(r["mix"], unit, True), className="text-end"),
                        html.Td(_amount(r["rate"], unit, True), className="text-end")]
                       if ratio else [])]) for r in result["drivers"][:5]]
    return [
        html.P(insight["text"], className="mb-2"),
        html.Div([html.Span("Compared: ", className="text-muted"),
                  f"{days(before)} (before) with {days(after)} (after)"
                  + (", as an average day" if result.get("per") == "day" else "") + "."],
                 className="mb-2"),
        dbc.Table([html.Thead(html.Tr(head)), html.Tbody(rows)], size="sm",
                  className="mb-1"),
        html.Div("Mix: the denominator moved between groups; rate: a group's own ratio "
                 "moved. The contributions add up exactly to the change."
                 if ratio else "Each group's own change; together exactly the change.",
                 className="text-muted"),
    ]


def show_drivers(selected, dimension, range_name, start, end, company_slug, segment):
    """The clicked insight's drivers as a waterfall, looked up on the server by its rank (the
    store is browser data); the dialog opens only for insights that split exactly."""
    ctx = service_context()
    scope = request_scope("executive", company_slug)
    rank = selected.get("rank") if isinstance(selected, dict) else None
    if not isinstance(rank, int) or isinstance(rank, bool):
        raise PreventUpdate
    range_name, start, end = _inputs(range_name, start, end)
    opened = dash_ctx.triggered_id == ids.SELECTED
    if dimension not in DIMENSION_WORDS:
        dimension = None
    try:
        insights = company_insights(ctx, scope, range_name, start, end, segment)["insights"]
        found = next((i for i in insights if i["rank"] == rank), None)
        if found is None or not found["evidence"].get("drivers"):
            return False, no_update, no_update, no_update, no_update
        result = insight_drivers(ctx, scope, found["id"], range_name, start, end,
                                 None if opened else dimension, segment)
    except ServiceError as error:
        return (True, "Why it moved", ids.empty_figure(sentence(error)),
                html.Div(sentence(error), className="text-danger"), no_update)
    label = found["evidence"].get("label") or "it"
    title = f"Why {label if any(c.isupper() for c in label[1:]) else label.lower()} moved"
    return (True, title, waterfall_figure(result), drivers_note(found, result),
            result["dimension"])


# --------------------------------------------------------------------------- events (#20)


def open_events(n_clicks):
    request_scope("executive")
    if not n_clicks:
        raise PreventUpdate
    return True


def update_events(is_open, _add, _removes, _save, company_slug, start, end, kind, title,
                  country, version):
    """List the company's events; add, remove and set the holiday country through the
    services, which check the role (``annotate_events``, ``set_holiday_country``) exactly as
    the API does: a hidden button is no check. Ids from the browser are looked up in the
    scope's company."""
    ctx = service_context()
    scope = request_scope("executive", company_slug)
    from services import registry

    triggered = dash_ctx.triggered_id
    clicked = bool(dash_ctx.triggered and dash_ctx.triggered[0].get("value"))
    message, changed, country_out = None, False, no_update
    try:
        if triggered == ids.EVENT_ADD and clicked:
            made = add_event(ctx, scope, start, end, kind, title)
            message = dbc.Alert(f"Added \u2018{made['title']}\u2019 ({made['start']}"
                                + ("" if made["end"] == made["start"] else
                                   f" to {made['end']}") + "). Insights are refitted within "
                                "a minute.", color="success", className="py-2 small")
            changed = True
        elif isinstance(triggered, dict) and triggered.get("type") == ids.EVENT_REMOVE \
                and clicked:
            removed = remove_event(ctx, scope, triggered.get("index"))
            message = dbc.Alert(f"Removed \u2018{removed['title']}\u2019.", color="success",
                                className="py-2 small")
            changed = True
        elif triggered == ids.HOLIDAY_SAVE and clicked:
            saved = set_holiday_country(ctx, scope, country)
            message = dbc.Alert(f"Holiday country set to {saved['holiday_country']}. "
                                "Insights are refitted within a minute.", color="success",
                                className="py-2 small")
            changed = True
    except ServiceError as error:
        message = dbc.Alert(sentence(error), color="danger", className="py-2 small")
    try:
        listed = list_events(ctx, scope)
    except ServiceError as error:
        return (html.Div(sentence(error), className="text-danger"), message, no_update,
                no_update)
    if triggered != ids.HOLIDAY_SAVE or changed:
        country_out = listed["holiday_country"]
    number = version if isinstance(version, int) and not isinstance(version, bool) else 0
    return (ids.events_table(listed["events"],
                             registry.can_take(scope.role, "annotate_events")),
            message, number + 1 if changed else no_update, country_out)


# --------------------------------------------------------------------------- breakdowns


def funnel_figure(funnel: list[dict], note: str | None) -> dict:
    """A linear funnel: each stage's bar is in proportion to the people in it (a log scale
    made 71 leads look like a third of 384,964 visitors); the counts and each step's rate are
    written beside the bars, so stages too small to see still read. Visitors on top."""
    if not funnel or not funnel[0]["value"]:
        return ids.empty_figure("No visitors in this period")
    stages = [step["stage"] for step in funnel]
    values = [step["value"] for step in funnel]
    texts = [f"{step['value']:,.0f}" + (
        "" if step["rate_pct"] is None else
        f" · {step['rate_pct']:.2f}% of {funnel[i - 1]['stage'].lower()}")
        for i, step in enumerate(funnel)]
    # Where each stage is counted, above the bars, wrapped to the narrowest (phone) width.
    lines = textwrap.wrap(note or "", 42)
    layout = _layout(margin={"l": 10, "r": 10, "t": 10 + 15 * len(lines), "b": 10},
                     showlegend=False, bargap=0.25,
                     yaxis={"title": {"text": ""}, "autorange": "reversed"},
                     # Room on the right for the labels of the longest bar.
                     xaxis={"title": {"text": "People (count)"}, "tickformat": ",",
                            "rangemode": "tozero", "range": [0, 1.6 * max(values)]})
    if lines:
        layout["annotations"] = [{"text": "<br>".join(lines), "xref": "paper", "yref": "paper",
                                  "x": 0, "y": 1, "yanchor": "bottom", "showarrow": False,
                                  "xanchor": "left", "align": "left",
                                  "font": {"size": 11, "color": "#6c757d"}}]
    return {"data": [{"type": "bar", "orientation": "h", "y": stages, "x": values,
                      "text": texts, "textposition": "outside", "cliponaxis": False,
                      "marker": {"color": [BLUE, "#3498db", GREEN, "#27ae60"]},
                      "hovertemplate": "%{y}: %{text}<extra></extra>"}],
            "layout": layout}


def _nice_step(span: float, ticks: int) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^n) covering ``span`` in ``ticks`` steps."""
    raw = max(span, 1e-9) / max(ticks, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(power * m for m in (1, 2, 2.5, 5, 10) if power * m >= raw)


def _shared_zero_axes(left_high: float, right_low: float, right_high: float,
                      ticks: int = 5) -> tuple[dict, dict]:
    """Two axes with round ticks whose zeros sit at the same height: the right one (which may
    go below zero) is cut into round steps, and the left one gets as many steps above and
    below zero, each of its own round size."""
    right = _nice_step(right_high - right_low, ticks)
    below = math.ceil(-right_low / right - 1e-9) if right_low < 0 else 0
    above = max(1, math.ceil(right_high / right - 1e-9))
    left = _nice_step(left_high, above)
    return ({"range": [-below * left, above * left], "dtick": left, "tick0": 0},
            {"range": [-below * right, above * right], "dtick": right, "tick0": 0})


def channels_figure(channels: list[dict]) -> dict:
    """ROAS (left axis) and ROI % (right axis) per channel; both axes put zero at the same
    height, so a negative ROI reads as below zero against both scales."""
    rows = [c for c in channels if c["roas"] is not None]
    if not rows:
        return ids.empty_figure("No ad spend in this period")
    names = [c["channel"] for c in rows]
    roi = [c["roi_pct"] for c in rows]
    roas_axis, roi_axis = _shared_zero_axes(1.15 * max(max(c["roas"] for c in rows), 0.1),
                                            min(0.0, 1.15 * min(roi)),
                                            1.15 * max(max(roi), 1.0))
    return {"data": [
        {"type": "bar", "x": names, "y": [c["roas"] for c in rows], "name": "ROAS (x)",
         "marker": {"color": BLUE}, "yaxis": "y", "offsetgroup": "roas",
         "text": [f"{c['roas']:.2f}x" for c in rows], "textposition": "outside",
         "hovertemplate": "%{x}<br>ROAS %{y:.2f}x<extra></extra>"},
        {"type": "bar", "x": names, "y": roi, "name": "ROI (%)", "marker": {"color": GREEN},
         "yaxis": "y2", "offsetgroup": "roi", "text": [f"{v:,.0f}%" for v in roi],
         "textposition": "outside",
         "hovertemplate": "%{x}<br>ROI %{y:,.0f}%<extra></extra>"},
    ], "layout": _layout(
        barmode="group", legend={"orientation": "h", "y": 1.12, "x": 0},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"title": {"text": "ROAS (revenue / spend, x)"}, "zeroline": True, **roas_axis},
        yaxis2={"title": {"text": "ROI (%)"}, "overlaying": "y", "side": "right",
                "showgrid": False, "zeroline": True, "ticksuffix": "%",
                "tickformat": ",", **roi_axis},
        xaxis={"title": {"text": "Channel"}})}


def campaigns_table(campaigns: list[dict], totals: dict | None = None):
    """The top campaigns, then "other campaigns" and "unattributed" rows and a total that
    equals the revenue and spend cards."""
    if not campaigns:
        return html.Div("No campaign activity in this period.", className="text-muted")
    # On a phone: campaign, revenue and ROAS; spend and ROI from sm, tier from md, channel
    # and segment from lg.
    header = html.Thead(html.Tr([
        html.Th("Campaign"), html.Th("Channel", className=FROM_LG),
        html.Th("Segment", className=FROM_LG),
        metric_header("spend", shown=FROM_SM), metric_header("revenue"),
        metric_header("roas"), metric_header("roi_pct", shown=FROM_SM),
        html.Th("Tier", title="High ROI from 100 %, Good ROI from 50 %, else Standard",
                className=f"cd-defined {FROM_MD}")]))

    def cells(c, tier):
        return [html.Td(fmt.money(c["spend"]), className=f"text-end {FROM_SM}"),
                html.Td(fmt.money(c["revenue"]), className=f"text-end {ALWAYS}"),
                html.Td(fmt.multiple(c["roas"]), className="text-end"),
                html.Td(fmt.percent(c.get("roi_pct"), 0), className=f"text-end {FROM_SM}"),
                html.Td(tier, className=FROM_MD)]

    rows = []
    for c in campaigns:
        part = c.get("row")  # "other" / "unattributed": not a campaign, no tier
        tier = fmt.DASH if part or not c["tier"] else \
            dbc.Badge(c["tier"], color=TIER_COLOUR[c["tier"]])
        rows.append(html.Tr([html.Td(c["campaign"]),
                             html.Td(c["channel"] or fmt.DASH, className=FROM_LG),
                             html.Td(c["segment"] or fmt.DASH, className=FROM_LG),
                             *cells(c, tier)],
                            className="text-muted fst-italic" if part else None))
    table = [header, html.Tbody(rows)]
    if totals:
        table.append(html.Tfoot(html.Tr([html.Th("Total"), html.Td(className=FROM_LG),
                                         html.Td(className=FROM_LG), *cells(totals, "")],
                                        className="fw-semibold")))
    return dbc.Table(table, hover=True, responsive=True, size="sm",
                     className="mb-0 align-middle")


def update_breakdowns(range_name, start, end, company_slug, segment, _refresh):
    ctx = service_context()
    range_name, start, end = _inputs(range_name, start, end)
    try:
        scope = request_scope("executive", company_slug)
        result = executive_breakdowns(ctx, scope, range_name, start, end, segment)
    except ServiceError as error:
        empty = ids.empty_figure(str(error))
        return empty, empty, html.Div(str(error), className="text-danger")
    return (funnel_figure(result["funnel"], result["funnel_note"]),
            channels_figure(result["channels"]),
            campaigns_table(result["campaigns"], result["totals"]))


# --------------------------------------------------------------------------- wiring

FILTERS = (Input(ids.RANGE, "value"), Input(ids.DATES, "start_date"),
           Input(ids.DATES, "end_date"), Input(ids.COMPANY, "value"),
           Input(ids.SEGMENT, "value"), Input(ids.REFRESH, "n_clicks"))


def register(app: Dash) -> None:
    app.callback(
        Output(ids.KPI_CARDS, "children"),
        Output(ids.MESSAGE, "children"),
        Output(ids.COMPANY_NAME, "children"),
        Output(ids.AS_OF, "children"),
        Output(ids.URL, "search"),
        *FILTERS,
        Input(ids.COMPARE, "value"),
        State(ids.URL, "search"),
        State(ids.KPI_PREFERENCE, "data"),
    )(update_kpis)
    filter_bar_callbacks.register(app, ids.BAR)  # picking dates selects the custom range
    app.callback(
        Output(ids.REVENUE_CHART, "figure"),
        Output(ids.BACKTEST, "children"),
        *FILTERS,
        Input(ids.HORIZON, "value"),
        Input(ids.SELECTED, "data"),
        Input(ids.EVENTS_VERSION, "data"),  # an event added or removed: marked at once
    )(update_revenue_chart)
    slots = range(1, ids.MAX_INSIGHTS + 1)
    app.callback(
        *[Output(ids.insight_id(rank), "children") for rank in slots],
        *[Output(ids.insight_id(rank), "style") for rank in slots],
        Output(ids.ACTIONS, "children"),
        Output(ids.INSIGHT_STORE, "data"),
        *FILTERS,
    )(update_insights)
    app.callback(
        Output(ids.SELECTED, "data"),
        *[Input(ids.insight_id(rank), "n_clicks") for rank in slots],
        State(ids.INSIGHT_STORE, "data"),
        prevent_initial_call=True,
    )(select_insight)
    app.callback(
        Output(ids.INSIGHT_DETAIL, "children"),
        Input(ids.SELECTED, "data"),
        *FILTERS,
    )(show_insight_detail)
    app.callback(
        Output(ids.EVENTS_MODAL, "is_open"),
        Input(ids.EVENTS_OPEN, "n_clicks"),
        prevent_initial_call=True,
    )(open_events)
    app.callback(
        Output(ids.EVENTS_LIST, "children"),
        Output(ids.EVENTS_MESSAGE, "children"),
        Output(ids.EVENTS_VERSION, "data"),
        Output(ids.HOLIDAY_COUNTRY, "value"),
        Input(ids.EVENTS_MODAL, "is_open"),
        Input(ids.EVENT_ADD, "n_clicks"),
        Input({"type": ids.EVENT_REMOVE, "index": ALL}, "n_clicks"),
        Input(ids.HOLIDAY_SAVE, "n_clicks"),
        State(ids.COMPANY, "value"),
        State(ids.EVENT_START, "date"),
        State(ids.EVENT_END, "date"),
        State(ids.EVENT_KIND, "value"),
        State(ids.EVENT_TITLE, "value"),
        State(ids.HOLIDAY_COUNTRY, "value"),
        State(ids.EVENTS_VERSION, "data"),
        prevent_initial_call=True,
    )(update_events)
    app.callback(
        Output(ids.DRIVERS_MODAL, "is_open"),
        Output(ids.DRIVERS_TITLE, "children"),
        Output(ids.DRIVERS_CHART, "figure"),
        Output(ids.DRIVERS_NOTE, "children"),
        Output(ids.DRIVERS_DIMENSION, "value"),
        Input(ids.SELECTED, "data"),
        Input(ids.DRIVERS_DIMENSION, "value"),
        *[State(f.component_id, f.component_property) for f in FILTERS[:5]],
        prevent_initial_call=True,
    )(show_drivers)
    app.callback(
        Output(ids.FUNNEL, "figure"),
        Output(ids.CHANNELS, "figure"),
        Output(ids.CAMPAIGNS, "children"),
        *FILTERS,
    )(update_breakdowns)
