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
        except Exception:  # noqa: BLE001 - one company's bad data must not stop the others
            log.exception("fitting the history models of company %s failed", company_id)
        seconds[company_id] = time.perf_counter() - started
    return seconds
