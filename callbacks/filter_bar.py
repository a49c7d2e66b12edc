"""Callbacks of the shared filter bar (``layouts.filter_bar``): the company's own channel,
segment and project options (a bar with all three), and picking dates selects the custom
range. Each goes through the
view's access check (``request_scope``) like every other callback."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import Dash, Input, Output, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import request_scope, sentence, service_context
from layouts import filter_bar
from layouts.filter_bar import FilterBar
from services import filters
from services.errors import ServiceError


def ready_scope(view: str, raw: dict):
    """The request's scope on ``view``; PreventUpdate while a custom range is half picked
    (the header callback says what is missing)."""
    scope = request_scope(view, raw["company"])
    if filter_bar.custom_range_problem(raw):
        raise PreventUpdate
    return scope


def url_search(scope, params: dict, current_search):
    """The view's shareable URL query for these filters (the company first for staff, who
    pick one), or no_update when the URL already says so."""
    if scope.is_staff:
        params = {"company": scope.company.slug, **params}
    search = "?" + urlencode(params)
    return search if search != current_search else no_update


def register(app: Dash, bar: FilterBar) -> None:
    def fill_options(company_slug):
        try:
            scope = request_scope(bar.view, company_slug)
            offered = filters.options(service_context(), scope)
        except ServiceError as error:
            return [], [], [], filter_bar.notice(sentence(error))
        return (filter_bar.options(offered["channels"], "All channels"),
                filter_bar.options(offered["segments"], "All segments"),
                filter_bar.options(offered["projects"], "All projects"), None)

    def pick_dates(start, end):
        request_scope(bar.view)
        if not start or not end:
            raise PreventUpdate
        return "custom"

    fill_options.__name__ = f"{bar.view}_filter_options"
    pick_dates.__name__ = f"{bar.view}_pick_dates"
    if bar.dimensions == filter_bar.DIMENSIONS:
        app.callback(Output(bar.channel, "options"), Output(bar.segment, "options"),
                     Output(bar.project, "options"), Output(bar.message, "children"),
                     Input(bar.company, "value"))(fill_options)
    app.callback(Output(bar.range, "value"), Input(bar.dates, "start_date"),
                 Input(bar.dates, "end_date"), prevent_initial_call=True)(pick_dates)
