"""Widgets every view shares. Metric column headers carry the metric catalogue's definition
on hover, as the KPI cards do."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from services.metrics import METRICS

GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}

# Priority columns: which table columns a narrow screen shows (Bootstrap display classes).
ALWAYS, FROM_SM, FROM_MD, FROM_LG = "", "d-none d-sm-table-cell", "d-none d-md-table-cell", \
    "d-none d-lg-table-cell"


def metric_header(metric: str, label: str | None = None, *, numeric: bool = True,
                  shown: str = ALWAYS) -> html.Th:
    """A table header for a catalogue metric: its label (or ``label``), its definition on
    hover, right-aligned over numbers; ``shown`` is its priority class."""
    spec = METRICS[metric]
    return html.Th(label or spec.label, title=spec.definition,
                   className=" ".join(c for c in ("cd-defined", "text-end" if numeric else "",
                                                  shown) if c))


# Figures are plain dicts: plotly's validated objects cost tens of milliseconds per figure.
# The white template is resolved once.
def _white_template() -> dict:
    import plotly.io as pio

    return {"layout": pio.templates["plotly_white"].to_plotly_json()["layout"]}


TEMPLATE = _white_template()


def figure_layout(**extra) -> dict:
    """A chart's layout: the white template, small margins, a horizontal legend below."""
    return {"template": TEMPLATE, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "legend": {"orientation": "h", "y": -0.3, "x": 0}, **extra}


def empty_figure(message: str = "") -> dict:
    """A chart with no data: no axes, and ``message`` in its middle (why it is empty)."""
    layout = {"margin": {"l": 10, "r": 10, "t": 10, "b": 10},
              "xaxis": {"visible": False}, "yaxis": {"visible": False}}
    if message:
        layout["annotations"] = [{"text": message, "showarrow": False,
                                  "font": {"color": "#6c757d"}}]
    return {"data": [], "layout": layout}


def graph(component_id: str, height: int = 320) -> dcc.Loading:
    """A chart the callbacks draw, empty until they do, with a loading indicator."""
    return dcc.Loading(dcc.Graph(id=component_id, config=GRAPH_CONFIG,
                                 style={"height": f"{height}px"}, figure=empty_figure()),
                       type="dot", delay_show=300)


def loading(component_id: str, **props) -> dcc.Loading:
    """A container the callbacks fill, with a loading indicator."""
    return dcc.Loading(html.Div(id=component_id, **props), type="dot", delay_show=300)


def panel(title, body, *, note=None, extra=None) -> dbc.Card:
    """A card: its title (and ``extra`` controls) in the header, a muted ``note`` above the
    body."""
    header = html.Div([html.Span(title, className="fw-semibold"), extra],
                      className="d-flex justify-content-between align-items-center gap-2 "
                                "flex-wrap")
    parts = [html.Small(note, className="text-muted d-block mb-2")] if note else []
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody([*parts, body])],
                    className="shadow-sm h-100")


def message(text, colour: str = "info", margin: str = "mb-3") -> dbc.Alert:
    return dbc.Alert(text, color=colour, className=f"{margin} py-2")


def empty_state(text: str, hint: str | None = None) -> html.Div:
    """Why a panel is empty, and what to do about it."""
    return html.Div([html.Div(text), html.Small(hint, className="text-muted") if hint else None],
                    className="text-muted py-3")


def table(header: list, rows: list, footer: list | None = None) -> dbc.Table:
    """A data table (30-tables.js makes it sortable, searchable and downloadable); a footer
    row is its total."""
    parts = [html.Thead(html.Tr(header)), html.Tbody(rows)]
    if footer:
        parts.append(html.Tfoot(html.Tr(footer), className="fw-semibold"))
    return dbc.Table(parts, hover=True, responsive=True, size="sm",
                     className="mb-0 align-middle cd-table")


def change_class(good: int, change: float | None, unit: str = "%") -> str:
    """A period change's colour: green or red by the metric's good direction; blue when the
    metric has none or the change shows as zero at its precision (2 decimals for pp)."""
    shown = round(change, 2 if unit == "pp" else 1) if change is not None else None
    if shown is None or not good or shown == 0:
        return "cd-change-neutral"
    return "cd-change-good" if change * good > 0 else "cd-change-bad"


def page_header(title: str, view: str, user, company_name_id: str, as_of_id: str) -> html.Div:
    """A view's title with its company and period line, and "Subscribe" for roles that may
    create report schedules (admins and marketing managers): it opens the reports form with
    this view's sections and the page's filters as they are when clicked
    (dashapp/assets/60-subscribe.js adds them)."""
    from services import registry

    subscribe = html.A(
        "Subscribe", href=f"/reports?view={view}", id=f"{view}-subscribe",
        className="btn btn-sm btn-outline-primary cd-subscribe", **{"data-view": view},
        title="Get this view's figures by e-mail on a schedule, with these filters",
    ) if registry.can_take(user.role, "edit_report_schedules") else None
    return html.Div([
        html.Div([html.H2(title, className="h3 mb-0"), subscribe],
                 className="d-flex justify-content-between align-items-center gap-2"),
        html.Div([html.Span(id=company_name_id, className="fw-semibold"), " · ",
                  html.Span(id=as_of_id)], className="text-muted small"),
    ], className="mb-2")
