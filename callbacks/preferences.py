"""The shell's "Preferences" dialog: every signed-in user sets their own default time range,
KPI cards, landing view and time zone (services.preferences). Its ids start with ``app-`` (the
shell), so any signed-in user may call these callbacks, and they only ever touch the caller's
own row."""

from __future__ import annotations

from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from callbacks.common import sentence, service_context
from layouts import preferences as layout
from services import preferences, registry
from services.errors import Forbidden, ServiceError

IDS = layout.ids(layout.SHELL_PREFIX)


def _user():
    if not current_user.is_authenticated:
        raise Forbidden("log in first")
    return current_user.record


def open_dialog(clicks):
    """Open the dialog with the user's saved preferences."""
    user = _user()
    if not clicks:
        raise PreventUpdate
    prefs = preferences.get_preferences(service_context(), user.id)
    return (True, prefs["default_range"], prefs["kpi_cards"],
            layout.landing_options(registry.landing_choices(user.role)),
            prefs["landing_view"] or "", prefs["time_zone"], None)


def save(clicks, default_range, kpi_cards, landing, time_zone):
    user = _user()
    if not clicks:
        raise PreventUpdate
    try:
        preferences.set_preferences(service_context(), user, default_range, kpi_cards, landing,
                                    time_zone=time_zone or None,
                                    remote_addr=(request.remote_addr or "")[:64] or None)
    except ServiceError as error:
        return layout.problem(sentence(error))
    return layout.saved("Saved. Views use these from the next page you open.")


def register(app: Dash) -> None:
    app.callback(
        Output(layout.MODAL, "is_open"),
        Output(IDS["range"], "value"),
        Output(IDS["kpis"], "value"),
        Output(IDS["landing"], "options"),
        Output(IDS["landing"], "value"),
        Output(IDS["timezone"], "value"),
        Output(IDS["result"], "children"),
        Input(layout.OPEN, "n_clicks"),
        prevent_initial_call=True,
    )(open_dialog)
    app.callback(
        Output(IDS["result"], "children", allow_duplicate=True),
        Input(IDS["save"], "n_clicks"),
        State(IDS["range"], "value"),
        State(IDS["kpis"], "value"),
        State(IDS["landing"], "value"),
        State(IDS["timezone"], "value"),
        prevent_initial_call=True,
    )(save)
