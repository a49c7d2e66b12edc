"""Report sections: each one calls a view's own service function (the numbers the view and the
API show) within a scope, and returns the same plain shape for every renderer: KPI cards, an
optional chart spec (drawn as SVG for the PDF and e-mail, as a plotly figure in the interactive
HTML), one table (its rows are the section's CSV) and notes.

A section belongs to a view; a schedule's owner only gets the sections of views their role may
open (a changed role narrows the report)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from services import registry
from services.access import Scope
from services.context import ServiceContext
from services.metrics import METRICS

DASH = "—"


# --------------------------------------------------------------------------- number display


def display(value, unit: str | None) -> str:
    """A value with its unit, thousands separators, a dash when undefined."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    if not isinstance(value, (int, float)):
        return str(value)
    if unit == "USD":
        return ("-" if value < 0 else "") + f"${abs(value):,.{2 if abs(value) < 100 else 0}f}"
    if unit == "%":
        return f"{value:,.{3 if 0 < abs(value) < 0.1 else 1}f}%"
    if unit == "x":
        return f"{value:,.2f}x"
    if unit == "s":
        minutes, rest = divmod(int(round(value)), 60)
        return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"
    if unit in ("pages", "ratio"):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def change_text(change, unit: str) -> str:
    if change is None:
        return DASH
    arrow = "▲" if change > 0 else "▼" if change < 0 else "■"
    return f"{arrow} {abs(change):,.2f} pp" if unit == "pp" else f"{arrow} {abs(change):,.1f}%"


def _cards(cards: list[dict]) -> list[dict]:
    out = []
    for card in cards:
        change = card.get("change")
        good = card.get("good") or 0
        tone = "neutral" if change is None or not good or round(change, 2) == 0 else (
            "good" if change * good > 0 else "bad")
        out.append({"metric": card["metric"], "label": card["label"],
                    "value": display(card["value"], card["unit"]),
                    "change": change_text(change, card.get("change_unit", "%")),
                    "tone": tone, "definition": card.get("definition", "")})
    return out


def _card_table(cards: list[dict]) -> dict:
    return {"columns": [("metric", "Metric key", None), ("label", "Metric", None),
                        ("unit", "Unit", None), ("value", "Value", "raw"),
                        ("previous", "Previous period", "raw"),
                        ("change", "Change", "raw"), ("change_unit", "Change unit", None)],
            "rows": [{key: card.get(key) for key in ("metric", "label", "unit", "value",
                                                       "previous", "change", "change_unit")}
                     for card in cards],
            # The page shows the cards above; its table adds the previous period's values.
            "csv_only": ("metric",)}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    view: str
    build: Callable[[ServiceContext, Scope, dict], dict]
    description: str


def _exec_args(raw: dict) -> tuple:
    return raw.get("range"), raw.get("start"), raw.get("end")


# --------------------------------------------------------------------------- executive


def _kpis(ctx, scope, raw) -> dict:
    from services.kpis import executive_kpis

    result = executive_kpis(ctx, scope, *_exec_args(raw), None, raw.get("compare"))
    period = result["period"]
    return {"cards": _cards(result["cards"]), "table": _card_table(result["cards"]),
            "empty": not result["covered"],
            "empty_reason": "no ad data in this period",
            "notes": [f"{period['start']} to {period['end']}, compared with "
                      f"{result['previous_period']['start']} to "
                      f"{result['previous_period']['end']}."
                      + (" Today is a partial day." if result["partial_day"] else "")]}


def _channels(ctx, scope, raw) -> dict:
    from services.kpis import executive_breakdowns

    result = executive_breakdowns(ctx, scope, *_exec_args(raw))
    rows = [{"channel": r["channel"], "spend": r["spend"], "revenue": r["revenue"],
             "conversions": r["conversions"], "roas": r["roas"], "roi_pct": r["roi_pct"],
             "tier": r["tier"]} for r in result["channels"]]
    return {"table": {"columns": [("channel", "Channel", None), ("spend", "Spend", "USD"),
                                  ("revenue", "Revenue", "USD"),
                                  ("conversions", "Conversions", "count"),
                                  ("roas", "ROAS", "x"), ("roi_pct", "ROI %", "%"),
                                  ("tier", "ROI tier", None)], "rows": rows},
            "chart": {"kind": "bar", "title": "Spend and revenue by channel",
                      "x_label": "Channel", "y_label": "Amount (USD)", "unit": "USD",
                      "categories": [r["channel"] for r in rows],
                      "series": [{"name": "Spend", "values": [r["spend"] for r in rows]},
                                 {"name": "Revenue", "values": [r["revenue"] for r in rows]}]},
            "empty": not rows, "empty_reason": "no campaign spend in this period",
            "notes": ["A channel is the sum of its campaigns. " + METRICS["roas"].definition]}


def _campaigns(ctx, scope, raw) -> dict:
    from services.kpis import executive_breakdowns

    result = executive_breakdowns(ctx, scope, *_exec_args(raw))
    rows = [{"campaign": r["campaign"], "channel": r.get("channel"), "spend": r["spend"],
             "revenue": r["revenue"], "conversions": r["conversions"], "roas": r["roas"],
             "roi_pct": r["roi_pct"], "tier": r["tier"]} for r in result["campaigns"]]
    return {"table": {"columns": [("campaign", "Campaign", None), ("channel", "Channel", None),
                                  ("spend", "Spend", "USD"), ("revenue", "Revenue", "USD"),
                                  ("conversions", "Conversions", "count"),
                                  ("roas", "ROAS", "x"), ("roi_pct", "ROI %", "%"),
                                  ("tier", "ROI tier", None)], "rows": rows},
            "empty": not rows, "empty_reason": "no campaign revenue in this period",
            "notes": ["Top campaigns by revenue, then the other campaigns and the revenue "
                      "without a campaign, so the table adds up to the totals."]}


def _insights(ctx, scope, raw) -> dict:
    from services.insights.sentences import company_insights

    result = company_insights(ctx, scope, *_exec_args(raw))
    rows = [{"rank": i["rank"], "insight": i["text"]} for i in result["insights"]]
    actions = [a.get("text") if isinstance(a, dict) else str(a) for a in result["actions"]]
    return {"table": {"columns": [("rank", "Rank", "count"), ("insight", "Insight", None)],
                      "rows": rows},
            "bullets": [a for a in actions if a],
            "bullets_title": "Action items",
            "empty": not rows, "empty_reason": "nothing unusual happened in this period"}


# --------------------------------------------------------------------------- marketing


def _daily_chart(title: str, rows: list[dict], column: str, label: str, unit: str) -> dict:
    return {"kind": "line", "title": title, "x_label": "Day", "y_label": label, "unit": unit,
            "categories": [r["day"] for r in rows],
            "series": [{"name": label, "values": [r.get(column) for r in rows]}]}


def _daily_table(rows: list[dict], columns: list[tuple]) -> dict:
    return {"columns": [("day", "Day", None), *columns],
            "rows": [{"day": r["day"], **{c[0]: r.get(c[0]) for c in columns}} for r in rows]}


def _traffic(ctx, scope, raw) -> dict:
    from services.marketing import traffic

    result = traffic(ctx, scope, raw)
    return {"cards": _cards(result["cards"]),
            "chart": _daily_chart("Sessions per day", result["daily"], "sessions",
                                  "Sessions (count)", "count"),
            "table": _daily_table(result["daily"], [
                ("sessions", "Sessions", "count"), ("new_sessions", "New sessions", "count"),
                ("returning_sessions", "Returning sessions", "count"),
                ("bounces", "Bounces", "count"), ("pageviews", "Pageviews", "count"),
                ("site_conversions", "Site conversions", "count")]),
            "empty": not result["has_data"], "empty_reason": "no website sessions",
            "notes": [result["note"]] if result.get("note") else []}


def _leads(ctx, scope, raw) -> dict:
    from services.marketing import leads

    result = leads(ctx, scope, raw)
    return {"cards": _cards(result["cards"]),
            "chart": _daily_chart("Leads per day", result["daily"], "leads", "Leads (count)",
                                  "count"),
            "table": _daily_table(result["daily"], [("leads", "Leads", "count"),
                                                    ("spend", "Spend", "USD")]),
            "empty": not result["has_data"], "empty_reason": "no leads or ad spend"}


def _email(ctx, scope, raw) -> dict:
    from services.marketing import email_funnel

    result = email_funnel(ctx, scope, raw)
    rows = [{"stage": s["stage"], "count": s["count"]} for s in result["funnel"]]
    return {"cards": _cards(result["cards"]),
            "chart": {"kind": "bar", "title": "Email funnel", "x_label": "Stage",
                      "y_label": "Emails (count)", "unit": "count",
                      "categories": [r["stage"] for r in rows],
                      "series": [{"name": "Emails", "values": [r["count"] for r in rows]}]},
            "table": {"columns": [("stage", "Stage", None), ("count", "Count", "count")],
                      "rows": rows},
            "empty": not result["has_data"], "empty_reason": "no email sends"}


# --------------------------------------------------------------------------- competitive


def _threats(ctx, scope, raw) -> dict:
    from services.competitive import threats

    result = threats(ctx, scope, {"range": "year", **raw})
    rows = [{"rank": t["rank"], "competitor": t["competitor"], "level": t["level"],
             "score": t["score"], "summary": t["sentence"]} for t in result["threats"]]
    return {"table": {"columns": [("rank", "Rank", "count"), ("competitor", "Competitor", None),
                                  ("level", "Level", None), ("score", "Score", "ratio"),
                                  ("summary", "What changed", None)], "rows": rows},
            "bullets": [r["text"] for r in result["recommendations"]],
            "bullets_title": "Recommendations",
            "empty": not rows, "empty_reason": "no competitor estimates a quarter apart",
            "notes": ["Score: " + result["score"] + "."]}


def _gaps(ctx, scope, raw) -> dict:
    from services.competitive import gaps

    result = gaps(ctx, scope, {"range": "year", **raw})

    def rng(value):
        if not value:
            return None, None
        return value.get("low"), value.get("high")

    rows = []
    for r in result["rows"]:
        own_low, own_high = rng(r["own"])
        them_low, them_high = rng(r["them"])
        rows.append({"metric": r["label"], "competitor": r["competitor"], "unit": r["unit"],
                     "own_low": own_low, "own_high": own_high, "them_low": them_low,
                     "them_high": them_high, "verdict": r["verdict"]})
    return {"table": {"columns": [("metric", "Metric", None), ("competitor", "Competitor", None),
                                  ("unit", "Unit", None), ("own_low", "You (low)", "ratio"),
                                  ("own_high", "You (high)", "ratio"),
                                  ("them_low", "Them (low)", "ratio"),
                                  ("them_high", "Them (high)", "ratio"),
                                  ("verdict", "Verdict", None)], "rows": rows},
            "empty": not result["has_data"], "empty_reason": "no competitor estimates",
            "notes": ["Competitor figures are estimates: ranges from low to high."]}


SECTIONS: dict[str, Section] = {s.key: s for s in (
    Section("kpis", "Executive KPIs", "executive", _kpis,
            "Revenue, spend, ROAS, conversions and the business KPIs against the last period"),
    Section("channels", "Channels: ROAS and ROI", "executive", _channels,
            "Spend, revenue, ROAS and ROI per channel"),
    Section("campaigns", "Top campaigns", "executive", _campaigns,
            "The campaigns with the most revenue"),
    Section("insights", "Insights and actions", "executive", _insights,
            "What was unusual, in plain words, and what to do"),
    Section("traffic", "Website traffic", "marketing", _traffic,
            "Sessions, bounce rate and visitor-to-lead rate per day"),
    Section("leads", "Lead generation", "marketing", _leads, "Leads, CPL and the lead funnel"),
    Section("email", "Email funnel", "marketing", _email,
            "Sent, delivered, opened, clicked and converted"),
    Section("threats", "Competitive threats", "competitive", _threats,
            "Each competitor's momentum and the recommendations"),
    Section("gaps", "Competitive gaps", "competitive", _gaps,
            "You against each competitor, metric by metric"),
)}


def allowed_sections(role: str | None) -> list[str]:
    """The section keys a role's reports may hold: those of views the role may open."""
    return [key for key, s in SECTIONS.items() if registry.can_open(role, s.view)]


def build(ctx: ServiceContext, scope: Scope, key: str, raw: dict) -> dict:
    section = SECTIONS[key]
    data = {"cards": [], "chart": None, "table": None, "bullets": [], "notes": [],
            **section.build(ctx, scope, raw)}
    return {"key": key, "title": section.title, "view": section.view, **data}
