"""Campaigns view callbacks: thin; read the filter bar and the explorer's filters, call
``services.campaigns`` through the view's access check, build the grid's pages, figures and
tables. A campaign id from the page (a clicked row) is resolved inside the scope by the
service; sort columns and filter values are checked there against what the period has."""

from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from callbacks import filter_bar as filter_bar_callbacks
from callbacks.common import request_scope, sentence, service_context
from layouts import campaigns as ids
from layouts import filter_bar
from layouts import format as fmt
from layouts.campaigns import BAR, BLUE, DIVERGING, GREEN, GREY, RED, SEQUENTIAL
from layouts.components import FROM_MD, FROM_SM, figure_layout, metric_header
from services import campaign_stats, campaigns
from services.errors import ServiceError
from services.metrics import METRICS

FILTER_NAMES = [name for name, _ in ids.EXPLORER_FILTERS]
N_FILTERS = len(FILTER_NAMES)


def _raw(values: list) -> dict:
    return filter_bar.filter_values(values, BAR)


def _scope(raw: dict):
    return filter_bar_callbacks.ready_scope("campaigns", raw)


def _explorer_raw(raw: dict, chosen: list) -> dict:
    out = {key: raw.get(key) for key in ("range", "start", "end")}
    for name, value in zip(FILTER_NAMES, chosen, strict=True):
        out[name] = value if isinstance(value, str) and value != filter_bar.ALL else None
    return out


def _error(error: ServiceError):
    return ids.message(sentence(error), "danger")


def _value(value, unit: str) -> str:
    return fmt.by_unit(value, unit)


# --------------------------------------------------------------------------- header and URL


def update_header(*args):
    values, chosen_values = list(args[:-N_FILTERS - 1]), list(args[-N_FILTERS - 1:-1])
    current_search = args[-1]
    raw = _raw(values)
    scope = request_scope("campaigns", raw["company"])
    params = {key: raw[key] for key in ("range", "start", "end") if raw.get(key)}
    params.update({name: value for name, value in zip(FILTER_NAMES, chosen_values, strict=True)
                   if isinstance(value, str) and value != filter_bar.ALL})
    search = filter_bar_callbacks.url_search(scope, params, current_search)
    problem = filter_bar.custom_range_problem(raw)
    if problem:
        return scope.company.name, problem, search, None
    try:
        resolved = campaigns.resolve(service_context(), scope, raw)
    except ServiceError as error:
        return scope.company.name, sentence(error), search, _error(error)
    period = resolved.period
    return (scope.company.name, f"{period.start} to {period.end} · data through "
                                f"{resolved.newest_day}", search, None)


# --------------------------------------------------------------------------- explorer


def _options(values: list[str], label: str) -> list[dict]:
    return [{"label": label, "value": filter_bar.ALL}, *({"label": v, "value": v}
                                                         for v in values)]


def update_explorer(*args):
    """Options of the explorer's filters, the summary of the filtered campaigns and a fresh
    grid (its row cache starts empty, so the pages follow the new filters). "Clear filters"
    sets every filter back to all."""
    values, chosen = list(args[:-N_FILTERS - 1]), list(args[-N_FILTERS - 1:-1])
    raw = _raw(values)
    scope = _scope(raw)
    if dash_ctx.triggered_id == ids.CLEAR:
        chosen = [filter_bar.ALL] * N_FILTERS
    ctx = service_context()
    try:
        offered = campaigns.explorer(ctx, scope, {**_explorer_raw(raw, [None] * N_FILTERS),
                                                  "limit": 0})["options"]
        # A value the period does not have (a shared link, a new period) falls back to all.
        chosen = [value if value in offered[name] else filter_bar.ALL
                  for name, value in zip(FILTER_NAMES, chosen, strict=True)]
        page = campaigns.explorer(ctx, scope, {**_explorer_raw(raw, chosen), "limit": 0})
    except ServiceError as error:
        return (no_update, _error(error), *[no_update] * N_FILTERS, *[no_update] * N_FILTERS)
    options = [_options(offered[name], label) for name, label in ids.EXPLORER_FILTERS]
    return (ids.grid(uuid.uuid4().hex[:8]), summary(page), *options, *chosen)


def summary(page: dict):
    totals = page["totals"]
    if not page["campaigns"]:
        return ids.empty_state("No campaign ran in this period.",
                               "Pick a longer range, or import campaigns "
                               "(`campaign-dash import`).")
    if not page["total"]:
        return ids.empty_state(f"None of the period's {page['campaigns']:,} campaigns match "
                               "these filters.", "Clear a filter to see more.")
    parts = [f"{page['total']:,} of {page['campaigns']:,} campaigns",
             f"spend {fmt.money(totals['spend'])}", f"revenue {fmt.money(totals['revenue'])}",
             f"ROAS {fmt.multiple(totals['roas'])}",
             f"conversion rate {fmt.percent(totals['conversion_rate'], 2)}"]
    return html.Div(" · ".join(parts), className="small mb-2", id="campaigns-summary-text")


def grid_row(row: dict) -> dict:
    """A campaign's row as the grid shows it (formatted: sorting happens on the server)."""
    out = {key: row[key] if row[key] is not None else fmt.DASH
           for key in ("campaign_id", "campaign", "channel", "goal", "segment", "location",
                       "language", "status", "tier")}
    out["campaign_id"] = str(row["campaign_id"])  # the grid's row id must be a string
    out["anomaly"] = row.get("anomaly")  # highlighted, the reason on hover
    if out["anomaly"]:
        out["campaign"] = f"⚠ {out['campaign']}"  # not by colour alone
    out["duration_days"] = (f"{row['duration_days']:,.0f} d" if row["duration_days"] is not None
                            else "open")
    for metric in ("spend", "impressions", "clicks", "ctr", "conversions", "conversion_rate",
                   "cpa", "revenue", "roas", "roi_pct"):
        unit = METRICS[metric].unit
        out[metric] = (fmt.money(row[metric], 2) if metric == "cpa"
                       else fmt.percent(row[metric], 2) if unit == "%" and metric != "roi_pct"
                       else _value(row[metric], unit))
    return out


def _sort(request: dict | None) -> dict:
    model = (request or {}).get("sortModel") or []
    if model and isinstance(model[0], dict):
        return {"sort": model[0].get("colId"), "order": model[0].get("sort")}
    return {}


def get_rows(request, *args):
    """One block of rows for the grid (infinite row model): the block's offset and size,
    the grid's sort, the bar's period and the explorer's filters."""
    if not isinstance(request, dict):
        raise PreventUpdate
    values, chosen = list(args[:-N_FILTERS]), list(args[-N_FILTERS:])
    raw = _raw(values)
    scope = _scope(raw)
    try:
        start = int(request.get("startRow") or 0)
        end = int(request.get("endRow") or start + ids.PAGE_ROWS)
    except (TypeError, ValueError):
        raise PreventUpdate from None
    try:
        page = campaigns.explorer(service_context(), scope, {
            **_explorer_raw(raw, chosen), **_sort(request), "offset": max(start, 0),
            "limit": max(0, min(end - start, campaigns.PAGE_MAX))})
    except ServiceError:
        return {"rowData": [], "rowCount": 0}
    return {"rowData": [grid_row(row) for row in page["rows"]], "rowCount": page["total"]}


def export_csv(n_clicks, request, *args):
    """Every filtered campaign as CSV (the same service as /api/v1/campaigns?format=csv)."""
    if not n_clicks:
        raise PreventUpdate
    values, chosen = list(args[:-N_FILTERS]), list(args[-N_FILTERS:])
    raw = _raw(values)
    scope = _scope(raw)
    try:
        text = campaigns.explorer_csv(service_context(), scope,
                                      {**_explorer_raw(raw, chosen), **_sort(request)})
    except ServiceError as error:
        return no_update, _error(error)
    name = f"campaigns-{scope.company.slug}.csv"
    return dcc.send_string(text, name, type="text/csv"), None


# --------------------------------------------------------------------------- one campaign


def trend_figure(detail: dict) -> dict:
    days = detail["daily"]
    if not days:
        return ids.empty_figure("No activity in this period")
    x = [d["day"] for d in days]
    return {"data": [
        {"type": "bar", "name": "Spend (USD)", "x": x, "y": [d["spend"] for d in days],
         "marker": {"color": GREY}, "hovertemplate": "%{x}: $%{y:,.2f}<extra>Spend</extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Revenue (USD)", "x": x,
         "y": [d["revenue"] for d in days], "line": {"color": GREEN},
         "hovertemplate": "%{x}: $%{y:,.2f}<extra>Revenue</extra>"},
    ] + _anomaly_marker(detail, days), "layout": figure_layout(
        barmode="overlay", legend={"orientation": "h", "y": -0.25, "x": 0},
        xaxis={"title": {"text": "Day"}},
        yaxis={"title": {"text": "USD"}, "tickprefix": "$", "tickformat": ",.0f",
               "rangemode": "tozero"})}


def _anomaly_marker(detail: dict, days: list[dict]) -> list[dict]:
    """The anomalous day, marked on its spend, with the reason on hover."""
    anomaly = detail.get("anomaly")
    day = next((d for d in days if anomaly and str(d["day"]) == anomaly["day"]), None)
    if day is None:
        return []
    return [{"type": "scatter", "mode": "markers", "name": "Anomaly", "x": [day["day"]],
             "y": [day["spend"]], "marker": {"color": RED, "size": 13, "symbol": "x"},
             "text": [anomaly["reason"]], "hovertemplate": "%{text}<extra>Anomaly</extra>"}]


def email_block(detail: dict):
    """The campaign's email funnel and its retailers, where it has any."""
    parts = []
    email = detail.get("email")
    if email:
        steps = " → ".join(f"{s['stage']} {fmt.count(s['count'])}" for s in email["funnel"])
        rates = [html.Span([html.Span(f"{r['label']} ", title=r["definition"],
                                      className="text-muted cd-defined"),
                            _value(r["value"], r["unit"])], className="me-3 d-inline-block")
                 for r in email["rates"]]
        parts += [html.H6("Email funnel", className="mt-3 mb-1"),
                  html.Div(steps, className="small", id="campaigns-detail-funnel"),
                  html.Div(rates, className="small mb-2")]
    retailers = detail.get("retailers") or []
    if retailers:
        header = [html.Th("Retailer"), html.Th("Region", className=FROM_SM),
                  html.Th("Sent", className="text-end"),
                  metric_header("click_rate", shown=FROM_SM),
                  html.Th("Conversions", className="text-end"),
                  html.Th("Revenue", className="text-end")]
        rows = [html.Tr([html.Td(r["retailer"] or fmt.DASH),
                         html.Td(r["region"] or fmt.DASH, className=FROM_SM),
                         html.Td(fmt.count(r["sent"]), className="text-end cd-num"),
                         html.Td(fmt.percent(r["click_rate"], 2),
                                 className=f"text-end cd-num {FROM_SM}"),
                         html.Td(fmt.count(r["conversions"]), className="text-end cd-num"),
                         html.Td(fmt.money(r["revenue"]), className="text-end cd-num")])
                for r in retailers[:10]]
        more = (f" (top 10 of {len(retailers):,} by revenue)" if len(retailers) > 10 else "")
        parts += [html.H6(f"Retailers{more}", className="mt-3 mb-1"), ids.table(header, rows)]
    return parts


def _shown(name: str | None) -> str:
    return fmt.DASH if name in (None, campaign_stats.UNSET) else name


def detail_body(detail: dict):
    row = detail["campaign"]
    if not detail["active"]:
        return ids.empty_state("This campaign has no activity in the period.",
                               "Pick a longer range.")
    facts = [("Channel", row["channel"]), ("Segment", _shown(row["segment"])),
             ("Goal", row["goal"]), ("Location", _shown(row["location"])),
             ("Language", row["language"]),
             ("Runs", f"{row['start_date']} to {row['end_date'] or 'open'}"),
             ("Status", row["status"]), ("Tier", row["tier"] or fmt.DASH)]
    header = [html.Th("Metric"), html.Th("This campaign", className="text-end"),
              html.Th(f"Its channel ({detail['channel_campaigns']:,})", className="text-end"),
              html.Th(f"Its segment ({detail['segment_campaigns']:,})",
                      className=f"text-end {FROM_SM}"),
              html.Th("Company", className=f"text-end {FROM_MD}")]
    rows = []
    for entry in detail["compare"]:
        mine, channel = entry["campaign"], entry["channel"]
        colour = ""
        if mine is not None and channel is not None and entry["good"] and mine != channel:
            colour = "text-success" if (mine - channel) * entry["good"] > 0 else "text-danger"
        rows.append(html.Tr([
            html.Td(entry["label"], title=entry["definition"], className="cd-defined"),
            html.Td(_value(mine, entry["unit"]), className=f"text-end cd-num fw-semibold "
                                                           f"{colour}"),
            html.Td(_value(channel, entry["unit"]), className="text-end cd-num"),
            html.Td(_value(entry["segment"], entry["unit"]),
                    className=f"text-end cd-num {FROM_SM}"),
            html.Td(_value(entry["company"], entry["unit"]),
                    className=f"text-end cd-num {FROM_MD}")]))
    return html.Div([
        html.Div([html.Span([html.Span(f"{k}: ", className="text-muted"), v],
                            className="me-3 d-inline-block") for k, v in facts],
                 className="small mb-2"),
        *([html.Div([html.Strong("Anomaly: "), detail["anomaly"]["reason"]],
                    className="alert alert-danger py-2 small", id="campaigns-detail-anomaly")]
          if detail.get("anomaly") else []),
        html.Div([f"Spend {fmt.money(row['spend'])} · revenue {fmt.money(row['revenue'])} · "
                  f"{fmt.count(row['conversions'])} conversions from "
                  f"{fmt.count(row['clicks'])} clicks"], className="mb-2"),
        dcc.Graph(figure=trend_figure(detail), config=ids.GRAPH_CONFIG,
                  style={"height": "280px"}, id="campaigns-detail-trend"),
        html.Small("Against its channel's and segment's campaigns over the same period "
                   "(ratios of their sums). Green: better than its channel; red: worse.",
                   className="text-muted d-block mt-2 mb-1"),
        ids.table(header, rows), *email_block(detail)])


def open_detail(cell, _close, *values):
    if dash_ctx.triggered_id == ids.DETAIL_CLOSE:
        request_scope("campaigns")
        return False, no_update, no_update
    if not isinstance(cell, dict) or cell.get("rowId") in (None, ""):
        raise PreventUpdate
    raw = _raw(list(values))
    scope = _scope(raw)
    try:
        detail = campaigns.campaign_detail(service_context(), scope, raw, cell.get("rowId"))
    except ServiceError as error:
        return True, "Campaign", _error(error)
    return True, detail["campaign"]["campaign"], detail_body(detail)


# --------------------------------------------------------------------------- segments


def segments_figure(result: dict) -> dict:
    """Segment x metric: each cell's value, coloured by how far it is from the industry
    average of that segment (good direction up: green better, red worse); a cell without at
    least 3 peers is grey and says so."""
    rows = result["segments"]
    if not rows:
        return ids.empty_figure("No campaign with a segment in this period")
    metrics = result["metrics"]
    z, grey, text, hover = [], [], [], []
    for row in rows:
        z_row, grey_row, text_row, hover_row = [], [], [], []
        for spec in metrics:
            cell = row["cells"][spec["metric"]]
            value = _value(cell["value"], spec["unit"])
            if cell["difference_pct"] is None:
                z_row.append(None)
                grey_row.append(0)
                text_row.append(value)
                why = cell["status"] if cell["average"] is None else "no value"
                hover_row.append(f"{row['segment']} · {spec['label']}: {value}<br>"
                                 f"Industry: {why} ({cell['peers']} other companies)")
                continue
            signed = cell["difference_pct"] * (spec["good"] or 1)
            z_row.append(max(-100.0, min(100.0, signed)))
            grey_row.append(None)
            text_row.append(f"{value}<br>{cell['difference_pct']:+.0f}%")
            hover_row.append(f"{row['segment']} · {spec['label']}: {value}<br>Industry "
                             f"average of {cell['peers']} companies: "
                             f"{_value(cell['average'], spec['unit'])} "
                             f"({cell['difference_pct']:+.1f} %)")
        z.append(z_row)
        grey.append(grey_row)
        text.append(text_row)
        hover.append(hover_row)
    labels = [("★ " if row["best"] else "") + row["segment"] for row in rows]
    x = [m["label"] for m in metrics]
    common = {"x": x, "y": labels, "text": text, "texttemplate": "%{text}",
              "customdata": hover, "hovertemplate": "%{customdata}<extra></extra>",
              "xgap": 2, "ygap": 2}
    data = [{"type": "heatmap", "z": grey, **common, "showscale": False, "zmin": 0, "zmax": 1,
             "colorscale": [[0, "#e9ecef"], [1, "#e9ecef"]]}]
    if any(v is not None for row in z for v in row):
        data.append({"type": "heatmap", "z": z, **common, "colorscale": DIVERGING,
                     "zmin": -50, "zmax": 50,
                     "colorbar": {"title": {"text": "vs industry<br>(better %)"},
                                  "ticksuffix": "%", "thickness": 10}})
    return {"data": data, "layout": figure_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis={"side": "bottom", "title": {"text": "Metric"}},
        yaxis={"automargin": True, "autorange": "reversed", "title": {"text": "Segment"}})}


def segments_note(result: dict):
    withheld = [r["segment"] for r in result["segments"]
                if all(c["average"] is None for c in r["cells"].values())]
    if not withheld:
        return None
    return html.Small(f"Grey: fewer than {result['min_peers']} other companies of your "
                      f"industry target {', '.join(withheld)} in this period, so no "
                      "benchmark is shown (one or two companies' figures would be theirs).",
                      className="text-muted d-block")


def best_block(best: dict | None, noun: str):
    if best is None:
        return html.Small(f"No {noun} has enough clicks (at least {campaigns.MIN_CLICKS}) to "
                          "be called the best in this period.", className="text-muted")
    return html.Div([html.Div(best["sentence"], className="fw-semibold"),
                     html.Details([html.Summary("Evidence", className="small"),
                                   html.Ul([html.Li(e) for e in best["evidence"]],
                                           className="small text-muted mb-0 ps-3")])],
                    className="border-start border-4 border-success ps-2 mb-2")


def update_segments(*values):
    raw = _raw(list(values))
    scope = _scope(raw)
    try:
        result = campaigns.segments(service_context(), scope, raw)
    except ServiceError as error:
        return ids.empty_figure(sentence(error)), _error(error)
    return segments_figure(result), html.Div([best_block(result["best"], "segment"),
                                              segments_note(result)])


# --------------------------------------------------------------------------- channels


def channels_figure(result: dict, metric: str) -> dict:
    rows = [r for r in result["channels"] if r["cells"][metric]["value"] is not None]
    if not rows:
        return ids.empty_figure("No channel activity in this period")
    spec = METRICS[metric]
    names = [("★ " if r["best"] else "") + r["channel"] for r in rows]
    own = [r["cells"][metric]["value"] for r in rows]
    peers = [r["cells"][metric]["average"] for r in rows]
    hover_peer = [f"{r['cells'][metric]['peers']} other companies" if r["cells"][metric][
        "average"] is not None else r["cells"][metric]["status"] for r in rows]
    suffix = {"%": "%"}.get(spec.unit, "")
    prefix = "$" if spec.unit == "USD" else ""
    return {"data": [
        {"type": "bar", "name": "Your company", "x": names, "y": own,
         "marker": {"color": [GREEN if r["best"] else BLUE for r in rows]},
         "hovertemplate": f"%{{x}}: {prefix}%{{y:,.2f}}{suffix}<extra>You</extra>"},
        {"type": "bar", "name": "Global average", "x": names, "y": peers,
         "marker": {"color": GREY}, "customdata": hover_peer,
         "hovertemplate": f"%{{x}}: {prefix}%{{y:,.2f}}{suffix}<br>%{{customdata}}"
                          "<extra>Global</extra>"},
    ], "layout": figure_layout(
        barmode="group", legend={"orientation": "h", "y": -0.3, "x": 0},
        xaxis={"title": {"text": "Channel"}},
        yaxis={"title": {"text": f"{spec.label} ({spec.unit})"}, "rangemode": "tozero",
               "ticksuffix": suffix, "tickprefix": prefix})}


def update_channels(*args):
    *values, metric = args
    raw = _raw(list(values))
    scope = _scope(raw)
    metric = metric if metric in campaigns.CHANNEL_METRICS else "conversion_rate"
    try:
        result = campaigns.channels(service_context(), scope, raw)
    except ServiceError as error:
        return ids.empty_figure(sentence(error)), _error(error)
    withheld = sorted(r["channel"] for r in result["channels"]
                      if r["cells"][metric]["average"] is None)
    note = [best_block(result["best"], "channel")]
    if withheld:
        note.append(html.Small(f"No global average for {', '.join(withheld)}: fewer than "
                               f"{result['min_peers']} other companies use it in this period.",
                               className="text-muted d-block"))
    note.append(html.Small(METRICS[metric].definition + " The global average is the mean of "
                           "other companies' own figures.", className="text-muted d-block"))
    return channels_figure(result, metric), html.Div(note)


# --------------------------------------------------------------------------- goal x segment


def matrix_figure(result: dict) -> dict:
    if not result["cells"]:
        return ids.empty_figure("No campaigns in this period")
    goals, segments = result["goals"], result["segments"]
    cells = {(c["goal"], c["segment"]): c for c in result["cells"]}
    unit = result["unit"]
    z, text, hover = [], [], []
    for goal in goals:
        z_row, text_row, hover_row = [], [], []
        for segment in segments:
            cell = cells.get((goal, segment))
            value = cell["value"] if cell else None
            z_row.append(value)
            shown = _value(value, unit)
            n = cell["campaigns"] if cell else 0
            text_row.append(f"{shown}<br>n={n}")
            hover_row.append(f"{goal} × {segment}: {shown} over {n} campaign"
                             f"{'s' if n != 1 else ''}"
                             + (f", spend {fmt.money(cell['spend'])}" if cell else ""))
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
    return {"data": [{"type": "heatmap", "z": z, "x": segments, "y": goals, "text": text,
                      "texttemplate": "%{text}", "customdata": hover,
                      "hovertemplate": "%{customdata}<extra></extra>",
                      # Darker is better; the values are written in the cells (no scale).
                      "colorscale": SEQUENTIAL if METRICS[result["metric"]].good >= 0
                      else SEQUENTIAL[::-1], "xgap": 2, "ygap": 2, "showscale": False}],
            "layout": figure_layout(margin={"l": 10, "r": 10, "t": 10, "b": 40},
                                    xaxis={"title": {"text": "Segment"}, "automargin": True},
                                    yaxis={"title": {"text": "Goal"}, "automargin": True})}


def update_matrix(*args):
    *values, metric = args
    raw = _raw(list(values))
    scope = _scope(raw)
    try:
        result = campaigns.performance_matrix(service_context(), scope, raw, metric)
    except ServiceError as error:
        return ids.empty_figure(sentence(error))
    return matrix_figure(result)


# --------------------------------------------------------------------------- top and bottom


def rank_table(result: dict):
    by, metric, unit = result["by"], result["metric"], result["unit"]
    if not result["top"]:
        return ids.empty_state(f"No {by} spent at least {fmt.money(result['min_spend'])} "
                               "in this period.", "Lower the minimum spend or pick a longer "
                                                  "range.")
    name_key = "campaign" if by == "campaign" else by

    def rows(items, colour):
        return [html.Tr([
            html.Td(item[name_key] + (f" ({item['channel']}, {item['segment']})"
                                      if by == "campaign" else ""), className="small"),
            html.Td(_value(item[metric], unit), className=f"text-end cd-num {colour}"),
            html.Td(fmt.money(item["spend"]), className=f"text-end cd-num {FROM_SM}")])
            for item in items]

    header = [html.Th(by.capitalize()), metric_header(metric),
              metric_header("spend", shown=FROM_SM)]
    body = ([html.Tr(html.Td("Top", colSpan=3, className="fw-semibold text-success"))]
            + rows(result["top"], "text-success")
            + ([html.Tr(html.Td("Bottom", colSpan=3, className="fw-semibold text-danger"))]
               + rows(result["bottom"], "text-danger") if result["bottom"] else []))
    return html.Div([
        html.Small(f"{result['eligible']:,} of {result['all']:,} {by}s spent at least "
                   f"{fmt.money(result['min_spend'])} and are ranked.",
                   className="text-muted d-block mb-2"),
        ids.table(header, body)])


def update_rank(*args):
    *values, by, metric, min_spend = args
    raw = _raw(list(values))
    scope = _scope(raw)
    try:
        result = campaigns.top_bottom(service_context(), scope, raw, metric, by, min_spend)
    except ServiceError as error:
        return _error(error)
    return rank_table(result)


# --------------------------------------------------------------------------- history models


def duration_figure(result: dict) -> dict:
    bands = result["bands"]
    if not bands:
        return ids.empty_figure("No campaigns in the history yet")
    x = [b["duration_band"] for b in bands]
    return {"data": [
        {"type": "bar", "name": "ROAS (x)", "x": x, "y": [b["roas"] for b in bands],
         "marker": {"color": BLUE}, "text": [f"n={b['campaigns']:,}" for b in bands],
         "textposition": "outside",
         "hovertemplate": "%{x}: ROAS %{y:.2f}x over %{text}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Conversion rate (%)", "x": x,
         "y": [b["conversion_rate"] for b in bands], "yaxis": "y2",
         "line": {"color": GREEN}, "hovertemplate": "%{x}: %{y:.2f}%<extra></extra>"},
    ], "layout": figure_layout(
        legend={"orientation": "h", "y": 1.15, "x": 0}, margin={"l": 10, "r": 10, "t": 30,
                                                               "b": 10},
        xaxis={"title": {"text": "Campaign length"}},
        yaxis={"title": {"text": "ROAS (x)"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "Conversion rate (%)"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "ticksuffix": "%", "tickformat": ",.1f",
                "showgrid": False})}


def duration_table(result: dict):
    rows = []
    for dimension in ("channel", "segment"):
        for entry in result[f"by_{dimension}"]:
            best = entry["best"]
            rows.append(html.Tr([
                html.Td(entry[dimension]),
                html.Td(best["duration_band"] if best else fmt.DASH),
                html.Td(fmt.multiple(best["roas"]) if best else fmt.DASH,
                        className="text-end cd-num"),
                html.Td(f"{best['campaigns']:,} of {entry['campaigns']:,}" if best
                        else f"— of {entry['campaigns']:,}",
                        className=f"text-end cd-num {FROM_SM}")]))
    header = [html.Th("Channel / segment"), html.Th("Best length"), metric_header("roas"),
              html.Th("Campaigns", className=f"text-end {FROM_SM}")]
    return html.Div([
        html.Small(f"Best length by ROAS among lengths with at least "
                   f"{campaigns.MIN_BAND_CAMPAIGNS} campaigns.",
                   className="text-muted d-block mt-2 mb-1"),
        html.Div(ids.table(header, rows), style={"maxHeight": "260px", "overflowY": "auto"})])


def update_duration(company):
    scope = request_scope("campaigns", company)
    try:
        result = campaigns.campaign_duration(service_context(), scope)
    except ServiceError as error:
        return ids.empty_figure(sentence(error)), _error(error)
    return duration_figure(result), duration_table(result)


def cluster_list(result: dict):
    if not result["clusters"]:
        return ids.empty_state("Too few campaigns, or too few different combinations, to "
                               "group (at least 10 campaigns are needed).")
    company = result["overall"]
    silhouette = result["silhouette"]
    quality = ("clear groups" if silhouette >= 0.5 else "loose groups" if silhouette >= 0.25
               else "weak structure: the groups overlap, read them as tendencies")
    items = []
    for cluster in result["clusters"]:
        roas_vs = cluster["roas_vs_company"]["difference_pct"]
        rate_vs = cluster["conversion_rate_vs_company"]["difference_pct"]
        colour = ("success" if roas_vs is not None and roas_vs > 5 else "danger"
                  if roas_vs is not None and roas_vs < -5 else "info")
        items.append(html.Div([
            html.Div([html.Span(f"#{cluster['rank']}", className="text-muted me-2"),
                      html.Span(f"{cluster['size']:,} campaigns ({cluster['share']:.0%})",
                                className="fw-semibold")]),
            html.Div(cluster["description"][:1].upper() + cluster["description"][1:] + ".",
                     className="small"),
            html.Div([
                f"ROAS {fmt.multiple(cluster['roas'])} (company {fmt.multiple(company['roas'])}"
                f"{'' if roas_vs is None else f', {roas_vs:+.0f} %'}) · conversion rate "
                f"{fmt.percent(cluster['conversion_rate'], 2)} (company "
                f"{fmt.percent(company['conversion_rate'], 2)}"
                f"{'' if rate_vs is None else f', {rate_vs:+.0f} %'})"],
                className="small text-muted"),
        ], className=f"border-start border-4 border-{colour} ps-2 mb-2",
            id=f"campaigns-cluster-{cluster['rank']}"))
    return html.Div([
        html.Small(f"{result['k']} clusters of {result['campaigns']:,} campaigns · silhouette "
                   f"{silhouette:.2f} ({quality}) · {result['algorithm']} (seed "
                   f"{result['seed']}).", className="text-muted d-block mb-2"),
        html.Div(items, style={"maxHeight": "420px", "overflowY": "auto"})])


def update_clusters(company):
    scope = request_scope("campaigns", company)
    try:
        result = campaigns.campaign_clusters(service_context(), scope)
    except ServiceError as error:
        return _error(error)
    return cluster_list(result)


FORECAST_SHOWN = 6  # small multiples drawn; the smaller groups are named below them


def forecast_figure(group: dict, label: str, unit: str) -> dict:
    """One group's weekly history, its forecast and the 95 % band around it."""
    history, ahead = group["history"], group["forecast"]
    money = unit == "USD"
    hover = "%{x}: $%{y:,.0f}" if money else "%{x}: %{y:,.0f}"
    data = [{"type": "scatter", "mode": "lines", "name": "Actual",
             "x": [h["week"] for h in history], "y": [h["value"] for h in history],
             "line": {"color": BLUE}, "hovertemplate": hover + "<extra>Actual</extra>"}]
    if ahead:
        weeks = [f["week"] for f in ahead]
        data += [
            {"type": "scatter", "mode": "lines", "x": weeks, "y": [f["upper"] for f in ahead],
             "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines", "name": "95 % band", "x": weeks,
             "y": [f["lower"] for f in ahead], "fill": "tonexty", "line": {"width": 0},
             "fillcolor": "rgba(52,152,219,0.2)", "hoverinfo": "skip"},
            {"type": "scatter", "mode": "lines", "name": "Forecast", "x": weeks,
             "y": [f["mean"] for f in ahead], "line": {"color": BLUE, "dash": "dash"},
             "hovertemplate": hover + "<extra>Forecast</extra>"}]
    return {"data": data, "layout": figure_layout(
        showlegend=False, margin={"l": 55, "r": 10, "t": 10, "b": 40},
        xaxis={"title": {"text": "Week"}},
        yaxis={"title": {"text": f"{label} ({'USD' if money else unit})"},
               "tickprefix": "$" if money else "", "tickformat": "~s", "rangemode": "tozero"})}


def forecast_cards(result: dict):
    groups = result["groups"]
    if not groups:
        return ids.empty_state("No history to forecast from yet.",
                               "Forecasts need 26 complete weeks of activity.")
    cards = []
    for group in groups[:FORECAST_SHOWN]:
        error = (group["backtest"] or {}).get("mape")
        trust = (f"{group['model_name']}; backtest error {error:.0f} %" if error is not None
                 else group["model_name"] or "")
        body = (dcc.Graph(figure=forecast_figure(group, result["label"], result["unit"]),
                          config=ids.GRAPH_CONFIG, style={"height": "220px"})
                if group["forecast"] else
                ids.empty_state("No forecast for this group.", group["message"]))
        cards.append(dbc.Col(html.Div([
            html.Div(_shown(group["group"]), className="fw-semibold small"),
            html.Small(trust, className="text-muted d-block"), body]), xs=12, md=6, xl=4))
    rest = [_shown(g["group"]) for g in groups[FORECAST_SHOWN:]]
    note = (html.Small(f"Not drawn (smaller): {', '.join(rest)}.", className="text-muted")
            if rest else None)
    return html.Div([dbc.Row(cards, className="g-3"), note])


def update_forecasts(company, by, metric):
    scope = request_scope("campaigns", company)
    try:
        result = campaigns.segment_channel_forecasts(service_context(), scope, None, by,
                                                     metric)
    except ServiceError as error:
        return _error(error)
    return forecast_cards(result)


def register(app: Dash) -> None:
    filter_bar_callbacks.register(app, BAR)
    chosen_inputs = [Input(ids.filter_id(name), "value") for name in FILTER_NAMES]
    chosen_states = [State(ids.filter_id(name), "value") for name in FILTER_NAMES]
    app.callback(Output(ids.COMPANY_NAME, "children"), Output(ids.AS_OF, "children"),
                 Output(ids.URL, "search"), Output(ids.MESSAGE, "children"), *BAR.inputs(),
                 *chosen_inputs, State(ids.URL, "search"))(update_header)
    app.callback(Output(ids.GRID_HOLDER, "children"), Output(ids.SUMMARY, "children"),
                 *[Output(ids.filter_id(name), "options") for name in FILTER_NAMES],
                 *[Output(ids.filter_id(name), "value") for name in FILTER_NAMES],
                 *BAR.inputs(), *chosen_inputs, Input(ids.CLEAR, "n_clicks"))(update_explorer)
    app.callback(Output(ids.GRID, "getRowsResponse"), Input(ids.GRID, "getRowsRequest"),
                 *BAR.states(), *chosen_states)(get_rows)
    app.callback(Output(ids.DOWNLOAD, "data"),
                 Output(ids.EXPORT_MESSAGE, "children"),
                 Input(ids.EXPORT, "n_clicks"), State(ids.GRID, "getRowsRequest"),
                 *BAR.states(), *chosen_states, prevent_initial_call=True)(export_csv)
    app.callback(Output(ids.DETAIL, "is_open"), Output(ids.DETAIL_TITLE, "children"),
                 Output(ids.DETAIL_BODY, "children"), Input(ids.GRID, "cellClicked"),
                 Input(ids.DETAIL_CLOSE, "n_clicks"), *BAR.states(),
                 prevent_initial_call=True)(open_detail)
    app.callback(Output(ids.SEGMENTS_CHART, "figure"), Output(ids.SEGMENTS_BEST, "children"),
                 *BAR.inputs())(update_segments)
    app.callback(Output(ids.CHANNELS_CHART, "figure"), Output(ids.CHANNELS_NOTE, "children"),
                 *BAR.inputs(), Input(ids.CHANNEL_METRIC, "value"))(update_channels)
    app.callback(Output(ids.MATRIX_CHART, "figure"), *BAR.inputs(),
                 Input(ids.MATRIX_METRIC, "value"))(update_matrix)
    app.callback(Output(ids.RANK_TABLE, "children"), *BAR.inputs(),
                 Input(ids.RANK_BY, "value"), Input(ids.RANK_METRIC, "value"),
                 Input(ids.RANK_MIN, "value"))(update_rank)
    app.callback(Output(ids.DURATION_CHART, "figure"), Output(ids.DURATION_TABLE, "children"),
                 Input(BAR.company, "value"))(update_duration)
    app.callback(Output(ids.FORECASTS, "children"), Input(BAR.company, "value"),
                 Input(ids.FORECAST_BY, "value"), Input(ids.FORECAST_METRIC, "value"))(
        update_forecasts)
    app.callback(Output(ids.CLUSTERS, "children"), Input(BAR.company, "value"))(
        update_clusters)
