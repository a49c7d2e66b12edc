"""The campaigns view (issue #14): the campaign explorer, segments and channels against their
benchmarks, the goal x segment matrix, top and bottom performers, duration bands and
campaign clusters. Every section is one function of the request's scope and the filter bar's
raw values; the API (``/api/v1/<resource>``) calls the same functions.

Figures come from the daily rollups (``db.queries.campaigns``): per campaign, its ads plus its
CRM conversions and completed e-commerce orders, each summed on its own. The per-campaign
frame of a period is computed once per data version and process and kept in a small memo,
so paging, sorting and filtering 100,000 campaigns is pandas work on a frame already built;
the worker snapshots the named ranges' frames in Redis, and a custom range's sums are read
once and shared between processes (``_shared_frame``). Duration bands and clusters cover the
whole history and are fitted by the worker per history version
(``services.insights.store.history_model``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from db.queries import campaign_cumulative as cumulative
from db.queries import campaigns as queries
from db.queries import insight_results
from db.queries import marketing as filter_queries
from services import access, filters
from services import campaign_frames as frames
from services import campaign_stats as stats
from services.access import Scope
from services.cache import cache_key, cached, data_version
from services.context import ServiceContext
from services.errors import ValidationError, one_of
from services.insights import forecast
from services.insights.anomalies import history_window
from services.insights.benchmarks import MIN_PEERS
from services.insights.store import history_model, history_through
from services.memo import Memo
from services.metrics import METRICS, metric_value, metric_values
from services.periods import RANGES
from services.series import to_weekly

# --------------------------------------------------------------------------- the frame

EXPLORER_FILTERS = {"location": "location", "goal": "goal", "duration": "duration_band",
                    "language": "language", "segment": "segment", "channel": "channel",
                    "status": "status", "tier": "tier"}
# The explorer's columns, in order (CSV too); every one sortable.
COLUMNS = ("campaign_id", "campaign", "channel", "goal", "segment", "location", "language",
           "start_date", "end_date", "duration_days", "duration_band", "status", "spend",
           "impressions", "clicks", "ctr", "conversions", "conversion_rate", "cpa", "revenue",
           "roas", "roi_pct", "tier")
PAGE_MAX = 1000
_PERIOD_FRAMES = Memo(6)


def _period_raw(raw: dict | None) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    return {key: raw.get(key) for key in ("range", "start", "end", "compare")}


def resolve(ctx: ServiceContext, scope: Scope, raw: dict | None) -> filters.Filters:
    """The filter bar's period for this company (``services.filters``)."""
    return filters.resolve(ctx, scope, _period_raw(raw))


@dataclass
class PeriodFrame:
    """A period's campaigns, with what every page asks again: the filters' options and the
    row order per sort (sorting 100,000 names costs 0.2 s; a kept order, nothing)."""

    frame: pd.DataFrame
    options: dict[str, list[str]]
    totals: dict  # of every campaign of the period: the unfiltered pages' footer
    orders: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict)
    # A filter column's integer codes and each value's code: comparing 100,000 strings cost
    # ~5 ms a filter on every page and summary of a filtered explorer; codes, ~0.1 ms.
    codes: dict[str, tuple[np.ndarray, dict]] = field(default_factory=dict)
    # Text columns' codes and distinct values when the frame was built from them
    # (``stats.Period.texts``): the filters' codes and the snapshot's, without factorizing.
    texts: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def mask(self, chosen: dict[str, str]) -> np.ndarray:
        """Which rows have every chosen value ({column: value}), as ``frame[column] == value``
        would say."""
        mask = np.ones(len(self.frame), dtype=bool)
        for column, value in chosen.items():
            if column not in self.codes:
                codes, distinct = self.texts.get(column) or pd.factorize(self.frame[column])
                self.codes[column] = (codes, {v: i for i, v in enumerate(distinct)})
            codes, code_of = self.codes[column]
            code = code_of.get(value)
            if code is None:
                mask[:] = False
            else:
                mask &= codes == code
        return mask

    def order(self, column: str, descending: bool) -> np.ndarray:
        key = (column, descending)
        if key not in self.orders:
            ranked = stats.ranked_rows(self.frame, column, descending) \
                if self.frame[column].dtype.kind in "if" else None
            if ranked is not None and len(ranked) == len(self.frame):  # numbers, no gaps
                self.orders[key] = ranked
            else:
                keys = list(dict.fromkeys([column, "campaign_id"]))  # only the keys copied
                ordered = stats.sort_rows(self.frame[keys], column, descending)
                self.orders[key] = self.frame.index.get_indexer(ordered.index)
        return self.orders[key]


def period_frame(ctx: ServiceContext, scope: Scope, start: dt.date,
                 end: dt.date) -> PeriodFrame:
    """Every campaign of the period with its dimensions, totals and metrics, kept in a small
    in-process memo under a key holding the tenant, the period and the data version (a
    changed company is never served stale; the version is one Redis read). See
    ``_shared_frame`` for where a process without it gets it. One thread of a process builds
    a missing period; the page's other callbacks in the process wait for it."""
    version = data_version(ctx, scope.company_id)
    key = cache_key(ctx, period_frame, scope.company_id, version,
                    {"start": start.isoformat(), "end": end.isoformat()})
    return _PERIOD_FRAMES.get_or_build(
        key, lambda: _shared_frame(ctx, scope.company_id, version, start, end))


def _shared_frame(ctx: ServiceContext, company_id: int, version: int, start: dt.date,
                  end: dt.date) -> PeriodFrame:
    """The period's frame: from the worker's snapshot (the named ranges: ~10 ms at 100,000
    campaigns, ``services.campaign_frames``); else from the period's sums per campaign as one
    process read them from PostgreSQL, joined here to the dimensions. A custom range's
    first request fires the page's sections at once, across the server's processes: one
    claims the reading, writes the sums for the others as soon as it has them (1-2 MB) and
    then builds its frame, while the others wait for the sums and build theirs at the same
    time on the other core (waiting for its whole frame's snapshot cost them the build,
    its encoding and a 5 MB write and read: ~100 ms where the sums take ~30)."""
    blob = frames.read(ctx, frames.snapshot_key(ctx, company_id, version, start, end))
    if blob is not None:
        return _from_snapshot(blob)
    sums_key = frames.sums_key(ctx, company_id, version, start, end)
    blob = frames.read(ctx, sums_key)
    claimed = blob is None and frames.claim(ctx, sums_key)
    if blob is None and not claimed:
        blob = frames.wait_for(ctx, sums_key)
    if blob is not None:
        stamp, sums = _sums_from_snapshot(blob)
        return _frame_of(ctx, company_id, start, end, sums,
                         _dimensions_under(ctx, company_id, stamp, missing_ok=True))
    try:
        stamp, dimensions, sums = _read_sums(ctx, company_id, start, end)
        frames.write(ctx, sums_key, _sums_snapshot(stamp, sums))
    finally:
        if claimed:
            frames.release(ctx, sums_key)
    return _frame_of(ctx, company_id, start, end, sums, dimensions)


DEFAULT_SORT = ("spend", True)  # the explorer's first page: its order travels in the snapshot
# Orders kept in the snapshot too: the first page's, and the campaign name's both ways
# (sorting 100,000 names costs 0.2 s; a number column, a few milliseconds).
KEPT_SORTS = (DEFAULT_SORT, ("campaign", True), ("campaign", False))


def _build(ctx: ServiceContext, company_id: int, start: dt.date, end: dt.date) -> PeriodFrame:
    """The period's frame from PostgreSQL: its sums (``_read_sums``) joined to the campaigns'
    dimensions."""
    _stamp, dimensions, sums = _read_sums(ctx, company_id, start, end)
    return _frame_of(ctx, company_id, start, end, sums, dimensions)


def _read_sums(ctx: ServiceContext, company_id: int, start: dt.date,
               end: dt.date) -> tuple[str, stats.Dimensions, dict[str, np.ndarray]]:
    """The period's sums per campaign (from the running totals while they are the company's
    current history's), with the dimensions of this data version (``_dimensions``) and their
    snapshot key."""
    history = data_version(ctx, company_id, history=True)
    with ctx.session() as session:
        kept = cumulative.state(session, company_id)
    through = kept.through if kept and kept.history_version == history else None
    stamp = _dimensions_key(ctx, company_id)
    dimensions = _dimensions_under(ctx, company_id, stamp)
    sums = queries.sums_of(_signed_rows(ctx, company_id, start, end, through,
                                        dimensions.numbers["campaign_id"]))
    return stamp, dimensions, sums


def _frame_of(ctx: ServiceContext, company_id: int, start: dt.date, end: dt.date,
              sums: dict[str, np.ndarray], dimensions: stats.Dimensions) -> PeriodFrame:
    """The period's frame: its sums joined to the dimensions, with options and totals."""
    columns = queries.DIMENSION_COLUMNS
    period = stats.period_campaigns(dimensions, columns, sums, start, end)
    if period is None:  # a campaign created since the dimensions were read: read them again
        period = stats.period_campaigns(_dimensions(ctx, company_id, fresh=True), columns,
                                        sums, start, end, strict=False)
    frame = period.frame
    return PeriodFrame(frame, _options(frame, period.texts), stats.totals(frame),
                       dict(period.orders), texts=period.texts)


def _sums_snapshot(stamp: str, sums: dict[str, np.ndarray]) -> bytes:
    """A period's sums per campaign and the key of the dimensions they were read with."""
    return frames.encode(pd.DataFrame(sums), {"dimensions": stamp})


def _sums_from_snapshot(blob: bytes) -> tuple[str, dict[str, np.ndarray]]:
    frame, extra, _arrays, _texts = frames.decode(blob)
    return extra["dimensions"], {name: frame[name].to_numpy() for name in frame.columns}


SPLIT_FROM = 10_000  # campaigns: from this many, a period's rows are read in two halves
_READERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="campaign-sums")


def _signed_rows(ctx: ServiceContext, company_id: int, start: dt.date, end: dt.date,
                 through: dt.date | None, ids: np.ndarray) -> list[dict[str, np.ndarray]]:
    """The period's ``queries.signed_rows``. A company with ``SPLIT_FROM`` campaigns or more
    (``ids``: its campaigns' ids, ascending): the two halves by id at once, each on its own
    connection, so PostgreSQL writes them out on both cores (35,000 rows took ~25 ms of
    one; the halves ~15). A campaign newer than ``ids`` falls in one half all the same."""
    def read(bounds: tuple[int | None, int | None]) -> dict[str, np.ndarray]:
        with ctx.session() as session:
            return queries.signed_rows(session, company_id, start, end,
                                       cumulative_through=through, ids=bounds)

    if len(ids) < SPLIT_FROM:
        return [read((None, None))]
    middle = int(ids[len(ids) // 2])
    upper = _READERS.submit(read, (middle, None))
    return [read((None, middle)), upper.result()]


_DIMENSIONS = Memo(4)
_DIMENSION_KEYS = Memo(64)  # (company, data and history version, day) -> the dimensions' stamp


def _dimensions(ctx: ServiceContext, company_id: int, fresh: bool = False) -> stats.Dimensions:
    """Every campaign of the company with its dimensions and anomaly reason
    (``stats.dimension_frame``): from this process's memo, the snapshot another process
    wrote, or PostgreSQL. Kept under a digest of the campaigns, the history version and the
    models' last day, not the data version: events streaming in (a new data version every
    few seconds) leave them as they are, and a new data version costs a digest query
    (~12 ms at 100,000 campaigns) instead of reading them again (~0.7 s). Each campaign's
    anomaly reason rides in them: a page reads its rows' reasons without decoding the
    worker's whole result for 100,000 campaigns."""
    return _dimensions_under(ctx, company_id, _dimensions_key(ctx, company_id, fresh), fresh)


def _dimensions_under(ctx: ServiceContext, company_id: int, snapshot: str, fresh: bool = False,
                      missing_ok: bool = False) -> stats.Dimensions:
    """``_dimensions`` under the snapshot key ``snapshot``. ``missing_ok``: the key another
    process read them under; when neither this process nor Redis has them any more, the
    current ones."""
    if missing_ok and _DIMENSIONS.get(snapshot) is None and not frames.exists(ctx, snapshot):
        return _dimensions(ctx, company_id)

    def build() -> stats.Dimensions:
        blob = None if fresh else frames.read(ctx, snapshot)
        if blob is not None:
            return _dimensions_from_snapshot(blob)
        with ctx.session() as session:
            rows = queries.campaign_dimensions(session, company_id)
        flagged = anomalies_model(ctx, company_id)["flagged"]
        built = stats.Dimensions.of(
            stats.dimension_frame(rows, queries.DIMENSION_COLUMNS, flagged))
        frames.write(ctx, snapshot, _dimensions_snapshot(built))
        return built

    if fresh:
        _DIMENSIONS.put(snapshot, build())
    return _DIMENSIONS.get_or_build(snapshot, build)


def _dimensions_key(ctx: ServiceContext, company_id: int, fresh: bool = False) -> str:
    """The dimensions' snapshot key for the company's current data version (its digest is
    asked once per data version and process; ``fresh``: asked again)."""
    history = data_version(ctx, company_id, history=True)

    def digest() -> str:
        with ctx.session() as session:
            campaigns = queries.campaigns_digest(session, company_id)
        return f"{history}:{history_through().isoformat()}:{campaigns}"

    key = ctx.key("campaign-dimensions-key", company_id, data_version(ctx, company_id),
                  history, history_through().isoformat())
    if fresh:
        _DIMENSION_KEYS.put(key, digest())
    return frames.dimensions_key(ctx, company_id, _DIMENSION_KEYS.get_or_build(key, digest))


def _dimensions_snapshot(dimensions: stats.Dimensions) -> bytes:
    """The numbers as columns, each text column's codes as an array and its distinct values
    in the header."""
    texts = dimensions.texts
    return frames.encode(pd.DataFrame(dimensions.numbers),
                         {"texts": {name: [str(v) for v in distinct]
                                    for name, (_, distinct) in texts.items()}},
                         {name: codes for name, (codes, _) in texts.items()})


def _dimensions_from_snapshot(blob: bytes) -> stats.Dimensions:
    frame, extra, arrays, _texts = frames.decode(blob)
    return stats.Dimensions(
        {name: frame[name].to_numpy() for name in frame.columns},
        {name: (arrays[name], np.asarray(distinct, dtype=object))
         for name, distinct in extra["texts"].items()})


def _to_snapshot(kept: PeriodFrame) -> bytes:
    return frames.encode(kept.frame, {"options": kept.options, "totals": kept.totals},
                         {f"{column}:{int(descending)}": kept.order(column, descending)
                          for column, descending in KEPT_SORTS}, kept.texts)


def _from_snapshot(blob: bytes) -> PeriodFrame:
    frame, extra, arrays, texts = frames.decode(blob)
    orders = {}
    for name, order in arrays.items():
        column, descending = name.rsplit(":", 1)
        orders[(column, descending == "1")] = order
    return PeriodFrame(frame, extra["options"], extra["totals"], orders, texts=texts)


def refresh_cumulative(ctx: ServiceContext, company_id: int,
                       today: dt.date | None = None) -> bool:
    """The worker's call: rebuild the company's running totals per campaign and day (what a
    period's frame reads up to their last day) when its history changed or a day has passed
    since they were built. True when it rebuilt them."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    # Through yesterday (UTC, the rollups' day): a change to an earlier day bumps the history
    # version (``db.rollups.bump_data_version``); today's rows keep changing without one.
    through = today - dt.timedelta(days=1)
    with ctx.session() as session:
        cumulative.lock(session, company_id)
        version = insight_results.history_version(session, company_id)
        kept = cumulative.state(session, company_id)
        if kept == (version, through):
            return False
        cumulative.rebuild(session.connection(), company_id, version, through)
    return True


def warm_frames(ctx: ServiceContext, company_id: int) -> int:
    """The worker's call: snapshot the frame of every named range (ending on the newest day
    with data) for the current data version, unless it is there already. Returns how many
    it built."""
    version = data_version(ctx, company_id)
    with ctx.session() as session:
        newest = filter_queries.newest_marketing_day(session, company_id)
    if newest is None:
        return 0
    dimensions_key = _dimensions_key(ctx, company_id)
    if not frames.exists(ctx, dimensions_key):  # what a custom range's frame joins to
        kept = _DIMENSIONS.get(dimensions_key)
        if kept is None:
            _dimensions(ctx, company_id)  # read from PostgreSQL, its snapshot written
        else:
            frames.write(ctx, dimensions_key, _dimensions_snapshot(kept))
    built = 0
    for days in RANGES.values():
        start = newest - dt.timedelta(days=days - 1)
        snapshot = frames.snapshot_key(ctx, company_id, version, start, newest)
        if frames.exists(ctx, snapshot):
            continue
        frames.write(ctx, snapshot, _to_snapshot(_build(ctx, company_id, start, newest)))
        built += 1
    return built


def _frame(ctx, scope, raw) -> tuple[filters.Filters, PeriodFrame]:
    resolved = resolve(ctx, scope, raw)
    return resolved, period_frame(ctx, scope, resolved.period.start, resolved.period.end)


def _options(frame: pd.DataFrame,
             texts: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> dict[str, list[str]]:
    """Each filter's values in the frame (from the codes of ``texts`` where it has them)."""
    out = {}
    for name, column in EXPLORER_FILTERS.items():
        if texts and column in texts:
            codes, distinct = texts[column]
            values = {str(distinct[code]) for code in frames.used_codes(codes, len(distinct))}
        else:
            values = {str(v) for v in frame[column].dropna().unique()}
        if column == "duration_band":
            out[name] = [b for b in stats.BAND_ORDER if b in values]
        elif column == "tier":
            out[name] = [t for t in stats.TIERS if t in values]
        else:
            out[name] = sorted(values)
    return out


def _chosen(raw: dict, options: dict[str, list[str]]) -> dict[str, str]:
    """The explorer's filters from raw values, each checked against what the period has."""
    chosen = {}
    for name, column in EXPLORER_FILTERS.items():
        value = raw.get(name)
        if value in (None, "", "all"):
            continue
        if not isinstance(value, str) or value not in options[name]:
            shown = ", ".join(options[name][:12]) + (", ..." if len(options[name]) > 12 else "")
            raise ValidationError(f"unknown {name} {str(value)[:60]!r}; the period has: "
                                  f"{shown or 'none'}")
        chosen[column] = value
    return chosen


def _sort(sort, order) -> tuple[str, bool]:
    sort = one_of(sort, "sort column", COLUMNS, "spend")
    return sort, one_of(order, "order", ("asc", "desc"), "desc") == "desc"


def _whole(value, name: str, default: int, maximum: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a whole number, not {str(value)[:20]!r}") \
            from None
    if not 0 <= number <= maximum:
        raise ValidationError(f"{name} must be between 0 and {maximum:,}")
    return number


def filtered(ctx: ServiceContext, scope: Scope, raw: dict | None) -> tuple:
    """(resolved filters, the period's campaigns, the explorer's chosen filters, the row
    positions the filters keep in the chosen order, sort column, descending)."""
    raw = raw if isinstance(raw, dict) else {}
    resolved = resolve(ctx, scope, raw)
    kept = period_frame(ctx, scope, resolved.period.start, resolved.period.end)
    chosen = _chosen(raw, kept.options)
    sort, descending = _sort(raw.get("sort"), raw.get("order"))
    order = kept.order(sort, descending)
    if chosen:
        order = order[kept.mask(chosen)[order]]
    return resolved, kept, chosen, order, sort, descending


def explorer(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    """One page of the campaign explorer: ``raw`` holds the period (range, start, end), the
    explorer's filters (location, goal, duration, language, segment, channel, status, tier),
    ``sort`` (a column) and ``order`` (asc, desc), ``offset`` and ``limit`` (at most 1,000).
    ``total`` counts the filtered campaigns; ``totals`` sums them."""
    raw = raw if isinstance(raw, dict) else {}
    offset = _whole(raw.get("offset"), "offset", 0, 10**9)
    limit = _whole(raw.get("limit"), "limit", 100, PAGE_MAX)
    resolved, kept, chosen, order, sort, descending = filtered(ctx, scope, raw)
    frame = kept.frame
    page = frame.iloc[order[offset:offset + limit]]
    return {"period": resolved.period.as_dict(), "campaigns": len(frame), "total": len(order),
            "offset": offset, "limit": limit, "sort": sort,
            "order": "desc" if descending else "asc",
            "filters": {name: chosen.get(column) for name, column in EXPLORER_FILTERS.items()},
            "options": kept.options,
            # only the summed columns are copied for a filtered total
            "totals": (stats.totals(frame[list(stats.BASES)].iloc[order]) if chosen
                       else kept.totals),
            # each row's anomaly reason (None when its newest complete day is ordinary)
            "rows": stats.records(page, [*COLUMNS, "anomaly"])}


CSV_HEADER = ("Campaign ID", "Campaign", "Channel", "Goal", "Segment", "Location",
              "Language", "Start", "End", "Duration (days)", "Duration band", "Status",
              "Spend (USD)", "Impressions", "Clicks", "CTR (%)", "Conversions",
              "Conversion rate (%)", "CPA (USD)", "Revenue (USD)", "ROAS (x)", "ROI (%)",
              "Tier")


def explorer_csv(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> str:
    """Every filtered campaign (no paging) in the explorer's order, as CSV; undefined ratios
    are empty cells."""
    _resolved, kept, _chosen_filters, order, _sort_column, _descending = filtered(ctx, scope,
                                                                                 raw)
    rows = kept.frame.iloc[order]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in stats.records(rows, list(COLUMNS)):
        writer.writerow(["" if row[c] is None else _csv_value(row[c]) for c in COLUMNS])
    return out.getvalue()


def _csv_value(value):
    # repr keeps every digit of a float (the export equals the figures exactly)
    return repr(value) if isinstance(value, float) else value


# --------------------------------------------------------------------------- one campaign

DETAIL_METRICS = ("ctr", "conversion_rate", "cpa", "roas", "roi_pct")


def campaign_detail(ctx: ServiceContext, scope: Scope, raw: dict | None,
                    campaign_id) -> dict:
    """One campaign of the scope's company (another company's id: NotFound, audited): its
    daily trend over the period, and its ratios beside its channel's, its segment's and the
    company's (ratios of sums over their campaigns in the period)."""
    found = access.campaign_in_scope(ctx, scope, campaign_id)
    resolved, kept = _frame(ctx, scope, raw)
    frame, period = kept.frame, resolved.period
    with ctx.session() as session:
        daily = queries.campaign_daily(session, scope.company_id, found["id"], period.start,
                                       period.end)
    mine = frame[frame["campaign_id"] == found["id"]]
    if mine.empty:
        return {"campaign": {"campaign_id": found["id"], "campaign": found["name"]},
                "period": period.as_dict(), "active": False, "daily": [], "compare": []}
    row = stats.records(mine, list(COLUMNS))[0]
    channel = stats.totals(frame[frame["channel"] == row["channel"]])
    segment = stats.totals(frame[frame["segment"] == row["segment"]])
    company = stats.totals(frame)
    days = pd.DataFrame(daily) if daily else pd.DataFrame(columns=list(stats.BASES) + ["day"])
    if not days.empty:
        days = stats.with_metrics(days.astype({b: "float64" for b in stats.BASES}))
    compare = [{"metric": m, "label": METRICS[m].label, "unit": METRICS[m].unit,
                "definition": METRICS[m].definition, "good": METRICS[m].good,
                "campaign": row[m], "channel": channel[m], "segment": segment[m],
                "company": company[m]} for m in DETAIL_METRICS]
    with ctx.session() as session:
        by_retailer = queries.campaign_email_retailers(session, scope.company_id, found["id"],
                                                       period.start, period.end)
    flagged = anomalies_model(ctx, scope.company_id)
    anomaly = flagged["flagged"].get(str(found["id"]))
    return {"campaign": row, "period": period.as_dict(), "active": True,
            "anomaly": {**anomaly, "day": flagged["through"]} if anomaly else None,
            **email_and_retailers(by_retailer),
            "channel_campaigns": channel["campaigns"],
            "segment_campaigns": segment["campaigns"],
            "daily": stats.records(days, ["day", *stats.BASES, "ctr", "conversion_rate",
                                          "roas"]) if not days.empty else [],
            "compare": compare}


EMAIL_STAGES = ("sent", "delivered", "opened", "clicked")
EMAIL_RATES = ("delivery_rate", "open_rate", "click_rate", "click_to_open")


def email_and_retailers(rows: list[dict]) -> dict:
    """A campaign's email funnel (its emails' sends summed over retailers, then its CRM and
    order conversions) and its retailers by revenue; both empty when it has none."""
    totals = {column: float(sum(r[column] for r in rows))
              for column in (*EMAIL_STAGES, "conversions", "revenue")}
    email = None
    if totals["sent"]:
        email = {"funnel": [{"stage": METRICS[c].label, "key": c, "count": totals[c]}
                            for c in EMAIL_STAGES]
                 + [{"stage": "Converted", "key": "conversions",
                     "count": totals["conversions"]}],
                 "rates": [{"metric": m, "label": METRICS[m].label, "unit": METRICS[m].unit,
                            "definition": METRICS[m].definition,
                            "value": metric_value(totals, m)} for m in EMAIL_RATES]}
    retailers = [{**r, "click_rate": metric_value(r, "click_rate"),
                  "open_rate": metric_value(r, "open_rate")} for r in rows]
    return {"email": email, "retailers": retailers}


# --------------------------------------------------------------------------- segments

HEATMAP_METRICS = ("conversion_rate", "ctr", "ad_cpa", "ad_roas")
MIN_CLICKS = 100  # a segment or channel with fewer clicks is not called the best
FEWER = f"fewer than {MIN_PEERS} peers"


def _versus(value, average, metric) -> dict:
    """Own value against a peer average: the difference in % of it and whether it is better
    (by the metric's good direction)."""
    if value is None or average is None or not average:
        return {"difference_pct": None, "better": None}
    difference = (value - average) / abs(average) * 100
    return {"difference_pct": difference,
            "better": difference * stats.good_direction(metric) > 0}


def _peer_cell(value, peer: dict | None, metric: str) -> dict:
    peers = int(peer["peers"]) if peer else 0
    average = stats.clean(peer.get(metric)) if peer else None
    if peers < MIN_PEERS or average is None:
        return {"value": value, "peers": peers, "average": None, "status": FEWER,
                "difference_pct": None, "better": None}
    return {"value": value, "peers": peers, "average": average, "status": "ok",
            **_versus(value, average, metric)}


@cached()
def segments(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    """Per target segment: campaigns, spend, revenue and the heatmap's ratios (conversion
    rate, CTR, ad CPA, ad ROAS) against the average of the same segment at at least
    ``MIN_PEERS`` other companies of the industry (never fewer, never one company's number),
    and the best segment by conversion rate with its evidence."""
    period = resolve(ctx, scope, raw).period
    # the peers first: on a new period their query runs while another thread of the page
    # builds the frame
    with ctx.session() as session:
        peers = {row["grp"]: row for row in queries.peer_ratios(
            session, scope.company_id, period.start, period.end, "segment", industry_only=True)}
    kept = period_frame(ctx, scope, period.start, period.end)
    frame = kept.frame
    groups = stats.group_totals(frame, "segment", kept.texts)
    company = stats.totals(frame)
    rows = []
    for record in stats.records(groups, ["segment", "campaigns", *stats.BASES,
                                         *stats.RATIOS]):
        rows.append({**record, "cells": {m: _peer_cell(record[m], peers.get(record["segment"]),
                                                       m) for m in HEATMAP_METRICS},
                     "vs_company": {m: _versus(record[m], company[m], m)
                                    for m in HEATMAP_METRICS}})
    best = _best(rows, company, "segment", "segment")
    for row in rows:
        row["best"] = best is not None and row["segment"] == best["name"]
    return {"period": period.as_dict(), "overall": company, "segments": rows,
            "metrics": [{"metric": m, "label": METRICS[m].label, "unit": METRICS[m].unit,
                         "definition": METRICS[m].definition, "good": METRICS[m].good}
                        for m in HEATMAP_METRICS],
            "min_peers": MIN_PEERS, "best": best}


def _best(rows: list[dict], company: dict, key: str, noun: str) -> dict | None:
    """The group with the highest conversion rate among those with ``MIN_CLICKS`` clicks,
    as a sentence with its evidence."""
    eligible = [r for r in rows if r["clicks"] >= MIN_CLICKS and r["conversion_rate"] is not None
                and r[key] != stats.UNSET]
    if not eligible or company["conversion_rate"] in (None, 0):
        return None
    top = max(eligible, key=lambda r: (r["conversion_rate"], -r["spend"]))
    times = top["conversion_rate"] / company["conversion_rate"]
    comparison = (f"{times:.1f}x the conversion rate of your company average" if times >= 1.05
                  else "a conversion rate about equal to your company average")
    return {"name": top[key], "ratio": times,
            "sentence": f"Your best performing {noun} is {top[key]}, with {comparison}.",
            "evidence": [
                f"{top[key]}: {top['ad_conversions']:,.0f} ad conversions from "
                f"{top['clicks']:,.0f} clicks ({top['conversion_rate']:.2f} %) over "
                f"{top['campaigns']:,} campaigns.",
                f"Company: {company['ad_conversions']:,.0f} from {company['clicks']:,.0f} "
                f"clicks ({company['conversion_rate']:.2f} %).",
                f"Only {noun}s with at least {MIN_CLICKS} clicks are ranked."]}


# --------------------------------------------------------------------------- channels

CHANNEL_METRICS = ("ctr", "conversion_rate", "ad_cpa", "ad_roas")


@cached()
def channels(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    """Per channel: the company's ratios against the average of all other companies active
    on that channel (at least ``MIN_PEERS``), and the best channel by conversion rate."""
    period = resolve(ctx, scope, raw).period
    with ctx.session() as session:  # the peers first, as in ``segments``
        peers = {row["grp"]: row for row in queries.peer_ratios(
            session, scope.company_id, period.start, period.end, "channel",
            industry_only=False)}
    kept = period_frame(ctx, scope, period.start, period.end)
    frame = kept.frame
    groups = stats.group_totals(frame, "channel", kept.texts)
    company = stats.totals(frame)
    rows = [{**record, "cells": {m: _peer_cell(record[m], peers.get(record["channel"]), m)
                                 for m in CHANNEL_METRICS}}
            for record in stats.records(groups, ["channel", "campaigns", *stats.BASES,
                                                 *stats.RATIOS])]
    best = _best(rows, company, "channel", "channel")
    for row in rows:
        row["best"] = best is not None and row["channel"] == best["name"]
    return {"period": period.as_dict(), "overall": company, "channels": rows, "best": best,
            "metrics": [{"metric": m, "label": METRICS[m].label, "unit": METRICS[m].unit,
                         "definition": METRICS[m].definition, "good": METRICS[m].good}
                        for m in CHANNEL_METRICS],
            "min_peers": MIN_PEERS}


# --------------------------------------------------------------------------- goal x segment

MATRIX_METRICS = ("conversion_rate", "ctr", "cpa", "roas", "roi_pct")


def _metric(metric, allowed) -> str:
    return one_of(metric, "metric", allowed, allowed[0])


@cached()
def performance_matrix(ctx: ServiceContext, scope: Scope, raw: dict | None = None,
                       metric: str | None = None) -> dict:
    """Goal x segment: the metric (ratio of the cell's sums) and the number of campaigns
    behind each cell."""
    metric = _metric(metric, MATRIX_METRICS)
    resolved, kept = _frame(ctx, scope, raw)
    frame = kept.frame
    cells = stats.group_totals(frame, ["goal", "segment"], kept.texts)
    return {"period": resolved.period.as_dict(), "metric": metric,
            "label": METRICS[metric].label, "unit": METRICS[metric].unit,
            "definition": METRICS[metric].definition,
            "goals": sorted(cells["goal"].unique().tolist()),  # the frame's, in fewer rows
            "segments": sorted(cells["segment"].unique().tolist()),
            "cells": [{"goal": r["goal"], "segment": r["segment"], "value": r[metric],
                       "campaigns": r["campaigns"], "spend": r["spend"], "clicks": r["clicks"]}
                      for r in stats.records(cells, ["goal", "segment", "campaigns", "spend",
                                                     "clicks", metric])]}


# --------------------------------------------------------------------------- top and bottom

RANK_METRICS = ("roas", "roi_pct", "conversion_rate", "ctr", "cpa")
RANK_BY = {"campaign": "campaign_id", "segment": "segment", "channel": "channel"}
TOP_N = 5


def _money(value, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be an amount in USD, not {str(value)[:20]!r}") \
            from None
    if not 0 <= number <= 1e12:
        raise ValidationError(f"{name} must be between 0 and 1,000,000,000,000")
    return number


@cached()
def top_bottom(ctx: ServiceContext, scope: Scope, raw: dict | None = None,
               metric: str | None = None, by: str | None = None,
               min_spend=None) -> dict:
    """The best and worst ``TOP_N`` campaigns, segments or channels by a metric, among those
    with at least ``min_spend`` of spend (default: a tenth of the median spend of the
    period's groups with spend, at least $100), so a $1 campaign cannot top the list."""
    metric = _metric(metric, RANK_METRICS)
    by = one_of(by, "by", RANK_BY, "campaign")
    floor = _money(min_spend, "min_spend")
    resolved, kept = _frame(ctx, scope, raw)
    frame = kept.frame
    groups = frame if by == "campaign" else stats.group_totals(frame, by, kept.texts)
    spent = groups[groups["spend"] > 0]["spend"]
    if floor is None:
        floor = max(100.0, float(spent.median()) / 10) if len(spent) else 100.0
    ranked = stats.ranked_rows(groups, metric, stats.good_direction(metric) > 0, RANK_BY[by])
    eligible = ranked[groups["spend"].to_numpy()[ranked] >= floor]  # still in rank order
    columns = [c for c in ("campaign_id", "campaign", "channel", "segment", "goal")
               if c in groups.columns and (by == "campaign" or c == by)]
    columns += ["campaigns"] if by != "campaign" else []
    columns += ["spend", "revenue", "clicks", "conversions", metric]
    top = groups.iloc[eligible[:TOP_N]]
    bottom = groups.iloc[eligible[len(top):][-TOP_N:][::-1]]
    return {"period": resolved.period.as_dict(), "metric": metric, "by": by,
            "label": METRICS[metric].label, "unit": METRICS[metric].unit,
            "min_spend": floor, "eligible": len(eligible), "all": len(groups),
            "top": stats.records(top, columns), "bottom": stats.records(bottom, columns)}


# --------------------------------------------------------------------------- history models

_HISTORY_INPUTS = Memo(3)


def _per_history(ctx: ServiceContext, company_id: int, name: str, build) -> pd.DataFrame:
    """``build()``, kept in process per tenant and history version: one worker pass fits
    several models over the same input (the whole history's campaigns for the duration and
    cluster models, a group's days for three forecasts), which costs seconds at 100,000
    campaigns."""
    key = (ctx.key(name, company_id), data_version(ctx, company_id, history=True),
           history_through())
    value = _HISTORY_INPUTS.get(key)
    if value is None:
        value = build()
        _HISTORY_INPUTS.put(key, value)
    return value


def _history_frame(ctx: ServiceContext, company_id: int) -> pd.DataFrame:
    """Every campaign's totals over the whole history through yesterday."""
    def build():
        through = history_through()
        with ctx.session() as session:
            first = queries.first_day(session, company_id) or through
            rows = queries.campaign_totals(session, company_id, min(first, through), through)
        return stats.campaign_frame(rows, queries.TOTAL_COLUMNS)

    return _per_history(ctx, company_id, "history-frame", build)


MIN_BAND_CAMPAIGNS = 3  # a band with fewer campaigns is shown but never called the best


def duration_analysis(frame: pd.DataFrame) -> dict:
    """Performance per campaign length band, and per channel and per segment the band with
    the highest ROAS (among bands with ``MIN_BAND_CAMPAIGNS`` campaigns), with counts."""
    columns = ["campaigns", *stats.BASES, *stats.RATIOS]
    bands = stats.group_totals(frame, "duration_band")
    bands["order"] = [stats.BAND_ORDER.index(b) for b in bands["duration_band"]]
    out = {"bands": stats.records(bands.sort_values("order"), ["duration_band", *columns])}
    for dimension in ("channel", "segment"):
        cells = stats.group_totals(frame, [dimension, "duration_band"])
        best = []
        for name, group in cells.groupby(dimension, sort=True):
            ranked = group[(group["campaigns"] >= MIN_BAND_CAMPAIGNS) & group["roas"].notna()]
            top = ranked.sort_values(["roas", "campaigns"], ascending=False).head(1)
            best.append({dimension: name, "campaigns": int(group["campaigns"].sum()),
                         "best": stats.records(top, ["duration_band", "campaigns", "roas",
                                                     "conversion_rate"])[0]
                         if not top.empty else None,
                         "cells": stats.records(group, ["duration_band", "campaigns", "roas",
                                                        "conversion_rate", "spend"])})
        out[f"by_{dimension}"] = best
    return out


@history_model
def duration_model(ctx: ServiceContext, company_id: int) -> dict:
    frame = _history_frame(ctx, company_id)
    return {"through": history_through().isoformat(), "campaigns": len(frame),
            **duration_analysis(frame)}


def clusters_of(frame: pd.DataFrame, seed: int = stats.SEED) -> dict:
    """Clusters of campaigns by channel, segment, goal, duration band and location (KMeans
    over one-hot dimensions, k by silhouette), each with its size, profile in words and its
    ROAS and conversion rate against the company's; best ROAS first."""
    found = stats.cluster_labels(frame, seed)
    company = stats.totals(frame)
    if found["labels"] is None:
        return {"k": None, "silhouette": None, "scores": {}, "clusters": [],
                "overall": company, "seed": seed}
    labelled = frame.assign(cluster=found["labels"])
    clusters = []
    for label, members in labelled.groupby("cluster", sort=True):
        summary = stats.totals(members)
        parts = stats.profile(members, frame)
        clusters.append({
            "label": int(label), "size": len(members), "share": len(members) / len(frame),
            "profile": parts, "description": stats.profile_words(parts),
            "roas": summary["roas"], "conversion_rate": summary["conversion_rate"],
            "spend": summary["spend"], "revenue": summary["revenue"],
            "roas_vs_company": _versus(summary["roas"], company["roas"], "roas"),
            "conversion_rate_vs_company": _versus(summary["conversion_rate"],
                                                  company["conversion_rate"],
                                                  "conversion_rate")})
    clusters.sort(key=lambda c: (c["roas"] is None, -(c["roas"] or 0)))
    for rank, cluster in enumerate(clusters, start=1):
        cluster["rank"] = rank
    return {"k": found["k"], "silhouette": found["silhouette"],
            "scores": {str(k): v for k, v in found["scores"].items()},
            "clusters": clusters, "overall": company, "seed": seed,
            "algorithm": "KMeans over one-hot channel, segment, goal, duration band and "
                         "location; k from 2 to 8 (at most one per five campaigns) by the "
                         "silhouette score; seeded"}


@history_model
def clusters_model(ctx: ServiceContext, company_id: int) -> dict:
    frame = _history_frame(ctx, company_id)
    return {"through": history_through().isoformat(), "campaigns": len(frame),
            **clusters_of(frame)}


@history_model
def anomalies_model(ctx: ServiceContext, company_id: int) -> dict:
    """Campaigns whose newest complete day (yesterday) is anomalous against their own
    previous 28 days (``campaign_stats.campaign_anomalies``), keyed by campaign id."""
    through = history_through()
    start = through - dt.timedelta(days=stats.ANOMALY_WINDOW)
    with ctx.session() as session:
        rows = queries.campaign_days(session, company_id, start, through)
    days = pd.DataFrame(rows, columns=list(queries.DAY_COLUMNS))
    if not days.empty:
        days = days.astype({"impressions": "float64", "clicks": "float64",
                            "ad_conversions": "float64", "spend": "float64"})
    flagged = stats.campaign_anomalies(days, through)
    return {"through": through.isoformat(), "z": stats.ANOMALY_Z,
            "window_days": stats.ANOMALY_WINDOW,
            "flagged": {str(key): value for key, value in flagged.items()}}


FORECAST_BY = ("segment", "channel")
FORECAST_METRICS = ("revenue", "conversions", "spend")
FORECAST_WEEKS = 13  # a quarter ahead


def group_forecasts(daily: pd.DataFrame, start: dt.date, end: dt.date, metric: str,
                    horizon: int = FORECAST_WEEKS) -> list[dict]:
    """Per group of ``daily`` (grp, day and the ads' sums): its complete weeks over
    [start, end] (zeros where nothing happened) and the insights engine's forecast
    (``services.insights.forecast``: the model its backtest picks) with the 95 % band, or
    why there is none. Biggest group first."""
    index = pd.date_range(start, end, freq="D")
    out = []
    groups = daily.groupby("grp", sort=True) if not daily.empty else []
    for name, rows in groups:
        frame = (rows.assign(day=pd.to_datetime(rows["day"])).set_index("day")
                 [["impressions", "clicks", "conversions", "spend", "revenue"]]
                 .reindex(index, fill_value=0.0))
        values = metric_values(to_weekly(frame), metric)
        entry = {"group": name, "total": float(values.sum()), "model": None,
                 "model_name": None, "backtest": None, "message": None,
                 "history": [{"week": day.date().isoformat(), "value": stats.clean(v)}
                             for day, v in values.iloc[-52:].items()], "forecast": []}
        # The engine needs positive weeks: a group that started later or paused is
        # forecast from its latest unbroken run of active weeks.
        inactive = np.flatnonzero(~(values.fillna(0).to_numpy() > 0))
        run = values.iloc[inactive[-1] + 1:] if len(inactive) else values
        entry["weeks_used"] = len(run)
        try:
            values = run
            test = forecast.backtest(values, horizon) if len(values) >= forecast.MIN_HISTORY \
                else None
            entry["model"] = test["model"] if test else "damped_trend"
            entry["model_name"] = forecast.MODEL_NAMES[entry["model"]]
            entry["backtest"] = ({"mape": test["mape"], "coverage": test["coverage"]}
                                 if test else None)
            band = forecast.forecast_weekly(values, horizon, entry["model"])
            entry["forecast"] = [{"week": day.date().isoformat(), "mean": stats.clean(r["mean"]),
                                  "lower": stats.clean(r["lower"]),
                                  "upper": stats.clean(r["upper"])}
                                 for day, r in band.iterrows()]
        except ValidationError as error:  # too short, or a week with nothing
            entry["model"] = entry["model_name"] = None
            entry["message"] = str(error)
        out.append(entry)
    out.sort(key=lambda e: -e["total"])
    return out


@history_model
def forecasts_model(ctx: ServiceContext, company_id: int, by: str, metric: str) -> dict:
    """``group_forecasts`` of every segment or channel over the company's whole history."""
    with ctx.session() as session:
        window = history_window(session, company_id)

    def build():
        with ctx.session() as session:
            return pd.DataFrame(queries.group_daily(session, company_id, by, *window))

    daily = _per_history(ctx, company_id, f"group-daily:{by}:{window}", build) \
        if window else pd.DataFrame()
    result = {"by": by, "metric": metric, "label": METRICS[metric].label,
              "unit": METRICS[metric].unit, "interval": 1 - forecast.ALPHA,
              "horizon_weeks": FORECAST_WEEKS, "groups": []}
    if window is not None:
        result["groups"] = group_forecasts(daily, *window, metric)
    return result


def segment_channel_forecasts(ctx: ServiceContext, scope: Scope, raw: dict | None = None,
                              by: str | None = None, metric: str | None = None) -> dict:
    """Weekly forecasts with their 95 % bands per segment or channel (ads' figures), fitted
    by the worker per history version."""
    by = one_of(by, "by", FORECAST_BY, FORECAST_BY[0])
    return forecasts_model(ctx, _company_id(scope), by, _metric(metric, FORECAST_METRICS))


def _company_id(scope: Scope) -> int:
    if not isinstance(scope, Scope) or scope.company_id is None:
        raise TypeError("pass the request's Scope (services.access) of one company")
    return scope.company_id


def campaign_duration(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    """Duration bands over the whole history (fitted by the worker per history version)."""
    return duration_model(ctx, _company_id(scope))


def campaign_clusters(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    """Campaign clusters over the whole history (fitted by the worker per history version)."""
    return clusters_model(ctx, _company_id(scope))


def refresh_models(ctx: ServiceContext, company_id: int) -> None:
    """The worker's call (``services.insights.precompute``): refit when the history changed."""
    duration_model.refit_if_stale(ctx, company_id)
    clusters_model.refit_if_stale(ctx, company_id)
    anomalies_model.refit_if_stale(ctx, company_id)
    for by in FORECAST_BY:
        for metric in FORECAST_METRICS:
            forecasts_model.refit_if_stale(ctx, company_id, by, metric)
    refresh_cumulative(ctx, company_id)  # before the frames: they read it
    warm_frames(ctx, company_id)  # the explorer's named ranges, per data version

