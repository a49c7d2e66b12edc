"""The app shell: navigation bar, URL and the container each view renders into."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import has_request_context, session

from services.registry import View

URL = "app-url"
NAV = "app-nav"
PAGE = "app-page"
USER_MENU = "app-user"
TOGGLER = "app-navbar-toggler"
COLLAPSE = "app-navbar-collapse"


def layout() -> html.Div:
    return html.Div([
        dcc.Location(id=URL, refresh=False),
        # Below the lg breakpoint the views and the user menu fold behind a toggler (a
        # phone's navbar took 355 px otherwise).
        dbc.Navbar(
            dbc.Container([
                dbc.NavbarBrand("Campaign Dash", href="/"),
                dbc.NavbarToggler(id=TOGGLER, n_clicks=0),
                dbc.Collapse([
                    dbc.Nav(id=NAV, navbar=True, className="me-auto"),
                    html.Div(id=USER_MENU, className="d-flex flex-wrap align-items-center "
                                                     "gap-2 gap-lg-3 text-white py-2 py-lg-0"),
                ], id=COLLAPSE, is_open=False, navbar=True),
            ], fluid=True),
            color="primary", dark=True, expand="lg", className="mb-0",
        ),
        dbc.Container(id=PAGE, fluid=True, className="cd-page"),
    ])


def nav_links(views: list[View], current: str | None) -> list:
    return [
        dbc.NavItem(dbc.NavLink(view.title, href=view.path, active=view.slug == current,
                                id=f"app-nav-{view.slug}"))
        for view in views
    ]


def user_menu(email: str, role: str) -> list:
    return [
        html.Span([html.Span(email, className="fw-semibold cd-user-email", title=email),
                   " · ", role.replace("_", " ")], className="small text-nowrap"),
        # Signing out takes a POST with the session's CSRF token (a GET /logout only asks).
        html.Form([
            dcc.Input(type="hidden", name="csrf_token", value=_session_csrf_token()),
            html.Button("Sign out", type="submit", id="app-logout",
                        className="btn btn-sm btn-outline-light"),
        ], method="POST", action="/logout", className="m-0"),
    ]


def _session_csrf_token() -> str:
    """The signed-in session's CSRF token (set at login); empty outside a request, and then
    the sign-out page asks again with a fresh one."""
    return (session.get("csrf_token") or "") if has_request_context() else ""


def not_found() -> dbc.Alert:
    return dbc.Alert([html.H4("Page not found"), html.A("Go to your dashboard", href="/")],
                     color="warning")


def forbidden() -> dbc.Alert:
    return dbc.Alert([html.H4("Access denied"),
                      html.P("Your role does not give access to this page."),
                      html.A("Go to your dashboard", href="/")], color="danger")


def company_picker(component_id: str, user, companies, query: dict) -> dcc.Dropdown:
    """The company a view shows. Users with a company see only it: the picker is hidden and
    holds their company (any other value is refused by the server); users without one pick
    (default: the URL's, else the first)."""
    slugs = [c.slug for c in companies]
    value = query.get("company") if user.company_id is None else None
    value = value if value in slugs else (slugs[0] if slugs else None)
    return dcc.Dropdown(
        id=component_id, clearable=False, value=value,
        options=[{"label": c.name, "value": c.slug} for c in companies],
        disabled=user.company_id is not None,
        style={"minWidth": "16rem"} if user.company_id is None else {"display": "none"},
    )
