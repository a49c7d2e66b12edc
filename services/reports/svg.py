"""Static SVG charts for reports (PDF and e-mail), drawn from a section's chart spec: grouped
bars or lines, the y axis from zero with "nice" ticks and the unit in its title, the x axis
labelled, a legend. Plain SVG text: no browser, no kaleido, no network."""

from __future__ import annotations

import math
from html import escape

from services.reports.sections import display

COLOURS = ("#2c3e50", "#18bc9c", "#3498db", "#f39c12", "#e74c3c", "#8e44ad")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 28, 70


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above ``value`` (an axis top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _short(value: float, unit: str) -> str:
    """An axis tick: compact (1.2k, 3.4M) with the unit's sign."""
    prefix = "$" if unit == "USD" else ""
    suffix = "%" if unit == "%" else ""
    magnitude = abs(value)
    if magnitude >= 1e6:
        text = f"{value / 1e6:g}M"
    elif magnitude >= 1e3:
        text = f"{value / 1e3:g}k"
    else:
        text = f"{value:g}"
    return f"{prefix}{text}{suffix}"


def _label(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def chart_svg(spec: dict) -> str:
    """The chart as an <svg> element (a string)."""
    categories = [str(c) for c in spec["categories"]]
    series = spec["series"]
    values = [v for s in series for v in s["values"] if v is not None]
    top = nice_ceiling(max(values) if values else 0)
    bottom_value = min([0.0, *values])  # a shared zero: negative values reach below it
    low = -nice_ceiling(-bottom_value) if bottom_value < 0 else 0.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (top - value) / (top - low)

    unit = spec.get("unit", "count")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="100%" role="img" aria-label="{escape(spec["title"])}" '
             'font-family="Helvetica, Arial, sans-serif" font-size="11">',
             f'<title>{escape(spec["title"])}</title>']
    for i in range(5):
        tick = low + (top - low) * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#e5e8eb"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'fill="#555">{escape(_short(tick, unit))}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                 'stroke="#333" stroke-width="1.2"/>')
    count = max(1, len(categories))
    band = plot_w / count
    every = max(1, math.ceil(count / 12))  # at most ~12 x labels
    if spec["kind"] == "bar":
        width = band * 0.8 / max(1, len(series))
        for s_index, s in enumerate(series):
            colour = COLOURS[s_index % len(COLOURS)]
            for c_index, value in enumerate(s["values"]):
                if value is None:
                    continue
                x = LEFT + band * c_index + band * 0.1 + width * s_index
                y0, y1 = sorted((y(0), y(value)))
                parts.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{width:.1f}" '
                             f'height="{max(0.5, y1 - y0):.1f}" fill="{colour}">'
                             f'<title>{escape(s["name"])}, {escape(categories[c_index])}: '
                             f'{escape(display(value, unit))}</title></rect>')
    else:
        for s_index, s in enumerate(series):
            colour = COLOURS[s_index % len(COLOURS)]
            path, pen_down = [], False
            for c_index, value in enumerate(s["values"]):
                if value is None:
                    pen_down = False
                    continue
                x = LEFT + band * (c_index + 0.5)
                path.append(f'{"L" if pen_down else "M"}{x:.1f},{y(value):.1f}')
                pen_down = True
            parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" '
                         'stroke-width="2"/>')
    for c_index, name in enumerate(categories):
        if c_index % every:
            continue
        x = LEFT + band * (c_index + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="end" '
                     f'transform="rotate(-30 {x:.1f} {TOP + plot_h + 14})" fill="#555">'
                     f'{escape(_label(name))}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle" '
                 f'fill="#222">{escape(spec["x_label"])}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})" fill="#222">'
                 f'{escape(spec["y_label"])}</text>')
    x = LEFT
    for s_index, s in enumerate(series):
        colour = COLOURS[s_index % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="17" fill="#222">{escape(s["name"])}</text>')
        x += 24 + 7 * len(s["name"])
    parts.append("</svg>")
    return "".join(parts)


def plotly_figure(spec: dict) -> dict:
    """The same chart spec as a plotly figure (the interactive HTML)."""
    unit = spec.get("unit", "count")
    tick = {"USD": {"tickprefix": "$", "tickformat": ",.0f"},
            "%": {"ticksuffix": "%"}}.get(unit, {"tickformat": ",.0f"})
    kind = {"bar": {"type": "bar"}, "line": {"type": "scatter", "mode": "lines"}}[spec["kind"]]
    return {"data": [{**kind, "name": s["name"], "x": spec["categories"], "y": s["values"],
                      "marker": {"color": COLOURS[i % len(COLOURS)]}}
                     for i, s in enumerate(spec["series"])],
            "layout": {"height": 320, "plot_bgcolor": "white", "paper_bgcolor": "white",
                       "margin": {"l": 60, "r": 10, "t": 30, "b": 60},
                       "legend": {"orientation": "h", "y": 1.12},
                       "xaxis": {"title": {"text": spec["x_label"]}},
                       "yaxis": {"title": {"text": spec["y_label"]}, "rangemode": "tozero",
                                 "gridcolor": "#e5e8eb", "zerolinecolor": "#333",
                                 **tick}}}
