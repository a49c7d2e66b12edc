"""Rendering a report on the server from data: sections from the views' service functions,
HTML from templates, charts as SVG from the same chart specs, PDF from that HTML with headless
Chromium, an interactive HTML with plotly.js inlined, CSV per section (zipped when several).

Why Chromium for the PDF: it is already the project's browser (``make browser-deps``, the
browser tests), it lays out the same HTML and CSS the interactive file uses (flexbox cards,
inline SVG) with page breaks that avoid cutting cards and rows, and it needs no new Python
dependency with native libraries (WeasyPrint needs Pango/cairo). It prints a local file with
no network, so nothing is fetched and no page is screenshotted: the HTML is complete when it
is printed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass, field

from services.access import Scope
from services.context import ServiceContext
from services.reports import sections as section_mod
from services.reports.pdf import html_to_pdf
from services.reports.sections import display
from services.reports.svg import chart_svg, plotly_figure
from services.reports.templates import ENV, STYLE

PDF_ROWS = 25  # rows of a table the PDF and e-mail show; the CSV has all of them
FORMATS = {"pdf": "PDF (executive summary)", "html": "Interactive HTML",
           "csv": "CSV data (zipped when several sections)"}


@dataclass
class Rendered:
    name: str
    sections: list[dict]
    html: str  # static: SVG charts, cut tables (the PDF's source and the e-mail's body)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # name -> (bytes, mime)
    empty: bool = False
    period: str = ""

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(data) for name, (data, _mime) in self.files.items()}


def slug(text: str) -> str:
    cleaned = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")
    return "-".join(part for part in cleaned.split("-") if part)[:60] or "report"


def section_csv(section: dict) -> bytes:
    """A section's table as CSV: raw values (no units or separators), one row per row."""
    table = section.get("table")
    out = io.StringIO()
    writer = csv.writer(out)
    if table:
        writer.writerow([column[0] for column in table["columns"]])
        for row in table["rows"]:
            writer.writerow(["" if row.get(c[0]) is None else row.get(c[0])
                             for c in table["columns"]])
    return out.getvalue().encode()


def _cell(value, unit) -> str:
    """A table cell: with its unit, or ("raw") a plain number with separators."""
    if unit == "raw" or unit is None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return section_mod.DASH if value is None else str(value)
        return f"{value:,}" if isinstance(value, int) else display(value, "ratio")
    return display(value, unit)


def csv_name(report_name: str, key: str) -> str:
    return f"{slug(report_name)}-{key}.csv"


def _prepare(section: dict, interactive: bool, row_limit: int | None, report_name: str) -> dict:
    table = section.get("table")
    shown = dict(section)
    shown["csv_name"] = csv_name(report_name, section["key"])
    if section.get("chart"):
        figure = plotly_figure(section["chart"])
        shown["figure_json"] = json.dumps(figure, default=str).replace("</", "<\\/")
        shown["svg"] = chart_svg(section["chart"])
    if table:
        rows = table["rows"]
        limit = len(rows) if row_limit is None else row_limit
        columns = [c for c in table["columns"] if c[0] not in table.get("csv_only", ())]
        shown["columns"] = [{"label": label, "css": "" if unit is None else "num"}
                            for _key, label, unit in columns]
        shown["rows"] = [[_cell(row.get(key), unit) for key, _label, unit in columns]
                         for row in rows[:limit]]
        shown["total"], shown["shown"] = len(rows), min(limit, len(rows))
        shown["cut"] = len(rows) > limit
    return shown


def page(report: dict, built: list[dict], *, interactive: bool) -> str:
    context = dict(report)
    context["sections"] = [_prepare(s, interactive, None if interactive else PDF_ROWS,
                                    report["name"]) for s in built]
    plotly_js = ""
    if interactive:
        from plotly.offline import get_plotlyjs

        plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return ENV.get_template("report.html").render(report=context, style=STYLE,
                                                  interactive=interactive, plotly_js=plotly_js)


def render(ctx: ServiceContext, scope: Scope, *, name: str, section_keys: list[str],
           raw: dict, formats: list[str], when_text: str = "", owner: str = "",
           link: str | None = None, dropped: list[str] | None = None,
           now: dt.datetime | None = None) -> Rendered:
    """Render a report for the scope's company. ``formats``: any of pdf, html, csv; the
    static HTML is always made (the e-mail body and the preview)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    built = [section_mod.build(ctx, scope, key, raw) for key in section_keys]
    period = next((n for s in built for n in s.get("notes", []) if " to " in n), "")
    report = {"name": name, "company": scope.company.name if scope.company else "",
              "period": (period.split(",")[0] if period else
                         f"range {raw.get('range') or '30d'}"),
              "generated": now.strftime("%Y-%m-%d %H:%M UTC"), "owner": owner,
              "schedule": when_text, "link": link, "dropped": dropped or []}
    tables = [s for s in built if s.get("table")]
    base = slug(name)
    report["csv_zip"] = f"{base}-csv.zip" if len(tables) > 1 else None
    static = page(report, built, interactive=False)
    result = Rendered(name=name, sections=built, html=static, period=report["period"],
                      empty=all(s["empty"] for s in built))
    cut = any(s.get("table") and len(s["table"]["rows"]) > PDF_ROWS for s in built)
    if "pdf" in formats:
        result.files[f"{base}.pdf"] = (html_to_pdf(static), "application/pdf")
    if "html" in formats:
        result.files[f"{base}.html"] = (page(report, built, interactive=True).encode(),
                                        "text/html")
    # A table cut in the PDF points to its CSV: the CSV goes along even if not asked for.
    if "csv" in formats or ("pdf" in formats and cut):
        if len(tables) == 1:
            result.files[csv_name(name, tables[0]["key"])] = (section_csv(tables[0]), "text/csv")
        elif tables:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for s in tables:
                    archive.writestr(csv_name(name, s["key"]), section_csv(s))
            result.files[report["csv_zip"]] = (buffer.getvalue(), "application/zip")
    return result
