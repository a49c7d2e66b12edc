"""Widgets every view shares. Metric column headers carry the metric catalogue's definition
on hover, as the KPI cards do."""

from __future__ import annotations

from dash import html

from services.metrics import METRICS

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
