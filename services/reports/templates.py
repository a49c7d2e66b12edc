"""Jinja2 templates of a report (autoescaped). One body for every format: the static page (PDF
and e-mail) shows SVG charts and tables cut at a row limit with a pointer to the CSV; the
interactive page shows plotly charts (plotly.js inlined, no network) and whole tables."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; color: #212529; margin: 0; padding: 24px;
       font-size: 12px; }
h1 { font-size: 22px; margin: 0 0 4px; color: #2c3e50; }
h2 { font-size: 16px; margin: 24px 0 6px; color: #2c3e50; border-bottom: 2px solid #18bc9c;
     padding-bottom: 3px; }
.meta { color: #6c757d; margin-bottom: 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.card { border: 1px solid #dee2e6; border-radius: 6px; padding: 6px 10px; min-width: 120px;
        break-inside: avoid; }
.card .label { color: #6c757d; font-size: 11px; }
.card .value { font-size: 16px; font-weight: bold; }
.good { color: #128f76; } .bad { color: #c0392b; } .neutral { color: #2980b9; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border-bottom: 1px solid #e5e8eb; padding: 3px 6px; text-align: left;
         vertical-align: top; }
th { background: #f4f6f7; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
.note { color: #6c757d; font-size: 11px; }
.cut { background: #fff3cd; border: 1px solid #f39c12; padding: 4px 8px; border-radius: 4px; }
.empty { color: #6c757d; font-style: italic; }
section { break-inside: auto; }
.chart { break-inside: avoid; margin: 6px 0; }
.keep { break-inside: avoid; }
footer { margin-top: 24px; color: #6c757d; font-size: 10px; }
"""

REPORT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.name }} · {{ report.company }}</title>
<style>{{ style }}</style>
{% if interactive %}<script>{{ plotly_js | safe }}</script>{% endif %}
</head><body>
<h1>{{ report.name }}</h1>
<div class="meta">{{ report.company }} · {{ report.period }} · generated {{ report.generated }}
{% if report.owner %} · for {{ report.owner }}{% endif %}</div>
{% if report.dropped %}<p class="note">Left out (the owner's role may not open their view):
{{ report.dropped | join(", ") }}.</p>{% endif %}
{% for s in report.sections %}
<section id="section-{{ s.key }}">
<div class="keep"><h2>{{ s.title }}</h2>
{% if s.empty %}<p class="empty">No data: {{ s.empty_reason }}.</p>{% endif %}
{% if s.cards %}<div class="cards">{% for c in s.cards %}
<div class="card" title="{{ c.definition }}"><div class="label">{{ c.label }}</div>
<div class="value">{{ c.value }}</div><div class="{{ c.tone }}">{{ c.change }}</div></div>
{% endfor %}</div>{% endif %}
{% if s.chart and not s.empty %}<div class="chart">{% if interactive %}
<div id="chart-{{ s.key }}" style="height:320px"></div>
<script>(function () { var f = {{ s.figure_json | safe }};
  Plotly.newPlot("chart-{{ s.key }}", f.data, f.layout,
                 {"displaylogo": false, "responsive": true}); })();</script>
{% else %}{{ s.svg | safe }}{% endif %}</div>{% endif %}</div>
{% if s.bullets %}<p><strong>{{ s.bullets_title }}</strong></p>
<ul>{% for b in s.bullets %}<li>{{ b }}</li>{% endfor %}</ul>{% endif %}
{% if s.table and s.table.rows %}
{% if s.cut %}<p class="cut">Showing the first {{ s.shown }} of {{ s.total }} rows: the full
table is in {{ s.csv_name }}{% if report.csv_zip %}, inside {{ report.csv_zip }}{% endif %}
(attached).</p>{% endif %}
<table><thead><tr>{% for col in s.columns %}<th class="{{ col.css }}">{{ col.label }}</th>
{% endfor %}</tr></thead><tbody>
{% for row in s.rows %}<tr>{% for cell in row %}<td class="{{ s.columns[loop.index0].css }}">
{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endif %}
{% for n in s.notes %}<p class="note">{{ n }}</p>{% endfor %}
</section>
{% endfor %}
<footer>Campaign Dash · {{ report.schedule }}{% if report.link %} · open the dashboard:
<a href="{{ report.link }}">{{ report.link }}</a>{% endif %}</footer>
</body></html>
"""

ENV = Environment(loader=DictLoader({"report.html": REPORT}),
                  autoescape=select_autoescape(default=True, default_for_string=True))
