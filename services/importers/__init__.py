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

import csv
import io
import time
from collections import Counter

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
from services.importers.reading import Table, normalise, read_header, read_table

FORMATS: tuple[base.Format, ...] = (
    KaggleCampaigns(), FacebookAdConversions(), LeadSmartCampaigns(), LeadSmartInsights(),
    LeadSmartLeadStatusChanges(), OnlineAdvertising(), GaDailySessions(), CustomerJourneys(),
    Events())
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
                year: int | None = None, channel_map: str | None = None) -> dict:
    """Import one export (see the module docstring); returns its summary. ``start`` /
    ``end`` (dates), ``year`` and ``location`` (a location name) complete exports without
    them; ``channel_map`` names the channel codes of customer journeys."""
    started = time.perf_counter()
    table = read_table(path)
    fmt = choose_format(table, format)
    if isinstance(fmt, Events):
        summary = _import_events(ctx, table, fmt, company, dry_run)
    else:
        mapped = fmt.map(table, {"start": start, "end": end, "location": location,
                                 "year": year, "channel_map": channel_map})
        touched: list[int] = []
        try:
            with ctx.session() as session:
                summary = _apply(session, fmt, table, mapped, company, dry_run, actor,
                                 touched, location)
                if dry_run:
                    raise _DryRun(summary)
        except _DryRun as done:
            summary = done.summary
        if touched and not dry_run:
            forget_data_version(ctx, touched)
    seconds = time.perf_counter() - started
    summary.update(seconds=round(seconds, 3),
                   rows_per_second=round(summary["rows"] / seconds) if seconds else None)
    return summary


def _header(table: Table, fmt: base.Format, dry_run: bool) -> dict:
    return {"file": str(table.path), "format": fmt.name, "format_title": fmt.title,
            "recognised_from": "header", "encoding": table.encoding,
            "delimiter": table.delimiter, "line_ending": table.line_ending,
            "rows": len(table.frame) + len(table.unreadable), "dry_run": dry_run}


def _import_events(ctx, table: Table, fmt: Events, company: str | None,
                   dry_run: bool) -> dict:
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
    result = ingest.import_event_file(ctx, tenant_id, table.path)
    used = fmt.used(table.columns)
    summary = _header(table, fmt, dry_run)
    reasons = Counter(part for r in result["rejections"] for part in r["reason"].split("; "))
    summary.update(
        imported=result["accepted"], replaced=0, unchanged=0, rejected=result["rejected"],
        rejections=result["rejections"], reasons=dict(reasons.most_common(20)),
        ignored_columns=[c for c in table.columns if c not in used],
        companies_created=[], campaigns_created=0, campaigns_updated=0,
        notes=[*table.notes, "events have no natural key: importing the file again adds "
                             "them again"],
        fixes=_fixes(fmt, reasons, {}), import_run_id=result["import_run_id"])
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
    """The rejected rows as CSV lines (as read; what the rejected-rows download gives back).
    One writer per row: a quoted cell may hold a line break, so the lines of one CSV text
    cannot be split apart again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")  # so a cell's line break is quoted
    lines = {}
    rows = table.frame.loc[numbers].to_numpy(dtype=object).tolist()
    for number, values in zip(numbers.tolist(), rows, strict=True):
        out.seek(0)
        out.truncate()
        writer.writerow(values)
        lines[number] = out.getvalue()[:-1][:ingest.RAW_LIMIT]
    return lines


def _apply(session, fmt: base.Format, table: Table, mapped: base.Mapped,
           company_slug: str | None, dry_run: bool, actor: str, touched: list[int],
           location_option: str | None = None) -> dict:
    rows, reasons = mapped.rows, mapped.reasons
    scope = None
    if company_slug:
        scope = company_by_slug(session, company_slug)
        if scope is None:
            raise NotFound(f"no company {company_slug!r} (see `campaign-dash company list`)")
    if scope is None and not fmt.has_company_column:
        raise ValidationError(f"{table.path.name} ({fmt.title}) has no company column: "
                              "pass --company SLUG")

    # Locations must exist (every event has one); channels and segments are created.
    locations = catalog_queries.locations(session)
    if location_option and location_option.strip().lower() not in locations:
        raise ValidationError(f"unknown location {location_option!r} for --location (known: "
                              f"{', '.join(sorted(locations)) or 'none yet'})")
    location = (rows["location"] if "location" in rows
                else pd.Series(pd.NA, index=rows.index, dtype=object))
    location_id = location.str.lower().map(locations)
    reasons.add((location.notna() & location_id.isna()).to_numpy(),
                "unknown location " + location.astype(str).map(repr))
    if fmt.target == "ad_events":
        reasons.add(location.isna().to_numpy(), "missing location (every event needs one)")

    owner = (rows[base.COMPANY].str.lower() if fmt.has_company_column
             else pd.Series("", index=rows.index))
    key = owner.astype(str) + "|" + rows["natural_key"].astype(str)
    duplicate = (key.duplicated(keep="first") & rows["natural_key"].notna()).to_numpy()
    reasons.add(duplicate, "duplicate natural key " + rows["natural_key"].astype(str).map(repr)
                + " (an earlier row has it)")

    # Companies: from the file's column (created when missing) or --company.
    created_companies: list[dict] = []
    if fmt.has_company_column:
        names = rows[base.COMPANY]
        lower = names.str.lower()
        if scope is not None:
            other = (names.notna() & (lower != scope.name.lower())).to_numpy()
            reasons.add(other, "row of company " + names.astype(str).map(repr)
                        + f", not {scope.slug!r}")
        known = catalog_queries.company_ids_by_name(session)
        missing = names[~reasons.bad & names.notna() & ~lower.isin(list(known))]
        taken = catalog_queries.slugs(session)
        for name in missing.drop_duplicates(keep="first").tolist():
            if name.lower() in known:
                continue
            slug = _unique_slug(name, taken)
            new_id = catalog_queries.insert_company(session, slug, name, "unspecified")
            known[name.lower()] = (new_id, slug)
            created_companies.append({"id": new_id, "slug": slug, "name": name})
        company_id = lower.map(lambda n: known.get(n, (None,))[0] if isinstance(n, str)
                               else None)
    else:
        company_id = pd.Series(scope.id, index=rows.index)

    campaign_id = None
    if fmt.existing_campaigns:  # rows name campaigns imported before (or just now)
        ids = queries.campaign_ids(session, scope.id, fmt.existing_campaigns,
                                   rows["campaign_key"].dropna().unique().tolist())
        campaign_id = rows["campaign_key"].map(ids)
        reasons.add((rows["campaign_key"].notna() & campaign_id.isna()).to_numpy(),
                    fmt.unknown_campaign + rows["campaign_key"].astype(str).map(repr)
                    + fmt.unknown_campaign_why)

    good = ~reasons.bad
    g = rows[good].copy()
    g["company_id"] = company_id[good].astype("int64")
    g["location_id"] = location_id[good].astype("Int64")
    context = {"locations": ", ".join(sorted(locations)) or "none yet"}
    if fmt.target not in ("ad_events", "campaigns"):
        return _finish(session, fmt, table, mapped, g, scope, dry_run, actor, touched, context,
                       created_companies, _store_own(session, fmt, g, touched))
    if campaign_id is not None:
        g["campaign_id"] = campaign_id[good].astype("int64")
        counts = _store_events(session, fmt, g, touched)
        return _finish(session, fmt, table, mapped, g, scope, dry_run, actor, touched, context,
                       created_companies, counts)
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
    campaigns_created = campaigns_updated = 0
    g["campaign_id"] = pd.Series(dtype="int64")
    for cid, part in g.groupby("company_id", sort=True):
        first = part.drop_duplicates("campaign_key", keep="first")
        end = first["end_date"]
        status = np.where(end.notna() & (end.map(lambda d: d is not None and d < today,
                                                 na_action="ignore").fillna(False)),
                          "completed", "active")
        columns = {
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
        ids, created, updated = queries.upsert_campaigns(session, int(cid), fmt.name, columns)
        campaigns_created += created
        campaigns_updated += updated
        g.loc[part.index, "campaign_id"] = part["campaign_key"].map(ids).astype("int64")
        if fmt.target == "campaigns" and created + updated:
            rollups.bump_data_version(session.connection(), [int(cid)], history=False)
            touched.append(int(cid))

    if fmt.target == "campaigns":  # a row is a campaign: imported = created, and so on
        counts = {"imported": campaigns_created, "replaced": campaigns_updated,
                  "unchanged": len(g) - campaigns_created - campaigns_updated}
    else:
        counts = _store_events(session, fmt, g, touched)
    counts.update(campaigns_created=campaigns_created, campaigns_updated=campaigns_updated)
    return _finish(session, fmt, table, mapped, g, scope, dry_run, actor, touched, context,
                   created_companies, counts)


def _store_own(session, fmt: base.Format, g: pd.DataFrame, touched: list[int]) -> dict:
    """Rows of a format with a table of its own (leads, web traffic, journeys), per company."""
    counts: Counter = Counter()
    extra: dict = {}
    for cid, part in g.groupby("company_id", sort=True):
        queries.lock_companies(session, [int(cid)])
        result = fmt.store(session, int(cid), part)
        if result["imported"] or result["replaced"]:
            touched.append(int(cid))
        for key in ("imported", "replaced", "unchanged"):
            counts[key] += result.pop(key)
        extra.update(result)
    return {"imported": counts["imported"], "replaced": counts["replaced"],
            "unchanged": counts["unchanged"], **extra}


def _store_events(session, fmt: base.Format, g: pd.DataFrame, touched: list[int]) -> dict:
    """One ad event per row, by natural key: unchanged rows skipped, restated rows replace
    their event (taken out of the rollups first), and what ad_events has no column for kept
    in ad_event_details (reach also summed into ad_stats_daily)."""
    queries.lock_companies(session, g["company_id"].unique().tolist())
    hashed = [c for c in g.columns if c not in ("natural_key", base.COMPANY)]
    g["row_hash"] = pd.util.hash_pandas_object(g[hashed].astype(str), index=False) \
        .to_numpy().view(np.int64)

    rejections: list[tuple[int, str, str]] = []
    imported = replaced = unchanged = 0
    saved: list[tuple[int, pd.DataFrame]] = []
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
        events = todo[["campaign_id", "occurred_at", "location_id", "device", "impressions",
                       "clicks", "conversions", "cost", "revenue"]]
        batch = ingest.store_events(session, cid, events)
        rejections.extend(batch.rejections)
        stored = todo.loc[todo.index.isin(batch.event_ids.index)].copy()
        stored["event_id"] = batch.event_ids.reindex(stored.index).astype("int64")
        replaced_here = int(stored.index.isin(restated_rows).sum())
        replaced += replaced_here
        imported += int(len(stored)) - replaced_here
        if len(stored):
            touched.append(cid)
            saved.append((cid, stored))
            if base.DETAIL_COLUMNS & set(stored.columns):
                queries.save_event_details(session, cid, stored)
    return {"imported": imported, "replaced": replaced, "unchanged": unchanged,
            "store_rejections": rejections, "saved": saved}


def _finish(session, fmt: base.Format, table: Table, mapped: base.Mapped, g: pd.DataFrame,
            scope, dry_run: bool, actor: str, touched: list[int], context: dict,
            created_companies: list[dict], counts: dict) -> dict:
    """The summary, the import run with its rejected rows, the import keys and the audit
    row."""
    rows, reasons = mapped.rows, mapped.reasons
    rejections: list[tuple[int, str, str]] = list(table.unreadable)
    bad_numbers = rows.index[reasons.bad]
    raws = _raw_lines(table, bad_numbers)
    rejections.extend((int(n), raws[n], str(r)) for n, r in
                      zip(bad_numbers.tolist(), reasons.text[reasons.bad], strict=True))
    rejections.extend(counts.pop("store_rejections", []))
    rejections.sort()
    saved = counts.pop("saved", [])
    imported, replaced, unchanged = (counts.pop(k) for k in ("imported", "replaced",
                                                             "unchanged"))
    campaigns_created = counts.pop("campaigns_created", 0)
    campaigns_updated = counts.pop("campaigns_updated", 0)

    reason_counts = Counter(part for _, _, r in rejections for part in r.split("; "))
    summary = {
        "imported": imported, "replaced": replaced, "unchanged": unchanged,
        "rejected": len(rejections),
        "rejections": [{"row": n, "reason": r, "raw": raw}
                       for n, raw, r in rejections[:MAX_SHOWN]],
        "reasons": dict(reason_counts.most_common(20)),
        "ignored_columns": [c for c in table.columns if c not in mapped.used],
        "companies_created": created_companies,
        "campaigns_created": campaigns_created, "campaigns_updated": campaigns_updated,
        "notes": [*table.notes, *mapped.notes],
        "fixes": _fixes(fmt, reason_counts, context),
        **counts,
    }
    run_company = scope.id if scope is not None else (
        int(g["company_id"].iloc[0]) if g["company_id"].nunique() == 1 else None)
    run_id = ingest_queries.record_import_run(
        session, run_company, fmt.name[:32], f"file:{table.path.name}"[:500],
        imported + replaced, len(rejections), rejections, format=fmt.name,
        summary={k: v for k, v in summary.items() if k != "rejections"})
    for cid, stored in saved:
        queries.save_import_keys(session, cid, fmt.name, run_id, stored["natural_key"].tolist(),
                                 [int(h) for h in stored["row_hash"]],
                                 [int(c) for c in stored["campaign_id"]],
                                 [int(e) for e in stored["event_id"]])
    audit.record(session, "import", actor_email=actor[:255],
                 target=f"company:{run_company}" if run_company else "companies",
                 after={"import_run_id": run_id, "file": table.path.name,
                        "format": fmt.name, "imported": imported, "replaced": replaced,
                        "unchanged": unchanged, "rejected": len(rejections),
                        "dry_run": dry_run})
    summary = {**_header(table, fmt, dry_run), **summary, "import_run_id": run_id}
    return summary
