"""Marketing view callbacks: thin; read the filter bar, call ``services.marketing`` through
the view's access check, build cards, figures and tables. Only the open tab's section is
computed; clicking a project, retailer or region filters the whole view (the URL follows)."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import pandas as pd
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from callbacks import filter_bar as filter_bar_callbacks
from callbacks.common import request_scope, sentence, service_context
from layouts import filter_bar
from layouts import format as fmt
from layouts import marketing as ids
from layouts.components import FROM_LG, FROM_MD, FROM_SM, figure_layout, metric_header
from layouts.marketing import BAR, BLUE, GREEN, GREY, LIGHT_BLUE, num, table
from services import filters, marketing
from services.errors import ServiceError
from services.metrics import METRICS
from services.periods import utc_today

TIER_CLASS = {"High ROI": "text-success", "Good ROI": "text-info", "Standard": "text-muted"}
STATUS_COLOURS = ["#2c3e50", "#3498db", "#18bc9c", "#f39c12", "#e74c3c", "#95a5a6", "#8e44ad",
                  "#16a085", "#d35400", "#7f8c8d"]


def _raw(values: list, retailer=None, region=None) -> dict:
    raw = filter_bar.filter_values(values)
    raw["retailer"] = None if retailer in (None, filter_bar.ALL) else retailer
    raw["region"] = None if region in (None, filter_bar.ALL) else region
    return raw


def _section(name: str, tab, raw: dict):
    """The scope for a section's callback; PreventUpdate while its tab is closed or a custom
    range is half picked."""
    scope = request_scope("marketing", raw["company"])
    if tab != name or filter_bar.custom_range_problem(raw):
        raise PreventUpdate
    return scope


def _compare_label(result: dict) -> str:
    compare = result["filters"]["compare"]
    return ("vs a year earlier" if compare["mode"] == "year"
            else f"vs previous {compare['days']} days")


def _cards(result: dict) -> list:
    label = _compare_label(result)
    return [ids.metric_card(card, label) for card in result["cards"]]


def _error(exc: ServiceError):
    return ids.message(sentence(exc), "danger")


# --------------------------------------------------------------------------- header and URL


def update_header(*args):
    """Company name, period and data freshness, and the shareable URL of every filter."""
    *values, tab, retailer, region, current_search = args
    raw = _raw(values, retailer, region)
    scope = request_scope("marketing", raw["company"])
    problem = filter_bar.custom_range_problem(raw)
    params = {key: raw[key] for key in ("range", "start", "end", "compare", "channel",
                                         "segment", "project", "retailer", "region")
              if raw.get(key)}
    params["tab"] = tab or ids.DEFAULT_SECTION
    search = filter_bar_callbacks.url_search(scope, params, current_search)
    if problem:
        return scope.company.name, problem, search
    try:
        resolved = filters.resolve(service_context(), scope, raw)
    except ServiceError as error:
        return scope.company.name, sentence(error), search
    period = resolved.period
    text = f"{period.start} to {period.end} · data through {resolved.newest_day}"
    if resolved.partial_day:
        text += " · today is partial (counted in totals, left out of trends)"
    return scope.company.name, text, search


# --------------------------------------------------------------------------- charts


def _complete(days: list[dict]) -> list[dict]:
    """The days of a trend without today, which is still filling up."""
    today = utc_today().isoformat()
    return [d for d in days if d["day"] < today]


def trend_figure(result: dict, metric: str) -> dict:
    """The metric per day, the compared period dashed on the same days (hover says which
    dates they were); today left out."""
    spec = METRICS[metric]
    now = _complete(result["daily"])
    before = result["compare_daily"][:len(now)]
    if not any(d.get(metric) for d in now):
        return ids.empty_figure("No website sessions in this period")
    unit = spec.unit
    hover = {"USD": "$%{y:,.0f}", "%": "%{y:.1f}%", "s": "%{y:,.0f} s",
             "pages": "%{y:.2f}"}.get(unit, "%{y:,.0f}")
    data = [{"type": "scatter", "mode": "lines", "name": f"{spec.label} (this period)",
             "x": [d["day"] for d in now], "y": [d.get(metric) for d in now],
             "line": {"color": BLUE, "width": 2},
             "hovertemplate": f"%{{x|%d %b %Y}}<br>{hover}<extra></extra>"}]
    if before:
        data.append({"type": "scatter", "mode": "lines", "name": _compare_label(result),
                     "x": [d["day"] for d in now], "y": [d.get(metric) for d in before],
                     "customdata": [d["day"] for d in before],
                     "line": {"color": GREY, "width": 1.5, "dash": "dash"},
                     "hovertemplate": f"%{{customdata}}<br>{hover}<extra>compared</extra>"})
    axis_title = {"USD": f"{spec.label} (USD)", "%": f"{spec.label} (%)",
                  "s": f"{spec.label} (seconds)"}.get(unit, spec.label)
    return {"data": data, "layout": figure_layout(
        hovermode="x unified",
        yaxis={"title": {"text": axis_title}, "rangemode": "tozero", "tickformat": ",.0f"
               if unit in ("count", "USD", "s") else None},
        xaxis={"title": {"text": "Day"}})}


def donut_figure(rows: list[dict], label_key: str, value_key: str, empty: str) -> dict:
    rows = [r for r in rows if r[value_key]]
    if not rows:
        return ids.empty_figure(empty)
    return {"data": [{"type": "pie", "hole": 0.55, "sort": False,
                      "labels": [str(r[label_key]).title() for r in rows],
                      "values": [r[value_key] for r in rows],
                      "marker": {"colors": STATUS_COLOURS},
                      "textinfo": "percent", "hovertemplate":
                          "%{label}: %{value:,.0f} (%{percent})<extra></extra>"}],
            "layout": figure_layout(showlegend=True,
                                    legend={"orientation": "h", "y": -0.1, "x": 0})}


def hbar_figure(rows: list[dict], label_key: str, value_key: str, axis: str, empty: str,
                colour: str = BLUE) -> dict:
    rows = [r for r in rows if r[value_key]]
    if not rows:
        return ids.empty_figure(empty)
    rows = sorted(rows, key=lambda r: r[value_key])
    return {"data": [{"type": "bar", "orientation": "h",
                      "y": [str(r[label_key]).replace("_", " ").title() for r in rows],
                      "x": [r[value_key] for r in rows], "marker": {"color": colour},
                      "text": [fmt.count(r[value_key]) for r in rows],
                      "textposition": "outside", "cliponaxis": False,
                      "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>"}],
            "layout": figure_layout(showlegend=False, margin={"l": 10, "r": 50, "t": 10,
                                                              "b": 10}, xaxis={
                "title": {"text": axis}, "rangemode": "tozero", "tickformat": ",.0f"},
                yaxis={"automargin": True})}


def funnel_figure(steps: list[dict], empty: str) -> dict:
    """A linear funnel: bars to scale, each step's count and its rate from the step before."""
    if not any(s["count"] for s in steps if s["count"] is not None):
        return ids.empty_figure(empty)
    labels = [s["stage"] for s in steps][::-1]
    values = [s["count"] or 0 for s in steps][::-1]
    texts = []
    for step in steps[::-1]:
        rate = step.get("rate")
        if step["count"] is None:
            texts.append("no data in this period")
            continue
        texts.append(fmt.count(step["count"]) + ("" if rate is None
                                                 else f" ({fmt.percent(rate, 2)} of previous)"))
    return {"data": [{"type": "bar", "orientation": "h", "y": labels, "x": values,
                      "text": texts, "textposition": "outside", "cliponaxis": False,
                      "marker": {"color": LIGHT_BLUE},
                      "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>"}],
            "layout": figure_layout(showlegend=False, margin={"l": 10, "r": 90, "t": 10,
                                                              "b": 10},
                                    xaxis={"title": {"text": "Count (linear scale)"},
                                           "rangemode": "tozero", "tickformat": ",.0f"},
                                    yaxis={"automargin": True})}


# --------------------------------------------------------------------------- traffic


def update_traffic(*args):
    *values, tab, metric = args
    raw = _raw(values)
    scope = _section("traffic", tab, raw)
    try:
        result = marketing.traffic(service_context(), scope, raw)
    except ServiceError as error:
        empty = ids.empty_figure(sentence(error))
        return [], empty, empty, empty, empty, _error(error)
    note = ids.message(result["note"]) if result["note"] else None
    if not result["has_data"]:
        empty = ids.empty_figure("No website sessions in this period")
        return ([], empty, empty, empty, empty, ids.message(
            "No website traffic in this period: pick a longer range, or import a Google "
            "Analytics export (campaign-dash import FILE)."))
    metric = metric if metric in ids.TRAFFIC_TREND_METRICS else "sessions"
    return (_cards(result), trend_figure(result, metric),
            donut_figure(result["sources"], "value", "sessions", "No sessions"),
            hbar_figure(result["devices"], "value", "sessions", "Sessions", "No sessions"),
            donut_figure(result["visitor_types"], "value", "sessions", "No sessions"),
            note)


# --------------------------------------------------------------------------- leads


WEEKLY_FROM_DAYS = 92  # longer periods chart weeks: a year of daily bars is noise


def _by_week(days: list[dict], columns: tuple[str, ...]) -> list[dict]:
    """Days summed into weeks, each named by its Monday."""
    weeks: dict[str, dict] = {}
    for d in days:
        key = _week_of(d["day"])
        bucket = weeks.setdefault(key, {"day": key, **dict.fromkeys(columns, 0.0)})
        for column in columns:
            bucket[column] += d[column] or 0.0
    return list(weeks.values())


def leads_trend_figure(result: dict) -> dict:
    days = _complete(result["daily"])
    before = result["compare_daily"][:len(days)]
    if not any(d["leads"] or d["spend"] for d in days):
        return ids.empty_figure("No leads or spend in this period")
    unit = "day"
    if result["filters"]["period"]["days"] > WEEKLY_FROM_DAYS:
        unit = "week"
        # The compared days ride on this period's dates, so both sum into the same weeks.
        aligned = [{**b, "day": d["day"]} for b, d in zip(before, days, strict=False)]
        days, before = _by_week(days, ("leads", "spend")), _by_week(aligned, ("leads",
                                                                              "spend"))
    x = [d["day"] for d in days]
    return {"data": [
        {"type": "bar", "name": "Leads", "x": x, "y": [d["leads"] for d in days],
         "marker": {"color": LIGHT_BLUE},
         "hovertemplate": f"{unit.title()} of %{{x|%d %b %Y}}<br>%{{y:,.0f}} leads"
                          "<extra></extra>"},
        {"type": "scatter", "mode": "lines", "name": f"Leads {_compare_label(result)}", "x": x,
         "y": [d["leads"] for d in before],
         "line": {"color": GREY, "dash": "dash", "width": 1.5},
         "hovertemplate": "%{y:,.0f} leads<extra>compared</extra>"},
        {"type": "scatter", "mode": "lines", "name": "Spend (USD, right axis)", "x": x,
         "y": [d["spend"] for d in days], "yaxis": "y2", "line": {"color": GREEN, "width": 2},
         "hovertemplate": "$%{y:,.0f} spend<extra></extra>"},
    ], "layout": figure_layout(
        hovermode="x unified",
        annotations=partial_weeks(x, result["filters"]["period"]) if unit == "week" else [],
        xaxis={"title": {"text": unit.title()}},
        yaxis={"title": {"text": f"Leads per {unit}"}, "rangemode": "tozero",
               "tickformat": ",.0f"},
        yaxis2={"title": {"text": f"Spend per {unit} (USD)"}, "overlaying": "y",
                "side": "right", "rangemode": "tozero", "tickprefix": "$",
                "tickformat": ",.0f", "showgrid": False})}


TOP_STATUSES = 6


def _week_of(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return (date - dt.timedelta(days=date.weekday())).isoformat()


def partial_weeks(weeks: list[str], period: dict) -> list[dict]:
    """Annotations on the first and last week when the period (today left out) covers only
    part of them: a short bar is a short week, not a drop."""
    if not weeks:
        return []
    first = dt.date.fromisoformat(period["start"])
    last = min(dt.date.fromisoformat(period["end"]), utc_today() - dt.timedelta(days=1))
    notes = []
    if first.weekday() != 0 and _week_of(first.isoformat()) == weeks[0]:
        notes.append(weeks[0])
    if last.weekday() != 6 and _week_of(last.isoformat()) == weeks[-1]:
        notes.append(weeks[-1])
    return [{"x": week, "y": 1, "yref": "paper", "text": "partial week", "showarrow": False,
             "font": {"size": 10, "color": GREY}, "yanchor": "bottom"}
            for week in dict.fromkeys(notes)]


def changes_figure(result: dict) -> dict:
    weekly = defaultdict(lambda: defaultdict(float))
    today = utc_today().isoformat()
    for row in (r for r in result["status_changes"] if r["day"] < today):
        weekly[row["status"]][_week_of(row["day"])] += row["changes"]
    if not weekly:
        return ids.empty_figure("No status changes in this period")
    weeks = sorted({w for per in weekly.values() for w in per})
    data = []
    order = sorted(weekly, key=lambda s: -sum(weekly[s].values()))
    if len(order) > TOP_STATUSES + 1:  # a legend of 16 statuses reads as noise
        other = defaultdict(float)
        for status in order[TOP_STATUSES:]:
            for week, changes in weekly[status].items():
                other[week] += changes
        order = [*order[:TOP_STATUSES], "other statuses"]
        weekly["other statuses"] = other
    for i, status in enumerate(order):
        data.append({"type": "bar", "name": status.replace("_", " ").title(), "x": weeks,
                     "y": [weekly[status].get(w, 0) for w in weeks],
                     "marker": {"color": STATUS_COLOURS[i % len(STATUS_COLOURS)]},
                     "hovertemplate": "Week of %{x|%d %b %Y}<br>%{y:,.0f} changes<extra>"
                                      + status + "</extra>"})
    return {"data": data, "layout": figure_layout(
        barmode="stack", xaxis={"title": {"text": "Week"}},
        annotations=partial_weeks(weeks, result["filters"]["period"]),
        legend={"orientation": "h", "y": -0.3, "x": 0},
        yaxis={"title": {"text": "Status changes"}, "rangemode": "tozero",
               "tickformat": ",.0f"})}


TOP_ROWS = 15
# Splits of the leads section: its label, the pattern id of a row's filter button, the plural.
SPLIT_TABLES = {"project": ("Project", ids.PROJECT_PICK, "projects"),
                "channel": ("Channel", ids.CHANNEL_PICK, "channels")}


def _top_with_other(rows: list[dict], plural: str) -> list[dict]:
    """The rows with most spend (and the leads without a campaign), the rest summed in one
    "other" row, so the table still adds up to its total."""
    named = [r for r in rows if r["filter_value"] is not None]
    if len(named) <= TOP_ROWS + 1:
        return rows
    rest = named[TOP_ROWS:]
    other = {"name": f"{len(rest):,} other {plural} (choose one in the filter)",
             "filter_value": None,
             **{k: sum(r[k] for r in rest) for k in ("spend", "impressions", "clicks",
                                                     "leads")}}
    other["cpl"] = other["spend"] / other["leads"] if other["leads"] else None
    other["ctr"] = other["clicks"] / other["impressions"] * 100 if other["impressions"] \
        else None
    return [*named[:TOP_ROWS], other, *(r for r in rows if r["filter_value"] is None)]


def split_table(result: dict, split: str):
    """Spend, leads, CPL and CTR by project or channel; a row's name filters the view."""
    label, pick, plural = SPLIT_TABLES[split]
    rows = result[plural]
    if not rows:
        return ids.empty_state("No campaigns with spend or leads in this period.",
                               "Pick a longer range or clear the filters.")
    rows = _top_with_other(rows, plural)
    header = [html.Th(label), metric_header("spend"),
              metric_header("impressions", shown=FROM_LG), metric_header("clicks", shown=FROM_MD),
              metric_header("leads"), metric_header("cpl", shown=FROM_SM),
              metric_header("ctr", shown=FROM_SM)]
    body = []
    for row in rows:
        name = row["name"]
        cell = (html.Button(name, id={"type": pick, "index": row["filter_value"]},
                            className="btn btn-link p-0 text-start cd-drill", n_clicks=0,
                            title=f"Filter the view by {split} {name}")
                if row["filter_value"] else html.Span(name, className="text-muted"))
        body.append(html.Tr(_split_cells(html.Td(cell), row)))
    return table(header, body, _split_cells(html.Td("Total"), result["totals"]))


def _split_cells(name: html.Td, values: dict) -> list:
    """A split row's cells (the total's too): name, spend, impressions, clicks, leads, CPL,
    CTR, each with its priority class."""
    return [name, num(values["spend"], "USD"), num(values["impressions"], "count", FROM_LG),
            num(values["clicks"], "count", FROM_MD), num(values["leads"], "count"),
            num(values["cpl"], "USD", FROM_SM), num(values["ctr"], "%", FROM_SM)]


def update_leads(*args):
    *values, tab = args
    raw = _raw(values)
    scope = _section("leads", tab, raw)
    try:
        result = marketing.leads(service_context(), scope, raw)
    except ServiceError as error:
        empty = ids.empty_figure(sentence(error))
        return [], empty, empty, empty, empty, None, None, _error(error)
    if not result["has_data"]:
        empty = ids.empty_figure("No leads in this period")
        return ([], empty, empty, empty, empty, None, None, ids.message(
            "No leads or ad spend in this period for these filters: pick a longer range or "
            "clear the channel, segment and project filters."))
    note = result["funnel_note"]
    return (_cards(result), leads_trend_figure(result),
            funnel_figure(result["funnel"], "No visitors or leads in this period"),
            hbar_figure(result["statuses"], "status", "leads", "Leads", "No leads"),
            changes_figure(result), split_table(result, "channel"),
            split_table(result, "project"),
            ids.message(note) if note else None)


def download_leads(n_clicks, *values):
    raw = _raw(values)
    scope = request_scope("marketing", raw["company"])
    if not n_clicks:
        raise PreventUpdate
    if filter_bar.custom_range_problem(raw):
        return no_update, filter_bar.custom_range_problem(raw)
    try:
        rows, cut = marketing.lead_rows(service_context(), scope, raw)
    except ServiceError as error:
        return no_update, sentence(error)
    frame = pd.DataFrame(rows, columns=["lead_id", "created_at", "status", "value", "campaign",
                                        "channel", "segment", "project"])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    note = f"{len(frame):,} leads" + (" (the first 200,000: narrow the filters for the rest)"
                                      if cut else "")
    name = f"leads-{scope.company.slug}-{dt.date.today().isoformat()}.csv"
    return dcc.send_string(buffer.getvalue(), name), note


# --------------------------------------------------------------------------- content


def content_trend_figure(result: dict) -> dict:
    weeks = result["weekly"]
    if not weeks:
        return ids.empty_figure("No content published in this period")
    x = [w["week"] for w in weeks]
    return {"data": [
        {"type": "bar", "name": "Views", "x": x, "y": [w["views"] for w in weeks],
         "marker": {"color": LIGHT_BLUE},
         "hovertemplate": "Week of %{x|%d %b %Y}<br>%{y:,.0f} views<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Engagements (right axis)",
         "x": x, "y": [w["engagements"] for w in weeks], "yaxis": "y2",
         "line": {"color": GREEN, "width": 2},
         "hovertemplate": "Week of %{x|%d %b %Y}<br>%{y:,.0f} engagements<extra></extra>"},
    ], "layout": figure_layout(
        xaxis={"title": {"text": "Week published"}},
        yaxis={"title": {"text": "Views"}, "rangemode": "tozero", "tickformat": ",.0f"},
        yaxis2={"title": {"text": "Engagements"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "tickformat": ",.0f", "showgrid": False})}


def kinds_table(result: dict):
    header = [html.Th("Kind"), metric_header("views"),
              metric_header("engagements", shown=FROM_SM), metric_header("engagement_rate")]
    body = [html.Tr([html.Td(k["kind"].title()), num(k["views"], "count"),
                     num(k["engagements"], "count", FROM_SM),
                     num(k["engagement_rate"], "%")]) for k in result["by_kind"]]
    totals = {c["metric"]: c["value"] for c in result["cards"]}
    footer = [html.Td(f"Total ({result['items']:,} items)"), num(totals["views"], "count"),
              num(totals["engagements"], "count", FROM_SM),
              num(totals["engagement_rate"], "%")]
    return table(header, body, footer)


def top_table(items: list[dict]):
    if not items:
        return ids.empty_state("No content published in this period.")
    header = [html.Th("Title"), html.Th("Kind", className=FROM_MD), metric_header("views"),
              metric_header("engagement_rate", "Eng. rate")]
    body = [html.Tr([html.Td(i["title"], className="cd-wrap"),
                     html.Td(i["kind"].title(), className=FROM_MD),
                     num(i["views"], "count"), num(i["engagement_rate"], "%")])
            for i in items]
    return table(header, body)


def update_content(*args):
    *values, tab = args
    raw = _raw(values)
    scope = _section("content", tab, raw)
    try:
        result = marketing.content(service_context(), scope, raw)
    except ServiceError as error:
        return [], ids.empty_figure(sentence(error)), None, None, None, _error(error)
    if not result["has_data"]:
        return ([], ids.empty_figure("No content published in this period"), None, None, None,
                ids.message("No content was published in this period: pick a longer range."))
    return (_cards(result), content_trend_figure(result), kinds_table(result),
            top_table(result["top_by_views"]), top_table(result["top_by_engagement_rate"]),
            None)


# --------------------------------------------------------------------------- email


def hours_figure(result: dict) -> dict:
    hours = result["hours"]
    if not hours:
        return ids.empty_figure("No opens or clicks for emails sent in this period")
    x = [h["hours"] for h in hours]
    ticks = list(range(0, 73, 12))
    return {"data": [
        {"type": "bar", "name": "Opens", "x": x, "y": [h["opens"] for h in hours],
         "marker": {"color": LIGHT_BLUE},
         "hovertemplate": "%{x} h after sending<br>%{y:,.0f} opens<extra></extra>"},
        {"type": "bar", "name": "Clicks", "x": x, "y": [h["clicks"] for h in hours],
         "marker": {"color": GREEN},
         "hovertemplate": "%{x} h after sending<br>%{y:,.0f} clicks<extra></extra>"},
    ], "layout": figure_layout(
        barmode="group", legend={"orientation": "h", "y": -0.32, "x": 0},
        xaxis={"title": {"text": "Hours after sending (72: three days or later)"},
               "tickvals": ticks, "ticktext": [*map(str, ticks[:-1]), "72+"]},
        yaxis={"title": {"text": "Opens and clicks"}, "rangemode": "tozero",
               "tickformat": ",.0f"})}


def emails_table(result: dict):
    rows = result["emails"]
    if not rows:
        return ids.empty_state("No emails sent in this period.",
                               "Pick a longer range, or clear the retailer and region.")
    header = [html.Th("Subject"), html.Th("Sent on", className=FROM_LG),
              metric_header("sent", shown=FROM_MD), metric_header("delivery_rate",
                                                                  shown=FROM_LG),
              metric_header("open_rate", shown=FROM_SM), metric_header("click_rate"),
              metric_header("click_to_open", "CTOR", shown=FROM_LG),
              metric_header("email_conversions", "CRM conv.", shown=FROM_MD),
              metric_header("email_revenue", "CRM revenue", shown=FROM_SM)]
    body = [html.Tr([html.Td(r["subject"], className="cd-wrap"),
                     html.Td(r["sent_at"][:10], className=FROM_LG),
                     num(r["sent"], "count", FROM_MD), num(r["delivery_rate"], "%", FROM_LG),
                     num(r["open_rate"], "%", FROM_SM), num(r["click_rate"], "%"),
                     num(r["click_to_open"], "%", FROM_LG),
                     num(r["conversions"], "count", FROM_MD),
                     num(r["revenue"], "USD", FROM_SM)]) for r in rows]
    return html.Div([table(header, body), html.Small(
        "CRM conversions are credited to the email whose click they followed; e-commerce "
        "orders name no email and count for the campaign (below).", className="text-muted")])


def campaigns_table(result: dict):
    rows = result["campaigns"]
    if not rows:
        return ids.empty_state("No email campaigns in this period.",
                               "Pick a longer range, or clear the filters.")
    header = [html.Th("Campaign"), metric_header("sent", shown=FROM_LG),
              metric_header("email_conversions", shown=FROM_MD),
              metric_header("email_revenue"), metric_header("cost", shown=FROM_SM),
              metric_header("campaign_roi"),
              html.Th("Tier", title="High ROI from 100 %, Good ROI from 50 %, else Standard",
                      className=f"cd-defined {FROM_SM}")]
    body = []
    for r in rows:
        cost = fmt.money(r["cost"]) + (" (budget)" if r["cost_basis"] == "budget"
                                       and r["cost"] else "")
        body.append(html.Tr([
            html.Td(r["campaign"], className="cd-wrap"), num(r["sent"], "count", FROM_LG),
            num(r["conversions"], "count", FROM_MD),
            html.Td(fmt.money(r["revenue"]), className="text-end cd-num",
                    title=f"CRM {fmt.money(r['crm_revenue'])} + orders "
                          f"{fmt.money(r['order_revenue'])}"),
            html.Td(cost, className=f"text-end cd-num {FROM_SM}"), num(r["roi"], "%"),
            html.Td(r["tier"] or fmt.DASH, className=f"{TIER_CLASS.get(r['tier'], '')} "
                                                     f"{FROM_SM}")]))
    return table(header, body)


def retailer_board(board: dict):
    rows = board["retailers"]
    if not rows:
        return ids.empty_state("No retailer activity in this period.")
    header = [html.Th("#"), html.Th("Retailer"), html.Th("Region", className=FROM_MD),
              metric_header("sent", shown=FROM_LG), metric_header("click_rate"),
              metric_header("email_conversions", shown=FROM_SM),
              metric_header("email_revenue")]
    body = [html.Tr([
        html.Td(r["rank"]),
        html.Td(html.Button(r["retailer"], id={"type": ids.RETAILER_PICK,
                                               "index": r["retailer_id"]},
                            n_clicks=0, className="btn btn-link p-0 text-start cd-drill",
                            title=f"Filter the view by {r['retailer']}")),
        html.Td(r["region"], className=FROM_MD), num(r["sent"], "count", FROM_LG),
        num(r["click_rate"], "%"), num(r["conversions"], "count", FROM_SM),
        num(r["revenue"], "USD")]) for r in rows]
    total = board["total"]
    footer = [html.Td(""), html.Td("Total"), html.Td("", className=FROM_MD),
              num(total["sent"], "count", FROM_LG), num(total["click_rate"], "%"),
              num(total["conversions"], "count", FROM_SM), num(total["revenue"], "USD")]
    return table(header, body, footer)


def region_table(board: dict):
    if not board["regions"]:
        return ids.empty_state("No regions in this period.")
    header = [html.Th("Region"), metric_header("click_rate"),
              metric_header("email_revenue")]
    body = [html.Tr([html.Td(html.Button(r["region"], id={"type": ids.REGION_PICK,
                                                          "index": r["region"]},
                                         n_clicks=0, className="btn btn-link p-0 cd-drill",
                                         title=f"Filter the view by the {r['region']} region")),
                     num(r["click_rate"], "%"), num(r["revenue"], "USD")])
            for r in board["regions"]]
    total = board["total"]
    return table(header, body, [html.Td("Total"), num(total["click_rate"], "%"),
                                num(total["revenue"], "USD")])


def update_email(*args):
    *values, tab, retailer, region = args
    raw = _raw(values, retailer, region)
    scope = _section("email", tab, raw)
    ctx = service_context()
    try:
        offered = filters.options(ctx, scope)
        result = marketing.email_funnel(ctx, scope, raw)
    except ServiceError as error:
        empty = ids.empty_figure(sentence(error))
        return [], empty, empty, None, None, _error(error), no_update, no_update
    retailer_options = [{"label": "All retailers", "value": filter_bar.ALL}] + [
        {"label": f"{r['name']} ({r['region']})", "value": str(r["id"])}
        for r in offered["retailers"]]
    region_options = [{"label": "All regions", "value": filter_bar.ALL}] + [
        {"label": region, "value": region} for region in offered["regions"]]
    if not offered["retailers"]:
        empty = ids.empty_figure("No email campaigns")
        return ([], empty, empty, None, None, ids.message(
            "This company sends no retailer emails yet: email campaigns, sends and their "
            "retailers appear here once imported."), retailer_options, region_options)
    note = None if result["has_data"] else ids.message(
        "No emails sent and no conversions in this period: pick a longer range.")
    return (_cards(result),
            funnel_figure([{**s, "rate": None} for s in result["funnel"]],
                          "No emails sent in this period"),
            hours_figure(result), emails_table(result), campaigns_table(result), note,
            retailer_options, region_options)


def update_retailers(*args):
    """The retailer leaderboard and regions: their own request beside the funnel's (each
    answers in half the time, and the browser asks for both at once)."""
    *values, tab, retailer, region = args
    raw = _raw(values, retailer, region)
    scope = _section("email", tab, raw)
    try:
        board = marketing.retailers(service_context(), scope, raw)
    except ServiceError as error:
        return None, html.Div(sentence(error), className="text-danger")
    return retailer_board(board), region_table(board)


# --------------------------------------------------------------------------- drill-down


def _picked(clicks) -> dict:
    """The clicked pattern id, or PreventUpdate (tables re-rendering fire with no click)."""
    request_scope("marketing")
    triggered = dash_ctx.triggered_id
    if not isinstance(triggered, dict) or not any(c for c in clicks or [] if c):
        raise PreventUpdate
    if not dash_ctx.triggered or not dash_ctx.triggered[0].get("value"):
        raise PreventUpdate
    return triggered


def pick_project(clicks):
    """A project's name from the table: the services check it is the company's."""
    return str(_picked(clicks).get("index"))


def pick_channel(clicks):
    return str(_picked(clicks).get("index"))


def pick_retailer(clicks):
    return str(_picked(clicks).get("index"))


def pick_region(clicks):
    return str(_picked(clicks).get("index"))


def register(app: Dash) -> None:
    filter_bar_callbacks.register(app, BAR)
    tab = Input(ids.TABS, "active_tab")
    app.callback(Output(ids.COMPANY_NAME, "children"), Output(ids.AS_OF, "children"),
                 Output(ids.URL, "search"), *BAR.inputs(), tab,
                 Input(ids.RETAILER, "value"), Input(ids.REGION, "value"),
                 State(ids.URL, "search"))(update_header)
    app.callback(Output(ids.TRAFFIC_CARDS, "children"), Output(ids.TRAFFIC_TREND, "figure"),
                 Output(ids.TRAFFIC_SOURCES, "figure"), Output(ids.TRAFFIC_DEVICES, "figure"),
                 Output(ids.TRAFFIC_VISITORS, "figure"),
                 Output(ids.TRAFFIC_MESSAGE, "children"), *BAR.inputs(), tab,
                 Input(ids.TRAFFIC_METRIC, "value"))(update_traffic)
    app.callback(Output(ids.LEADS_CARDS, "children"), Output(ids.LEADS_TREND, "figure"),
                 Output(ids.LEADS_FUNNEL, "figure"), Output(ids.LEADS_STATUS, "figure"),
                 Output(ids.LEADS_CHANGES, "figure"), Output(ids.LEADS_CHANNELS, "children"),
                 Output(ids.LEADS_PROJECTS, "children"),
                 Output(ids.LEADS_MESSAGE, "children"), *BAR.inputs(), tab)(update_leads)
    app.callback(Output(ids.LEADS_DOWNLOAD, "data"),
                 Output(ids.LEADS_DOWNLOAD_NOTE, "children"),
                 Input(ids.LEADS_DOWNLOAD_BUTTON, "n_clicks"), *BAR.states(),
                 prevent_initial_call=True)(download_leads)
    app.callback(Output(ids.CONTENT_CARDS, "children"), Output(ids.CONTENT_TREND, "figure"),
                 Output(ids.CONTENT_KINDS, "children"),
                 Output(ids.CONTENT_TOP_VIEWS, "children"),
                 Output(ids.CONTENT_TOP_RATE, "children"),
                 Output(ids.CONTENT_MESSAGE, "children"), *BAR.inputs(), tab)(update_content)
    app.callback(Output(ids.EMAIL_CARDS, "children"), Output(ids.EMAIL_FUNNEL, "figure"),
                 Output(ids.EMAIL_HOURS, "figure"), Output(ids.EMAIL_TABLE, "children"),
                 Output(ids.EMAIL_CAMPAIGNS, "children"),
                 Output(ids.EMAIL_MESSAGE, "children"), Output(ids.RETAILER, "options"),
                 Output(ids.REGION, "options"), *BAR.inputs(), tab,
                 Input(ids.RETAILER, "value"), Input(ids.REGION, "value"))(update_email)
    app.callback(Output(ids.RETAILER_BOARD, "children"), Output(ids.REGION_TABLE, "children"),
                 *BAR.inputs(), tab, Input(ids.RETAILER, "value"),
                 Input(ids.REGION, "value"))(update_retailers)
    app.callback(Output(BAR.project, "value"),
                 Input({"type": ids.PROJECT_PICK, "index": ALL}, "n_clicks"),
                 prevent_initial_call=True)(pick_project)
    app.callback(Output(BAR.channel, "value"),
                 Input({"type": ids.CHANNEL_PICK, "index": ALL}, "n_clicks"),
                 prevent_initial_call=True)(pick_channel)
    app.callback(Output(ids.RETAILER, "value"),
                 Input({"type": ids.RETAILER_PICK, "index": ALL}, "n_clicks"),
                 prevent_initial_call=True)(pick_retailer)
    app.callback(Output(ids.REGION, "value"),
                 Input({"type": ids.REGION_PICK, "index": ALL}, "n_clicks"),
                 prevent_initial_call=True)(pick_region)
