"""Routing: renders the view for the URL, only if the user's role may open it."""

from __future__ import annotations

from urllib.parse import parse_qs

from dash import Dash, Input, Output, State
from flask_login import current_user

import callbacks.preferences
from callbacks.common import service_context
from dashapp.views import BUILT
from layouts import preferences as preferences_layout
from layouts import shell
from services import registry
from services.preferences import preferred_landing, query_defaults
from services.tenancy import selectable_companies


def render_page(pathname: str | None, search: str | None):
    """(page, nav links, user menu) for a pathname; a forbidden view's layout is never built."""
    if not current_user.is_authenticated:
        return shell.forbidden(), [], []
    user = current_user.record
    ctx = service_context()
    slug = (pathname or "/").strip("/").split("/")[0] or preferred_landing(ctx, user)
    menu = [preferences_layout.shell_button(), preferences_layout.shell_modal(),
            *shell.user_menu(user.email, user.role)]
    nav = shell.nav_links(registry.views_for(user.role), slug)
    view = BUILT.get(slug or "")
    if view is None:
        return shell.not_found(), nav, menu
    if not registry.can_open(user.role, slug):
        return shell.forbidden(), nav, menu
    query = {key: values[0] for key, values in parse_qs((search or "").lstrip("?")).items()}
    # The user's preferences fill what the URL leaves out (default range, KPI cards).
    query = query_defaults(ctx, user, query)
    companies = selectable_companies(ctx, user.company_id)
    return view.layout.layout(user, companies, query), nav, menu


def register(app: Dash) -> None:
    app.callback(
        Output(shell.PAGE, "children"),
        Output(shell.NAV, "children"),
        Output(shell.USER_MENU, "children"),
        Input(shell.URL, "pathname"),
        State(shell.URL, "search"),
    )(render_page)
    callbacks.preferences.register(app)
    # Opening the phone menu is a browser-only change: no request, nothing to authorize.
    app.clientside_callback(
        "function(clicks, open) { return clicks ? !open : open; }",
        Output(shell.COLLAPSE, "is_open"),
        Input(shell.TOGGLER, "n_clicks"),
        State(shell.COLLAPSE, "is_open"),
    )
