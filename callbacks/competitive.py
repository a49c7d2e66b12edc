"""Competitive view callbacks: thin; read the filter bar, call ``services.competitive`` through
the view's access check, build figures and tables. Competitor ids from the page (the feed
filter, remove buttons, the pending removal) are resolved inside the scope by the services."""

from __future__ import annotations

import datetime as dt

from dash import ALL, Dash, Input, Output, State, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from callbacks import filter_bar as filter_bar_callbacks
from callbacks.common import request_scope, sentence, service_context
from layouts import competitive as ids
from layouts import filter_bar
from layouts import format as fmt
from layouts.competitive import BAR, BRAND_COLOURS, OWN_COLOUR
from layouts.components import FROM_MD, FROM_SM, figure_layout, metric_header
from services import competitive, registry
from services.errors import ServiceError
from services.metrics import METRICS


def _raw(values: list) -> dict:
    return filter_bar.filter_values(values, BAR)


def _scope(raw: dict):
    return filter_bar_callbacks.ready_scope("competitive", raw)


def _error(error: ServiceError):
    return ids.message(sentence(error), "danger")


def _month(month: str | None) -> str:
    return competitive.label(month) if month else fmt.DASH


# --------------------------------------------------------------------------- header and URL


def update_header(*args):
    *values, _changed, current_search = args
    raw = _raw(values)
    scope = request_scope("competitive", raw["company"])
    params = {key: raw[key] for key in ("range", "start", "end", "compare") if raw.get(key)}
    search = filter_bar_callbacks.url_search(scope, params, current_search)
    problem = filter_bar.custom_range_problem(raw)
    if problem:
        return scope.company.name, problem, search, None
    try:
        described = competitive.resolve(service_context(), scope, raw)
        listed = competitive.list_competitors(service_context(), scope)
    except ServiceError as error:
        return scope.company.name, sentence(error), search, _error(error)
    period = described["period"]
    text = (f"{period['start']} to {period['end']} (months {_month(described['first_month'])}"
            f" to {_month(described['last_month'])}; charts from "
            f"{_month(described['trend_first_month'])}) · data through "
            f"{described['newest_day']}")
    note = None
    if not listed["count"]:
        note = ids.message("No competitors tracked yet: add them below (admins and marketing "
                           "managers) or with `campaign-dash competitor add`, then import "
                           "their monthly estimates.")
    return scope.company.name, text, search, note


# --------------------------------------------------------------------------- charts


def _colour(brand: dict, index: int) -> str:
    return OWN_COLOUR if brand["own"] else BRAND_COLOURS[index % len(BRAND_COLOURS)]


def _fill(colour: str) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.22)"


def band_traces(brand: dict, index: int, series: list[dict], unit: str,
                method: str = "") -> list[dict]:
    """A brand's figures over months: a line when every value is exact, else a band from
    low to high (never one line through an estimate)."""
    if not series:
        return []
    colour = _colour(brand, index)
    x = [s["month"] for s in series]
    name = brand["name"] + (" (you)" if brand["own"] else "")
    texts = [fmt.value_range(s, unit) + (" (month in progress)" if s.get("partial") else "")
             for s in series]
    hover = f"{name}<br>%{{x|%b %Y}}: %{{text}}<extra>{method[:60]}</extra>"
    if all(s["exact"] for s in series):
        return [{"type": "scatter", "mode": "lines+markers", "name": name, "x": x,
                 "y": [s["low"] for s in series], "text": texts, "hovertemplate": hover,
                 "line": {"color": colour, "width": 2.5}, "legendgroup": name}]
    return [
        {"type": "scatter", "mode": "lines", "x": x, "y": [s["low"] for s in series],
         "line": {"color": colour, "width": 0.8}, "showlegend": False, "hoverinfo": "skip",
         "legendgroup": name},
        {"type": "scatter", "mode": "lines", "name": f"{name} (range)", "x": x,
         "y": [s["high"] for s in series], "fill": "tonexty", "fillcolor": _fill(colour),
         "line": {"color": colour, "width": 0.8}, "text": texts, "hovertemplate": hover,
         "legendgroup": name},
    ]


def band_figure(brands: list[dict], unit: str, axis: str, empty: str,
                key: str = "series") -> dict:
    data = []
    for index, brand in enumerate(brands):
        data += band_traces(brand, index, brand[key], unit, brand.get("method", ""))
    if not data:
        return ids.empty_figure(empty)
    tick = {"USD": {"tickprefix": "$", "tickformat": ",.0f"},
            "%": {"ticksuffix": "%", "tickformat": ",.0f"}}.get(unit, {"tickformat": ",.0f"})
    return {"data": data, "layout": figure_layout(
        hovermode="closest", legend={"orientation": "h", "y": -0.18, "x": 0},
        xaxis={"title": {"text": "Month"}, "tickformat": "%b %Y"},
        yaxis={"title": {"text": axis}, "rangemode": "tozero", **tick})}


def share_table(result: dict):
    month = result["reference_month"]
    header = [html.Th("Brand"), metric_header("market_share", f"{_month(month)}"),
              html.Th("Change vs month before", className="text-end"),
              html.Th("Method and source", className=FROM_MD)]
    rows = []
    for brand in result["brands"]:
        change = brand["change_pp"]
        rows.append(html.Tr([
            html.Td(brand["name"] + (" (you)" if brand["own"] else "")),
            html.Td(fmt.value_range(brand["latest"], "%"), className="text-end cd-num"),
            html.Td(fmt.signed_change(change, "pp") if change is not None else fmt.DASH,
                    className="text-end cd-num",
                    title="change of the range's midpoint" if brand["latest"]
                    and not brand["latest"]["exact"] else None),
            html.Td(f"{brand['method']} ({brand['source']})", className=f"small {FROM_MD}")]))
    return html.Div([ids.table(header, rows), html.Small(
        "Changes of estimates are changes of the ranges' midpoints.",
        className="text-muted")])


def update_share(*args):
    *values, _changed = args
    scope = _scope(_raw(values))
    try:
        result = competitive.market_share(service_context(), scope, _raw(values))
    except ServiceError as error:
        return ids.empty_figure(sentence(error)), _error(error)
    if not result["has_data"]:
        return (ids.empty_figure("No market share estimates in this period"),
                ids.empty_state("No competitor estimates in this period.",
                                "Pick a longer range, or import the competitors' monthly "
                                "estimates."))
    return (band_figure(result["brands"], "%", "Market share (%)",
                        "No market share estimates in this period"), share_table(result))


def update_voice(*args):
    *values, _changed = args
    scope = _scope(_raw(values))
    try:
        result = competitive.share_of_voice(service_context(), scope, _raw(values))
    except ServiceError as error:
        return _error(error), [], None
    if not result["has_data"]:
        return (ids.empty_state("No share-of-voice volumes in this period.",
                                "Import mentions or branded searches per brand and "
                                "channel."), [], None)
    blocks = []
    for channel in result["channels"]:
        latest = next((d for d in channel["denominators"]
                       if d["month"] == result["reference_month"]), None)
        denominator = ""
        if latest:
            total = fmt.value_range({"low": latest["total_low"], "high": latest["total_high"]},
                                    "count")
            denominator = f"Denominator: {latest['text']} ({total} {latest['unit']} in all)"
        figure = band_figure(channel["brands"], "%", f"Share of voice on {channel['channel']}"
                             " (%)", "No volumes")
        blocks.append(html.Div([
            html.Div(channel["channel"], className="fw-semibold"),
            html.Small(f"Method: {channel['method']} ({channel['source']}). {denominator}.",
                       className="text-muted d-block"),
            ids.graph_static(f"competitive-voice-{channel['channel'].lower()}", figure, 280),
        ], className="mb-3"))
    options = [{"label": c["channel"], "value": c["channel"]} for c in result["channels"]]
    return blocks, options, options[0]["value"] if options else None


def update_spend(*args):
    *values, _changed = args
    scope = _scope(_raw(values))
    try:
        result = competitive.spend_estimates(service_context(), scope, _raw(values))
    except ServiceError as error:
        return ids.empty_figure(sentence(error)), _error(error)
    if not result["has_data"]:
        return ids.empty_figure("No spend estimates in this period"), None
    methods = {b["method"] + f" ({b['source']})" for b in result["brands"] if not b["own"]
               and b["method"]}
    own = next(b for b in result["brands"] if b["own"])
    note = html.Small([f"Competitors: {'; '.join(sorted(methods))}. ",
                       f"You: {own['method']} ({own['source']}), exact; a month in progress "
                       "is partial."], className="text-muted")
    return band_figure(result["brands"], "USD", "Ad spend a month (USD)",
                       "No spend estimates"), note


def position_figure(result: dict) -> dict:
    brands = [b for b in result["brands"] if b["share_of_voice"] and b["share_of_named_market"]]
    if not brands:
        return ids.empty_figure("Not enough data to place the brands")
    spends = [competitive.mid(b["ad_spend"]) or 0 for b in brands]
    biggest = max(spends) or 1
    data = []
    for index, brand in enumerate(brands):
        x, y = brand["share_of_named_market"], brand["share_of_voice"]
        colour = _colour(brand, index)
        name = brand["name"] + (" (you)" if brand["own"] else "")
        spend = competitive.mid(brand["ad_spend"]) or 0
        data.append({
            "type": "scatter", "mode": "markers", "name": name,
            "x": [competitive.mid(x)], "y": [competitive.mid(y)],
            "error_x": {"type": "data", "symmetric": False, "array": [x["high"] - mid(x)],
                        "arrayminus": [mid(x) - x["low"]], "color": colour},
            "error_y": {"type": "data", "symmetric": False, "array": [y["high"] - mid(y)],
                        "arrayminus": [mid(y) - y["low"]], "color": colour},
            "marker": {"color": colour, "opacity": 0.75, "size": 14 + 30 * (spend / biggest),
                       "line": {"color": "white", "width": 1}},
            "hovertemplate": f"{name}<br>share of voice {fmt.value_range(y, '%')}"
                             f"<br>share of market {fmt.value_range(x, '%')}"
                             f"<br>ad spend {fmt.value_range(brand['ad_spend'], 'USD')}"
                             "<extra></extra>"})
    top = max(max(b["share_of_voice"]["high"], b["share_of_named_market"]["high"])
              for b in brands) * 1.1
    data.append({"type": "scatter", "mode": "lines", "x": [0, top], "y": [0, top],
                 "name": "voice = share", "line": {"color": "#adb5bd", "dash": "dot"},
                 "hoverinfo": "skip"})
    return {"data": data, "layout": figure_layout(
        legend={"orientation": "h", "y": -0.25, "x": 0},
        xaxis={"title": {"text": "Share of the same brands' market (%)"},
               "range": [0, top], "ticksuffix": "%"},
        yaxis={"title": {"text": f"Share of voice on {result['channel']} (%)"},
               "range": [0, top], "ticksuffix": "%"})}


def mid(value: dict) -> float:
    return competitive.mid(value)


def update_position(*args):
    *values, channel, _changed = args
    scope = _scope(_raw(values))
    try:
        result = competitive.positioning(service_context(), scope, _raw(values), channel)
    except ServiceError as error:
        return ids.empty_figure(sentence(error)), _error(error)
    if not result["has_data"]:
        return ids.empty_figure("Not enough data to place the brands"), None
    items = [html.Li([html.Span(b["name"] + (" (you)" if b["own"] else ""),
                                className="fw-semibold"), ": ", b["quadrant_text"],
                      f" Over the quarter: {b['momentum']}." if b["momentum"] else ""])
             for b in result["brands"]]
    text = html.Div([
        html.Small(result["note"] + " Markers sit in the middle of each range; the bars "
                   "span it; size: estimated ad spend. " + (
                       "Denominator: " + result["denominator"]["text"] + "."
                       if result["denominator"] else ""), className="text-muted d-block"),
        html.Ul(items, className="small mb-0 mt-2 ps-3")])
    return position_figure(result), text


GAP_VERDICT = {"leads": ("You lead", "text-success"), "trails": ("You trail", "text-danger"),
               "level": ("Level (ranges overlap)", "text-primary"),
               "more": ("You spend more", "text-primary"),
               "less": ("You spend less", "text-primary"),
               "about the same": ("About the same", "text-primary"),
               "unknown": ("No data", "text-muted")}


def gaps_table(result: dict):
    if not result["has_data"]:
        return ids.empty_state("No competitor estimates in this period.",
                               "Pick a longer range, or import estimates.")
    header = [html.Th("Metric"), html.Th("Competitor"),
              html.Th("You", className=f"text-end {FROM_MD}"),
              html.Th("Them (estimate)", className=f"text-end {FROM_SM}"),
              html.Th("Gap (you − them)", className="text-end"), html.Th("Verdict")]
    rows = []
    for row in result["rows"]:
        verdict, colour = GAP_VERDICT[row["verdict"]]
        spec = METRICS[row["catalogue"]]
        rows.append(html.Tr([
            html.Td(row["label"], title=spec.definition, className="cd-defined"),
            html.Td(row["competitor"]),
            html.Td(fmt.value_range(row["own"], row["unit"]),
                    className=f"text-end cd-num {FROM_MD}"),
            html.Td(fmt.value_range(row["them"], row["unit"]),
                    className=f"text-end cd-num {FROM_SM}",
                    title=f"{row['method']} ({row['source']})"),
            html.Td(fmt.signed_range(row["gap"], row["unit"]), className="text-end cd-num"),
            html.Td(verdict, className=f"fw-semibold {colour}")]))
    return html.Div([html.Small(
        f"{_month(result['reference_month'])}, the period's last complete month; followers "
        f"growth since {_month(result['compared_from'])}. A verdict only when the whole range "
        "agrees; hover a competitor figure for its method and source.",
        className="text-muted d-block mb-2"), ids.table(header, rows)])


def _evidence(lines: list[str]):
    return html.Details([html.Summary("Evidence", className="small"),
                         html.Ul([html.Li(line) for line in lines],
                                 className="small text-muted mb-0 ps-3")])


def threat_list(result: dict):
    if not result["threats"]:
        return ids.empty_state("No competitor has estimates a quarter apart in this period.",
                               "Pick a longer range, or import more months.")
    items = []
    for threat in result["threats"]:
        colour = ids.LEVEL_COLOURS[threat["level"]]
        items.append(html.Div([
            html.Div([html.Span(f"#{threat['rank']}", className="text-muted me-2"),
                      html.Span(threat["level"].capitalize(),
                                className=f"badge text-bg-{colour} me-2"),
                      html.Span(threat["competitor"], className="fw-semibold")]),
            html.Div(threat["sentence"], className="small mt-1"),
            _evidence(threat["evidence"]),
        ], className=f"border-start border-4 border-{colour} ps-2 mb-3",
            id=f"competitive-threat-{threat['rank']}"))
    return html.Div([*items, html.Small("Score: " + result["score"] + ".",
                                        className="text-muted")])


def recommendation_list(result: dict):
    if not result["recommendations"]:
        return ids.empty_state("No recommendation: no threat or gap stands out in this "
                               "period.")
    return html.Ol([html.Li([html.Div(r["text"]), _evidence(r["evidence"])], className="mb-2")
                    for r in result["recommendations"]], className="ps-3 mb-0")


def update_threats(*args):
    *values, _changed = args
    scope = _scope(_raw(values))
    ctx = service_context()
    try:
        result = competitive.threats(ctx, scope, _raw(values))
    except ServiceError as error:
        return _error(error), None
    return threat_list(result), recommendation_list(result)


def update_gaps(*args):
    """The gap table, its own request beside the threats' (each answers in about half the
    time: together their warm p95 was 21 ms at 10 million events, over the 20 ms target)."""
    *values, _changed = args
    scope = _scope(_raw(values))
    try:
        gaps = competitive.gaps(service_context(), scope, _raw(values))
    except ServiceError as error:
        return _error(error)
    return gaps_table(gaps)


# --------------------------------------------------------------------------- updates feed


def _safe_url(url: str | None) -> str | None:
    """Only web links are drawn as links (an imported javascript: URL is not)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _recorded_lately(created_at: str, hours: int = 24) -> bool:
    """Recorded (imported or added) within the last day: marked New, as the alert rule
    "New competitor updates" counts them."""
    recorded = dt.datetime.fromisoformat(created_at)
    return dt.datetime.now(dt.timezone.utc) - recorded < dt.timedelta(hours=hours)


def feed_list(result: dict):
    rows = result["updates"]
    if not rows:
        return ids.empty_state("No competitor updates in this period for these filters.",
                               "Pick a longer range, or clear the competitor and kind.")
    items = []
    for row in rows:
        url = _safe_url(row["url"])
        source = row["source"] or "source"
        items.append(html.Li([
            html.Div([html.Span(row["observed_on"], className="text-muted me-2 cd-num"),
                      html.Span(ids.KIND_LABELS.get(row["kind"], row["kind"]),
                                className="badge text-bg-light border me-2"),
                      html.Span(row["competitor"], className="fw-semibold"),
                      html.Span("New", className="badge text-bg-primary ms-2")
                      if _recorded_lately(row["created_at"]) else None]),
            html.Div(row["summary"], className="small"),
            html.A(f"{source} ↗", href=url, target="_blank", rel="noopener noreferrer",
                   className="small") if url else html.Small(source, className="text-muted"),
        ], className="list-group-item"))
    more = (f"Newest {result['shown']:,} of {result['total']:,}: narrow the period or the "
            "filters to see older ones." if result["total"] > result["shown"]
            else f"{result['total']:,} updates, newest first.")
    return html.Div([html.Ul(items, className="list-group list-group-flush"),
                     html.Small(more, className="text-muted")])


def update_feed(*args):
    *values, competitor, kind, _changed = args
    scope = _scope(_raw(values))
    try:
        result = competitive.updates(service_context(), scope, _raw(values), competitor, kind)
    except ServiceError as error:
        return _error(error)
    return feed_list(result)


# --------------------------------------------------------------------------- competitor list


def competitor_table(listed: dict, can_manage: bool):
    if not listed["competitors"]:
        return ids.empty_state("No competitors tracked yet.")
    header = [html.Th("Competitor"), html.Th("Months", className="text-end"),
              html.Th("Updates", className=f"text-end {FROM_SM}"), html.Th("")]
    rows = []
    for c in listed["competitors"]:
        site = _safe_url(c["website"])
        rows.append(html.Tr([
            html.Td([html.Div(c["name"]), html.A(site.split("//", 1)[1], href=site,
                                                 target="_blank", rel="noopener noreferrer",
                                                 className="small") if site else None]),
            html.Td(fmt.count(c["months"]), className="text-end cd-num"),
            html.Td(fmt.count(c["updates"]), className=f"text-end cd-num {FROM_SM}"),
            html.Td(html.Button("Remove", id={"type": ids.REMOVE, "index": c["id"]},
                                n_clicks=0, className="btn btn-sm btn-outline-danger",
                                title=f"Remove {c['name']}") if can_manage else None)]))
    return ids.table(header, rows)


def update_competitors(company, _changed):
    scope = request_scope("competitive", company)
    try:
        listed = competitive.list_competitors(service_context(), scope)
    except ServiceError as error:
        return _error(error), no_update
    options = [{"label": "All competitors", "value": filter_bar.ALL}] + [
        {"label": c["name"], "value": str(c["id"])} for c in listed["competitors"]]
    can_manage = registry.can_take(scope.role, "manage_competitors")
    return competitor_table(listed, can_manage), options


def manage(add_clicks, remove_clicks, confirm_clicks, cancel_clicks, name, website, company,
           pending, changed):
    """Add a competitor, ask before removing one, remove it once confirmed. Every id is
    resolved inside the scope by the services (another company's id: a refusal)."""
    scope = request_scope("competitive", company)
    trigger = dash_ctx.triggered_id
    ctx = service_context()
    counter = (changed or 0) if isinstance(changed, int) else 0
    try:
        if trigger == ids.ADD:
            if not add_clicks:
                raise PreventUpdate
            made = competitive.add_competitor(ctx, scope, name, website)
            return (ids.message(f"Added {made['name']}: import its monthly estimates to see "
                                "it in the charts.", "success"), counter + 1, False, no_update,
                    None, "", "")
        if trigger == ids.CONFIRM_CANCEL:
            return (no_update, no_update, False, no_update, None, no_update, no_update)
        if trigger == ids.CONFIRM_REMOVE:
            if not confirm_clicks or not isinstance(pending, dict):
                raise PreventUpdate
            removed = competitive.remove_competitor(ctx, scope, pending.get("competitor_id"))
            return (ids.message(f"Removed {removed['name']} with {removed['estimates']:,} "
                                f"estimates and {removed['updates']:,} updates.", "success"),
                    counter + 1, False, no_update, None, no_update, no_update)
        if isinstance(trigger, dict) and trigger.get("type") == ids.REMOVE:
            if not dash_ctx.triggered or not dash_ctx.triggered[0].get("value"):
                raise PreventUpdate
            found = competitive.removal_preview(ctx, scope, trigger.get("index"))
            return (no_update, no_update, True,
                    f"Remove {found['name']} with its {found['months']:,} months of estimates "
                    f"and {found['updates']:,} updates? This cannot be undone.",
                    {"competitor_id": found["id"]}, no_update, no_update)
    except ServiceError as error:
        return (_error(error), no_update, False, no_update, None, no_update, no_update)
    raise PreventUpdate


def register(app: Dash) -> None:
    filter_bar_callbacks.register(app, BAR)
    changed = Input(ids.CHANGED, "data")
    app.callback(Output(ids.COMPANY_NAME, "children"), Output(ids.AS_OF, "children"),
                 Output(ids.URL, "search"), Output(ids.MESSAGE, "children"), *BAR.inputs(),
                 changed, State(ids.URL, "search"))(update_header)
    app.callback(Output(ids.SHARE_CHART, "figure"), Output(ids.SHARE_TABLE, "children"),
                 *BAR.inputs(), changed)(update_share)
    app.callback(Output(ids.VOICE, "children"), Output(ids.POSITION_CHANNEL, "options"),
                 Output(ids.POSITION_CHANNEL, "value"), *BAR.inputs(), changed)(update_voice)
    app.callback(Output(ids.SPEND_CHART, "figure"), Output(ids.SPEND_NOTE, "children"),
                 *BAR.inputs(), changed)(update_spend)
    app.callback(Output(ids.POSITION_CHART, "figure"), Output(ids.POSITION_TEXT, "children"),
                 *BAR.inputs(), Input(ids.POSITION_CHANNEL, "value"),
                 changed)(update_position)
    app.callback(Output(ids.THREATS, "children"), Output(ids.RECOMMENDATIONS, "children"),
                 *BAR.inputs(), changed)(update_threats)
    app.callback(Output(ids.GAPS, "children"), *BAR.inputs(), changed)(update_gaps)
    app.callback(Output(ids.FEED, "children"), *BAR.inputs(),
                 Input(ids.FEED_COMPETITOR, "value"), Input(ids.FEED_KIND, "value"),
                 changed)(update_feed)
    app.callback(Output(ids.COMPETITORS, "children"), Output(ids.FEED_COMPETITOR, "options"),
                 Input(BAR.company, "value"), changed)(update_competitors)
    app.callback(Output(ids.MANAGE_MESSAGE, "children"), Output(ids.CHANGED, "data"),
                 Output(ids.CONFIRM, "is_open"), Output(ids.CONFIRM_BODY, "children"),
                 Output(ids.PENDING_REMOVAL, "data"), Output(ids.NEW_NAME, "value"),
                 Output(ids.NEW_WEBSITE, "value"),
                 Input(ids.ADD, "n_clicks"), Input({"type": ids.REMOVE, "index": ALL},
                                                   "n_clicks"),
                 Input(ids.CONFIRM_REMOVE, "n_clicks"), Input(ids.CONFIRM_CANCEL, "n_clicks"),
                 State(ids.NEW_NAME, "value"), State(ids.NEW_WEBSITE, "value"),
                 State(BAR.company, "value"), State(ids.PENDING_REMOVAL, "data"),
                 State(ids.CHANGED, "data"), prevent_initial_call=True)(manage)
