"""A live event stream for demos: realistic ad events for every active campaign, written
through the normal ingest path so the real-time view (and the alerts) move.

Each campaign spends towards its daily budget along a day curve, at its own pace (most stay
under budget, a few run hot so the budget alerts have something to do); clicks, impressions,
conversions and revenue follow the campaign's own recent CPC, CTR, conversion rate and order
value (from the rollups), or typical values when it has no history.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import numpy as np
from sqlalchemy import text

from services.context import ServiceContext
from services.ingest import ingest_events

log = logging.getLogger(__name__)
DEVICES = ("desktop", "mobile", "tablet")
DEVICE_WEIGHTS = (0.45, 0.45, 0.10)
# Share of a day's spend by UTC hour: quiet nights, busy afternoons.
HOUR_CURVE = np.array([1, 0.7, 0.5, 0.4, 0.4, 0.5, 0.8, 1.2, 1.6, 1.9, 2.0, 2.1, 2.1, 2.1, 2.0,
                       2.0, 1.9, 1.9, 1.8, 1.7, 1.6, 1.4, 1.2, 1.0])
HOUR_SHARE = HOUR_CURVE / HOUR_CURVE.sum()
TYPICAL = {"cpc": 1.2, "ctr": 0.02, "cvr": 0.03, "aov": 80.0}


class Simulator:
    def __init__(self, ctx: ServiceContext, rate: float, *, company_ids: list[int] | None = None,
                 seed: int | None = None, flush_s: float = 5.0):
        self.ctx = ctx
        self.rate = float(rate)
        self.company_ids = company_ids
        self.flush_s = flush_s
        self.rng = np.random.default_rng(seed)
        self.campaigns: list[dict] = []
        self.locations: list[int] = []
        self.loaded_at = 0.0
        self.spent_today: dict[int, float] = {}
        self.day: dt.date | None = None
        self.total_events = 0

    def _load(self, now: dt.datetime) -> None:
        """Active campaigns with their recent rates, and today's spend so far."""
        day = now.date()
        with self.ctx.session() as session:
            rows = session.execute(text("""
                SELECT c.id, c.company_id, c.daily_budget::float8 AS budget, c.location_id,
                       SUM(r.spend)::float8 AS spend, SUM(r.clicks)::float8 AS clicks,
                       SUM(r.impressions)::float8 AS impressions,
                       SUM(r.conversions)::float8 AS conversions,
                       SUM(r.revenue)::float8 AS revenue
                FROM campaigns c
                LEFT JOIN rollup_campaign_daily r ON r.campaign_id = c.id
                     AND r.day BETWEEN :start AND :yesterday
                WHERE c.status = 'active' AND c.daily_budget > 0
                  AND (CAST(:companies AS int[]) IS NULL OR c.company_id = ANY(:companies))
                GROUP BY c.id"""), {"start": day - dt.timedelta(days=28),
                                    "yesterday": day - dt.timedelta(days=1),
                                    "companies": self.company_ids}).all()
            today = session.execute(text("""
                SELECT campaign_id, spend::float8 FROM rollup_campaign_daily WHERE day = :day"""),
                {"day": day}).all()
            self.locations = [r[0] for r in session.execute(text("SELECT id FROM locations"))]
        if self.day != day:
            self.day = day
            self.spent_today = {}
        self.spent_today.update({cid: spend for cid, spend in today})
        campaigns = []
        for row in rows:
            def rate(num, den, default, low, high):
                value = (num / den) if num and den else default
                return float(min(max(value, low), high))
            known = {c["id"]: c for c in self.campaigns}
            pace = known[row.id]["pace"] if row.id in known else float(
                self.rng.choice([self.rng.uniform(0.55, 0.85), self.rng.uniform(0.92, 1.2)],
                                p=[0.85, 0.15]))
            campaigns.append({
                "id": row.id, "company_id": row.company_id, "budget": row.budget,
                "location_id": row.location_id, "pace": pace,
                "cpc": rate(row.spend, row.clicks, TYPICAL["cpc"], 0.05, 50),
                "ctr": rate(row.clicks, row.impressions, TYPICAL["ctr"], 0.001, 0.5),
                "cvr": rate(row.conversions, row.clicks, TYPICAL["cvr"], 0.0005, 0.5),
                "aov": rate(row.revenue, row.conversions, TYPICAL["aov"], 1, 10_000),
            })
        self.campaigns = campaigns
        self.loaded_at = time.monotonic()

    def events(self, now: dt.datetime, seconds: float) -> dict[int, list[dict]]:
        """Events for the last ``seconds``, by company."""
        if not self.campaigns or time.monotonic() - self.loaded_at > 60 or \
                self.day != now.date():
            self._load(now)
        by_company: dict[int, list[dict]] = {}
        if not self.campaigns:
            return by_company
        budgets = np.array([c["budget"] * c["pace"] for c in self.campaigns])
        weights = budgets / budgets.sum()
        count = int(self.rng.poisson(self.rate * seconds))
        if count == 0:
            return by_company
        # Spend due in this slice of the day for each campaign, split over its events.
        due = budgets * HOUR_SHARE[now.hour] * (seconds / 3600.0)
        picks = self.rng.choice(len(self.campaigns), size=count, p=weights)
        per_campaign = np.bincount(picks, minlength=len(self.campaigns))
        for index in np.flatnonzero(per_campaign):
            campaign = self.campaigns[index]
            cap = campaign["budget"] * campaign["pace"]
            spent = self.spent_today.get(campaign["id"], 0.0)
            if spent >= cap:
                continue
            n = int(per_campaign[index])
            costs = due[index] / n * self.rng.lognormal(0, 0.35, n)
            costs = np.minimum(costs, max(cap - spent, 0) / n)
            clicks = self.rng.poisson(costs / campaign["cpc"])
            impressions = clicks + self.rng.poisson(clicks / campaign["ctr"] + 1)
            conversions = self.rng.binomial(clicks, campaign["cvr"])
            revenue = conversions * campaign["aov"] * self.rng.lognormal(0, 0.2, n)
            offsets = np.sort(self.rng.uniform(0, seconds, n))
            self.spent_today[campaign["id"]] = spent + float(costs.sum())
            locations = self.rng.choice(self.locations, size=n) if self.locations else []
            devices = self.rng.choice(len(DEVICES), size=n, p=DEVICE_WEIGHTS)
            rows = by_company.setdefault(campaign["company_id"], [])
            for k in range(n):
                location = campaign["location_id"] if campaign["location_id"] and \
                    self.rng.random() < 0.3 else int(locations[k])
                rows.append({
                    "campaign_id": campaign["id"],
                    "occurred_at": now - dt.timedelta(seconds=seconds - float(offsets[k])),
                    "impressions": int(impressions[k]), "clicks": int(clicks[k]),
                    "conversions": int(conversions[k]), "cost": round(float(costs[k]), 4),
                    "revenue": round(float(revenue[k]), 4), "location_id": location,
                    "device": DEVICES[devices[k]],
                })
        return by_company

    def tick(self, now: dt.datetime | None = None, seconds: float | None = None) -> int:
        """Generate and ingest one slice; returns the number of events stored."""
        now = now or dt.datetime.now(dt.timezone.utc)
        stored = 0
        for company_id, rows in self.events(now, seconds or self.flush_s).items():
            result = ingest_events(self.ctx, company_id, rows, source="simulator",
                                   record_run=False, audited=False)
            stored += result["accepted"]
        self.total_events += stored
        return stored

    def run(self, stop: threading.Event | None = None) -> None:
        """Stream until ``stop`` is set, one ingest per company every ``flush_s``."""
        stop = stop or threading.Event()
        last = time.monotonic()
        while not stop.wait(max(0.0, self.flush_s - (time.monotonic() - last))):
            elapsed = time.monotonic() - last
            last = time.monotonic()
            try:
                self.tick(seconds=elapsed)
            except Exception:  # noqa: BLE001 - a demo stream survives a database hiccup
                log.exception("simulator tick failed; retrying")


def start_in_background(ctx: ServiceContext, rate: float) -> tuple[threading.Thread,
                                                                   threading.Event]:
    """The simulator in a daemon thread (``campaign-dash run`` in development)."""
    stop = threading.Event()
    thread = threading.Thread(target=Simulator(ctx, rate).run, args=(stop,), daemon=True,
                              name="campaign-dash-simulator")
    thread.start()
    return thread, stop
