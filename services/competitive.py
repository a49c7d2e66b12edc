"""The competitive view's numbers: market share, share of voice, estimated ad spend, positioning,
gaps, threats, recommendations and the competitor updates feed, for one company and the filter
bar's period (``services.filters``). Each section is one function, and
``/api/v1/competitive/<section>`` returns exactly what the view shows.

Honesty rules (issue #16). A competitor figure is an estimate: it is carried as a range
(``low``, ``high``) with the ``method`` and ``source`` that produced it, never as one number
(``exact`` only when the source gives a single value it calls exact). The company's own
figures are its data: its reported market share, its ad spend and clicks from the rollups.
A share of voice is computed here from voice volumes (mentions, branded searches) of the
brands named in its ``denominator`` (which brands, which channel, which month); its range is
the widest the volumes' ranges allow: low = own low / (own low + others' highs), high = own
high / (own high + others' lows). Differences of ranges are ranges ([a.low - b.high,
a.high - b.low]); a verdict ("leads", "trails") is given only when the whole range agrees.
Momentum (threats) compares the midpoints of a quarter apart, and the evidence names both
ranges.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from db import rollups
from db.queries import competitive as queries
from db.queries.competitive import OWN
from services import audit, filters
from services.access import Scope, competitor_in_scope, require
from services.cache import cached, forget_data_version
from services.context import ServiceContext
from services.errors import ValidationError, one_of
from services.metrics import METRICS

UPDATE_KINDS = ("pricing", "product", "campaign", "partnership", "hiring", "positioning",
                "other")
QUARTER = 3  # months of momentum
TREND_MONTHS = 12  # the charts' months at least
FEED_LIMIT = 50
# What a voice volume counts, per channel (imports may name other channels).
VOICE_UNITS = {"Social": "mentions", "Search": "branded searches"}
OWN_SOURCES = {
    "market_share": ("reported by the company (business metrics)", "business_metrics_monthly"),
    "ad_spend": ("the company's own ad spend", "ad platforms, via the warehouse rollups"),
    "avg_cpc": ("the company's own spend / clicks", "ad platforms, via the warehouse rollups"),
}
# Threat levels: score = 2 x share change (pp) + mean share-of-voice change (pp)
# + spend change (%) / 10, all midpoint changes over the last quarter.
CRITICAL_SCORE, WARNING_SCORE, LOSING_SCORE = 4.0, 1.5, -1.5


# --------------------------------------------------------------------------- months


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def label(month: str | dt.date) -> str:
    month = dt.date.fromisoformat(month) if isinstance(month, str) else month
    return month.strftime("%b %Y")


# --------------------------------------------------------------------------- ranges


def rng(low: float | None, high: float | None, *, method: str = "", source: str = "",
        exact: bool | None = None) -> dict | None:
    if low is None or high is None:
        return None
    low, high = float(low), float(high)
    return {"low": low, "high": high, "exact": low == high if exact is None else exact,
            "method": method, "source": source}


def mid(value: dict | None) -> float | None:
    return None if value is None else (value["low"] + value["high"]) / 2.0


def difference(a: dict | None, b: dict | None) -> dict | None:
    """a - b as a range: the smallest and largest difference the two ranges allow."""
    if a is None or b is None:
        return None
    return {"low": a["low"] - b["high"], "high": a["high"] - b["low"],
            "exact": a["exact"] and b["exact"]}


def growth(now: dict | None, before: dict | None) -> dict | None:
    """now / before - 1 in %, as a range."""
    if now is None or before is None or before["low"] <= 0:
        return None
    return {"low": (now["low"] / before["high"] - 1) * 100,
            "high": (now["high"] / before["low"] - 1) * 100,
            "exact": now["exact"] and before["exact"]}


def verdict(gap: dict | None, good: int) -> str:
    """leads / trails when the whole gap range agrees; level otherwise; for a metric that is
    neither good nor bad, more / less / about the same."""
    if gap is None:
        return "unknown"
    if gap["low"] > 0:
        return {1: "leads", -1: "trails", 0: "more"}[good]
    if gap["high"] < 0:
        return {1: "trails", -1: "leads", 0: "less"}[good]
    return "level" if good else "about the same"


# --------------------------------------------------------------------------- the period


def resolve(ctx: ServiceContext, scope: Scope, raw: dict | None) -> dict:
    """The filter bar's period and compare-to (``services.filters``) as months: the months
    the period touches, the reference month (its last complete month with estimates) and the
    compared month (the one the compared period ends in)."""
    raw = raw if isinstance(raw, dict) else {}
    resolved = filters.resolve(ctx, scope, {key: raw.get(key) for key in
                                            ("range", "start", "end", "compare")})
    period, compare = resolved.period, resolved.compare
    return {"period": period.as_dict(), "compare": {**compare.as_dict(),
                                                    "mode": resolved.compare_mode},
            "range": resolved.range_name, "newest_day": resolved.newest_day.isoformat(),
            "first_month": month_of(period.start).isoformat(),
            "last_month": month_of(period.end).isoformat(),
            # Charts show at least a year of months: a 30-day period touches one or two.
            "trend_first_month": min(month_of(period.start), add_months(
                month_of(period.end), -(TREND_MONTHS - 1))).isoformat(),
            "compare_month": month_of(compare.end).isoformat()}


class Figures:
    """Every brand's figures for a span of months, looked up as ranges."""

    def __init__(self, ctx: ServiceContext, scope: Scope, described: dict):
        self.described = described
        last = dt.date.fromisoformat(described["last_month"])
        first = min(dt.date.fromisoformat(described["trend_first_month"]),
                    dt.date.fromisoformat(described["compare_month"]),
                    add_months(last, -QUARTER))
        self.newest_day = dt.date.fromisoformat(described["newest_day"])
        with ctx.session() as session:
            listed = queries.competitors(session, scope.company_id)
            rows = queries.estimates(session, scope.company_id, first, last)
            shares = queries.own_market_share(session, scope.company_id, first, last)
            ads = queries.own_ads_monthly(session, scope.company_id, first,
                                          min(month_end(last), self.newest_day))
        self.brands = [{"id": OWN, "name": scope.company.name, "own": True}] + [
            {"id": c["id"], "name": c["name"], "own": False} for c in listed]
        self.names = {b["id"]: b["name"] for b in self.brands}
        self.estimates: dict[tuple, dict] = {}
        self.channels: list[str] = []
        self.sources: dict[tuple, tuple[str, str]] = {}
        for row in rows:
            month = row["month"].isoformat()
            key = (row["competitor_id"], row["metric"], row["channel"])
            self.estimates.setdefault(key, {})[month] = rng(
                row["low"], row["high"], method=row["method"], source=row["source"])
            self.sources[(row["metric"], row["channel"], row["competitor_id"] == OWN)] = (
                row["method"], row["source"])
            if row["metric"] == "voice" and row["channel"] not in self.channels:
                self.channels.append(row["channel"])
        self.channels.sort()
        self.own_share = {r["month"].isoformat(): r["value"] for r in shares}
        self.own_ads = {r["month"].isoformat(): r for r in ads}
        months_with = {m for (brand, _, _), per in self.estimates.items() if brand != OWN
                       for m in per}
        self.months = [m.isoformat() for m in months_between(
            dt.date.fromisoformat(described["trend_first_month"]), last)]
        in_period = [m for m in self.months if m >= described["first_month"]]
        complete = [m for m in in_period if m in months_with
                    and month_end(dt.date.fromisoformat(m)) <= self.newest_day]
        with_data = [m for m in in_period if m in months_with]
        self.reference = (complete or with_data or [None])[-1]

    def partial(self, month: str) -> bool:
        return month_end(dt.date.fromisoformat(month)) > self.newest_day

    def value(self, brand: int, metric: str, month: str | None,
              channel: str = "all") -> dict | None:
        if month is None:
            return None
        if brand == OWN and metric in OWN_SOURCES:
            method, source = OWN_SOURCES[metric]
            if metric == "market_share":
                value = self.own_share.get(month)
            else:
                ads = self.own_ads.get(month)
                value = None if ads is None else (
                    ads["spend"] if metric == "ad_spend"
                    else ads["spend"] / ads["clicks"] if ads["clicks"] else None)
            return rng(value, value, method=method, source=source, exact=True)
        return self.estimates.get((brand, metric, channel), {}).get(month)

    def voice_brands(self, channel: str, month: str) -> list[int]:
        return [b["id"] for b in self.brands
                if self.estimates.get((b["id"], "voice", channel), {}).get(month)]

    def share_of_voice(self, brand: int, channel: str, month: str | None) -> dict | None:
        """The brand's share of the named brands' voice in the channel and month, in %, as a
        range; None when the brand or no other brand has a volume."""
        if month is None:
            return None
        named = self.voice_brands(channel, month)
        if brand not in named:
            return None
        volumes = {b: self.estimates[(b, "voice", channel)][month] for b in named}
        own = volumes[brand]
        others_low = sum(v["low"] for b, v in volumes.items() if b != brand)
        others_high = sum(v["high"] for b, v in volumes.items() if b != brand)
        low = own["low"] / (own["low"] + others_high) if own["low"] + others_high else None
        high = own["high"] / (own["high"] + others_low) if own["high"] + others_low else None
        if low is None or high is None:
            return None
        return {**rng(low * 100, high * 100, method=f"share of {self.unit(channel)}: "
                      + own["method"], source=own["source"]),
                "denominator": self.denominator(channel, month)}

    def relative_share(self, brand: int, month: str | None, named: list[int]) -> dict | None:
        """The brand's market share among the ``named`` brands (their shares summed), in %,
        as a range: comparable with a share of voice of the same brands."""
        shares = {b: self.value(b, "market_share", month) for b in named}
        shares = {b: v for b, v in shares.items() if v is not None}
        if month is None or brand not in shares or len(shares) < 2:
            return None
        own = shares[brand]
        others_low = sum(v["low"] for b, v in shares.items() if b != brand)
        others_high = sum(v["high"] for b, v in shares.items() if b != brand)
        if not own["low"] + others_high or not own["high"] + others_low:
            return None
        return rng(own["low"] / (own["low"] + others_high) * 100,
                   own["high"] / (own["high"] + others_low) * 100,
                   exact=own["exact"] and all(v["exact"] for v in shares.values()))

    def unit(self, channel: str) -> str:
        return VOICE_UNITS.get(channel, "voice volume")

    def denominator(self, channel: str, month: str) -> dict:
        named = self.voice_brands(channel, month)
        volumes = [self.estimates[(b, "voice", channel)][month] for b in named]
        names = [self.names[b] for b in named]
        unit = self.unit(channel)
        return {"channel": channel, "month": month, "unit": unit, "brands": names,
                "total_low": sum(v["low"] for v in volumes),
                "total_high": sum(v["high"] for v in volumes),
                "text": f"{unit} of {len(names)} brands ({', '.join(names)}) on {channel}, "
                        f"{label(month)}"}

    def method(self, metric: str, channel: str = "all", own: bool = False) -> dict:
        if own and metric in OWN_SOURCES:
            method, source = OWN_SOURCES[metric]
        else:
            method, source = self.sources.get((metric, channel, own), ("", ""))
        return {"method": method, "source": source}

    def series(self, brand: int, metric: str, channel: str = "all") -> list[dict]:
        out = []
        for month in self.months:
            value = (self.share_of_voice(brand, channel, month) if metric == "share_of_voice"
                     else self.value(brand, metric, month, channel))
            if value is not None:
                out.append({"month": month, "low": value["low"], "high": value["high"],
                            "exact": value["exact"], "partial": self.partial(month)})
        return out


def _described(ctx, scope, raw) -> dict:
    return resolve(ctx, scope, raw)


def _before(month: str | None, n: int) -> str | None:
    return None if month is None else add_months(dt.date.fromisoformat(month), -n).isoformat()


def _range_out(value: dict | None) -> dict | None:
    if value is None:
        return None
    return {key: value[key] for key in ("low", "high", "exact") if key in value}


# --------------------------------------------------------------------------- sections


def market_share(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    return _market_share(ctx, scope, _described(ctx, scope, raw))


@cached()
def _market_share(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    fig = Figures(ctx, scope, described)
    brands = []
    for brand in fig.brands:
        latest = fig.value(brand["id"], "market_share", fig.reference)
        before = fig.value(brand["id"], "market_share", _before(fig.reference, 1))
        compared = fig.value(brand["id"], "market_share", described["compare_month"])
        brands.append({
            "id": brand["id"], "name": brand["name"], "own": brand["own"],
            **fig.method("market_share", own=brand["own"]),
            "series": fig.series(brand["id"], "market_share"),
            "latest": _range_out(latest), "previous_month": _range_out(before),
            "change_pp": _mid_change(latest, before),
            "compared": _range_out(compared), "compared_change_pp": _mid_change(latest,
                                                                                compared)})
    return {"filters": described, "has_data": fig.reference is not None,
            "reference_month": fig.reference, "months": fig.months,
            "metric": _metric("market_share"), "brands": brands}


def _mid_change(now: dict | None, before: dict | None) -> float | None:
    if now is None or before is None:
        return None
    return mid(now) - mid(before)


def _metric(key: str) -> dict:
    spec = METRICS[key]
    return {"key": key, "label": spec.label, "unit": spec.unit,
            "definition": spec.definition}


def share_of_voice(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    return _share_of_voice(ctx, scope, _described(ctx, scope, raw))


@cached()
def _share_of_voice(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    fig = Figures(ctx, scope, described)
    channels = []
    for channel in fig.channels:
        brands = []
        for brand in fig.brands:
            latest = fig.share_of_voice(brand["id"], channel, fig.reference)
            before = fig.share_of_voice(brand["id"], channel, _before(fig.reference, 1))
            brands.append({"id": brand["id"], "name": brand["name"], "own": brand["own"],
                           "series": fig.series(brand["id"], "share_of_voice", channel),
                           "latest": _range_out(latest),
                           "change_pp": _mid_change(latest, before)})
        channels.append({
            "channel": channel, "unit": fig.unit(channel),
            **fig.method("voice", channel, own=False),
            "denominators": [fig.denominator(channel, m) for m in fig.months
                             if fig.voice_brands(channel, m)],
            "brands": brands})
    return {"filters": described, "has_data": bool(channels) and fig.reference is not None,
            "reference_month": fig.reference, "months": fig.months,
            "metric": _metric("share_of_voice"), "channels": channels}


def spend_estimates(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    return _spend_estimates(ctx, scope, _described(ctx, scope, raw))


@cached()
def _spend_estimates(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    fig = Figures(ctx, scope, described)
    brands = [{"id": b["id"], "name": b["name"], "own": b["own"],
               **fig.method("ad_spend", own=b["own"]),
               "series": fig.series(b["id"], "ad_spend"),
               "latest": _range_out(fig.value(b["id"], "ad_spend", fig.reference))}
              for b in fig.brands]
    return {"filters": described, "has_data": fig.reference is not None,
            "reference_month": fig.reference, "months": fig.months,
            "metric": _metric("est_ad_spend"), "brands": brands}


QUADRANTS = {
    "voice_ahead": "Voice ahead of share: spending ahead of results (investing for growth; "
                   "share tends to follow voice).",
    "share_ahead": "Share ahead of voice: results ahead of spending (efficient now, but share "
                   "tends to drift down to voice).",
    "balanced": "Voice and share in line (within the estimates' ranges).",
}
POSITIONING_NOTE = ("Both shares are of the same brands: a brand's share of voice is its part "
                    "of their voice on the channel, and its share of market is its part of "
                    "their market shares summed. Above the diagonal a brand's voice is ahead "
                    "of its share.")


def positioning(ctx: ServiceContext, scope: Scope, raw: dict | None = None,
                channel: str | None = None) -> dict:
    described = _described(ctx, scope, raw)
    return _positioning(ctx, scope, described, _channel(ctx, scope, described, channel))


def _channel(ctx, scope, described, channel) -> str | None:
    channels = _share_of_voice(ctx, scope, described)["channels"]
    names = [c["channel"] for c in channels]
    if channel in (None, "", "all"):
        return names[0] if names else None
    if not isinstance(channel, str) or channel not in names:
        raise ValidationError(f"unknown share-of-voice channel {str(channel)[:40]!r}; this "
                              f"company has: {', '.join(names) or 'none'}")
    return channel


def _position(fig: Figures, brand: int, channel: str | None, month: str | None) -> tuple:
    """(share of voice, share of the same brands' market) of a brand in a month."""
    if channel is None or month is None:
        return None, None
    named = fig.voice_brands(channel, month)
    return (fig.share_of_voice(brand, channel, month),
            fig.relative_share(brand, month, named))


@cached()
def _positioning(ctx: ServiceContext, scope: Scope, described: dict,
                 channel: str | None) -> dict:
    fig = Figures(ctx, scope, described)
    month, before = fig.reference, _before(fig.reference, QUARTER)
    brands = []
    for brand in fig.brands:
        voice, share = _position(fig, brand["id"], channel, month)
        voice_then, share_then = _position(fig, brand["id"], channel, before)
        excess = difference(voice, share)
        quadrant = None
        if excess is not None:
            quadrant = ("voice_ahead" if excess["low"] > 0 else "share_ahead"
                        if excess["high"] < 0 else "balanced")
        voice_change = _mid_change(voice, voice_then)
        share_change = _mid_change(share, share_then)
        momentum = None
        if voice_change is not None and share_change is not None:
            momentum = ("gaining voice faster than share" if voice_change > share_change
                        else "gaining share faster than voice")
        brands.append({"id": brand["id"], "name": brand["name"], "own": brand["own"],
                       "market_share": _range_out(fig.value(brand["id"], "market_share",
                                                            month)),
                       "share_of_named_market": _range_out(share),
                       "share_of_voice": _range_out(voice),
                       "ad_spend": _range_out(fig.value(brand["id"], "ad_spend", month)),
                       "excess_voice_pp": excess, "quadrant": quadrant,
                       "quadrant_text": QUADRANTS.get(quadrant, "Not enough data."),
                       "voice_change_pp": voice_change, "share_change_pp": share_change,
                       "momentum": momentum})
    return {"filters": described, "has_data": month is not None and channel is not None,
            "reference_month": month, "compared_from": before, "channel": channel,
            "channels": fig.channels, "quadrants": QUADRANTS, "note": POSITIONING_NOTE,
            "denominator": fig.denominator(channel, month) if channel and month else None,
            "brands": brands}


# --------------------------------------------------------------------------- gaps

GAP_METRICS = ("market_share", "share_of_voice", "ad_spend", "avg_cpc", "social_followers",
               "followers_growth")
GAP_CATALOGUE = {"market_share": "market_share", "share_of_voice": "share_of_voice",
                 "ad_spend": "est_ad_spend", "avg_cpc": "avg_cpc",
                 "social_followers": "social_followers", "followers_growth": "followers_growth"}


def gaps(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    return _gaps(ctx, scope, _described(ctx, scope, raw))


def _gap_value(fig: Figures, brand: int, metric: str, channel: str, month: str | None):
    if metric == "share_of_voice":
        return fig.share_of_voice(brand, channel, month)
    if metric == "followers_growth":
        return growth(fig.value(brand, "social_followers", month),
                      fig.value(brand, "social_followers", _before(month, QUARTER)))
    return fig.value(brand, metric, month)


@cached()
def _gaps(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    fig = Figures(ctx, scope, described)
    month = fig.reference
    rows = []
    for metric in GAP_METRICS:
        spec = METRICS[GAP_CATALOGUE[metric]]
        for channel in (fig.channels if metric == "share_of_voice" else ["all"]):
            own = _gap_value(fig, OWN, metric, channel, month)
            for brand in fig.brands[1:]:
                them = _gap_value(fig, brand["id"], metric, channel, month)
                gap = difference(own, them)
                rows.append({
                    "metric": metric, "catalogue": GAP_CATALOGUE[metric],
                    "label": spec.label + (f" ({channel})" if channel != "all" else ""),
                    "unit": spec.unit, "gap_unit": "pp" if spec.unit == "%" else spec.unit,
                    "good": spec.good, "channel": channel, "competitor_id": brand["id"],
                    "competitor": brand["name"], "own": _range_out(own),
                    "them": _range_out(them), "gap": gap, "verdict": verdict(gap, spec.good),
                    **fig.method("voice" if metric == "share_of_voice" else
                                 "social_followers" if metric == "followers_growth"
                                 else metric, channel, own=False)})
    return {"filters": described, "has_data": month is not None, "reference_month": month,
            "compared_from": _before(month, QUARTER), "rows": rows}


# --------------------------------------------------------------------------- threats


def threats(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    return _threats(ctx, scope, _described(ctx, scope, raw))


def _fmt_range(value: dict | None, unit: str) -> str:
    if value is None:
        return "—"

    def one(v):
        if unit == "USD":
            return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}"
        if unit == "%":
            return f"{v:,.1f}%"
        return f"{v:,.0f}"

    if value.get("exact"):
        return one(value["low"])
    return f"{one(value['low'])}–{one(value['high'])}"


def _signed(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:+,.1f} pp" if unit == "pp" else f"{value:+,.0f} %"


def level_of(score: float) -> str:
    if score >= CRITICAL_SCORE:
        return "critical"
    if score >= WARNING_SCORE:
        return "warning"
    if score <= LOSING_SCORE:
        return "losing ground"
    return "steady"


@cached()
def _threats(ctx: ServiceContext, scope: Scope, described: dict) -> dict:
    fig = Figures(ctx, scope, described)
    month, before = fig.reference, _before(fig.reference, QUARTER)
    start = (dt.date.fromisoformat(month) - dt.timedelta(days=92)) if month else None
    with ctx.session() as session:
        recent = queries.updates(session, scope.company_id, start, month_end(
            dt.date.fromisoformat(month)), limit=500) if month else []
    news = defaultdict(list)
    for row in recent:
        news[row["competitor_id"]].append({"observed_on": row["observed_on"].isoformat(),
                                           "kind": row["kind"], "summary": row["summary"],
                                           "url": row["url"]})
    out = []
    for brand in fig.brands[1:]:
        cid, name = brand["id"], brand["name"]
        share_now = fig.value(cid, "market_share", month)
        share_then = fig.value(cid, "market_share", before)
        spend_now = fig.value(cid, "ad_spend", month)
        spend_then = fig.value(cid, "ad_spend", before)
        share_change = _mid_change(share_now, share_then)
        spend_change = (None if spend_now is None or spend_then is None or not mid(spend_then)
                        else (mid(spend_now) / mid(spend_then) - 1) * 100)
        voice = {}
        for channel in fig.channels:
            now = fig.share_of_voice(cid, channel, month)
            then = fig.share_of_voice(cid, channel, before)
            if now is not None and then is not None:
                voice[channel] = {"now": _range_out(now), "then": _range_out(then),
                                  "change_pp": mid(now) - mid(then)}
        voice_change = (sum(v["change_pp"] for v in voice.values()) / len(voice)
                        if voice else None)
        parts = [p for p in (2 * share_change if share_change is not None else None,
                             voice_change, spend_change / 10 if spend_change is not None
                             else None) if p is not None]
        if not parts:
            continue
        score = sum(parts)
        level = level_of(score)
        verb = {"critical": "is gaining on you fast", "warning": "is gaining on you",
                "steady": "is holding steady", "losing ground": "is losing ground"}[level]
        changes = [f"market share {_signed(share_change, 'pp')}",
                   f"share of voice {_signed(voice_change, 'pp')} (mean of "
                   f"{', '.join(voice) or 'no channel'})",
                   f"estimated ad spend {_signed(spend_change, '%')}"]
        evidence = [
            f"Market share {_fmt_range(share_then, '%')} in {label(before)} → "
            f"{_fmt_range(share_now, '%')} in {label(month)} "
            f"({(share_now or {}).get('method', '')}; {(share_now or {}).get('source', '')}).",
            *[f"Share of voice on {ch} {_fmt_range(v['then'], '%')} → "
              f"{_fmt_range(v['now'], '%')} (of {fig.unit(ch)} of "
              f"{len(fig.voice_brands(ch, month))} brands)." for ch, v in voice.items()],
            f"Estimated ad spend {_fmt_range(spend_then, 'USD')} → "
            f"{_fmt_range(spend_now, 'USD')} a month "
            f"({(spend_now or {}).get('method', '')}; {(spend_now or {}).get('source', '')}).",
            *[f"{n['observed_on']}: {n['summary']}" for n in news[cid][:3]],
        ]
        out.append({"competitor_id": cid, "competitor": name, "score": score, "level": level,
                    "share_change_pp": share_change, "voice_change_pp": voice_change,
                    "spend_change_pct": spend_change, "voice": voice,
                    "sentence": f"{name} {verb}: {', '.join(changes)} over the last quarter "
                                f"({label(before)} to {label(month)}; changes of the "
                                "ranges' midpoints).",
                    "evidence": evidence, "recent_updates": news[cid][:5]})
    out.sort(key=lambda t: (-t["score"], t["competitor"]))
    for rank, threat in enumerate(out, start=1):
        threat["rank"] = rank
    gap_rows = _gaps(ctx, scope, described)["rows"]
    own_position = _positioning(ctx, scope, described,
                                fig.channels[0] if fig.channels else None)
    return {"filters": described, "has_data": bool(out), "reference_month": month,
            "compared_from": before,
            "score": "2 x market share change (pp) + mean share-of-voice change (pp) + "
                     "estimated spend change (%) / 10, midpoints over the last quarter; "
                     f"critical from {CRITICAL_SCORE:g}, warning from {WARNING_SCORE:g}, "
                     f"losing ground at {LOSING_SCORE:g} or below",
            "threats": out,
            "recommendations": recommendations(out, gap_rows, own_position, fig)}


def recommendations(threat_rows: list[dict], gap_rows: list[dict], position: dict,
                    fig: Figures) -> list[dict]:
    """Two or three suggestions from the threats and gaps, each with its evidence."""
    out = []
    top = next((t for t in threat_rows if t["level"] in ("critical", "warning")), None)
    if top is not None:
        channel = max(top["voice"], key=lambda ch: top["voice"][ch]["change_pp"]) \
            if top["voice"] else None
        where = f" on {channel}" if channel else ""
        out.append({"kind": "threat", "competitor_id": top["competitor_id"],
                    "text": f"Answer {top['competitor']}'s push{where}: it is the top threat "
                            f"({top['level']}); defend your voice{where} before its share "
                            "gains compound.",
                    "evidence": [top["sentence"], *(f"{n['observed_on']}: {n['summary']}"
                                                    for n in top["recent_updates"][:2])]})
    own = next((b for b in position["brands"] if b["own"]), None)
    if own is not None and own["quadrant"] in ("share_ahead", "voice_ahead"):
        voice = _fmt_range(own["share_of_voice"], "%")
        share = _fmt_range(own["share_of_named_market"], "%")
        channel = position["channel"]
        if own["quadrant"] == "share_ahead":
            text = (f"Raise your share of voice on {channel}: at {voice} it is below your "
                    f"{share} share of the same brands' market, and brands whose voice stays "
                    "below their share tend to lose share.")
        else:
            text = (f"Your voice on {channel} ({voice}) runs ahead of your {share} share of "
                    "the same brands' market: keep it there, it is where share growth comes "
                    "from, and check that the spend behind it pays back.")
        out.append({"kind": "voice", "competitor_id": None, "text": text,
                    "evidence": [f"Share of voice: {position['denominator']['text']}.",
                                 f"Market share: {OWN_SOURCES['market_share'][0]}, "
                                 f"{label(position['reference_month'])}."]})
    trailing = [g for g in gap_rows if g["verdict"] == "trails"
                and g["metric"] in ("avg_cpc", "followers_growth", "social_followers",
                                    "share_of_voice")]
    if trailing:
        order = {"avg_cpc": 0, "followers_growth": 1, "share_of_voice": 2,
                 "social_followers": 3}
        gap = sorted(trailing, key=lambda g: (order[g["metric"]],
                                              -abs(mid(g["gap"]) or 0)))[0]
        unit = gap["unit"]
        advice = {"avg_cpc": "review bids, match types and quality score where you pay more "
                             "per click",
                  "followers_growth": "post more often and put paid reach behind your best "
                                      "social content",
                  "share_of_voice": "shift budget toward the channel where your voice trails",
                  "social_followers": "grow your social audience where it trails"}
        out.append({"kind": "gap", "competitor_id": gap["competitor_id"],
                    "text": f"{gap['label']}: you trail {gap['competitor']} "
                            f"(you {_fmt_range(gap['own'], unit)}, them "
                            f"{_fmt_range(gap['them'], unit)}); {advice[gap['metric']]}.",
                    "evidence": [f"{gap['label']} in {label(fig.reference)}: "
                                 f"{gap['method']} ({gap['source']})."]})
    return out[:3]


# --------------------------------------------------------------------------- updates feed


def updates(ctx: ServiceContext, scope: Scope, raw: dict | None = None,
            competitor=None, kind=None) -> dict:
    """The competitor updates of the period, newest first (at most ``FEED_LIMIT``),
    optionally of one competitor (resolved inside the scope) and one kind."""
    described = _described(ctx, scope, raw)
    competitor_id = None
    if competitor not in (None, "", "all"):
        competitor_id = competitor_in_scope(ctx, scope, competitor)["id"]
    kind = None if kind == "all" else one_of(kind, "update kind", UPDATE_KINDS)
    return _updates(ctx, scope, described, competitor_id, kind)


@cached()
def _updates(ctx: ServiceContext, scope: Scope, described: dict, competitor_id: int | None,
             kind: str | None) -> dict:
    start = dt.date.fromisoformat(described["period"]["start"])
    end = dt.date.fromisoformat(described["period"]["end"])
    with ctx.session() as session:
        rows = queries.updates(session, scope.company_id, start, end,
                               competitor_id=competitor_id, kind=kind, limit=FEED_LIMIT)
        total = queries.update_count(session, scope.company_id, start, end,
                                     competitor_id=competitor_id, kind=kind)
    return {"filters": {**described, "competitor_id": competitor_id, "kind": kind},
            "kinds": list(UPDATE_KINDS), "total": total, "shown": len(rows),
            "updates": [{**row, "observed_on": row["observed_on"].isoformat(),
                         "created_at": row["created_at"].isoformat()} for row in rows]}


# --------------------------------------------------------------------------- competitor list


@cached()
def list_competitors(ctx: ServiceContext, scope: Scope) -> dict:
    with ctx.session() as session:
        rows = queries.competitors(session, scope.company_id)
    return {"competitors": [{**row, "added_at": row["added_at"].isoformat()} for row in rows],
            "count": len(rows)}


def _bump(ctx: ServiceContext, session, company_id: int) -> None:
    rollups.bump_data_version(session.connection(), [company_id], history=False)


def add_competitor(ctx: ServiceContext, scope: Scope, name, website=None) -> dict:
    """Add a competitor to the scope's company (admins and marketing managers)."""
    require(ctx, scope, "manage_competitors")
    name = name.strip() if isinstance(name, str) else ""
    website = website.strip() if isinstance(website, str) and website.strip() else None
    problems = []
    if not name or len(name) > 200:
        problems.append("the name must be 1 to 200 characters")
    if website is not None and (len(website) > 200 or not website.startswith(
            ("https://", "http://"))):
        problems.append("the website must start with https:// or http:// (at most 200 "
                        "characters)")
    with ctx.session() as session:
        if name and queries.competitor_by_name(session, scope.company_id, name):
            problems.append(f"{name!r} is already a competitor")
        if problems:
            raise ValidationError("; ".join(problems))
        competitor_id = queries.insert_competitor(session, scope.company_id, name, website,
                                                  scope.company.industry or "unspecified")
        audit.record(session, "competitor_add", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"competitor:{competitor_id}",
                     remote_addr=scope.remote_addr,
                     after={"company_id": scope.company_id, "name": name,
                            "website": website})
        _bump(ctx, session, scope.company_id)
    forget_data_version(ctx, [scope.company_id])
    return {"id": competitor_id, "name": name, "website": website}


def removal_preview(ctx: ServiceContext, scope: Scope, competitor) -> dict:
    """What removing a competitor of the scope's company would delete (asked before)."""
    require(ctx, scope, "manage_competitors")
    found = competitor_in_scope(ctx, scope, competitor)
    listed = {c["id"]: c for c in list_competitors(ctx, scope)["competitors"]}
    counts = listed.get(found["id"], {"months": 0, "updates": 0})
    return {**found, "months": counts["months"], "updates": counts["updates"]}


def remove_competitor(ctx: ServiceContext, scope: Scope, competitor) -> dict:
    """Remove a competitor of the scope's company with its estimates and updates."""
    require(ctx, scope, "manage_competitors")
    found = competitor_in_scope(ctx, scope, competitor)
    with ctx.session() as session:
        removed = queries.delete_competitor(session, scope.company_id, found["id"])
        audit.record(session, "competitor_remove", user_id=scope.audit_user_id,
                     actor_email=scope.user.email, target=f"competitor:{found['id']}",
                     remote_addr=scope.remote_addr,
                     before={"company_id": scope.company_id, "name": found["name"],
                             **removed})
        _bump(ctx, session, scope.company_id)
    forget_data_version(ctx, [scope.company_id])
    return {**found, **removed}
