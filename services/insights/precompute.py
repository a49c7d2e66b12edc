"""Fit the history models ahead of the first request: the worker's share of the insights.

After a bulk load, a backfill or midnight, each company's anomalies, trend changes and revenue
forecast are refitted here and stored (``store.history_model``), so a dashboard request reads
them instead of fitting them. A model whose stored result is current costs one lookup.
"""

from __future__ import annotations

import logging
import time

from db.queries.companies import all_companies
from services import campaigns
from services.context import ServiceContext
from services.insights.anomalies import company_anomalies
from services.insights.forecast import forecast_model
from services.insights.trends import company_trend_changes

log = logging.getLogger(__name__)
# The stored results this pass keeps current (``insight_results.name`` prefixes): the system
# health's "models current" is about these. Results a request computed for other options (an
# attribution lookback, say) are kept for those requests and not refitted here.
REFITTED = ("anomalies.", "trends.", "forecast.", "campaigns.")


def refresh(ctx: ServiceContext, company_ids: list[int] | None = None) -> dict:
    """Make every company's stored history models current; seconds per company."""
    if company_ids is None:
        with ctx.session() as session:
            company_ids = [company.id for company in all_companies(session)]
    seconds = {}
    for company_id in company_ids:
        started = time.perf_counter()
        try:
            company_anomalies.refit_if_stale(ctx, company_id)
            company_trend_changes.refit_if_stale(ctx, company_id)
            forecast_model.refit_if_stale(ctx, company_id, "revenue")
            campaigns.refresh_models(ctx, company_id)  # duration bands, clusters (#14)
            warm_drivers(ctx, company_id)  # the shown anomalies' and turns' drivers (#20)
        except Exception:  # noqa: BLE001 - one company's bad data must not stop the others
            log.exception("fitting the history models of company %s failed", company_id)
        seconds[company_id] = time.perf_counter() - started
    return seconds


WARMED_RANGES = ("30d",)  # the executive view's default period


def warm_drivers(ctx: ServiceContext, company_id: int) -> int:
    """Fit the drivers of the anomalies and trend turns the executive view shows for its
    default period (``drivers.split_model``), so its first request reads them; how many."""
    from services.access import system_scope
    from services.insights.drivers import split_model
    from services.insights.sentences import company_insights

    scope = system_scope(ctx, company_id)
    fitted = 0
    for range_name in WARMED_RANGES:
        for insight in company_insights(ctx, scope, range_name)["insights"]:
            evidence = insight["evidence"]
            periods = evidence.get("drivers_periods")
            if periods:
                split_model.refit_if_stale(ctx, company_id, evidence["drivers_metric"],
                                           periods["before"], periods["after"],
                                           evidence["drivers_dimension"],
                                           evidence.get("channel"))
                fitted += 1
    return fitted


# A change of the company calendar (an annotated event, the holiday country) asks the worker
# to refit that company now rather than at its next pass (``worker.run_worker`` looks every
# few seconds): the requests meanwhile read the previous stored result, as after an ingest.
REFIT_KEY = "refit-requests"


def request_refit(ctx: ServiceContext, company_id: int) -> bool:
    """Ask the worker to refit one company's history models soon; False when Redis is down
    (the next regular pass refits it)."""
    client = ctx.redis()
    if client is None:
        return False
    try:
        client.sadd(ctx.key(REFIT_KEY), int(company_id))
    except Exception as error:  # noqa: BLE001 - redis errors: the regular pass will do
        ctx.redis_failed(error)
        return False
    return True


def take_refit_requests(ctx: ServiceContext) -> list[int]:
    """The companies whose refit was asked for, each once (taken off the list)."""
    client = ctx.redis()
    if client is None:
        return []
    try:
        taken = client.spop(ctx.key(REFIT_KEY), 1000) or []
    except Exception as error:  # noqa: BLE001
        ctx.redis_failed(error)
        return []
    return sorted({int(value) for value in taken})


def refit_requested(ctx: ServiceContext) -> dict:
    """Refit the companies asked for, then move their data version on, so the answers cached
    from the previous result (the insights list) are computed again; seconds per company."""
    from db import rollups
    from services.cache import forget_data_version

    company_ids = take_refit_requests(ctx)
    if not company_ids:
        return {}
    seconds = refresh(ctx, company_ids)
    with ctx.session() as session:
        rollups.bump_data_version(session.connection(), company_ids, history=False)
    forget_data_version(ctx, company_ids)
    return seconds

