"""Reports view callbacks: thin; every one builds the request's scope on the reports view and
calls ``services.reports``. Schedule ids from the page (row buttons, the editing and preview
stores) are resolved inside the scope by the service: another company's id is a refusal."""

from __future__ import annotations

import base64

from dash import ALL, Dash, Input, Output, State, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from callbacks import filter_bar as filter_bar_callbacks
from callbacks.common import request_scope, sentence, service_context
from layouts import filter_bar
from layouts import reports as ids
from layouts.components import FROM_MD, FROM_SM
from layouts.reports import BAR
from services import registry, reports
from services.alerts.actions import DeliveryConfig
from services.errors import ServiceError

VIEW = "reports"


def _error(error: ServiceError):
    return ids.message(sentence(error), "danger")


def _raw(values: list) -> dict:
    return filter_bar.filter_values(values, BAR)


def _clicked() -> bool:
    """Whether the trigger is a real click (pattern buttons re-render with n_clicks 0)."""
    return bool(dash_ctx.triggered and dash_ctx.triggered[0].get("value"))


def _stored_id(data):
    return data.get("schedule_id") if isinstance(data, dict) else None


def delivery_config() -> DeliveryConfig:
    return DeliveryConfig.from_env()


# --------------------------------------------------------------------------- list and runs


def _status(status: str | None):
    if not status:
        return html.Span("never run", className="text-muted small")
    return html.Span(status, className=f"badge text-bg-{ids.STATUS_COLOURS.get(status, 'light')}")


def _local_time(iso: str | None, text: str | None):
    """The schedule zone's time, and the viewer's own (filled in by the browser from
    ``data-utc``: dashapp/assets/50-reports.js)."""
    if not iso:
        return html.Span("paused", className="text-muted")
    return html.Div([html.Div(text, className="cd-num"),
                     html.Small("", className="text-muted cd-viewer-time", **{"data-utc": iso})])


def schedule_table(listed: dict, can_edit: bool):
    if not listed["schedules"]:
        hint = ("Create one with the form below: pick the sections, the filters, when and "
                "who gets it." if can_edit else
                "Admins and marketing managers create schedules.")
        return ids.empty_state("No report schedules for this company yet.", hint)
    header = [html.Th("Report"), html.Th("When", className=FROM_MD),
              html.Th("Next run"), html.Th("Last run", className=FROM_SM), html.Th("")]
    rows = []
    for s in listed["schedules"]:
        index = s["id"]
        buttons = [html.Button("Preview", id={"type": ids.SHOW, "index": index}, n_clicks=0,
                               className="btn btn-sm btn-outline-primary"),
                   html.Button("Runs", id={"type": ids.HISTORY, "index": index}, n_clicks=0,
                               className="btn btn-sm btn-outline-secondary")]
        if can_edit:
            buttons = [html.Button("Send now", id={"type": ids.SEND, "index": index},
                                   n_clicks=0, className="btn btn-sm btn-primary"),
                       *buttons,
                       html.Button("Edit", id={"type": ids.EDIT, "index": index}, n_clicks=0,
                                   className="btn btn-sm btn-outline-secondary"),
                       html.Button("Delete", id={"type": ids.DELETE, "index": index},
                                   n_clicks=0, className="btn btn-sm btn-outline-danger")]
        rows.append(html.Tr([
            html.Td([html.Div(s["name"], className="fw-semibold"),
                     html.Small(f"{len(s['sections'])} section(s) · "
                                f"{', '.join(f.upper() for f in s['formats'])} · "
                                f"{len(s['recipients'])} recipient(s)"
                                + (" · Slack" if s["slack"] else "") + f" · {s['owner']}",
                                className="text-muted d-block")]),
            html.Td(s["when"], className=f"small {FROM_MD}"),
            html.Td(_local_time(s["next_run_at"], s["next_run_local"]), className="small"),
            html.Td([_status(s["last_status"]),
                     html.Small(s["last_detail"] or "", className="text-muted d-block",
                                style={"maxWidth": "22rem"})
                     if s["last_status"] in ("failed", "partial", "retrying", "skipped")
                     else None], className=FROM_SM),
            html.Td(html.Div(buttons, className="d-flex flex-wrap gap-1 justify-content-end")),
        ]))
    return ids.table(header, rows)


def _size(sizes: dict) -> str:
    total = sum(sizes.values()) if sizes else 0
    return f"{total / 1024:,.0f} KB" if total else "—"


def runs_table(listed: dict):
    if not listed["runs"]:
        return ids.empty_state("No runs yet.", "A schedule runs at its next due time, or now "
                                               "with Send now.")
    header = [html.Th("Due"), html.Th("Report", className=FROM_SM), html.Th("Status"),
              html.Th("Took", className=f"text-end {FROM_MD}"),
              html.Th("Size", className=f"text-end {FROM_MD}")]
    rows = []
    for r in listed["runs"]:
        took = ((r["render_ms"] or 0) + (r["deliver_ms"] or 0)) / 1000
        rows.append(html.Tr([
            html.Td([html.Div(r["due_at"][:16].replace("T", " ") + " UTC", className="cd-num"),
                     html.Small(r["kind"], className="text-muted")], className="small"),
            html.Td(r["schedule"], className=f"small {FROM_SM}"),
            html.Td([_status(r["status"]),
                     html.Small(r["detail"] or "", className="text-muted d-block",
                                style={"maxWidth": "24rem", "overflowWrap": "anywhere"})]),
            html.Td(f"{took:,.1f} s" if r["finished_at"] else "—",
                    className=f"text-end cd-num small {FROM_MD}"),
            html.Td(_size(r["sizes"]), className=f"text-end cd-num small {FROM_MD}")]))
    return ids.table(header, rows)


def update_list(company, _changed, _saved, _allowed, runs_for):
    scope = request_scope(VIEW, company)
    ctx = service_context()
    can_edit = registry.can_take(scope.role, "edit_report_schedules")
    try:
        listed = reports.list_schedules(ctx, scope)
        schedule_id = _stored_id(runs_for)
        runs = reports.list_runs(ctx, scope, schedule_id)
        offered = reports.options(ctx, scope)
    except ServiceError as error:
        return scope.company.name, _error(error), None, "Recent runs", [], []
    title = "Recent runs"
    if _stored_id(runs_for):
        name = next((s["name"] for s in listed["schedules"] if s["id"] == schedule_id), "")
        title = f"Runs of {name}"
    sections = [{"label": s["title"], "value": s["key"]} for s in offered["sections"]]
    users = [{"label": f"{u['name']} <{u['email']}>", "value": u["email"]}
             for u in offered["users"]] + [{"label": f"{a} (allowed outside address)",
                                            "value": a} for a in offered["allowed_addresses"]]
    return (scope.company.name, schedule_table(listed, can_edit), runs_table(runs), title,
            sections, users)


def pick_runs(history_clicks, all_clicks):
    """Show one schedule's runs (its Runs button) or all of the company's."""
    request_scope(VIEW)
    trigger = dash_ctx.triggered_id
    if trigger == ids.ALL_RUNS:
        return None
    if isinstance(trigger, dict) and trigger.get("type") == ids.HISTORY and _clicked():
        return {"schedule_id": trigger.get("index")}
    raise PreventUpdate


# --------------------------------------------------------------------------- the form


def day_options(cadence):
    """The day picker's choices for the cadence (the value is checked when saved)."""
    request_scope(VIEW)
    if cadence == "weekly":
        return [{"label": d, "value": i} for i, d in enumerate(reports.WEEKDAYS, start=1)]
    if cadence == "monthly":
        return [{"label": f"Day {d}", "value": d} for d in range(1, 29)]
    return []


def _form_values(schedule: dict | None) -> tuple:
    if schedule is None:
        return ("", ["kpis"], ["pdf"], "weekdays", None, "08:00", "UTC", "", [], "",
                ["notify", "active"], "New schedule")
    options = [k for k in ids.OPTION_LABELS if schedule[k]]
    return (schedule["name"], schedule["sections"], schedule["formats"], schedule["cadence"],
            schedule["day"], schedule["local_time"], schedule["timezone"],
            schedule["cron"] or "", schedule["recipients"], "", options,
            f"Edit: {schedule['name']}")


def _save(editing, name, sections, formats, cadence, day, local_time, timezone, cron,
          recipients, others, options, bar_values):
    raw = _raw(list(bar_values))
    scope = request_scope(VIEW, raw["company"])
    problem = filter_bar.custom_range_problem(raw)
    if problem:
        return ids.message(problem, "warning"), None
    options = options or []
    addresses = list(recipients or []) + [a for a in str(others or "").replace(";", ",")
                                          .split(",") if a.strip()]
    filters = {k: v for k, v in raw.items() if k != "company" and v not in (None, "", "all")}
    form = {"name": name, "sections": sections or [], "formats": formats or [],
            "cadence": cadence, "day": day, "local_time": local_time, "timezone": timezone,
            "cron": cron, "recipients": addresses, "filters": filters,
            **{k: k in options for k in ids.OPTION_LABELS}}
    try:
        saved = reports.save_schedule(service_context(), scope, form, _stored_id(editing))
    except ServiceError as error:
        return _error(error), None
    nxt = saved["next_run_local"] or "paused"
    return (ids.message(f"Saved '{saved['name']}': {saved['when']}; next run {nxt}.",
                        "success"), saved)


def form(edit_clicks, new_clicks, save_clicks, editing, name, sections, formats, cadence, day,
         local_time, timezone, cron, recipients, others, options, saved_count, *bar_values):
    """The form: fill it with a schedule (its Edit button), empty it (New schedule), or save
    it (a new schedule, or the one being edited). One callback, so no output is shared."""
    trigger = dash_ctx.triggered_id
    keep = (no_update,) * 12
    if trigger == ids.NEW and new_clicks:
        return (None, *_form_values(None), None, no_update)
    if trigger == ids.SAVE and save_clicks:
        text, saved = _save(editing, name, sections, formats, cadence, day, local_time,
                            timezone, cron, recipients, others, options, bar_values)
        if saved is None:
            return (no_update, *keep, text, no_update)
        count = saved_count if isinstance(saved_count, int) else 0
        return ({"schedule_id": saved["id"]}, *((no_update,) * 11),
                f"Edit: {saved['name']}", text, count + 1)
    if isinstance(trigger, dict) and trigger.get("type") == ids.EDIT and _clicked():
        raw = _raw(list(bar_values))
        scope = request_scope(VIEW, raw["company"])
        found = reports.schedule_in_scope(service_context(), scope, trigger.get("index"))
        public = reports.list_schedules(service_context(), scope)
        schedule = next(s for s in public["schedules"] if s["id"] == found["id"])
        return ({"schedule_id": found["id"]}, *_form_values(schedule), None, no_update)
    raise PreventUpdate


def allow(clicks, address, company, allowed_count):
    if not clicks:
        raise PreventUpdate
    scope = request_scope(VIEW, company)
    try:
        done = reports.allow_recipient(service_context(), scope, address)
    except ServiceError as error:
        return _error(error), no_update
    count = allowed_count if isinstance(allowed_count, int) else 0
    return ids.message(f"{done['allowed']} may now receive this company's reports.",
                       "success"), count + 1


# --------------------------------------------------------------------------- row actions


def act(send_clicks, delete_clicks, company, changed):
    """Send now or delete a schedule (its row buttons)."""
    trigger = dash_ctx.triggered_id
    if not (isinstance(trigger, dict) and _clicked()):
        raise PreventUpdate
    scope = request_scope(VIEW, company)
    ctx = service_context()
    counter = changed if isinstance(changed, int) else 0
    try:
        if trigger.get("type") == ids.SEND:
            run = reports.send_now(ctx, scope, trigger.get("index"), delivery_config())
            colour = {"sent": "success", "skipped": "secondary"}.get(run["status"], "warning")
            if run["status"] == "failed":
                colour = "danger"
            text = (f"'{run['schedule']}' {run['status']}: {run['detail'] or ''}").strip()
            return ids.message(text, colour), counter + 1
        if trigger.get("type") == ids.DELETE:
            done = reports.delete_schedule(ctx, scope, trigger.get("index"))
            return ids.message(f"Deleted '{done['name']}' and its runs.", "success"), counter + 1
    except ServiceError as error:
        return _error(error), no_update
    raise PreventUpdate


def open_preview(show_clicks, company):
    trigger = dash_ctx.triggered_id
    if not (isinstance(trigger, dict) and trigger.get("type") == ids.SHOW and _clicked()):
        raise PreventUpdate
    scope = request_scope(VIEW, company)
    try:
        shown = reports.preview(service_context(), scope, trigger.get("index"))
    except ServiceError as error:
        return True, "Preview", "", _error(error), None
    note = ids.message("Every section is empty for these filters.", "warning") \
        if shown["empty"] else None
    return (True, f"Preview: {shown['name']} (not sent)", shown["html"], note,
            {"schedule_id": trigger.get("index")})


MIME = {"pdf": "application/pdf", "html": "text/html", "csv": "text/csv"}


def download(pdf_clicks, html_clicks, csv_clicks, previewing, company):
    trigger = dash_ctx.triggered_id
    fmt = {ids.DOWNLOAD_PDF: "pdf", ids.DOWNLOAD_HTML: "html",
           ids.DOWNLOAD_CSV: "csv"}.get(trigger)
    if fmt is None or not _clicked():
        raise PreventUpdate
    scope = request_scope(VIEW, company)
    try:
        shown = reports.preview(service_context(), scope, _stored_id(previewing), fmt)
    except ServiceError as error:
        return no_update, _error(error)
    if not shown["files"]:
        return no_update, ids.message("No table to export in this report.", "info")
    filename, data = next(iter(shown["files"].items()))
    return {"content": base64.b64encode(data).decode(), "filename": filename,
            "base64": True, "type": MIME.get(fmt)}, None


def register(app: Dash) -> None:
    filter_bar_callbacks.register(app, BAR)
    changed = Input(ids.CHANGED, "data")
    app.callback(Output(ids.COMPANY_NAME, "children"), Output(ids.SCHEDULES, "children"),
                 Output(ids.RUNS, "children"), Output(ids.RUNS_TITLE, "children"),
                 Output(ids.SECTIONS, "options"), Output(ids.RECIPIENTS, "options"),
                 Input(BAR.company, "value"), changed, Input(ids.SAVED, "data"),
                 Input(ids.ALLOWED, "data"), Input(ids.RUNS_FOR, "data"))(update_list)
    app.callback(Output(ids.RUNS_FOR, "data"),
                 Input({"type": ids.HISTORY, "index": ALL}, "n_clicks"),
                 Input(ids.ALL_RUNS, "n_clicks"), prevent_initial_call=True)(pick_runs)
    app.callback(Output(ids.MESSAGE, "children"), Output(ids.CHANGED, "data"),
                 Input({"type": ids.SEND, "index": ALL}, "n_clicks"),
                 Input({"type": ids.DELETE, "index": ALL}, "n_clicks"),
                 State(BAR.company, "value"), State(ids.CHANGED, "data"),
                 prevent_initial_call=True)(act)
    app.callback(Output(ids.PREVIEW, "is_open"), Output(ids.PREVIEW_TITLE, "children"),
                 Output(ids.PREVIEW_FRAME, "srcDoc"), Output(ids.PREVIEW_MESSAGE, "children"),
                 Output(ids.PREVIEWING, "data"),
                 Input({"type": ids.SHOW, "index": ALL}, "n_clicks"),
                 State(BAR.company, "value"), prevent_initial_call=True)(open_preview)
    app.callback(Output(ids.DOWNLOAD, "data"), Output(ids.DOWNLOAD_MESSAGE, "children"),
                 Input(ids.DOWNLOAD_PDF, "n_clicks"), Input(ids.DOWNLOAD_HTML, "n_clicks"),
                 Input(ids.DOWNLOAD_CSV, "n_clicks"), State(ids.PREVIEWING, "data"),
                 State(BAR.company, "value"), prevent_initial_call=True)(download)
    # The form answers only to clicks; the service checks the action.
    app.callback(Output(ids.DAY, "options"), Input(ids.CADENCE, "value"))(day_options)
    app.callback(Output(ids.EDITING, "data"), Output(ids.NAME, "value"),
                 Output(ids.SECTIONS, "value"), Output(ids.FORMATS, "value"),
                 Output(ids.CADENCE, "value"), Output(ids.DAY, "value"),
                 Output(ids.TIME, "value"), Output(ids.TIMEZONE, "value"),
                 Output(ids.CRON, "value"), Output(ids.RECIPIENTS, "value"),
                 Output(ids.OTHER_RECIPIENTS, "value"), Output(ids.OPTIONS, "value"),
                 Output(ids.FORM_TITLE, "children"), Output(ids.FORM_MESSAGE, "children"),
                 Output(ids.SAVED, "data"),
                 Input({"type": ids.EDIT, "index": ALL}, "n_clicks"),
                 Input(ids.NEW, "n_clicks"), Input(ids.SAVE, "n_clicks"),
                 State(ids.EDITING, "data"),
                 State(ids.NAME, "value"), State(ids.SECTIONS, "value"),
                 State(ids.FORMATS, "value"), State(ids.CADENCE, "value"),
                 State(ids.DAY, "value"), State(ids.TIME, "value"),
                 State(ids.TIMEZONE, "value"), State(ids.CRON, "value"),
                 State(ids.RECIPIENTS, "value"), State(ids.OTHER_RECIPIENTS, "value"),
                 State(ids.OPTIONS, "value"), State(ids.SAVED, "data"),
                 *BAR.states(), prevent_initial_call=True)(form)
    app.callback(Output(ids.ALLOW_MESSAGE, "children"), Output(ids.ALLOWED, "data"),
                 Input(ids.ALLOW, "n_clicks"), State(ids.ALLOW_ADDRESS, "value"),
                 State(BAR.company, "value"), State(ids.ALLOWED, "data"),
                 prevent_initial_call=True)(allow)
