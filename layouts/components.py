"""Widgets every view shares. Metric column headers carry the metric catalogue's definition
on hover, as the KPI cards do."""

from __future__ import annotations

from dash import html

from services.metrics import METRICS


def metric_header(metric: str, label: str | None = None, *, numeric: bool = True) -> html.Th:
    """A table header for a catalogue metric: its label (or ``label``), its definition on
    hover, right-aligned over numbers."""
    spec = METRICS[metric]
    return html.Th(label or spec.label, title=spec.definition,
                   className="cd-defined" + (" text-end" if numeric else ""))
