"""Imports view callbacks: thin; the files the browser picked are data, never authority: the
company is the scope's (request_scope), and a past import's id or a job id from the page is
looked up inside the scope by ``services.imports``."""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from callbacks.common import request_scope, sentence, service_context
from layouts import format as fmt
from layouts import imports as ids
from services import imports, preferences
from services.errors import ServiceError

OPTION_STATES = [State(component, "value") for component in ids.OPTION_IDS]


def _options(values) -> dict:
    return dict(zip(ids.OPTION_NAMES, values, strict=True))


def update_header(company):
    return request_scope("imports", company).company.name


def show_files(names):
    if not names:
        return html.Span("No files chosen yet.", className="text-muted")
    names = names if isinstance(names, list) else [names]
    return html.Ul([html.Li(name) for name in names], className="mb-0")


# --------------------------------------------------------------------------- summaries


def _counts(summary: dict, dry_run: bool) -> html.Div:
    badges = [("imported", "to import" if dry_run else "imported", "success"),
              ("replaced", "to replace" if dry_run else "replaced", "warning"),
              ("unchanged", "unchanged", "secondary"), ("rejected", "rejected", "danger")]
    return html.Div([
        html.Span(f"{summary['rows']:,} rows", className="me-2"),
        *(html.Span(f"{summary[key]:,} {label}", className=f"badge text-bg-{colour} me-1")
          for key, label, colour in badges if summary.get(key) or key == "imported"),
    ], className="mb-2")


def _preview(preview: dict | None) -> html.Div | None:
    if not preview or not preview["columns"]:
        return None
    return html.Div([
        html.Div("First rows", className="small fw-semibold mt-2"),
        ids.table(preview["columns"], [html.Tr([html.Td(cell, className="cd-wrap")
                                                for cell in row])
                                       for row in preview["rows"]]),
    ])


def _list(title: str, items: list, colour: str = "muted") -> html.Div | None:
    if not items:
        return None
    return html.Div([html.Div(title, className="small fw-semibold mt-2"),
                     html.Ul([html.Li(item) for item in items],
                             className=f"small mb-0 text-{colour}")])


def summary_card(result: dict, dry_run: bool) -> html.Div:
    name = result["file"]
    if "error" in result:
        return html.Div([html.Div(name, className="fw-semibold"),
                         ids.message(sentence(result["error"]), "danger"),
                         _preview(result.get("preview"))], className="border-bottom py-2")
    title = (f"Recognised as {result['format_title']} (format {result['format']}) from its "
             f"header; {result['encoding']}, {result['delimiter']!r}-separated, "
             f"{result['line_ending']} line endings.")
    reasons = [f"{count:,} × {reason}" for reason, count in result["reasons"].items()]
    ignored = [f"Ignored (no warehouse field): {', '.join(result['ignored_columns'])}"] \
        if result["ignored_columns"] else []
    what = "Would import" if dry_run else "Imported"
    return html.Div([
        html.Div([html.Span(name, className="fw-semibold me-2"),
                  html.Small(f"{what} in {result['seconds']:.1f} s", className="text-muted")]),
        html.Div(title, className="small text-muted mb-1"),
        _counts(result, dry_run),
        _list("Mapping notes", [*result["notes"], *ignored]),
        _list("Why rows were rejected", reasons, "danger"),
        _list("How to fix them", result["fixes"], "body"),
        _preview(result.get("preview")),
    ], className="border-bottom py-2")


def results_panel(results: list[dict], dry_run: bool):
    heading = ("Dry run: nothing was stored. Import when the counts look right."
               if dry_run else "Import finished.")
    return html.Div([html.Div(heading, className="fw-semibold mb-1"),
                     *(summary_card(result, dry_run) for result in results)],
                    className="card card-body shadow-sm")


def check(_clicks, contents, names, company, *option_values):
    scope = request_scope("imports", company)
    try:
        files = imports.decode_files(names, contents)
        results = imports.dry_run(service_context(), scope, files, _options(option_values))
    except ServiceError as error:
        return ids.message(sentence(error), "danger"), no_update
    return None, results_panel(results, dry_run=True)


# --------------------------------------------------------------------------- import job


def start(_clicks, contents, names, company, *option_values):
    scope = request_scope("imports", company)
    try:
        files = imports.decode_files(names, contents)
        job_id = imports.start_import(service_context(), scope, files,
                                      _options(option_values))
    except ServiceError as error:
        return ids.message(sentence(error), "danger"), no_update, True, {"display": "none"}
    return (ids.message(f"Importing {len(files):,} file{'s' if len(files) > 1 else ''}…"),
            job_id, False, {"display": "block"})


def poll(_ticks, job_id, company, changed):
    if not job_id:
        raise PreventUpdate
    changed = changed if isinstance(changed, int) else 0
    scope = request_scope("imports", company)
    try:
        state = imports.job_status(service_context(), scope, job_id)
    except ServiceError as error:
        return (0, "", ids.message(sentence(error), "danger"), no_update, True, no_update,
                {"display": "none"})
    percent = round(100 * state.get("fraction", 0))
    if state["state"] == "running":
        text = (f"{state['file'] or 'Starting'}: {state['rows']:,} rows read"
                if state.get("file") else "Starting…")
        return percent, text, no_update, no_update, False, no_update, {"display": "block"}
    if state["state"] == "failed":
        return (percent, "", ids.message(f"The import failed: {state['error']}", "danger"),
                no_update, True, changed + 1, {"display": "none"})
    if state["state"] == "unknown":
        return (percent, "", ids.message(state["message"], "warning"), no_update, True,
                changed + 1, {"display": "none"})
    return (100, "", None, results_panel(state["results"], dry_run=False), True, changed + 1,
            {"display": "none"})


# --------------------------------------------------------------------------- past imports


STATUS_COLOURS = {"ok": "success", "partial": "warning", "rejected": "danger",
                  "running": "info"}


def past(company, _changed):
    scope = request_scope("imports", company)
    try:
        listed = imports.past_imports(service_context(), scope)
    except ServiceError as error:
        return ids.message(sentence(error), "danger")
    zone = preferences.time_zone_of(service_context(), scope.user.id)
    if not listed["imports"]:
        return html.Div("No imports into this company yet: upload an export above.",
                        className="text-muted py-2")
    rows = []
    for run in listed["imports"]:
        download = (html.Button("Rejected rows (CSV)", id={"type": ids.REJECTED,
                                                           "index": run["id"]},
                                className="btn btn-link btn-sm p-0", n_clicks=0)
                    if run["rows_rejected"] else fmt.DASH)
        rows.append(html.Tr([
            html.Td(fmt.clock(run["started_at"], zone), className="cd-num"),
            html.Td(run["file"], className="cd-wrap"),
            html.Td(run["format"] or run["kind"]),
            html.Td(html.Span(run["status"], className="badge text-bg-"
                              + STATUS_COLOURS.get(run["status"], "secondary"))),
            html.Td(f"{run['imported']:,}", className="text-end cd-num"),
            html.Td(f"{run['replaced']:,}", className="text-end cd-num"),
            html.Td(f"{run['unchanged']:,}", className="text-end cd-num"),
            html.Td(f"{run['rows_rejected']:,}", className="text-end cd-num"),
            html.Td(run["actor"] or fmt.DASH, className="cd-wrap"),
            html.Td(download),
        ]))
    return ids.table(["Started", "File", "Format", "Status", "Imported", "Replaced",
                      "Unchanged", "Rejected", "By", ""], rows)


def download_rejected(clicks, company):
    if not dash_ctx.triggered_id or not any(clicks or []):
        raise PreventUpdate
    scope = request_scope("imports", company)
    try:
        name, text = imports.rejected_csv(service_context(), scope,
                                          dash_ctx.triggered_id.get("index"))
    except ServiceError:
        raise PreventUpdate from None
    return dcc.send_string(text, name)


def register(app: Dash) -> None:
    app.callback(Output(ids.COMPANY_NAME, "children"), Input(ids.COMPANY, "value"))(
        update_header)
    app.callback(Output(ids.FILES, "children"), Input(ids.UPLOAD, "filename"))(show_files)
    upload = [State(ids.UPLOAD, "contents"), State(ids.UPLOAD, "filename"),
              State(ids.COMPANY, "value"), *OPTION_STATES]
    app.callback(Output(ids.MESSAGE, "children", allow_duplicate=True),
                 Output(ids.RESULTS, "children", allow_duplicate=True),
                 Input(ids.CHECK, "n_clicks"), *upload, prevent_initial_call=True)(check)
    app.callback(Output(ids.MESSAGE, "children", allow_duplicate=True),
                 Output(ids.JOB, "data"), Output(ids.POLL, "disabled", allow_duplicate=True),
                 Output(f"{ids.PROGRESS}-box", "style", allow_duplicate=True),
                 Input(ids.RUN, "n_clicks"), *upload, prevent_initial_call=True)(start)
    app.callback(Output(ids.PROGRESS, "value"), Output(ids.PROGRESS_TEXT, "children"),
                 Output(ids.MESSAGE, "children", allow_duplicate=True),
                 Output(ids.RESULTS, "children", allow_duplicate=True),
                 Output(ids.POLL, "disabled", allow_duplicate=True),
                 Output(ids.CHANGED, "data"),
                 Output(f"{ids.PROGRESS}-box", "style", allow_duplicate=True),
                 Input(ids.POLL, "n_intervals"), State(ids.JOB, "data"),
                 State(ids.COMPANY, "value"), State(ids.CHANGED, "data"),
                 prevent_initial_call=True)(poll)
    app.callback(Output(ids.PAST, "children"), Input(ids.COMPANY, "value"),
                 Input(ids.CHANGED, "data"))(past)
    app.callback(Output(ids.DOWNLOAD, "data"),
                 Input({"type": ids.REJECTED, "index": ALL}, "n_clicks"),
                 State(ids.COMPANY, "value"), prevent_initial_call=True)(download_rejected)
