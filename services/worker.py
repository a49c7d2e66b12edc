"""The background worker: what must happen without a request, on an interval.

Each pass evaluates the alert rules and performs their actions (``services.alerts``), and
refits the history models whose history changed (``services.insights.precompute``, with the
campaign explorer's running totals and snapshots) and the attribution models
(``services.attribution.refresh``), so the dashboards read stored results; then recomputes
the data-quality rows of companies whose data changed (``services.data_quality.refresh_stale``,
at most every 5 minutes each). Rule evaluations older than a week, hourly rollup rows older
than the hours kept (``db.rollups.prune_hourly``) and stored model results of an older history
nobody asked for in a week (``db.queries.insight_results.prune``) are pruned hourly.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from db import rollups
from db.queries import insight_results
from services import alerts, attribution, data_quality
from services.alerts import DeliveryConfig
from services.context import ServiceContext
from services.insights import precompute

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600
REFIT_POLL_S = 2.0  # how often a refit asked for by a calendar change is looked for


def run_once(ctx: ServiceContext, config: DeliveryConfig, now: dt.datetime | None = None,
             company_ids: list[int] | None = None) -> dict:
    result = alerts.run_once(ctx, config, now, company_ids)
    # Scheduled reports (issue #17): each due (schedule, due time) claimed once, then sent.
    from services.reports import run_due

    result["reports"] = run_due(ctx, config, now)
    result["insights_s"] = precompute.refresh(ctx, company_ids)
    result["attribution_s"] = attribution.refresh(ctx, company_ids)
    return result


def run_worker(ctx: ServiceContext, config: DeliveryConfig, interval_s: float = 60.0,
               stop: threading.Event | None = None) -> None:
    """A pass every ``interval_s`` until ``stop`` is set; errors are logged, not fatal."""
    stop = stop or threading.Event()
    last_prune = 0.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            result = run_once(ctx, config)
            fired = sum(len(s["fired"]) for s in result["companies"].values() if s)
            if fired:
                log.info("worker: %d alert(s) fired", fired)
            if started - last_prune > PRUNE_EVERY_S:
                alerts.prune_evaluations(ctx)
                with ctx.session() as session:
                    rollups.prune_hourly(session.connection())
                    insight_results.prune(session)
                last_prune = started
        except Exception:  # noqa: BLE001 - a worker must survive a bad minute
            log.exception("worker pass failed; retrying next interval")
        try:
            data_quality.refresh_stale(ctx)
        except Exception:  # noqa: BLE001
            log.exception("refreshing data quality failed; the next pass retries")
        # Until the next pass, refit at once the companies whose calendar changed.
        while not stop.wait(min(REFIT_POLL_S, max(0.0, interval_s
                                                  - (time.monotonic() - started)))):
            if time.monotonic() - started >= interval_s:
                break
            try:
                precompute.refit_requested(ctx)
            except Exception:  # noqa: BLE001
                log.exception("refitting on request failed; the next pass refits")
