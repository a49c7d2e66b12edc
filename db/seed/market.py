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
# kind -> (summaries, where such news is read)
_UPDATES = {
    "pricing": (("Cut prices on its best sellers by {p}%", "Introduced a {p}% loyalty discount",
                 "Raised list prices by {p}% on premium lines"), "pricing page"),
    "product": (("Launched a new flagship line", "Released a mobile app redesign",
                 "Opened a new flagship location"), "press release"),
    "campaign": (("Started a national TV and YouTube campaign", "Ran a {p}%-off flash sale",
                  "Signed a celebrity ambassador", "Sponsored a major industry event"),
                 "ad library"),
    "partnership": (("Announced an integration partnership", "Signed a co-marketing deal "
                     "with a large retailer"), "news article"),
    "hiring": (("Hired a new CMO from a larger rival", "Is hiring {p} sales reps",
                "Expanded its performance-marketing team"), "job board"),
    "positioning": (("Repositioned as the premium choice in its category",
                     "Rebranded with a new tagline and visual identity"), "website"),
}
# A surging competitor's last months: what it announced (the threat's evidence).
_SURGE_NEWS = (("campaign", "Started a national TV and YouTube campaign"),
               ("pricing", "Cut prices on its best sellers by 15%"),
               ("hiring", "Expanded its performance-marketing team"))
# added_at and created_at are given (not now()): the same inputs give identical tables.
COMPETITOR_COLUMNS = ["id", "company_id", "name", "industry", "website", "added_at"]
ESTIMATE_COLUMNS = ["company_id", "competitor_id", "month", "metric", "channel", "low", "high",
                    "method", "source"]
COMPETITOR_UPDATE_COLUMNS = ["id", "company_id", "competitor_id", "observed_on", "kind",
                             "summary", "url", "source", "source_key", "created_at"]
# How each estimate is made (the view names these beside every range).
METHODS = {
    "market_share": ("analyst estimate from reported revenue / category size",
                     "industry analyst report (demo)"),
    "ad_spend": ("estimated impressions x benchmark CPM range", "ad intelligence panel (demo)"),
    "avg_cpc": ("keyword tool top-of-page bid range", "keyword planner (demo)"),
    "social_followers": ("public follower counts (exact)", "public social profiles (demo)"),
    "voice_social": ("brand mentions counted by social listening (+/- 15 % coverage)",
                     "social listening tool (demo)"),
    "voice_search": ("monthly branded searches, keyword tool range",
                     "keyword planner (demo)"),
}
SURGE_MONTHS = 4  # the first competitor of each company surges over its last months


def _estimate(company_id, brand, month, metric, channel, low, high, key=None) -> list:
    method, source = METHODS[key or metric]
    return [company_id, brand, month, metric, channel, f"{low:.6g}", f"{high:.6g}", method,
            source]


def competitors(cal: Calendar, seed: int, company_ids: list[int]) -> tuple[bytes, bytes, bytes]:
    """Each company's 3 or 4 competitors with monthly estimates as ranges (method and source
    named), the company's own voice and followers measured the same way (competitor 0), and
    a history of dated updates with links. The first competitor surges over the last
    ``SURGE_MONTHS`` months (spend, voice and share up, with news to show for it); the last
    one loses ground."""
    rng = stream(seed, "market", 2)
    comp_rows, estimate_rows, update_rows = [], [], []
    ms = months(cal)
    for ci, comp in enumerate(COMPANIES):
        company_id = company_ids[ci]
        base_share = _BUSINESS[comp.industry][6]
        pool = _COMPETITORS[comp.industry]
        k = 3 + (ci % 2)
        names = [pool[(ci + j) % len(pool)] for j in range(k)]
        # The company itself: voice and followers by the same methods as its competitors.
        brands = [(0, None, base_share * rng.uniform(0.8, 1.2))]
        for name in names:
            cid = len(comp_rows) + 1
            site = "".join(ch for ch in name.lower() if ch.isalnum()) + ".example"
            comp_rows.append([cid, company_id, name, comp.industry, f"https://{site}",
                              f"{cal.start_date.isoformat()} 00:00:00+00"])
            brands.append((cid, name, base_share * rng.uniform(0.5, 1.9)))
        cpc = float(np.mean([CHANNELS[CHANNEL_INDEX[ch]].cpc for ch, _ in comp.tracks]))
        for j, (cid, name, share) in enumerate(brands):
            surge = j == 1
            decline = j == len(brands) - 1 and j > 1
            spend = comp.daily_spend * 30 * rng.uniform(0.5, 1.8) * share / base_share
            mentions = 2500 * share * rng.uniform(0.6, 1.4)
            searches = 9000 * share * rng.uniform(0.6, 1.4)
            bid = cpc * rng.uniform(0.75, 1.35)
            followers = rng.uniform(20000, 900000)
            drift = rng.normal(0, 0.006)
            for mi, m in enumerate(ms):
                push = 0.0
                if mi >= len(ms) - SURGE_MONTHS and (surge or decline):
                    push = 0.07 if surge else -0.05
                share = float(np.clip(share * np.exp(drift + push / 2 + rng.normal(0, 0.015)),
                                      0.3, 40))
                spend *= np.exp(push * 2.5 + rng.normal(0, 0.06))
                mentions *= np.exp(drift + push * 2 + rng.normal(0, 0.05))
                searches *= np.exp(drift + push + rng.normal(0, 0.04))
                bid *= np.exp(rng.normal(0, 0.03))
                followers *= np.exp(0.008 + push / 3 + rng.normal(0, 0.006))
                estimate_rows.append(_estimate(company_id, cid, m, "voice", "Social",
                                               mentions * 0.85, mentions * 1.15,
                                               "voice_social"))
                band = 10 ** np.floor(np.log10(searches))  # keyword tools round to buckets
                estimate_rows.append(_estimate(
                    company_id, cid, m, "voice", "Search",
                    np.floor(searches / band * 2) * band / 2,
                    (np.floor(searches / band * 2) + 1) * band / 2, "voice_search"))
                estimate_rows.append(_estimate(company_id, cid, m, "social_followers", "all",
                                               int(followers), int(followers)))
                if cid == 0:
                    continue  # its share, spend and CPC are the company's own data
                width = rng.uniform(0.08, 0.16)
                estimate_rows.append(_estimate(company_id, cid, m, "market_share", "all",
                                               share * (1 - width), share * (1 + width)))
                estimate_rows.append(_estimate(company_id, cid, m, "ad_spend", "all",
                                               spend * 0.75, spend * 1.3))
                estimate_rows.append(_estimate(company_id, cid, m, "avg_cpc", "all",
                                               bid * 0.8, bid * 1.2))
            if cid == 0:
                continue
            site = comp_rows[cid - 1][4]
            news = []
            for _ in range(int(rng.integers(5, 9))):
                kind = list(_UPDATES)[int(rng.integers(len(_UPDATES)))]
                texts = _UPDATES[kind][0]
                text = texts[int(rng.integers(len(texts)))].format(p=int(rng.integers(5, 31)))
                news.append((cal.day(int(rng.integers(0, N_DAYS - 30 * SURGE_MONTHS))), kind,
                             text))
            if surge:
                for n, (kind, text) in enumerate(_SURGE_NEWS):
                    news.append((cal.day(N_DAYS - 30 * SURGE_MONTHS + 25 + 30 * n), kind, text))
            for day, kind, text in news:
                slug = "-".join(text.lower().replace("%", "pct").split()[:6])
                update_rows.append([day, company_id, cid, kind, f"{name}: {text}.",
                                    f"{site}/news/{day.isoformat()}-{slug}",
                                    _UPDATES[kind][1]])
    update_rows.sort(key=lambda r: (r[0], r[2], r[4]))
    updates = [[i + 1, r[1], r[2], r[0], r[3], r[4], r[5], r[6], f"demo:{i + 1}",
                f"{r[0].isoformat()} 12:00:00+00"]
               for i, r in enumerate(update_rows)]
    return bulk.rows_csv(comp_rows), bulk.rows_csv(estimate_rows), bulk.rows_csv(updates)


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
