"""Admin view callbacks: thin; read inputs, call services.admin / audit_query / preferences /
request_metrics, build components. Every callback checks the admin role first."""

from __future__ import annotations

import datetime as dt

from dash import Dash, Input, Output, State, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate
from flask import current_app, request

from callbacks.common import request_scope, require_action, sentence, service_context
from layouts import admin as ids
from layouts import components
from layouts import preferences as prefs_layout
from services import (
    access,
    admin,
    api_tokens,
    audit_query,
    data_quality,
    preferences,
    registry,
    request_metrics,
)
from services.errors import ServiceError
from services.tenancy import selectable_companies
from services.users import get_user

PREFS = prefs_layout.ids(ids.PREFS_PREFIX)


def _remote_addr() -> str | None:
    return (request.remote_addr or "")[:64] or None


def _scope() -> access.Scope:
    """The admin's scope: an admin with a company administers that company only."""
    return request_scope("admin", needs_company=False)


def _managed_user(scope: access.Scope, user_id):
    """A user the admin may manage (resolved inside the scope), or None when it is gone."""
    return get_user(service_context(), access.user_in_scope(service_context(), scope, user_id))


def _company_filter(value: str | None) -> str | None:
    return value or None  # "none" is passed through: users with no company


# --------------------------------------------------------------------------- users


def load_options(_version, _tab):
    """Company choices (all companies for an admin with none, else theirs) and the user list
    of the preferences tab."""
    scope = _scope()
    ctx = service_context()
    companies = selectable_companies(ctx, scope.user.company_id)
    with_none = ids.company_options(companies, with_none=scope.is_staff)
    users = admin.list_users(ctx, actor=scope.user)
    user_options = [{"label": f"{u['email']} ({u['role'].replace('_', ' ')})",
                     "value": u["id"]} for u in users]
    return with_none, with_none, with_none, user_options


def load_users(search, role, company, active, _version):
    """The users table for the filters."""
    scope = _scope()
    active_flag = {"yes": True, "no": False}.get(active) if isinstance(active, str) else None
    try:
        users = admin.list_users(service_context(), search, role, _company_filter(company),
                                 active_flag, actor=scope.user)
    except ServiceError as error:
        return [], str(error)
    names = {c.slug: c.name for c in selectable_companies(service_context(),
                                                          scope.user.company_id)}
    return (ids.user_rows(users, names),
            f"{len(users):,} user{'s' if len(users) != 1 else ''}")


def _first_row(selected_rows) -> dict | None:
    """The grid's first selected row, if the browser sent one (a list of dicts)."""
    if isinstance(selected_rows, list) and selected_rows and isinstance(selected_rows[0], dict):
        return selected_rows[0]
    return None


def show_selected(selected_rows, _row_data):
    """The selected user's summary, read again on the server (the grid's row is browser data:
    only its id is used, resolved inside the admin's scope)."""
    scope = _scope()
    row = _first_row(selected_rows)
    if row is None:
        return ids.selected_summary_empty()
    try:
        user = _managed_user(scope, row.get("id"))
    except ServiceError:
        user = None
    if user is None:
        return ids.selected_summary_empty()
    return ids.selected_summary(admin.user_dict(user))


def mutate(_new, _role, _company, _deactivate, _activate, _reset_set, _reset_link,
           email, name, role, company, mode, password, edit_role, edit_company, reset_password,
           selected_rows, version):
    """Every change to users: create, change role or company, (de)activate, reset password.
    Returns (create message, action message, table version, new password box, reset box)."""
    scope = _scope()
    actor = scope.user
    trigger = dash_ctx.triggered_id
    clicks = dash_ctx.triggered[0]["value"] if dash_ctx.triggered else None
    if trigger is None or not clicks:
        raise PreventUpdate
    ctx = service_context()
    where = _remote_addr()
    bump = (version if isinstance(version, int) else 0) + 1

    if trigger == ids.NEW_SUBMIT:
        company_slug = None if company in (None, ids.NO_COMPANY) else company
        try:
            result = admin.create_user(
                ctx, actor, email, role, company_slug, name,
                password if mode == "password" else None, remote_addr=where)
        except ServiceError as error:
            return ids.message(sentence(error)), no_update, no_update, \
                no_update, no_update
        extra = [ids.link_box(admin.set_password_url(result.token, request.host_url))] \
            if result.token else []
        text = f"Created {result.user.email} ({result.user.role.replace('_', ' ')})."
        return ids.message(text, "success", extra), no_update, bump, "", no_update

    if _first_row(selected_rows) is None:
        return no_update, ids.message("Select a user in the table first."), no_update, \
            no_update, no_update
    link = None
    try:
        # The selected row comes from the browser: resolved inside the admin's scope.
        user_id = access.user_in_scope(ctx, scope, _first_row(selected_rows).get("id"))
        if trigger == ids.EDIT_ROLE_SUBMIT:
            if not edit_role:
                raise ServiceError("choose the new role")
            result = admin.set_role(ctx, actor, user_id, edit_role, remote_addr=where)
            text = f"{result.user.email} is now {result.user.role.replace('_', ' ')}; it " \
                   "applies from their next request."
        elif trigger == ids.EDIT_COMPANY_SUBMIT:
            if not edit_company:
                raise ServiceError("choose the new company")
            slug = None if edit_company == ids.NO_COMPANY else edit_company
            result = admin.set_company(ctx, actor, user_id, slug, remote_addr=where)
            text = f"{result.user.email} now belongs to {slug or 'no company'}."
        elif trigger == ids.DEACTIVATE:
            result = admin.deactivate(ctx, actor, user_id, remote_addr=where)
            text = f"{result.user.email} is deactivated and signed out everywhere."
        elif trigger == ids.ACTIVATE:
            result = admin.activate(ctx, actor, user_id, remote_addr=where)
            text = f"{result.user.email} is active again."
        elif trigger == ids.RESET_SET:
            if not reset_password:
                raise ServiceError("type the new password, or issue a reset link")
            result = admin.reset_password(ctx, actor, user_id, reset_password,
                                          remote_addr=where)
            text = f"New password set for {result.user.email}; they were signed out."
        elif trigger == ids.RESET_LINK:
            result = admin.reset_password(ctx, actor, user_id, None, remote_addr=where)
            link = admin.set_password_url(result.token, request.host_url)
            text = f"Reset link issued for {result.user.email}; their old password no " \
                   "longer works."
        else:
            raise PreventUpdate
    except ServiceError as error:
        return no_update, ids.message(sentence(error)), no_update, no_update, \
            no_update
    extra = [ids.link_box(link)] if link else []
    return no_update, ids.message(text, "success", extra), bump, no_update, ""


# --------------------------------------------------------------------------- audit log


def load_audit(actor, action, start, end, tab):
    """The newest matching audit rows (up to 500) and how many match."""
    scope = require_action(_scope(), "read_audit")
    if tab not in (None, "audit"):
        raise PreventUpdate
    try:
        found = audit_query.search_audit(service_context(), actor, action, start, end,
                                         company_id=scope.user.company_id)
    except ServiceError as error:
        return [], "", ids.message(sentence(error))
    total, shown = found["total"], len(found["rows"])
    count = f"{total:,} matching entr{'ies' if total != 1 else 'y'}" + (
        f"; showing the newest {shown:,} (export for all)" if total > shown else "")
    return ids.audit_rows(found["rows"]), count, None


def export_audit(clicks, actor, action, start, end):
    """The matching rows as a CSV download."""
    scope = require_action(_scope(), "read_audit")
    if not clicks:
        raise PreventUpdate
    try:
        text = audit_query.audit_csv(service_context(), actor, action, start, end,
                                     company_id=scope.user.company_id)
    except ServiceError:
        raise PreventUpdate from None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    return {"content": text, "filename": f"audit-log-{stamp}.csv", "type": "text/csv"}


# --------------------------------------------------------------------------- preferences


def load_preferences(user_id):
    """The chosen user's preferences into the form."""
    scope = _scope()
    if not user_id:
        raise PreventUpdate
    try:
        user = _managed_user(scope, user_id)
    except ServiceError:
        raise PreventUpdate from None
    if user is None:
        raise PreventUpdate
    prefs = preferences.get_preferences(service_context(), user.id)
    return (prefs["default_range"], prefs["kpi_cards"],
            prefs_layout.landing_options(registry.landing_choices(user.role)),
            prefs["landing_view"] or "", None)


def save_preferences(clicks, user_id, default_range, kpi_cards, landing):
    scope = require_action(_scope(), "manage_preferences")
    if not clicks or not user_id:
        raise PreventUpdate
    try:
        user = _managed_user(scope, user_id)
        if user is None:
            return prefs_layout.problem("That user no longer exists.")
        preferences.set_preferences(service_context(), user, default_range, kpi_cards,
                                    landing, actor=scope.user, remote_addr=_remote_addr())
    except ServiceError as error:
        return prefs_layout.problem(sentence(error))
    return prefs_layout.saved(f"Saved for {user.email}.")


# --------------------------------------------------------------------------- system health


def latency_figure(latency: dict) -> dict:
    """p50, p95 and p99 per route (the 12 busiest), as a plain figure dict (a validated
    plotly Figure cost ~14 ms of the tab's refresh)."""
    routes = [row for row in latency["routes"] if row["p50"] is not None][:12]
    if not routes:
        return components.empty_figure("No requests recorded yet")
    names = [row["route"] for row in routes][::-1]
    data = [{"type": "bar", "orientation": "h", "y": names,
             "x": [row[key] for row in routes][::-1], "name": label,
             "marker": {"color": colour},
             "hovertemplate": "%{y}<br>" + label + ": %{x:,.1f} ms<extra></extra>"}
            for key, label, colour in (("p50", "p50", "#18bc9c"), ("p95", "p95", "#3498db"),
                                       ("p99", "p99", "#f39c12"))]
    return {"data": data, "layout": components.figure_layout(
        barmode="group", margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.2}, font={"size": 11},
        xaxis={"title": {"text": "Server time per request (ms)"}, "rangemode": "tozero"},
        yaxis={"automargin": True})}


def load_health(window, _refresh, _tick, tab):
    """Servers, error and cache-hit rates, latency per route, freshness, slow queries."""
    scope = require_action(_scope(), "read_system_health")
    if tab != "health":
        raise PreventUpdate
    health = request_metrics.system_health(service_context(),
                                           window if window in ("hour", "day") else "hour",
                                           company_id=scope.user.company_id)
    threshold = current_app.config.get("CAMPAIGN_DASH_SLOW_QUERY_MS", 100)
    names = {company.id: company.name
             for company in selectable_companies(service_context(), scope.user.company_id)}
    tokens = [{**token, "company": names[token["company_id"]]}  # per company, newest first
              for token in api_tokens.tokens_of_companies(service_context(), list(names))]
    return (ids.servers_row(health["servers"], health["latency"]),
            ids.latency_table(health["latency"]), latency_figure(health["latency"]),
            ids.freshness_table(health["freshness"]),
            ids.slow_table(health["slow_queries"], threshold), ids.tokens_table(tokens))


def load_quality(_refresh, tab):
    """The data-quality table (not on the 30-second refresh: it reads the facts)."""
    scope = require_action(_scope(), "read_system_health")
    if tab != "health":
        raise PreventUpdate
    return ids.quality_table(data_quality.data_quality(service_context(),
                                                       company_id=scope.user.company_id))


def register(app: Dash) -> None:
    app.callback(
        Output(ids.USER_COMPANY_FILTER, "options"),
        Output(ids.NEW_COMPANY, "options"),
        Output(ids.EDIT_COMPANY, "options"),
        Output(ids.PREFS_USER, "options"),
        Input(ids.USERS_VERSION, "data"),
        Input(ids.TABS, "active_tab"),
    )(load_options)
    app.callback(
        Output(ids.USERS_GRID, "rowData"),
        Output(ids.USERS_COUNT, "children"),
        Input(ids.USER_SEARCH, "value"),
        Input(ids.USER_ROLE_FILTER, "value"),
        Input(ids.USER_COMPANY_FILTER, "value"),
        Input(ids.USER_ACTIVE_FILTER, "value"),
        Input(ids.USERS_VERSION, "data"),
    )(load_users)
    app.callback(
        Output(ids.SELECTED, "children"),
        Input(ids.USERS_GRID, "selectedRows"),
        Input(ids.USERS_GRID, "rowData"),
    )(show_selected)
    app.callback(
        Output(ids.NEW_RESULT, "children"),
        Output(ids.ACTION_RESULT, "children"),
        Output(ids.USERS_VERSION, "data"),
        Output(ids.NEW_PASSWORD, "value"),
        Output(ids.RESET_PASSWORD, "value"),
        Input(ids.NEW_SUBMIT, "n_clicks"),
        Input(ids.EDIT_ROLE_SUBMIT, "n_clicks"),
        Input(ids.EDIT_COMPANY_SUBMIT, "n_clicks"),
        Input(ids.DEACTIVATE, "n_clicks"),
        Input(ids.ACTIVATE, "n_clicks"),
        Input(ids.RESET_SET, "n_clicks"),
        Input(ids.RESET_LINK, "n_clicks"),
        State(ids.NEW_EMAIL, "value"),
        State(ids.NEW_NAME, "value"),
        State(ids.NEW_ROLE, "value"),
        State(ids.NEW_COMPANY, "value"),
        State(ids.NEW_MODE, "value"),
        State(ids.NEW_PASSWORD, "value"),
        State(ids.EDIT_ROLE, "value"),
        State(ids.EDIT_COMPANY, "value"),
        State(ids.RESET_PASSWORD, "value"),
        State(ids.USERS_GRID, "selectedRows"),
        State(ids.USERS_VERSION, "data"),
        prevent_initial_call=True,
    )(mutate)
    app.callback(
        Output(ids.AUDIT_GRID, "rowData"),
        Output(ids.AUDIT_COUNT, "children"),
        Output(ids.AUDIT_MESSAGE, "children"),
        Input(ids.AUDIT_ACTOR, "value"),
        Input(ids.AUDIT_ACTION, "value"),
        Input(ids.AUDIT_DATES, "start_date"),
        Input(ids.AUDIT_DATES, "end_date"),
        Input(ids.TABS, "active_tab"),
    )(load_audit)
    app.callback(
        Output(ids.AUDIT_DOWNLOAD, "data"),
        Input(ids.AUDIT_EXPORT, "n_clicks"),
        State(ids.AUDIT_ACTOR, "value"),
        State(ids.AUDIT_ACTION, "value"),
        State(ids.AUDIT_DATES, "start_date"),
        State(ids.AUDIT_DATES, "end_date"),
        prevent_initial_call=True,
    )(export_audit)
    app.callback(
        Output(PREFS["range"], "value"),
        Output(PREFS["kpis"], "value"),
        Output(PREFS["landing"], "options"),
        Output(PREFS["landing"], "value"),
        Output(PREFS["result"], "children"),
        Input(ids.PREFS_USER, "value"),
    )(load_preferences)
    app.callback(
        Output(PREFS["result"], "children", allow_duplicate=True),
        Input(PREFS["save"], "n_clicks"),
        State(ids.PREFS_USER, "value"),
        State(PREFS["range"], "value"),
        State(PREFS["kpis"], "value"),
        State(PREFS["landing"], "value"),
        prevent_initial_call=True,
    )(save_preferences)
    app.callback(
        Output(ids.HEALTH_SERVERS, "children"),
        Output(ids.HEALTH_LATENCY, "children"),
        Output(ids.HEALTH_CHART, "figure"),
        Output(ids.HEALTH_FRESHNESS, "children"),
        Output(ids.HEALTH_SLOW, "children"),
        Output(ids.HEALTH_TOKENS, "children"),
        Input(ids.HEALTH_WINDOW, "value"),
        Input(ids.HEALTH_REFRESH, "n_clicks"),
        Input(ids.HEALTH_INTERVAL, "n_intervals"),
        Input(ids.TABS, "active_tab"),
    )(load_health)
    app.callback(
        Output(ids.HEALTH_QUALITY, "children"),
        Input(ids.HEALTH_REFRESH, "n_clicks"),
        Input(ids.TABS, "active_tab"),
    )(load_quality)
