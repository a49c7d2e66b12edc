"""Attribution view callbacks: thin; read the filter bar and the view's options, call
``services.attribution`` (one stored result per company, period and options) through the
view's access check, build figures and tables."""

from __future__ import annotations

from dash import Dash, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from callbacks import filter_bar as filter_bar_callbacks
from callbacks.common import request_scope, sentence, service_context
from layouts import attribution as ids
from layouts import filter_bar
from layouts import format as fmt
from layouts.attribution import BAR, MEASURES, MODEL_COLOURS
from layouts.components import FROM_MD, empty_figure, figure_layout
from services import attribution
from services.errors import ServiceError

CHART_LABELS = 12  # the chart's labels at most (the table lists them all)
PHONE_MODELS = ("last_touch", "markov", "shapley")  # the table's columns on a phone
HIDDEN = {"display": "none"}


def _raw(values: list) -> dict:
    *bar_values, level, lookback, direct = values
    raw = filter_bar.filter_values(bar_values, BAR)
    raw.update(level=level, lookback=lookback, direct=direct)
    return raw


def _scope(raw: dict):
    return filter_bar_callbacks.ready_scope("attribution", raw)


def _result(values: list) -> dict:
    raw = _raw(values)
    return attribution.attribution(service_context(), _scope(raw), raw)


def _inputs() -> list:
    return [*BAR.inputs(), Input(ids.LEVEL, "value"), Input(ids.LOOKBACK, "value"),
            Input(ids.DIRECT, "value")]


def _noun(result: dict) -> str:
    return "campaign" if result["options"]["level"] == "campaign" else "channel"


def _empty_text(result: dict) -> str:
    options = result["options"]
    if not result.get("has_journeys"):
        return "No customer journeys for this company yet"
    return f"No customer journeys end between {options['start']} and {options['end']}"


# --------------------------------------------------------------------------- header and URL


def update_header(*args):
    *values, measure, current_search = args
    raw = _raw(values)
    scope = request_scope("attribution", raw["company"])
    params = {key: raw[key] for key in ("range", "start", "end") if raw.get(key)}
    params.update({key: raw[key] for key in ("level", "lookback", "direct") if raw.get(key)})
    if measure and measure != "conversions":
        params["measure"] = measure
    search = filter_bar_callbacks.url_search(scope, params, current_search)
    problem = filter_bar.custom_range_problem(raw)
    if problem:
        return scope.company.name, problem, search, None, no_update
    try:
        result = attribution.attribution(service_context(), scope, raw)
    except ServiceError as error:
        return (scope.company.name, sentence(error), search,
                ids.message(sentence(error), "danger"), HIDDEN)
    options = result["options"]
    text = (f"Journeys ending {options['start']} to {options['end']} · lookback "
            f"{options['lookback']} days · time-decay half-life {options['half_life']:g} days")
    if result["empty"]:
        fix = ("Pick a longer date range: this company's journeys end outside this one."
               if result.get("has_journeys") else
               "Attribution needs customer journeys (touchpoints, from the demo data or an "
               "import): import a journeys export with `campaign-dash import FILE --company "
               f"{scope.company.slug}` (README: Customer journeys).")
        return scope.company.name, text, search, ids.message([
            html.Strong(_empty_text(result) + ". "), fix], "info"), HIDDEN
    notes = [html.Li(w) for w in result["warnings"]]
    return (scope.company.name, text, search,
            ids.message(html.Ul(notes, className="mb-0 ps-3"), "warning") if notes else None,
            {})


def summary_cards(result: dict):
    data = result["data"]
    totals = result["totals"]
    items = [("Journeys", fmt.count(data["journeys"])),
             ("Conversions", fmt.count(totals["conversions"])),
             ("Converting share", fmt.percent(data["converting_share"])),
             ("Conversion value", fmt.money(totals["value"], 2)),
             ("Median days to convert",
              fmt.DASH if data["days_to_convert"]["median_days"] is None
              else f"{data['days_to_convert']['median_days']:.1f}")]
    return html.Div([html.Div([html.Div(label, className="text-muted small"),
                               html.Div(value, className="fs-5 fw-semibold cd-num")],
                              className="border rounded px-3 py-2 bg-white")
                     for label, value in items],
                    className="d-flex flex-wrap gap-2")


def update_summary(*values):
    try:
        result = _result(list(values))
    except ServiceError as error:
        return ids.message(sentence(error), "danger")
    return None if result["empty"] else summary_cards(result)


# --------------------------------------------------------------------------- credit


def short(labels: list[str], width: int = 26) -> list[str]:
    """Long campaign names cut in the middle for an axis (keeping the channel at their end;
    the hover shows them whole), still unique: a category axis merges equal names."""
    out, seen = [], set()
    for label in labels:
        cut = label if len(label) <= width else (
            label[:width // 2 - 1] + "…" + label[-(width - width // 2):])
        while cut in seen:  # two names cut alike: mark the later one
            cut += "′"
        seen.add(cut)
        out.append(cut)
    return out


def _horizontal(result: dict) -> bool:
    """Long labels (campaigns) read better as horizontal bars, on a phone above all."""
    return any(len(row["label"]) > 14 for row in result["rows"])


def credit_height(result: dict) -> int:
    shown = min(len(result["rows"]), CHART_LABELS)
    return 380 if not _horizontal(result) else 140 + shown * 62


def credit_figure(result: dict, measure: str) -> dict:
    rows = result["rows"][:CHART_LABELS]
    labels = [row["label"] for row in rows]
    money = measure == "value"
    horizontal = _horizontal(result)
    data = []
    for model in result["models"]:
        key = model["key"]
        values = [row[measure][key] for row in rows]
        trace = {"type": "bar", "name": model["label"], "customdata": labels,
                 "marker": {"color": MODEL_COLOURS[key]},
                 "hovertemplate": f"{model['label']}<br>%{{customdata}}: "
                                  + ("$%{" if money else "%{") + ("x" if horizontal else "y")
                                  + (":,.2f}" if money else ":,.2f} conversions")
                                  + "<extra></extra>"}
        if horizontal:
            trace.update(orientation="h", x=values, y=short(labels))
        else:
            trace.update(x=labels, y=values)
        data.append(trace)
    more = len(result["rows"]) - len(rows)
    title = f"{_noun(result).capitalize()}" + (f" (top {len(rows)} of {len(result['rows'])};"
                                               " all in the table)" if more > 0 else "")
    value_axis = {"title": {"text": "Value credited ($)" if money else "Conversions credited"},
                  "rangemode": "tozero", **({"tickprefix": "$", "tickformat": ",.0f"}
                                            if money else {"tickformat": ",.0f"})}
    label_axis = {"title": {"text": title}, "automargin": True}
    if horizontal:
        label_axis["autorange"] = "reversed"  # the largest first, at the top
    return {"data": data, "layout": figure_layout(
        barmode="group", hovermode="closest",
        legend={"orientation": "h", "y": -0.25 if not horizontal else 1.0, "x": 0,
                "yanchor": "top" if not horizontal else "bottom"},
        xaxis=value_axis if horizontal else label_axis,
        yaxis=label_axis if horizontal else value_axis)}


def _cell(value: float | None, measure: str) -> str:
    if value is None:
        return fmt.DASH
    return fmt.money(value, 2) if measure == "value" else f"{value:,.2f}"


def credit_table(result: dict, measure: str):
    models = result["models"]
    shown = {m["key"]: ("" if m["key"] in PHONE_MODELS else FROM_MD) for m in models}
    header = [html.Th(_noun(result).capitalize())] + [
        html.Th(m["label"], className=f"text-end {shown[m['key']]}") for m in models] + [
        html.Th("Share of spend", className=f"text-end {FROM_MD}",
                title="the label's ad spend in the period / all of it (rollups)")]
    body = []
    for row in result["rows"]:
        body.append(html.Tr([html.Td(row["label"])] + [
            html.Td(_cell(row[measure][m["key"]], measure),
                    className=f"text-end cd-num {shown[m['key']]}") for m in models] + [
            html.Td(fmt.percent(row["spend_share"]), className=f"text-end cd-num {FROM_MD}")]))
    total = result["total_row"]
    footer = [html.Td("Total")] + [
        html.Td(_cell(total[measure][m["key"]], measure),
                className=f"text-end cd-num {shown[m['key']]}") for m in models] + [
        html.Td(f"100% of {fmt.money(total['spend'], 0)}" if total["spend"] else fmt.DASH,
                className=f"text-end cd-num {FROM_MD}", title="ad spend in the period")]
    unit = "dollars of conversion value" if measure == "value" else "conversions"
    return html.Div([ids.table(header, body, footer), html.Small(
        f"In {unit}; every model's column adds up to the total (rounded by largest "
        "remainder, so nothing is lost to rounding). On a phone: last touch, Markov and "
        "Shapley.", className="text-muted")])


def update_credit(*args):
    *values, measure = args
    measure = measure if isinstance(measure, str) and measure in MEASURES else "conversions"
    try:
        result = _result(values)
    except ServiceError as error:
        return empty_figure(sentence(error)), no_update, None
    if result["empty"]:
        return (empty_figure(_empty_text(result)), {"height": "380px"},
                ids.empty_state(_empty_text(result) + ".",
                                "Pick a longer date range or import customer journeys."))
    return (credit_figure(result, measure), {"height": f"{credit_height(result)}px"},
            credit_table(result, measure))


# --------------------------------------------------------------------------- verdicts, advice


def _verdict_list(items: list[dict], colour: str, word: str):
    return html.Ul([html.Li([
        html.Span(item["label"], className="fw-semibold"),
        f" {word}: {fmt.percent(item['last_touch'], 0)} of conversions under last touch, "
        f"{fmt.percent(item['markov'], 0)} under Markov, "
        f"{fmt.percent(item['shapley'], 0)} under Shapley ",
        html.Span(fmt.signed_change(item["change_pp"], "pp", 0),
                  className=f"badge text-bg-{colour}")]) for item in items],
        className="mb-2 ps-3")


def update_verdicts(*values):
    try:
        result = _result(list(values))
    except ServiceError as error:
        return ids.message(sentence(error), "danger"), None
    if result["empty"]:
        return ids.empty_state("No journeys, no comparison."), ids.empty_state(
            "No journeys, no advice.")
    verdicts = result["verdicts"]
    parts = []
    if verdicts["undervalued"]:
        parts += [html.Div("Undervalued by last touch", className="fw-semibold text-success"),
                  _verdict_list(verdicts["undervalued"], "success", "is undervalued")]
    if verdicts["overvalued"]:
        parts += [html.Div("Overvalued by last touch", className="fw-semibold text-danger"),
                  _verdict_list(verdicts["overvalued"], "danger", "is overvalued")]
    if not parts:
        parts = [ids.empty_state(f"No {_noun(result)} is valued 3 points or more apart from "
                                 "last touch by both data-driven models.")]
    advice = [html.Li([html.Div(item["text"]),
                       html.Small("Evidence: " + "; ".join(item["evidence"]),
                                  className="text-muted")], className="mb-2")
              for item in result["advice"]]
    return (html.Div(parts), html.Ul(advice, className="ps-3 mb-0") if advice else
            ids.empty_state("No advice: no channel is valued very differently by last touch "
                            "and the data-driven models."))


# --------------------------------------------------------------------------- Markov


def removal_figure(result: dict) -> dict:
    effects = sorted(result["markov"]["removal_effects"].items(), key=lambda kv: kv[1])
    return {"data": [{"type": "bar", "orientation": "h", "x": [v * 100 for _, v in effects],
                      "y": short([k for k, _ in effects], 22),
                      "customdata": [k for k, _ in effects],
                      "marker": {"color": MODEL_COLOURS["markov"]},
                      "hovertemplate": "%{customdata}: %{x:.1f} % of conversions lost"
                                       "<extra></extra>"}],
            "layout": figure_layout(
                xaxis={"title": {"text": "Conversions lost (%)"},
                       "ticksuffix": "%", "rangemode": "tozero"},
                yaxis={"automargin": True, "title": {"text": _noun(result).capitalize()}})}


def transition_figure(result: dict) -> dict:
    transitions = result["markov"]["transitions"]
    full_rows = transitions["labels"]
    full_columns = full_rows[1:] + ["(conversion)", "(no conversion)"]
    rows = short(full_rows, 20)
    columns = short(full_columns, 20)
    z = [matrix_row[1:] + [conv, null] for matrix_row, conv, null in zip(
        transitions["matrix"], transitions["to_conversion"], transitions["to_null"],
        strict=True)]
    percent = [[v * 100 for v in r] for r in z]
    top = max((v for r in percent for v in r), default=0) or 100
    names = [[f"from {a} to {b}" for b in full_columns] for a in full_rows]
    return {"data": [{"type": "heatmap", "z": percent, "x": columns, "y": rows,
                      "customdata": names, "zmin": 0, "zmax": top,
                      # white (never) to dark blue (the most likely step)
                      "colorscale": [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
                      "colorbar": {"ticksuffix": "%", "thickness": 12},
                      "hovertemplate": "%{customdata}: %{z:.1f} %<extra></extra>"}],
            "layout": figure_layout(
                xaxis={"title": {"text": "To"}, "automargin": True, "tickangle": -40},
                yaxis={"title": {"text": "From"}, "automargin": True, "autorange": "reversed"})}


def update_markov(*values):
    try:
        result = _result(list(values))
    except ServiceError as error:
        return empty_figure(sentence(error)), empty_figure(sentence(error))
    if result["empty"]:
        return empty_figure(_empty_text(result)), empty_figure(_empty_text(result))
    heat = (transition_figure(result) if result["markov"]["transitions"]
            else empty_figure("Transitions are shown for the order-1 chain"))
    return removal_figure(result), heat


# --------------------------------------------------------------------------- journeys


def lengths_figure(data: dict) -> dict:
    lengths = data["lengths"]
    return {"data": [
        {"type": "bar", "name": "Converting", "x": lengths["touches"],
         "y": lengths["converting"], "marker": {"color": "#18bc9c"},
         "hovertemplate": "%{x} touches: %{y:,} converting journeys<extra></extra>"},
        {"type": "bar", "name": "Not converting", "x": lengths["touches"],
         "y": lengths["not_converting"], "marker": {"color": "#95a5a6"},
         "hovertemplate": "%{x} touches: %{y:,} journeys without a conversion<extra></extra>"}],
        "layout": figure_layout(barmode="stack",
                                xaxis={"title": {"text": "Touches per journey"},
                                       "type": "category"},
                                yaxis={"title": {"text": "Journeys"}, "tickformat": ",d"})}


def days_figure(data: dict) -> dict:
    days = data["days_to_convert"]
    if not sum(days["counts"]):
        return empty_figure("No converting journey has touch times")
    return {"data": [{"type": "bar", "x": days["bins"], "y": days["counts"],
                      "marker": {"color": "#3498db"},
                      "hovertemplate": "%{x}: %{y:,} conversions<extra></extra>"}],
            "layout": figure_layout(xaxis={"title": {"text": "Days to convert"},
                                           "type": "category"},
                                    yaxis={"title": {"text": "Conversions"},
                                           "tickformat": ",d"})}


def paths_table(data: dict):
    paths = data["top_paths"]
    if not paths:
        return ids.empty_state("No converting paths.")
    header = [html.Th("Path"), html.Th("Conversions", className="text-end"),
              html.Th("Conversion rate", className="text-end",
                      title="converting journeys / journeys that took exactly this path")]
    rows = [html.Tr([html.Td(" → ".join(p["path"]), className="small"),
                     html.Td(fmt.count(p["conversions"]), className="text-end cd-num"),
                     html.Td(fmt.percent(p["conversion_rate"], 0),
                             className="text-end cd-num")]) for p in paths]
    return ids.table(header, rows)


def data_note(result: dict):
    data = result["data"]
    parts = [html.P(
        f"{fmt.count(data['journeys'])} journeys with {fmt.count(data['touches'])} touches; "
        f"{fmt.count(data['converting'])} convert ({fmt.percent(data['converting_share'])}). "
        + (f"{fmt.count(data['undated_journeys'])} journeys have no times (imported channel "
           "sequences): no date range selects them, they are always included, and time "
           "decay weighs their touches by position. " if data["undated_journeys"] else ""),
        className="mb-2")]
    if data["only_converting"]:
        parts.append(html.P(
            "Only converting journeys: this data allows every rule-based model (who came "
            "first, last, in between) and the paths that led to conversions, but not the "
            "data-driven models' main question, whether journeys with a channel convert more "
            "often than journeys without it: that needs the journeys that did not convert. "
            "Markov and Shapley are shown, but here they only measure how often a channel "
            "sits on converting paths.", className="mb-2"))
    else:
        parts.append(html.P(
            "With converting and non-converting journeys, Markov compares the chance of "
            "converting with and without each channel's touches, and Shapley compares "
            "conversion rates of journeys that touched different sets of channels. Both are "
            "still correlations: a channel that reaches people already about to buy looks "
            "better than it is.", className="mb-2"))
    shap = result["shapley"]
    parts.append(html.Small(
        f"Markov chain of order {result['markov']['order']} over "
        f"{result['markov']['states']} states, solved exactly (conversion probability "
        f"{result['markov']['conversion_probability'] * 100:.1f} %). Shapley values "
        + ("exact" if shap["exact"] else "sampled for the largest journeys")
        + f" (largest channel set {shap['largest_set']}"
        + (f"; for {shap['negative_clipped_conversions']:,} conversions a channel whose "
           "presence went with a lower conversion rate had a negative value, counted as 0"
           if shap["negative_clipped_conversions"] else "") + "). "
        + " ".join(n[:1].upper() + n[1:] + "." for n in data.get("notes", [])),
        className="text-muted"))
    return html.Div(parts)


def update_journeys(*values):
    try:
        result = _result(list(values))
    except ServiceError as error:
        text = sentence(error)
        return empty_figure(text), empty_figure(text), None, ids.message(text, "danger")
    if result["empty"]:
        text = _empty_text(result)
        return (empty_figure(text), empty_figure(text), ids.empty_state("No paths."),
                ids.empty_state(text + ".", "Journeys come from the demo data or from a "
                                "journeys import (campaign-dash import)."))
    data = result["data"]
    return lengths_figure(data), days_figure(data), paths_table(data), data_note(result)


# --------------------------------------------------------------------------- CSV


def download(n_clicks, *values):
    if not n_clicks:
        raise PreventUpdate
    raw = _raw(list(values))
    scope = _scope(raw)
    try:
        result = attribution.attribution(service_context(), scope, raw)
    except ServiceError:
        raise PreventUpdate from None
    if result["empty"]:
        raise PreventUpdate
    options = result["options"]
    name = (f"attribution-{scope.company.slug}-{options['level']}-{options['start']}-"
            f"{options['end']}.csv")
    return {"content": attribution.credits_csv(result), "filename": name,
            "type": "text/csv"}


def register(app: Dash) -> None:
    filter_bar_callbacks.register(app, BAR)
    inputs = _inputs()
    app.callback(Output(ids.COMPANY_NAME, "children"), Output(ids.AS_OF, "children"),
                 Output(ids.URL, "search"), Output(ids.MESSAGE, "children"),
                 Output(ids.CONTENT, "style"), *inputs,
                 Input(ids.MEASURE, "value"), State(ids.URL, "search"))(update_header)
    app.callback(Output(ids.SUMMARY, "children"), *inputs)(update_summary)
    app.callback(Output(ids.CREDIT_CHART, "figure"), Output(ids.CREDIT_CHART, "style"),
                 Output(ids.CREDIT_TABLE, "children"),
                 *inputs, Input(ids.MEASURE, "value"))(update_credit)
    app.callback(Output(ids.VERDICTS, "children"), Output(ids.ADVICE, "children"),
                 *inputs)(update_verdicts)
    app.callback(Output(ids.REMOVAL_CHART, "figure"), Output(ids.TRANSITIONS, "figure"),
                 *inputs)(update_markov)
    app.callback(Output(ids.LENGTHS, "figure"), Output(ids.DAYS, "figure"),
                 Output(ids.PATHS, "children"), Output(ids.DATA_NOTE, "children"),
                 *inputs)(update_journeys)
    app.callback(Output(ids.DOWNLOAD, "data"), Input(ids.DOWNLOAD_BUTTON, "n_clicks"),
                 *[State(i.component_id, i.component_property) for i in inputs],
                 prevent_initial_call=True)(download)
