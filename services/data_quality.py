"""Data quality per company and source (issue #12, step 6; the planning documents' accuracy,
completeness, consistency and timeliness), for the admin view and ``/api/v1/data-quality``.

A source is where a company's rows come from: ``live`` (ad events of the company's own
campaigns, streamed through the API or the simulator, or imported in the events format), an
import format (``kaggle-campaign-performance``, ``facebook-ad-conversions``,
``online-advertising-performance``, ``leadsmart-campaigns`` (its insights' events),
``leadsmart`` (leads), ``ga-daily-sessions``, ``channel-journeys``), ``web`` and ``crm`` (the
demo data's web traffic and leads). Per source:

- freshness: the newest data (event time, lead creation, touch time, a web-traffic day's end)
  and its age against the database's now; a streaming source (``live``) more than
  ``LATE_AFTER_HOURS`` behind is ``late``;
- completeness: the share of present values over the source table's required fields (per
  field too); a value that says "not known" (an ad event's device ``unknown``) is missing;
- validity: the share of rows its imports rejected (``import_runs``: rows read and rejected,
  unchanged rows of a re-import count as read), None when it was never imported;
- duplicates: rows equal to another of the same source in every column (beyond the first).

Computed from the facts themselves (a check of the data, not of the other rollups), but never
per request: one scan of a company's facts at 10 million events takes seconds, past the web
statement timeout. The worker computes a company's rows in ``data_quality_sources`` when they
were never computed, and again when its data version moved on, at most every
``REFRESH_EVERY_S`` (``refresh_stale``); the report reads those rows, and a company whose rows
the worker has not computed yet is ``pending``. Freshness (age) is taken against now at every
read; validity comes from ``import_runs`` at every read. Each source says when its numbers
were computed (``computed_at``)."""

from __future__ import annotations

import datetime as dt

from db.queries import data_quality as queries
from services.context import ServiceContext

LATE_AFTER_HOURS = 2
REFRESH_EVERY_S = 300  # a company's data-quality rows are recomputed at most this often
STREAMING = frozenset({"live"})
# The import format whose rows a source holds, when the names differ (the LeadSmart insights
# are events of the campaigns of its campaigns file; its lead status changes are leads).
FORMAT_SOURCE = {"leadsmart-insights": "leadsmart-campaigns",
                 "leadsmart-lead-status-changes": "leadsmart", "events": "live"}


def _share(part, whole) -> float | None:
    return float(part) / float(whole) if whole else None


def data_quality(ctx: ServiceContext, *, company_id: int | None = None) -> dict:
    """{generated_at, late_after_hours, companies: [{company_id, slug, name, pending,
    sources: [...]}]}; an admin with a company (``company_id``) sees that company's only.
    ``pending``: the worker has not computed the company's rows yet (its sources then carry
    only what its imports say)."""
    scope = None if company_id is None else [company_id]
    with ctx.session() as session:
        now = queries.database_now(session)
        companies = queries.companies(session, scope)
        pending = set(queries.never_refreshed(session, scope))
        found: dict[tuple[int, str], dict] = {}
        for row in queries.stored_quality(session, scope):
            table = row["table"]
            spec = queries.TABLES[table]
            rows = int(row["rows"])
            fields = {name: _share(row[name], rows) for name, _ in spec["fields"]}
            newest = row["newest"]
            age = (now - newest).total_seconds() / 3600 if newest is not None else None
            found[row["company_id"], row["source"]] = {
                "source": row["source"], "table": table, "rows": rows,
                "newest": newest.isoformat() if newest is not None else None,
                "age_hours": round(age, 3) if age is not None else None,
                "streaming": row["source"] in STREAMING,
                "late": bool(row["source"] in STREAMING and age is not None
                             and age > LATE_AFTER_HOURS),
                "completeness": _share(sum(int(row[n]) for n, _ in spec["fields"]),
                                       rows * len(spec["fields"])),
                "fields": fields,
                "duplicates": int(row["duplicates"]),
                "duplicate_share": _share(row["duplicates"], rows),
                "rows_read": None, "rows_rejected": None, "validity": None,
                "imports": 0, "last_import": None,
                "computed_at": (row["refreshed_at"].isoformat()
                                if row["refreshed_at"] is not None else None),
            }
        for row in queries.import_validity(session, scope):
            source = FORMAT_SOURCE.get(row["format"], row["format"])
            entry = found.setdefault((row["company_id"], source), {
                "source": source, "table": None, "rows": 0, "newest": None,
                "age_hours": None, "streaming": source in STREAMING, "late": False,
                "completeness": None, "fields": {}, "duplicates": 0, "duplicate_share": None,
                "rows_read": None, "rows_rejected": None, "validity": None, "imports": 0,
                "last_import": None, "computed_at": None})
            entry["rows_read"] = (entry["rows_read"] or 0) + int(row["rows_read"] or 0)
            entry["rows_rejected"] = (entry["rows_rejected"] or 0) + int(row["rows_rejected"])
            entry["imports"] += int(row["imports"])
            last = row["last_import"].isoformat() if row["last_import"] else None
            entry["last_import"] = max(filter(None, [entry["last_import"], last]), default=None)
        for entry in found.values():
            if entry["rows_read"] is not None:
                entry["validity"] = _share(entry["rows_rejected"], entry["rows_read"])
    out = []
    for cid, company in companies.items():
        sources = sorted((entry for (c, _), entry in found.items() if c == cid),
                         key=lambda e: e["source"])
        out.append({"company_id": cid, "slug": company["slug"], "name": company["name"],
                    "pending": cid in pending, "sources": sources})
    return {"generated_at": now.isoformat() if isinstance(now, dt.datetime) else str(now),
            "late_after_hours": LATE_AFTER_HOURS, "companies": out}


def late_streams(ctx: ServiceContext) -> list[dict]:
    """(company, source, age) of every streaming source more than LATE_AFTER_HOURS late."""
    report = data_quality(ctx)
    return [{"company_id": c["company_id"], "slug": c["slug"], "source": s["source"],
             "age_hours": s["age_hours"]}
            for c in report["companies"] for s in c["sources"] if s["late"]]


def refresh_stale(ctx: ServiceContext, min_age_s: float = REFRESH_EVERY_S) -> list[int]:
    """The worker's step: recompute the data-quality rows of every company whose data changed
    since they were computed at least ``min_age_s`` ago (or never were), one company per
    transaction. Returns the companies refreshed."""
    with ctx.session() as session:
        companies = queries.stale(session, min_age_s)
    for company_id in companies:
        with ctx.session() as session:
            queries.refresh(session, [company_id])
    return companies
