"""Imports of real marketing exports (issue #12): ``import_file`` recognises the format from
the header (``FORMATS``; ``--format`` only when several fit), maps the rows onto the warehouse
(companies, channels, segments, campaigns by their source key, ad events), and stores them in
one transaction through the event ingest path (``services.ingest.store_events``: validation,
binary COPY, rollups, data version).

Re-imports are idempotent by each format's natural key (``import_keys``): a row whose mapped
values are unchanged is skipped, a restated row replaces the event it was stored as (taken out
of the rollups first), and nothing is written or bumped when nothing changed. Every rejected
row is kept with all its reasons (``rejected_rows``), every column the format does not use is
named in the summary, and the summary names the fix for each kind of rejection."""

from __future__ import annotations

import itertools
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from db import rollups
from db.queries import catalog as catalog_queries
from db.queries import importers as queries
from db.queries import ingest as ingest_queries
from db.queries.companies import company_by_slug
from services import audit, ingest
from services.cache import forget_data_version
from services.catalog import slugify
from services.context import ServiceContext
from services.errors import NotFound, ValidationError
from services.importers import base
from services.importers.competitors import CompetitorMetrics, CompetitorUpdates
from services.importers.documents import as_table
from services.importers.events import Events
from services.importers.facebook import FacebookAdConversions
from services.importers.ga import GaDailySessions
from services.importers.journeys import CustomerJourneys
from services.importers.kaggle import KaggleCampaigns
from services.importers.leadsmart import (
    LeadSmartCampaigns,
    LeadSmartInsights,
    LeadSmartLeadStatusChanges,
)
from services.importers.online_ads import OnlineAdvertising
from services.importers.reading import (
    CHUNK_ROWS,
    Table,
    TableReader,
    normalise,
    read_header,
)

FORMATS: tuple[base.Format, ...] = (
    KaggleCampaigns(), FacebookAdConversions(), LeadSmartCampaigns(), LeadSmartInsights(),
    LeadSmartLeadStatusChanges(), OnlineAdvertising(), GaDailySessions(), CustomerJourneys(),
    CompetitorMetrics(), CompetitorUpdates(), Events())
MAX_SHOWN = 1000
CHANNEL_KINDS = base.CHANNEL_KINDS
GENERIC_FIXES = (
    ("unknown location", "use a location the warehouse knows ({locations}), or add it: "
                         "campaign-dash location add NAME --region R --country US "
                         "--latitude LAT --longitude LON"),
    ("missing location", "give every row a location the warehouse knows ({locations})"),
    ("row of company", "import without --company to load every company's rows"),
    ("duplicate natural key", "remove the repeated rows (the first of each was imported)"),
    ("a repeated header line", "remove the header lines inside the file"),
    ("fields where the header has", "quote values that contain the delimiter, or fix the "
                                    "rows with missing or extra fields"),
)


class _DryRun(Exception):
    def __init__(self, summary: dict):
        super().__init__("dry run")
        self.summary = summary


def format_names() -> list[str]:
    return [f.name for f in FORMATS]


def recognise(columns) -> list[base.Format]:
    names = {normalise(c) for c in columns}
    return [f for f in FORMATS if f.fits(names)]


def choose_format(table: Table, requested: str | None) -> base.Format:
    name = table.path.name
    if requested:
        chosen = next((f for f in FORMATS if f.name == requested), None)
        if chosen is None:
            raise ValidationError(f"unknown format {requested!r} (one of "
                                  f"{', '.join(format_names())})")
        if not chosen.fits({normalise(c) for c in table.columns}):
            raise ValidationError(f"{name}: its header does not fit {requested} (columns: "
                                  f"{', '.join(table.columns)})")
        return chosen
    fits = recognise(table.columns)
    if not fits:
        raise ValidationError(
            f"{name}: no known format fits its header ({', '.join(table.columns[:20])}); "
            f"known formats: {', '.join(format_names())} (see README.md, 'Importing "
            "real exports')")
    if len(fits) > 1:
        raise ValidationError(f"{name}: its header fits several formats: pass "
                              + " or ".join(f"--format {f.name}" for f in fits))
    return fits[0]


def import_order(paths, requested: str | None = None) -> list:
    """The files in the order they can be imported: the files other files of the same export
    name first (LeadSmart's campaigns before its insights), otherwise as given. A file whose
    format is not recognised keeps its place (its import says why)."""
    def rank(item):
        number, path = item
        try:
            columns = read_header(path)
        except (ValidationError, OSError):
            return (1, number)
        if requested:
            chosen = [f for f in FORMATS if f.name == requested]
        else:
            chosen = recognise(columns)
        return (chosen[0].order if len(chosen) == 1 else 1, number)

    return [path for _, path in sorted(enumerate(paths), key=rank)]


def import_files(ctx: ServiceContext, paths, **options) -> list[dict]:
    return [import_file(ctx, path, **options)
            for path in import_order(paths, options.get("format"))]


def import_file(ctx: ServiceContext, path, *, company: str | None = None,
                format: str | None = None, dry_run: bool = False,  # noqa: A002
                actor: str = "cli", start=None, end=None, location: str | None = None,
                year: int | None = None, channel_map: str | None = None,
                competitor: str | None = None, kind: str | None = None,
                progress=None, chunk_rows: int = CHUNK_ROWS) -> dict:
    """Import one export (see the module docstring); returns its summary. ``start`` /
    ``end`` (dates), ``year`` and ``location`` (a location name) complete exports without
    them; ``channel_map`` names the channel codes of customer journeys; ``competitor`` and
    ``kind`` complete competitor updates without them (a feed of one competitor's news).
    ``path`` may be a JSON-lines file, an RSS or Atom feed, or a feed's URL (``documents``).

    The file is read, validated and stored in chunks of ``chunk_rows`` rows, all in one
    transaction, so memory stays bounded whatever the file's size; ``progress(rows, done,
    total)`` is called after each chunk with the rows read and the bytes read of the
    file's total."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="campaign-dash-import-") as folder:
        table_path, feed_title, entries = as_table(path, Path(folder))
        options = {"start": start, "end": end, "location": location, "year": year,
                   "channel_map": channel_map, "competitor": competitor, "kind": kind,
                   "source_name": feed_title}
        summary = _import_table(ctx, table_path, options, company=company, format=format,
                                dry_run=dry_run, actor=actor, progress=progress,
                                chunk_rows=chunk_rows)
    if table_path != Path(path):
        summary["file"] = str(path)
        summary["notes"].insert(0, f"read as an RSS/Atom feed of {entries:,} entries "
                                   f"({feed_title})" if entries is not None else
                                "read as JSON lines (one object per line)")
    seconds = time.perf_counter() - started
    summary.update(seconds=round(seconds, 3),
                   rows_per_second=round(summary["rows"] / seconds) if seconds else None)
    return summary


def _import_table(ctx: ServiceContext, path, options: dict, *, company, format,  # noqa: A002
                  dry_run, actor, progress, chunk_rows) -> dict:
    # The format from the header and the first row: the events format reads the file its
    # own way (typed columns), so its first chunk is not parsed twice.
    with TableReader(path, chunk_rows=1) as probe:
        head = next(probe.chunks())
    fmt = choose_format(head, format)
    if isinstance(fmt, Events):
        return _import_events(ctx, head, fmt, company, dry_run, progress, chunk_rows)
    with TableReader(path, chunk_rows=chunk_rows) as reader:
        chunks = reader.chunks()
        first = next(chunks)
        run = None
        try:
            with ctx.session() as session:
                options["seen"] = base.Seen(session, lambda: reader.more)
                run = _Run(session, fmt, first, company, dry_run, actor,
                           options["location"])
                for table in itertools.chain([first], chunks):
                    run.add(table, options)
                    if progress is not None:
                        progress(run.rows, reader.position, reader.size)
                summary = run.finish(reader, options)
                if dry_run:
                    raise _DryRun(summary)
        except _DryRun as done:
            summary = done.summary
        if run is not None and run.touched and not dry_run:
            forget_data_version(ctx, sorted(run.touched))
    return summary


def _header(table: Table, fmt: base.Format, dry_run: bool, rows: int) -> dict:
    return {"file": str(table.path), "format": fmt.name, "format_title": fmt.title,
            "recognised_from": "header", "encoding": table.encoding,
            "delimiter": table.delimiter, "line_ending": table.line_ending,
            "rows": rows, "dry_run": dry_run}


def _import_events(ctx, table: Table, fmt: Events, company: str | None,
                   dry_run: bool, progress=None, chunk_rows: int = CHUNK_ROWS) -> dict:
    if not company:
        raise ValidationError(f"{table.path.name} ({fmt.title}) has no company column: pass "
                              "--company SLUG")
    if dry_run:
        raise ValidationError("--dry-run is not available for the events format yet: use "
                              "`campaign-dash import events` on a copy")
    with ctx.session() as session:
        tenant = company_by_slug(session, company)
        if tenant is None:
            raise NotFound(f"no company {company!r} (see `campaign-dash company list`)")
        tenant_id = tenant.id
    result = ingest.import_event_file(ctx, tenant_id, table.path, progress=progress,
                                      chunk_rows=chunk_rows)
    used = fmt.used(table.columns)
    summary = _header(table, fmt, dry_run, result["accepted"] + result["rejected"])
    summary.update(
        imported=result["accepted"], replaced=0, unchanged=0, rejected=result["rejected"],
        rejections=result["rejections"], reasons=dict(result["reasons"].most_common(20)),
        ignored_columns=[c for c in table.columns if c not in used],
        companies_created=[], campaigns_created=0, campaigns_updated=0,
        notes=[*table.notes, "events have no natural key: importing the file again adds "
                             "them again"],
        fixes=_fixes(fmt, result["reasons"], {}), import_run_id=result["import_run_id"])
    return summary


def _fixes(fmt: base.Format, reasons: Counter, context: dict) -> list[str]:
    fixes = []
    for prefix, fix in (*fmt.fixes, *GENERIC_FIXES):
        if any(prefix in reason for reason in reasons):
            fixes.append(fix.format(**context) if "{" in fix else fix)
    return fixes


def _values(series: pd.Series, kind=None) -> list:
    """A column as a list for an array parameter: missing values as None."""
    values = series.astype(object).where(series.notna(), None).tolist()
    if kind is None:
        return values
    return [None if v is None else kind(v) for v in values]


def _as_text(series: pd.Series) -> pd.Series:
    """``series.astype(str)``, formatted once per distinct value (dates, numbers and
    timestamps repeat: formatting every row's cost ~0.3 s a column per 100,000 rows). The
    set of values, and so any formatting choice taken over a whole column, is the same."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) not in (
            "string", "date", "empty"):
        return series.astype(str)  # mixed objects: 1 and 1.0 are one value to factorize
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    texts = pd.Series(uniques).astype(str).to_numpy(dtype=object)
    return pd.Series(texts[codes], index=series.index, dtype=str)


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values as text (what ``import_keys.row_hash`` keeps to
    tell an unchanged row from a restated one); equal to hashing ``frame.astype(str)``."""
    texts = pd.DataFrame({name: _as_text(frame[name]) for name in frame.columns},
                         index=frame.index)
    return pd.util.hash_pandas_object(texts, index=False).to_numpy().view(np.int64)


def _unique_slug(name: str, taken: set[str]) -> str:
    slug = base_slug = slugify(name)
    number = 2
    while slug in taken:
        suffix = f"-{number}"
        slug = base_slug[:64 - len(suffix)] + suffix
        number += 1
    taken.add(slug)
    return slug


def _raw_lines(table: Table, numbers: pd.Index) -> dict[int, str]:
    """The rejected rows as CSV lines (as read; what the rejected-rows download gives
    back), by row number."""
    return dict(zip(numbers.tolist(), ingest.csv_lines(table.frame, numbers), strict=True))


class _Run:
    """One import of one file: checks done once (company, locations), then ``add`` per chunk
    (map, validate, store, keep its rejected rows and import keys), then ``finish`` (the
    import run's counts and summary, the audit row). All in the caller's transaction."""

    def __init__(self, session, fmt: base.Format, first: Table, company_slug: str | None,
                 dry_run: bool, actor: str, location_option: str | None):
        self.session, self.fmt, self.dry_run, self.actor = session, fmt, dry_run, actor
        self.scope = None
        if company_slug:
            self.scope = company_by_slug(session, company_slug)
            if self.scope is None:
                raise NotFound(f"no company {company_slug!r} (see `campaign-dash company "
                               "list`)")
        if self.scope is None and not fmt.has_company_column:
            raise ValidationError(f"{first.path.name} ({fmt.title}) has no company column: "
                                  "pass --company SLUG")
        # Locations must exist (every event has one); channels and segments are created.
        self.locations = catalog_queries.locations(session)
        if location_option and location_option.strip().lower() not in self.locations:
            raise ValidationError(f"unknown location {location_option!r} for --location "
                                  f"(known: {', '.join(sorted(self.locations)) or 'none yet'})")
        self.context = {"locations": ", ".join(sorted(self.locations)) or "none yet"}
        self.path = first.path
        self.rows = 0
        self.counts: Counter = Counter()
        self.extra: Counter = Counter()
        self.rejected = 0
        self.shown: list[tuple[int, str, str]] = []
        self.reasons = ingest.ReasonCounts()
        self.notes: list[str] = []
        self.used: list[str] | None = None
        self.created_companies: list[dict] = []
        self.companies: set[int] = set()  # of the valid rows
        self.touched: set[int] = set()  # companies whose data changed
        self.stored_companies: set[int] = set()  # companies of stored own-table rows
        # the events' rollup totals, summed over the chunks and written once (``finish``)
        self.rollup = rollups.RollupBuffer()
        # the chunk's campaigns as upserted: id -> company_id, channel_id, location_id
        self.known_campaigns: pd.DataFrame | None = None
        self.run_id = ingest_queries.start_import_run(
            session, self.scope.id if self.scope is not None else None, fmt.name[:32],
            f"file:{first.path.name}"[:500], format=fmt.name)

    # ------------------------------------------------------------------ per chunk

    def add(self, table: Table, options: dict) -> None:
        session, fmt = self.session, self.fmt
        self.known_campaigns = None
        mapped = fmt.map(table, options)
        self.rows += len(table.frame) + len(table.unreadable)
        if self.used is None:
            self.used = mapped.used
        rows, reasons = mapped.rows, mapped.reasons
        seen: base.Seen = options["seen"]
        locations = self.locations
        location = (rows["location"] if "location" in rows
                    else pd.Series(pd.NA, index=rows.index, dtype=object))
        location_id = location.str.lower().map(locations)
        reasons.add((location.notna() & location_id.isna()).to_numpy(),
                    "unknown location " + location.astype(str).map(repr))
        if fmt.target == "ad_events":
            reasons.add(location.isna().to_numpy(), "missing location (every event needs one)")

        owner = (rows[base.COMPANY].str.lower() if fmt.has_company_column
                 else pd.Series("", index=rows.index))
        key = (owner.astype(str) + "|" + rows["natural_key"].astype(str)).where(
            rows["natural_key"].notna())
        duplicate = (seen.earlier("natural_key", key)[0] > 0).to_numpy()
        reasons.add(duplicate, "duplicate natural key "
                    + rows["natural_key"].astype(str).map(repr) + " (an earlier row has it)")

        company_id = self._companies(rows, reasons)
        campaign_id = None
        if fmt.existing_campaigns:  # rows name campaigns imported before (or just now)
            ids = queries.campaign_ids(session, self.scope.id, fmt.existing_campaigns,
                                       rows["campaign_key"].dropna().unique().tolist())
            campaign_id = rows["campaign_key"].map(ids)
            reasons.add((rows["campaign_key"].notna() & campaign_id.isna()).to_numpy(),
                        fmt.unknown_campaign + rows["campaign_key"].astype(str).map(repr)
                        + fmt.unknown_campaign_why)

        good = ~reasons.bad
        g = rows[good].copy()
        g["company_id"] = company_id[good].astype("int64")
        g["location_id"] = location_id[good].astype("Int64")
        self.companies.update(int(c) for c in g["company_id"].unique())
        if fmt.target not in ("ad_events", "campaigns"):
            counts = self._store_own(g, options)
        elif campaign_id is not None:
            g["campaign_id"] = campaign_id[good].astype("int64")
            counts = self._store_events(g)
        else:
            counts = self._store_campaigns(g, seen)
        self._chunk_done(table, mapped, counts)

    def _companies(self, rows: pd.DataFrame, reasons) -> pd.Series:
        """Per row, its company id: from the file's column (companies created when missing)
        or --company."""
        if not self.fmt.has_company_column:
            return pd.Series(self.scope.id, index=rows.index)
        session, scope = self.session, self.scope
        names = rows[base.COMPANY]
        lower = names.str.lower()
        if scope is not None:
            other = (names.notna() & (lower != scope.name.lower())).to_numpy()
            reasons.add(other, "row of company " + names.astype(str).map(repr)
                        + f", not {scope.slug!r}")
        known = catalog_queries.company_ids_by_name(session)
        missing = names[~reasons.bad & names.notna() & ~lower.isin(list(known))]
        if len(missing):
            taken = catalog_queries.slugs(session)
            for name in missing.drop_duplicates(keep="first").tolist():
                if name.lower() in known:
                    continue
                slug = _unique_slug(name, taken)
                new_id = catalog_queries.insert_company(session, slug, name, "unspecified")
                known[name.lower()] = (new_id, slug)
                self.created_companies.append({"id": new_id, "slug": slug, "name": name})
        return lower.map({name: ids[0] for name, ids in known.items()})

    def _store_campaigns(self, g: pd.DataFrame, seen: base.Seen) -> dict:
        """Rows that carry their campaign: the campaigns upserted (a campaign met in an
        earlier chunk keeps the values of its first row, unless the format widens its
        dates), then one event per row unless the rows are campaigns."""
        session, fmt = self.session, self.fmt
        channels = catalog_queries.channels(session)
        for name in g["channel"].dropna().drop_duplicates().tolist():
            if name.lower() not in channels:
                channels[name.lower()] = catalog_queries.insert_channel(
                    session, name, CHANNEL_KINDS.get(name.lower(), "other"))
        g["channel_id"] = g["channel"].str.lower().map(channels)
        segments = catalog_queries.segments(session)
        if "segment" in g:
            for name in g["segment"].dropna().drop_duplicates().tolist():
                if name.lower() not in segments:
                    segments[name.lower()] = catalog_queries.insert_segment(session, name)
            g["segment_id"] = g["segment"].str.lower().map(segments)
        else:
            g["segment_id"] = None
        today = catalog_queries.today(session)

        queries.lock_companies(session, g["company_id"].unique().tolist())
        # One upsert for the chunk's campaigns of every company (a temporary table filled by
        # COPY, then one INSERT ... ON CONFLICT in key order): per company it cost ~35 us a
        # campaign more, most of an import of one-campaign rows.
        first = g.drop_duplicates(["company_id", "campaign_key"], keep="first")
        met = (seen.earlier("campaign", first["company_id"].astype(str) + "|"
                            + first["campaign_key"])[0] > 0).to_numpy()
        counted = pd.MultiIndex.from_arrays([first["company_id"][~met],
                                             first["campaign_key"][~met]])
        if not fmt.widen_campaign_dates:
            first = first[~met]
        stored = pd.DataFrame(columns=["company_id", "source_key", "id", "channel_id",
                                       "location_id", "created"])
        if len(first):
            end = pd.to_datetime(first["end_date"])
            status = np.where(end.notna() & (end < pd.Timestamp(today)), "completed",
                              "active")
            columns = {
                "company_id": _values(first["company_id"], int),
                "source_key": _values(first["campaign_key"]),
                "channel_id": _values(first["channel_id"], int),
                "segment_id": _values(first["segment_id"], int),
                "location_id": _values(first["location_id"], int),
                "name": [n[:200] for n in _values(first["campaign_name"])],
                "goal": _values(first["goal"]),
                "status": status.tolist(),
                "start_date": _values(first["start_date"]),
                "end_date": _values(first["end_date"]),
                "budget_allocated": _values(first["budget_allocated"], float),
                "daily_budget": _values(first["daily_budget"], float),
                "language": [v or "unknown" for v in _values(first["language"])],
                "project": _values(first["project"]),
                "target_audience": _values(first["target_audience"]),
                "engagement_score": _values(first["engagement_score"], int),
            }
            stored = queries.upsert_campaigns(session, fmt.name, columns,
                                              widen=fmt.widen_campaign_dates)
        pairs = pd.MultiIndex.from_arrays([g["company_id"], g["campaign_key"]])
        known = pd.MultiIndex.from_arrays([stored["company_id"].astype("int64"),
                                           stored["source_key"]])
        missing = pairs[~pairs.isin(known)].unique()
        if len(missing):  # campaigns of an earlier chunk
            earlier = queries.campaigns_by_key(
                session, fmt.name, [int(c) for c in missing.get_level_values(0)],
                missing.get_level_values(1).tolist())
            stored = pd.concat([stored, earlier.assign(created=None)], ignore_index=True) \
                if len(stored) else earlier.assign(created=None)
        stored = stored.astype({"company_id": "int64", "id": "int64", "channel_id": "int64"})
        stored.index = pd.MultiIndex.from_arrays([stored["company_id"], stored["source_key"]])
        g["campaign_id"] = stored["id"].reindex(pairs).to_numpy()
        counts_of = stored[stored.index.isin(counted)]
        created = counts_of["created"].eq(True).groupby(counts_of["company_id"]).sum()
        updated = counts_of["created"].eq(False).groupby(counts_of["company_id"]).sum()
        created_total, updated_total = int(created.sum()), int(updated.sum())
        self.known_campaigns = stored.set_index("id")[["company_id", "channel_id",
                                                       "location_id"]]
        if fmt.target == "campaigns":
            changed = sorted(int(c) for c in (created + updated)[lambda n: n > 0].index)
            if changed:
                rollups.bump_data_version(session.connection(), changed, history=False)
                self.touched.update(changed)

        if fmt.target == "campaigns":  # a row is a campaign: imported = created, and so on
            counts = {"imported": created_total, "replaced": updated_total,
                      "unchanged": len(g) - created_total - updated_total}
        else:
            counts = self._store_events(g)
        counts.update(campaigns_created=created_total, campaigns_updated=updated_total)
        return counts

    def _store_own(self, g: pd.DataFrame, options: dict) -> dict:
        """Rows of a format with a table of its own (leads, web traffic, journeys), per
        company."""
        counts: Counter = Counter()
        for cid, part in g.groupby("company_id", sort=True):
            queries.lock_companies(self.session, [int(cid)])
            result = self.fmt.store(self.session, int(cid), part, options)
            if result["imported"] or result["replaced"]:
                self.touched.add(int(cid))
                self.stored_companies.add(int(cid))
            counts.update(result)
        return dict(counts)

    def _store_events(self, g: pd.DataFrame) -> dict:
        """One ad event per row, by natural key: unchanged rows skipped, restated rows
        replace their event (taken out of the rollups first), and what ad_events has no
        column for kept in ad_event_details (reach also summed into ad_stats_daily)."""
        session, fmt = self.session, self.fmt
        queries.lock_companies(session, g["company_id"].unique().tolist())
        hashed = [c for c in g.columns if c not in ("natural_key", base.COMPANY)]
        g["row_hash"] = row_hashes(g[hashed])

        rejections: list[tuple[int, str, str]] = []
        imported = replaced = unchanged = 0
        for cid, part in g.groupby("company_id", sort=True):
            cid = int(cid)
            keys = part["natural_key"].tolist()
            existing = queries.import_keys(session, cid, fmt.name, keys)
            # Compared as Python ints: a 64-bit hash does not survive a float column.
            same = np.array([k in existing and existing[k][0] == int(h)
                             for k, h in zip(keys, part["row_hash"].tolist(), strict=True)],
                            dtype=bool)
            restated = np.array([k in existing for k in keys], dtype=bool) & ~same
            restated_rows = part.index[restated]
            unchanged += int(same.sum())
            old_events = [existing[k][1] for k in part["natural_key"][restated]
                          if existing[k][1] is not None]
            queries.remove_events(session, cid, [int(e) for e in old_events])
            todo = part[~same]
            if not len(todo):
                continue
            events = todo[["campaign_id", "occurred_at", "location_id", "device",
                           "impressions", "clicks", "conversions", "cost", "revenue"]]
            ids = events["campaign_id"].unique()
            if self.known_campaigns is not None:  # as just upserted (or looked up)
                own = self.known_campaigns.loc[ids]
                own = own[own["company_id"] == cid]
                lookup = dict(zip(own.index.tolist(),
                                  zip(own["channel_id"].tolist(),
                                      own["location_id"].astype(object)
                                      .where(own["location_id"].notna(), None).tolist(),
                                      strict=True), strict=True))
            else:
                lookup = ingest_queries.campaign_lookup(session, cid, [int(c) for c in ids])
            batch = ingest.store_events(session, cid, events, rollup=self.rollup,
                                        campaigns=lookup)
            rejections.extend(batch.rejections)
            stored = todo.loc[todo.index.isin(batch.event_ids.index)].copy()
            stored["event_id"] = batch.event_ids.reindex(stored.index).astype("int64")
            replaced_here = int(stored.index.isin(restated_rows).sum())
            replaced += replaced_here
            imported += int(len(stored)) - replaced_here
            if len(stored):
                self.touched.add(cid)
                if base.DETAIL_COLUMNS & set(stored.columns):
                    queries.save_event_details(session, cid, stored, self.rollup)
                queries.save_import_keys(session, cid, fmt.name, self.run_id,
                                         stored["natural_key"].tolist(),
                                         stored["row_hash"].tolist(),
                                         stored["campaign_id"].astype("int64").tolist(),
                                         stored["event_id"].tolist(),
                                         new=~stored.index.isin(restated_rows))
        return {"imported": imported, "replaced": replaced, "unchanged": unchanged,
                "store_rejections": rejections}

    def _chunk_done(self, table: Table, mapped: base.Mapped, counts: dict) -> None:
        """The chunk's rejected rows stored (and the first MAX_SHOWN kept for the summary),
        its counts and notes added up."""
        rows, reasons = mapped.rows, mapped.reasons
        rejections: list[tuple[int, str, str]] = list(table.unreadable)
        bad_numbers = rows.index[reasons.bad]
        raws = _raw_lines(table, bad_numbers)
        rejections.extend((int(n), raws[n], str(r)) for n, r in
                          zip(bad_numbers.tolist(), reasons.text[reasons.bad], strict=True))
        rejections.extend(counts.pop("store_rejections", []))
        rejections.sort()
        ingest_queries.add_rejected_rows(self.session, self.run_id, rejections)
        self.rejected += len(rejections)
        self.shown.extend(rejections[:MAX_SHOWN - len(self.shown)])
        self.reasons.add(ingest.reason_parts(rejections))
        for key in ("imported", "replaced", "unchanged", "campaigns_created",
                    "campaigns_updated"):
            self.counts[key] += counts.pop(key, 0)
        self.extra.update(counts)
        for note in (*table.notes, *mapped.notes):
            if note not in self.notes:
                self.notes.append(note)

    # ------------------------------------------------------------------ at the end

    def finish(self, reader: TableReader, options: dict) -> dict:
        """The summary, the import run's counts and summary, and the audit row."""
        fmt, session = self.fmt, self.session
        self.rollup.flush(session.connection())
        if self.stored_companies:
            fmt.finish(session, sorted(self.stored_companies), options)
        for note in reader.notes:
            if note not in self.notes:
                self.notes.insert(0, note)
        imported, replaced, unchanged = (self.counts[k] for k in ("imported", "replaced",
                                                                  "unchanged"))
        summary = {
            "imported": imported, "replaced": replaced, "unchanged": unchanged,
            "rejected": self.rejected,
            "rejections": [{"row": n, "reason": r, "raw": raw} for n, raw, r in self.shown],
            "reasons": dict(self.reasons.most_common(20)),
            "ignored_columns": [c for c in reader.columns if c not in (self.used or [])],
            "companies_created": self.created_companies,
            "campaigns_created": self.counts["campaigns_created"],
            "campaigns_updated": self.counts["campaigns_updated"],
            "notes": self.notes,
            "fixes": _fixes(fmt, self.reasons, self.context),
            **dict(self.extra),
        }
        run_company = self.scope.id if self.scope is not None else (
            next(iter(self.companies)) if len(self.companies) == 1 else None)
        table = Table(self.path, pd.DataFrame(), reader.columns, reader.encoding,
                      reader.delimiter, reader.line_ending)
        summary = {**_header(table, fmt, self.dry_run, self.rows), **summary,
                   "import_run_id": self.run_id}
        ingest_queries.finish_import_run(
            session, self.run_id, run_company, imported + replaced, self.rejected,
            summary={k: v for k, v in summary.items()
                     if k not in ("rejections", "import_run_id", "seconds",
                                  "rows_per_second")})
        audit.record(session, "import", actor_email=self.actor[:255],
                     target=f"company:{run_company}" if run_company else "companies",
                     after={"import_run_id": self.run_id, "file": self.path.name,
                            "format": fmt.name, "imported": imported, "replaced": replaced,
                            "unchanged": unchanged, "rejected": self.rejected,
                            "dry_run": self.dry_run})
        return summary
