"""The filter bar views share (one component, not a copy): company for staff, date range, compare
to, channel, segment and project, all kept in the URL. ``FilterBar(view)`` names the ids
(``<view>-range`` and so on, DESIGN.md); ``layout`` draws the bar from the URL's query; the
server side is ``services.filters`` and the callbacks ``callbacks.filter_bar``.

The channel, segment and project options are the company's own: the bar starts with the
URL's value alone and ``callbacks.filter_bar`` fills the options once the company is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import Input, State, dcc, html

from layouts import shell
from services.filters import COMPARE_LABELS, DEFAULT_COMPARE
from services.periods import DEFAULT_RANGE, RANGE_LABELS

ALL = "all"


DIMENSIONS = ("channel", "segment", "project")


@dataclass(frozen=True)
class FilterBar:
    """A view's filter bar. ``dimensions``: the channel, segment and project dropdowns it
    shows (a view of monthly market figures shows none: ``FilterBar(view, ())``)."""

    view: str
    dimensions: tuple[str, ...] = DIMENSIONS

    def id(self, name: str) -> str:
        return f"{self.view}-{name}"

    @property
    def company(self) -> str:
        return self.id("company")

    @property
    def range(self) -> str:
        return self.id("range")

    @property
    def dates(self) -> str:
        return self.id("dates")

    @property
    def compare(self) -> str:
        return self.id("compare")

    @property
    def channel(self) -> str:
        return self.id("channel")

    @property
    def segment(self) -> str:
        return self.id("segment")

    @property
    def project(self) -> str:
        return self.id("project")

    @property
    def message(self) -> str:
        return self.id("filter-message")

    def inputs(self) -> list:
        """The bar's values as callback inputs, in ``FILTER_ORDER``."""
        return [Input(self.company, "value"), Input(self.range, "value"),
                Input(self.dates, "start_date"), Input(self.dates, "end_date"),
                Input(self.compare, "value"),
                *(Input(self.id(name), "value") for name in DIMENSIONS
                  if name in self.dimensions)]

    def states(self) -> list:
        return [State(i.component_id, i.component_property) for i in self.inputs()]


FILTER_ORDER = ("company", "range", "start", "end", "compare", "channel", "segment", "project")


def _choice(component_id: str, value, label: str, width: str = "11rem") -> dcc.Dropdown:
    value = value if isinstance(value, str) and value else ALL
    options = [{"label": label, "value": ALL}]
    if value != ALL:
        options.append({"label": value, "value": value})
    return dcc.Dropdown(id=component_id, clearable=False, value=value, options=options,
                        style={"minWidth": width}, className="cd-filter")


def layout(bar: FilterBar, user, companies, query: dict, extra: list | None = None
           ) -> html.Div:
    """The bar from the URL's query; ``extra``: a view's own controls, drawn in the same row
    after the shared ones (the executive view's visitor segment and Refresh)."""
    range_value = query.get("range") if query.get("range") in RANGE_LABELS else DEFAULT_RANGE
    compare = query.get("compare") if query.get("compare") in COMPARE_LABELS \
        else DEFAULT_COMPARE
    return html.Div([
        html.Div([
            shell.company_picker(bar.company, user, companies, query),
            dcc.Dropdown(id=bar.range, clearable=False, value=range_value,
                         style={"minWidth": "12rem"}, className="cd-filter",
                         options=[{"label": label, "value": key}
                                  for key, label in RANGE_LABELS.items()]),
            dcc.DatePickerRange(id=bar.dates, start_date=query.get("start"),
                                end_date=query.get("end"), display_format="YYYY-MM-DD",
                                start_date_placeholder_text="Custom: from",
                                end_date_placeholder_text="to", clearable=True),
            dcc.Dropdown(id=bar.compare, clearable=False, value=compare,
                         style={"minWidth": "14rem"}, className="cd-filter",
                         options=[{"label": f"vs {label.lower()}", "value": key}
                                  for key, label in COMPARE_LABELS.items()]),
            *(_choice(bar.id(name), query.get(name), label, width)
              for name, label, width in (("channel", "All channels", "11rem"),
                                         ("segment", "All segments", "13rem"),
                                         ("project", "All projects", "13rem"))
              if name in bar.dimensions),
            *(extra or []),
        ], className="d-flex flex-wrap gap-2 align-items-center cd-filter-bar"),
        html.Div(id=bar.message),
    ], className="mb-3")


def filter_values(values: list, bar: FilterBar | None = None) -> dict:
    """The bar's callback values as the services' raw filters (``services.filters``); a bar
    without some dimensions leaves them None."""
    names = FILTER_ORDER[:5] + tuple(name for name in DIMENSIONS
                                     if bar is None or name in bar.dimensions)
    raw = dict.fromkeys(FILTER_ORDER)
    raw.update(zip(names, values, strict=True))
    for name in DIMENSIONS:
        if raw[name] == ALL:
            raw[name] = None
    if raw["range"] != "custom":
        raw["start"] = raw["end"] = None
    return raw


def custom_range_problem(raw: dict) -> str | None:
    if raw.get("range") != "custom":
        return None
    if not raw.get("start") or not raw.get("end"):
        return "Pick both a start and an end date for the custom range."
    if str(raw["start"]) > str(raw["end"]):
        return "The start date is after the end date: pick them the other way round."
    return None


def options(values: list[str], label: str) -> list[dict]:
    return [{"label": label, "value": ALL}, *({"label": v, "value": v} for v in values)]


def notice(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="info", className="mt-2 mb-0 py-2")
