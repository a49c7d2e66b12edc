"""Business and market context: monthly business metrics, competitors with monthly metrics
and news, KPI targets (derived from the ad design) and content items."""

from __future__ import annotations

import datetime as dt

import numpy as np

from db.seed import bulk
from db.seed.ads import MONEY, Design
from db.seed.dimensions import (
    CHANNEL_INDEX,
    CHANNELS,
    COMPANIES,
    N_DAYS,
    TRACKS,
    Calendar,
    stream,
)


def months(cal: Calendar) -> list[dt.date]:
    out, d = [], cal.start_date.replace(day=1)
    while d <= cal.end_date:
        out.append(d)
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return out


# customers, new-customer rate, churn rate, monthly revenue per customer, NPS, awareness, share
_BUSINESS = {
    "Retail/E-commerce": (180000, 0.050, 0.035, 34.0, 42, 28.0, 6.0),
    "SaaS/Technology": (4200, 0.045, 0.015, 460.0, 38, 12.0, 3.5),
    "Finance": (120000, 0.020, 0.008, 27.0, 31, 22.0, 4.0),
    "Travel/Hospitality": (60000, 0.040, 0.030, 41.0, 47, 18.0, 5.0),
    "Luxury goods": (25000, 0.030, 0.012, 95.0, 61, 35.0, 8.0),
}
BUSINESS_COLUMNS = ["company_id", "month", "mrr", "customers", "new_customers",
                    "churned_customers", "nps", "brand_awareness_pct", "market_share_pct"]


def business_metrics(cal: Calendar, seed: int, company_ids: list[int]) -> bytes:
    rng = stream(seed, "market", 1)
    rows = []
    for ci, comp in enumerate(COMPANIES):
        cust, new_r, churn_r, arpu, nps, aware, share = _BUSINESS[comp.industry]
        cust = cust * np.exp(rng.normal(0, 0.2))
        for m in months(cal):
            new = int(round(cust * new_r * np.exp(comp.growth / 12 + rng.normal(0, 0.08))))
            churned = int(round(cust * churn_r * np.exp(rng.normal(0, 0.1))))
            cust = max(1.0, cust + new - churned)
            nps = float(np.clip(nps + rng.normal(0, 1.5), -20, 90))
            aware = float(np.clip(aware * np.exp(comp.growth / 24 + rng.normal(0, 0.02)), 1, 95))
            share = float(np.clip(share * np.exp(comp.growth / 30 + rng.normal(0, 0.02)), 0.5, 60))
            mrr = cust * arpu * np.exp(rng.normal(0, 0.03))
            rows.append([company_ids[ci], m, f"{mrr:.4f}", int(cust), new, churned,
                         round(nps, 1), round(aware, 2), round(share, 2)])
    return bulk.rows_csv(rows)


_COMPETITORS = {
    "Retail/E-commerce": ("Trailhead Supply Co", "UrbanNest", "ShopMeadow", "Kestrel & Vine"),
    "SaaS/Technology": ("CloudForge", "Datapane", "Nimbus Metrics", "Orbitly"),
    "Finance": ("Granite Federal", "Beacon Mutual", "Crestline Capital", "Ironbridge Bank"),
    "Travel/Hospitality": ("Seabreeze Hotels", "Wanderlane", "Palmcrest Resorts",
                           "Horizon Trips"),
    "Luxury goods": ("Aurelia Maison", "Valmont Joaillier", "Casa Ferretti", "Lune & Or"),
}
_UPDATES = {
    "pricing": ("Cut prices on its best sellers by {p}%", "Introduced a {p}% loyalty discount",
                "Raised list prices by {p}% on premium lines"),
    "product": ("Launched a new flagship line", "Released a mobile app redesign",
                "Announced an integration partnership", "Opened a new flagship location"),
    "campaign": ("Started a national TV and YouTube campaign", "Ran a {p}%-off flash sale",
                 "Signed a celebrity ambassador", "Sponsored a major industry event"),
    "hiring": ("Hired a new CMO from a larger rival", "Is hiring {p} sales reps",
               "Expanded its performance-marketing team"),
}
COMPETITOR_COLUMNS = ["id", "company_id", "name", "industry", "website"]
COMPETITOR_METRIC_COLUMNS = ["competitor_id", "month", "market_share_pct", "estimated_ad_spend",
                             "share_of_voice_pct", "avg_cpc", "social_followers"]
COMPETITOR_UPDATE_COLUMNS = ["id", "competitor_id", "observed_on", "kind", "summary"]


def competitors(cal: Calendar, seed: int, company_ids: list[int]) -> tuple[bytes, bytes, bytes]:
    rng = stream(seed, "market", 2)
    comp_rows, metric_rows, update_rows = [], [], []
    ms = months(cal)
    for ci, comp in enumerate(COMPANIES):
        pool = _COMPETITORS[comp.industry]
        k = 3 + (ci % 2)
        names = [pool[(ci + j) % len(pool)] for j in range(k)]
        for name in names:
            cid = len(comp_rows) + 1
            site = "".join(ch for ch in name.lower() if ch.isalnum()) + ".example"
            comp_rows.append([cid, company_ids[ci], name, comp.industry, f"https://{site}"])
            share = rng.uniform(3, 18)
            spend = comp.daily_spend * 30 * rng.uniform(0.5, 1.8)
            sov = rng.uniform(8, 30)
            cpc = np.mean([CHANNELS[CHANNEL_INDEX[ch]].cpc for ch, _ in comp.tracks]) * rng.uniform(
                0.8, 1.3)
            followers = rng.uniform(20000, 900000)
            drift = rng.normal(0, 0.01)
            for m in ms:
                share = float(np.clip(share * np.exp(drift + rng.normal(0, 0.02)), 0.5, 40))
                spend = spend * np.exp(rng.normal(0, 0.08))
                sov = float(np.clip(sov * np.exp(drift + rng.normal(0, 0.04)), 1, 60))
                followers *= np.exp(0.01 + rng.normal(0, 0.01))
                metric_rows.append([cid, m, round(share, 2), f"{spend:.2f}", round(sov, 2),
                                    f"{cpc * np.exp(rng.normal(0, 0.05)):.4f}", int(followers)])
            for _ in range(int(rng.integers(5, 9))):
                kind = list(_UPDATES)[int(rng.integers(4))]
                text = _UPDATES[kind][int(rng.integers(len(_UPDATES[kind])))]
                day = cal.day(int(rng.integers(0, N_DAYS)))
                update_rows.append([day, cid, kind,
                                    f"{name}: {text.format(p=int(rng.integers(5, 31)))}."])
    update_rows.sort(key=lambda r: (r[0], r[1], r[3]))
    updates = [[i + 1, r[1], r[0], r[2], r[3]] for i, r in enumerate(update_rows)]
    return bulk.rows_csv(comp_rows), bulk.rows_csv(metric_rows), bulk.rows_csv(updates)


KPI_COLUMNS = ["id", "company_id", "metric", "period", "target", "direction"]
_KPIS = (("revenue", "higher"), ("spend", "lower"), ("roas", "higher"), ("conversions", "higher"),
         ("ctr", "higher"), ("cpa", "lower"), ("conversion_rate", "higher"), ("cpc", "lower"),
         ("leads", "higher"))


def kpi_targets(d: Design, company_ids: list[int]) -> bytes:
    """Targets a little better than each company's last 90 designed days."""
    rows = []
    recent = slice(N_DAYS - 91, N_DAYS - 1)
    for ci, comp in enumerate(COMPANIES):
        ts = [ti for ti, t in enumerate(TRACKS) if t.company == ci]
        tot = {k: float(getattr(d, k)[ts, recent].sum()) for k in
               ("impressions", "clicks", "conversions", "spend", "revenue")}
        days = recent.stop - recent.start
        spend, revenue = tot["spend"] / MONEY, tot["revenue"] / MONEY
        daily = {
            "revenue": revenue / days, "spend": spend / days, "roas": revenue / spend,
            "conversions": tot["conversions"] / days, "ctr": tot["clicks"] / tot["impressions"],
            "cpa": spend / tot["conversions"],
            "conversion_rate": tot["conversions"] / tot["clicks"], "cpc": spend / tot["clicks"],
            "leads": comp.leads,
        }
        additive = {"revenue", "spend", "conversions", "leads"}
        for metric, direction in _KPIS:
            target = daily[metric] * (1.08 if direction == "higher" else 0.95)
            for period, mult in (("day", 1.0), ("month", 30.0)):
                value = target * (mult if metric in additive else 1.0)
                rows.append([len(rows) + 1, company_ids[ci], metric, period,
                             float(f"{value:.6g}"), direction])
    return bulk.rows_csv(rows)


CONTENT_COLUMNS = ["id", "company_id", "channel_id", "title", "kind", "published_on", "views",
                   "engagements"]
_CONTENT = (
    ("blog", "Website", "{n}: {t} guide for {y}"),
    ("video", "YouTube", "{n} in 60 seconds: {t}"),
    ("whitepaper", "LinkedIn", "The {y} {t} report"),
    ("social post", "Instagram", "Behind the scenes at {n}: {t}"),
    ("social post", "Facebook", "{t}: what our customers say"),
)
_TOPICS = ("Getting started", "Best practices", "Trends to watch", "Buyer's checklist",
           "Customer story", "Product tour", "Seasonal picks", "Expert Q&A")


def content_items(cal: Calendar, seed: int, company_ids: list[int],
                  channel_ids: list[int]) -> bytes:
    rng = stream(seed, "content")
    rows = []
    for ci, comp in enumerate(COMPANIES):
        for _ in range(int(rng.integers(12, 21))):
            kind, channel, title = _CONTENT[int(rng.integers(len(_CONTENT)))]
            day = cal.day(int(rng.integers(0, N_DAYS)))
            views = int(np.exp(rng.normal(8.0, 1.0)))
            rows.append([day, company_ids[ci], channel_ids[CHANNEL_INDEX[channel]],
                         title.format(n=comp.name, t=_TOPICS[int(rng.integers(len(_TOPICS)))],
                                      y=day.year),
                         kind, views, int(views * rng.uniform(0.01, 0.12))])
    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    return bulk.rows_csv([[i + 1, r[1], r[2], r[3], r[4], r[0], r[5], r[6]]
                          for i, r in enumerate(rows)])
