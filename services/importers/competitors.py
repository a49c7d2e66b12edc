"""Competitive intelligence from outside sources (issue #16): monthly competitor figures as
ranges, and competitor updates (CSV, JSON lines, or an RSS/Atom feed read by ``feeds``).

Competitor metrics (one figure per row, long format): ``competitor``, ``month`` (YYYY-MM or
a date in the month), ``metric`` (``market_share`` %, ``ad_spend`` USD a month, ``avg_cpc``
USD, ``social_followers``, ``voice``: mentions or impressions in one channel), ``channel``
(``all`` when empty; required for voice), ``low`` and ``high``, or ``value`` with ``exact``
set to yes when the source itself calls its figure exact, ``method`` and ``source``. Stored in
``competitor_estimates``; natural key (competitor, month, metric, channel): a restated figure
replaces the old one. The company's own figures are rows whose competitor is the company's
own name (stored as brand 0, as the view expects).

Competitor updates: ``competitor`` (or ``--competitor`` for a feed of one competitor), a date
(``date``, ``observed_on`` or ``published``), ``title`` and/or ``summary``, and optionally
``kind`` (one of the view's kinds; ``category`` is matched leniently), ``url`` or ``link``
(http or https only), ``source`` and ``id``. Natural key: the ``id`` (an RSS entry's guid),
else the competitor, date and text; importing a feed again adds nothing.

Competitors named by a row and not known yet are created (and listed in the summary)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from db import rollups
from db.queries import competitive as queries
from db.queries.companies import company_by_id
from services.competitive import UPDATE_KINDS
from services.importers import base
from services.importers.reading import Table
from services.ingest import _Reasons

METRICS = ("market_share", "ad_spend", "avg_cpc", "social_followers", "voice")
YES = {"yes", "y", "true", "1", "exact"}
NO = {"no", "n", "false", "0", ""}
DATE_COLUMNS = ("date", "observed_on", "published")
TEXT_COLUMNS = ("title", "summary")
UPDATE_COLUMNS = {"competitor", *DATE_COLUMNS, *TEXT_COLUMNS, "kind", "category", "url",
                  "link", "source", "id"}
MAX_SUMMARY = 1000


def _competitor_ids(session, company_id: int, names: pd.Series, own: bool) -> tuple[dict, list]:
    """name (lower case) -> competitor id, creating the missing competitors; the company's own
    name is brand 0 when ``own``. Returns the mapping and the names created."""
    company = company_by_id(session, company_id)
    ids: dict[str, int] = {}
    created = []
    for name in sorted(set(names), key=str.lower):
        key = name.lower()
        if key in ids:
            continue
        if own and key == company.name.lower():
            ids[key] = 0
            continue
        found = queries.competitor_by_name(session, company_id, name)
        if found is None:
            ids[key] = queries.insert_competitor(session, company_id, name, None,
                                                 company.industry or "unspecified")
            created.append(name)
        else:
            ids[key] = int(found["id"])
    return ids, created


def _bump(session, company_id: int) -> None:
    rollups.bump_data_version(session.connection(), [company_id], history=False)


class CompetitorMetrics(base.Format):
    name = "competitor-metrics"
    title = "competitor metrics (monthly figures as ranges, with method and source)"
    target = "competitor_estimates"
    fixes = (
        ("is not a metric", "use one of " + ", ".join(METRICS)),
        ("a single value", "give low and high (the range the source allows), or set exact "
                           "to yes when the source states the figure as exact"),
        ("low is above high", "swap low and high"),
        ("voice needs a channel", "name the channel of each voice figure (e.g. Social, "
                                  "Search)"),
        ("is not a month", "write the month as YYYY-MM (e.g. 2026-05)"),
    )

    def fits(self, columns: set[str]) -> bool:
        return ({"competitor", "month", "metric", "method", "source"} <= columns
                and ("value" in columns or {"low", "high"} <= columns))

    def map(self, table: Table, options: dict) -> base.Mapped:
        found = base.column_index(table)
        frame = table.frame
        reasons = _Reasons(frame.index)

        def column(name):
            return frame[found[name]] if name in found else None

        competitor = base.required_text(column("competitor"), "competitor", reasons, 200)
        month_text = base.text_cells(column("month"))
        month = pd.to_datetime(month_text, errors="coerce", format="ISO8601")
        reasons.add(month_text.isna().to_numpy(), "missing month")
        reasons.add((month_text.notna() & month.isna()).to_numpy(),
                    "month is not a month (YYYY-MM), got " + month_text.astype(str).map(repr))
        metric = base.required_text(column("metric"), "metric", reasons, 32).str.lower()
        reasons.add((metric.notna() & ~metric.isin(METRICS)).to_numpy(),
                    "metric " + metric.astype(str).map(repr) + " is not a metric")
        channel = base.optional_text(column("channel"), frame.index, "channel", reasons, 32) \
            .fillna("all")
        reasons.add(((metric == "voice") & (channel.str.lower() == "all")).to_numpy(),
                    "voice needs a channel (its share is of one channel's volume)")
        low = self._optional_number(column("low"), "low", reasons, frame.index)
        high = self._optional_number(column("high"), "high", reasons, frame.index)
        value = self._optional_number(column("value"), "value", reasons, frame.index)
        exact_text = base.text_cells(column("exact")).fillna("").str.lower() \
            if "exact" in found else pd.Series("", index=frame.index)
        exact = exact_text.isin(YES)
        reasons.add((~exact_text.isin(YES | NO)).to_numpy(),
                    "exact must be yes or no, got " + exact_text.map(repr))
        ranged = low.notna() & high.notna()
        single = ~ranged & value.notna()
        reasons.add((low.notna() ^ high.notna()).to_numpy(), "give both low and high")
        reasons.add((single & ~exact).to_numpy(),
                    "a single value is kept only when the source calls it exact")
        reasons.add((~ranged & value.isna() & ~(low.notna() ^ high.notna())).to_numpy(),
                    "missing figure (low and high, or an exact value)")
        low = low.where(ranged, value)
        high = high.where(ranged, value)
        reasons.add((low > high).fillna(False).to_numpy(), "low is above high")
        reasons.add(((metric == "market_share") & (high > 100)).fillna(False).to_numpy(),
                    "market_share is above 100 %")
        method = base.required_text(column("method"), "method", reasons, 200)
        source = base.required_text(column("source"), "source", reasons, 200)
        first_day = month.dt.to_period("M").dt.start_time.dt.date
        rows = pd.DataFrame({
            "competitor": competitor, "month": first_day, "metric": metric,
            "channel": channel, "low": low, "high": high, "method": method,
            "source": source,
            "natural_key": (competitor.str.lower() + "|" + month.dt.strftime("%Y-%m") + "|"
                            + metric + "|" + channel.str.lower()),
        }, index=frame.index)
        used = [found[c] for c in ("competitor", "month", "metric", "channel", "low", "high",
                                   "value", "exact", "method", "source") if c in found]
        notes = ["each figure is stored as a range (low to high) with its method and source; "
                 "a single value only when the source calls it exact",
                 "a row whose competitor is the company's own name is the company's own figure"]
        return base.Mapped(rows, reasons, used, notes)

    @staticmethod
    def _optional_number(series, label, reasons, index) -> pd.Series:
        if series is None:
            return pd.Series(np.nan, index=index)
        return base.numbers(series, label, reasons, required=False, maximum=1e15)

    def store(self, session, company_id: int, rows: pd.DataFrame, options: dict) -> dict:
        ids, created = _competitor_ids(session, company_id, rows["competitor"], own=True)
        records = [{"competitor_id": ids[c.lower()], "month": m, "metric": k, "channel": ch,
                    "low": float(lo), "high": float(hi), "method": me, "source": so}
                   for c, m, k, ch, lo, hi, me, so in zip(
                       rows["competitor"], rows["month"], rows["metric"], rows["channel"],
                       rows["low"], rows["high"], rows["method"], rows["source"],
                       strict=True)]
        counts = queries.upsert_estimates(session, company_id, records)
        if counts["imported"] or counts["replaced"] or created:
            _bump(session, company_id)
        return {**counts, "competitors_created": len(created)}


class CompetitorUpdates(base.Format):
    name = "competitor-updates"
    title = "competitor updates (CSV, JSON lines, or an RSS/Atom feed)"
    target = "competitor_updates"
    fixes = (
        ("missing competitor", "add a competitor column, or pass --competitor NAME (a feed "
                               "of one competitor's news)"),
        ("is not a kind", "use one of " + ", ".join(UPDATE_KINDS)),
        ("url must start with", "give links as full http(s) addresses"),
    )

    def fits(self, columns: set[str]) -> bool:
        return (bool(columns & set(DATE_COLUMNS)) and bool(columns & set(TEXT_COLUMNS))
                and columns <= UPDATE_COLUMNS)

    def map(self, table: Table, options: dict) -> base.Mapped:
        found = base.column_index(table)
        frame = table.frame
        index = frame.index
        reasons = _Reasons(index)

        def column(*names):
            name = next((n for n in names if n in found), None)
            return (frame[found[name]], found[name]) if name else (None, None)

        series, _ = column("competitor")
        given = (options.get("competitor") or "").strip()
        competitor = (base.text_cells(series) if series is not None
                      else pd.Series(pd.NA, index=index, dtype=object))
        if given:
            competitor = competitor.fillna(given)
        reasons.add(competitor.isna().to_numpy(), "missing competitor")
        reasons.add((competitor.str.len().fillna(0) > 200).to_numpy(),
                    "competitor is longer than 200 characters")
        dates, date_label = column(*DATE_COLUMNS)
        observed = base.dates(dates, date_label, reasons)
        title = base.text_cells(column("title")[0]) if "title" in found else None
        summary = base.text_cells(column("summary")[0]) if "summary" in found else None
        text = _join_text(title, summary, index)
        reasons.add(text.isna().to_numpy(), "missing title and summary")
        kind = self._kinds(found, frame, options, reasons)
        link_series, link_label = column("url", "link")
        url = base.optional_text(link_series, index, link_label or "url", reasons, 500)
        reasons.add((url.notna() & ~url.str.match(r"^https?://", na=False)).to_numpy(),
                    "url must start with http:// or https://, got " + url.astype(str).map(repr))
        source = base.optional_text(column("source")[0], index, "source", reasons, 200) \
            .fillna(options.get("source_name") or table.path.name)
        entry_id = base.optional_text(column("id")[0], index, "id", reasons, 10_000)
        fallback = (competitor.fillna("").str.lower() + "|" + observed.dt.strftime("%Y-%m-%d")
                    .fillna("") + "|" + text.fillna(""))
        key = entry_id.fillna(fallback).map(_key)
        rows = pd.DataFrame({"competitor": competitor, "observed_on": observed.dt.date,
                             "kind": kind, "summary": text, "url": url, "source": source,
                             "natural_key": key}, index=index)
        used = [found[c] for c in found if c in UPDATE_COLUMNS]
        notes = ["one update per row; its key is the entry id (a feed's guid) or else the "
                 "competitor, date and text: importing the same entries again adds nothing"]
        if "kind" not in found:
            notes.append("no kind column: the kind is the first category naming one of "
                         f"{', '.join(UPDATE_KINDS)}, else {options.get('kind') or 'other'}")
        return base.Mapped(rows, reasons, used, notes)

    @staticmethod
    def _kinds(found, frame, options, reasons) -> pd.Series:
        default = (options.get("kind") or "other").strip().lower()
        if "kind" in found:  # an explicit kind must be one of the view's
            kind = base.text_cells(frame[found["kind"]]).str.lower()
            reasons.add((kind.notna() & ~kind.isin(UPDATE_KINDS)).to_numpy(),
                        "kind " + kind.astype(str).map(repr) + " is not a kind")
            return kind.fillna(default)
        if "category" in found:  # a feed's free categories: the first that names a kind
            words = base.text_cells(frame[found["category"]]).fillna("").str.lower()
            return words.map(lambda text: next(
                (k for k in UPDATE_KINDS if k in text.replace(";", ",").split(",")), default))
        return pd.Series(default, index=frame.index)

    def store(self, session, company_id: int, rows: pd.DataFrame, options: dict) -> dict:
        ids, created = _competitor_ids(session, company_id, rows["competitor"], own=False)
        records = [{"competitor_id": ids[c.lower()], "observed_on": d, "kind": k,
                    "summary": s, "url": None if pd.isna(u) else u, "source": so,
                    "source_key": key}
                   for c, d, k, s, u, so, key in zip(
                       rows["competitor"], rows["observed_on"], rows["kind"], rows["summary"],
                       rows["url"], rows["source"], rows["natural_key"], strict=True)]
        counts = queries.upsert_updates(session, company_id, records)
        if counts["imported"] or counts["replaced"] or created:
            _bump(session, company_id)
        return {**counts, "competitors_created": len(created)}


def _join_text(title: pd.Series | None, summary: pd.Series | None,
               index: pd.Index) -> pd.Series:
    """"Title: summary", or whichever is given, at most MAX_SUMMARY characters."""
    empty = pd.Series(pd.NA, index=index, dtype=object)
    title = empty if title is None else title
    summary = empty if summary is None else summary
    both = title.notna() & summary.notna() & (title != summary)
    text = title.where(title.notna(), summary)
    text = text.where(~both, title + ": " + summary)
    too_long = text.str.len().fillna(0) > MAX_SUMMARY
    return text.where(~too_long, text.str.slice(0, MAX_SUMMARY - 1) + "…")


def _key(entry_id: str) -> str:
    """An entry's natural key, at most 300 characters (long ids hashed)."""
    return entry_id if len(entry_id) <= 300 else "sha256:" + hashlib.sha256(
        entry_id.encode()).hexdigest()
