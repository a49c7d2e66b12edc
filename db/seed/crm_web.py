"""Leads and their status history, daily web traffic, and customer journeys (touchpoints).

These follow the same weekly / yearly / growth shapes as the ad design but carry no injected
patterns. Their sizes do not depend on the number of events.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from db.seed import bulk, seasonality
from db.seed.campaigns import CampaignPlan
from db.seed.dimensions import (
    CHANNEL_INDEX,
    CHANNELS,
    COMPANIES,
    DEVICES,
    INDUSTRIES,
    N_DAYS,
    TRACKS,
    Calendar,
    stream,
)

LEAD_STATUSES = ("new", "contacted", "qualified", "opportunity", "won", "lost")
DAY = 86400


def _shape(cal: Calendar, ci: int) -> np.ndarray:
    """Daily demand shape of a company (mean ~1): weekly x yearly x growth."""
    comp = COMPANIES[ci]
    idx = np.arange(N_DAYS)
    return seasonality.weekly(comp.industry, cal.dow) * np.exp(
        seasonality.yearly_log(comp.industry, cal.dates) + comp.growth * (idx - N_DAYS) / 365.25)


def _track_of_company(company: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A track of each company, chosen by spend share."""
    n_c = len(COMPANIES)
    cum = np.zeros((n_c, 3))
    member = np.full((n_c, 3), -1)
    for c in range(n_c):
        ts = [ti for ti, t in enumerate(TRACKS) if t.company == c]
        sh = np.array([TRACKS[ti].share for ti in ts])
        cum[c, : len(ts)] = np.cumsum(sh / sh.sum())
        cum[c, len(ts):] = 1.0
        member[c, : len(ts)] = ts
    cum[:, -1] = 1.0
    pos = (u[:, None] >= cum[company]).sum(axis=1)
    return member[company, np.minimum(pos, 2)]


def leads(cal: Calendar, seed: int, plan: CampaignPlan, company_ids: list[int],
          channel_ids: list[int], segment_ids: list[int], scale: float = 1.0
          ) -> tuple[Iterator[tuple[bytes, int]], Iterator[tuple[bytes, int]], int]:
    """CSV chunks of leads and of lead_status_changes (new -> contacted -> qualified ->
    opportunity -> won/lost, lost possible after contact), censored at the end of the
    history, and the number of leads. ``scale`` multiplies every company's daily leads (the
    bench's large histories)."""
    rng = stream(seed, "leads")
    lam = np.stack([COMPANIES[c].leads * scale * _shape(cal, c)
                    for c in range(len(COMPANIES))])
    lam[:, -1] *= seasonality.day_fraction(cal.cutoff_seconds)
    counts = rng.poisson(lam)
    company = np.repeat(np.repeat(np.arange(len(COMPANIES)), N_DAYS), counts.reshape(-1))
    day = np.repeat(np.tile(np.arange(N_DAYS), len(COMPANIES)), counts.reshape(-1))
    n = len(company)
    limit = np.where(day == N_DAYS - 1, cal.cutoff_seconds, DAY)
    t0 = (cal.day0 + day) * DAY + seasonality.seconds_of_day(rng.random(n), limit)
    order = np.lexsort((company, t0))
    company, day, t0 = company[order], day[order], t0[order]
    track = _track_of_company(company, rng.random(n))
    campaign = plan.pick(track, day, rng.random(n))
    end = cal.cutoff_epoch

    def step(t, p, lo, hi):
        tt = t + (rng.uniform(lo, hi, n) * DAY).astype(np.int64)
        return tt, (rng.random(n) < p) & (tt < end)

    t1, contacted = step(t0, 0.85, 0.2, 3)
    t2, qualified = step(t1, 0.55, 1, 10)
    qualified &= contacted
    t3, opportunity = step(t2, 0.50, 3, 20)
    opportunity &= qualified
    t4, closed = step(t3, 1.0, 7, 40)
    closed &= opportunity
    won = closed & (rng.random(n) < 0.4)
    lost_late = closed & ~won
    tl1, lost1 = step(t1, 0.5, 5, 30)
    lost1 &= contacted & ~qualified
    tl2, lost2 = step(t2, 0.6, 5, 30)
    lost2 &= qualified & ~opportunity
    status = np.zeros(n, np.int64)
    status[contacted] = 1
    status[qualified] = 2
    status[opportunity] = 3
    status[won] = 4
    status[lost_late | lost1 | lost2] = 5
    lo = np.array([INDUSTRIES[c.industry].deal[0] for c in COMPANIES])[company]
    hi = np.array([INDUSTRIES[c.industry].deal[1] for c in COMPANIES])[company]
    value = np.rint(rng.uniform(lo, hi) * 100).astype(np.int64) * 100
    cid = np.asarray(company_ids, np.int64)
    segment_of = np.asarray(segment_ids)[np.array([plan.rows[c]["segment"]
                                                   for c in range(len(plan))])]

    def lead_blocks(part: slice) -> list:
        return [
            bulk.uint_block(np.arange(part.start + 1, part.stop + 1)),
            bulk.uint_block(cid[company[part]]),
            bulk.uint_block(campaign[part] + 1),
            bulk.uint_block(np.asarray(channel_ids)[plan.channel[campaign[part]]]),
            bulk.uint_block(segment_of[campaign[part]]),
            bulk.timestamp_block(t0[part]),
            bulk.cat_block(status[part], LEAD_STATUSES),
            bulk.fixed_block(value[part], 4),
        ]

    # status changes: (lead, time, from, to)
    lead = np.arange(n)
    parts = [
        (lead, t0, np.full(n, -1), np.zeros(n, np.int64), np.ones(n, bool)),
        (lead, t1, np.zeros(n, np.int64), np.full(n, 1), contacted),
        (lead, t2, np.full(n, 1), np.full(n, 2), qualified),
        (lead, t3, np.full(n, 2), np.full(n, 3), opportunity),
        (lead, t4, np.full(n, 3), np.where(won, 4, 5), closed),
        (lead, tl1, np.full(n, 1), np.full(n, 5), lost1),
        (lead, tl2, np.full(n, 2), np.full(n, 5), lost2),
    ]
    lid = np.concatenate([p[0][p[4]] for p in parts])
    t = np.concatenate([p[1][p[4]] for p in parts])
    frm = np.concatenate([p[2][p[4]] for p in parts])
    to = np.concatenate([p[3][p[4]] for p in parts])
    order = np.lexsort((to, lid, t))
    lid, t, frm, to = lid[order], t[order], frm[order], to[order]
    m = len(lid)

    def change_blocks(part: slice) -> list:
        return [
            bulk.uint_block(np.arange(part.start + 1, part.stop + 1)),
            bulk.uint_block(cid[company[lid[part]]]),
            bulk.uint_block(lid[part] + 1),
            bulk.timestamp_block(t[part]),
            bulk.cat_block(np.maximum(frm[part], 0), LEAD_STATUSES, null=frm[part] < 0),
            bulk.cat_block(to[part], LEAD_STATUSES),
        ]

    return bulk.encode_chunks(n, lead_blocks), bulk.encode_chunks(m, change_blocks), n


LEAD_COLUMNS = ["id", "company_id", "campaign_id", "channel_id", "segment_id", "created_at",
                "status", "value"]
CHANGE_COLUMNS = ["id", "company_id", "lead_id", "changed_at", "from_status", "to_status"]

# web traffic: source share, bounce rate, seconds per session, pages per session, conv. rate
SOURCES = ("organic", "paid", "email", "social", "referral", "direct")
_SRC = np.array([
    [0.38, 0.42, 190, 3.1, 0.022],
    [0.22, 0.48, 150, 2.6, 0.028],
    [0.08, 0.35, 210, 3.4, 0.035],
    [0.14, 0.58, 95, 1.9, 0.009],
    [0.06, 0.40, 170, 2.8, 0.018],
    [0.12, 0.38, 230, 3.6, 0.030],
])
_DEV_SHARE = np.array([  # desktop, mobile, tablet by source
    [0.45, 0.47, 0.08], [0.40, 0.52, 0.08], [0.50, 0.43, 0.07],
    [0.15, 0.80, 0.05], [0.48, 0.45, 0.07], [0.55, 0.38, 0.07],
])
_DEV_EFFECT = np.array([[0.9, 1.1, 1.25], [1.12, 0.8, 0.75], [1.0, 1.0, 1.0]])  # bounce, dur, cvr
_NEW_SHARE = np.array([0.70, 0.80, 0.25, 0.65, 0.72, 0.40])
_WEB_CVR_INDUSTRY = {"Retail/E-commerce": 1.0, "SaaS/Technology": 0.6, "Finance": 0.5,
                     "Travel/Hospitality": 0.7, "Luxury goods": 0.25}
WEB_COLUMNS = ["company_id", "day", "source", "device", "visitor_type", "sessions", "bounces",
               "duration_seconds", "pageviews", "conversions"]


def web_traffic(cal: Calendar, seed: int, company_ids: list[int]) -> tuple[bytes, int]:
    rng = stream(seed, "web")
    n_c, n_s, n_d = len(COMPANIES), len(SOURCES), len(DEVICES)
    shape = (n_c, N_DAYS, n_s, n_d, 2)
    c, d, s, v, nr = (a.reshape(-1) for a in np.indices(shape))
    base = np.stack([COMPANIES[k].sessions * _shape(cal, k) for k in range(n_c)])
    base *= np.exp(rng.normal(0, 0.06, base.shape))
    base[:, -1] *= seasonality.day_fraction(cal.cutoff_seconds)
    new_share = np.where(nr == 0, _NEW_SHARE[s], 1 - _NEW_SHARE[s])
    mean = base[c, d] * _SRC[s, 0] * _DEV_SHARE[s, v] * new_share
    sessions = np.rint(mean * np.exp(rng.normal(0, 0.05, c.size))).astype(np.int64)
    visitor = np.array([1.08, 0.85])[nr]
    br = np.clip(_SRC[s, 1] * _DEV_EFFECT[0, v] * visitor, 0.05, 0.95)
    bounces = rng.binomial(sessions, br)
    dur = _SRC[s, 2] * _DEV_EFFECT[1, v] * np.array([0.85, 1.3])[nr]
    duration = np.rint(sessions * dur * np.exp(rng.normal(0, 0.05, c.size))).astype(np.int64)
    pages = np.rint(sessions * _SRC[s, 3] * np.array([0.9, 1.2])[nr]
                    * np.exp(rng.normal(0, 0.04, c.size))).astype(np.int64)
    ind = np.array([_WEB_CVR_INDUSTRY[k.industry] for k in COMPANIES])
    cvr = np.clip(_SRC[s, 4] * _DEV_EFFECT[2, v] * ind[c] * np.array([0.8, 1.35])[nr], 0, 1)
    conversions = rng.binomial(sessions, cvr)
    csv = bulk.encode_rows([
        bulk.uint_block(np.asarray(company_ids, np.int64)[c]),
        bulk.date_block(cal.day0 + d),
        bulk.cat_block(s, SOURCES),
        bulk.cat_block(v, DEVICES),
        bulk.cat_block(nr, ["new", "returning"]),
        bulk.uint_block(sessions),
        bulk.uint_block(bounces),
        bulk.uint_block(duration),
        bulk.uint_block(pages),
        bulk.uint_block(conversions),
    ])
    return csv, c.size


TOUCH_COLUMNS = ["id", "company_id", "journey_id", "position", "channel_id", "campaign_id",
                 "touched_at", "converted", "conversion_value"]
JOURNEYS_PER_COMPANY = 1200
_STEP_P = np.array([0.22, 0.25, 0.20, 0.15, 0.10, 0.08])
# channel kind preference by position: first, middle, last
_KIND_W = {"social": (3.0, 1.5, 1.0), "video": (2.0, 1.0, 0.5), "paid_search": (1.5, 2.0, 3.0),
           "email": (0.5, 1.5, 2.5), "web": (1.0, 1.5, 2.0)}


def touchpoints(cal: Calendar, seed: int, plan: CampaignPlan, email_campaigns: list[int],
                company_ids: list[int], channel_ids: list[int]) -> tuple[bytes, int]:
    """Journeys of 1-6 touches over the company's channels; ~35 % convert on the last one."""
    rng = stream(seed, "touchpoints")
    n_c, J = len(COMPANIES), JOURNEYS_PER_COMPANY
    steps = rng.choice(6, size=n_c * J, p=_STEP_P) + 1
    j_company = np.repeat(np.arange(n_c), J)
    shapes = np.stack([_shape(cal, k) for k in range(n_c)])
    shapes[:, :21] = 0  # journeys end after their first touches are inside the history
    cum = np.cumsum(shapes / shapes.sum(1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    end_day = (rng.random(n_c * J)[:, None] >= cum[j_company]).sum(axis=1)
    end_day = np.minimum(end_day, N_DAYS - 1)
    limit = np.where(end_day == N_DAYS - 1, cal.cutoff_seconds, DAY)
    end_t = (cal.day0 + end_day) * DAY + seasonality.seconds_of_day(rng.random(n_c * J), limit)
    # rows
    j = np.repeat(np.arange(n_c * J), steps)
    n = len(j)
    first_row = np.r_[0, np.cumsum(steps)[:-1]]
    position = np.arange(n) - np.repeat(first_row, steps) + 1
    back = np.repeat(steps, steps) - position  # touches after this one
    gaps = (rng.uniform(0.1, 4.0, n) * DAY).astype(np.int64)
    # time of a touch = journey end - the gaps of the touches after it (suffix sums)
    g = np.where(back > 0, gaps, 0)
    rev = np.r_[np.cumsum(g[::-1])[::-1], 0]
    after = rev[np.repeat(first_row + steps, steps)]
    t = end_t[j] - (rev[:-1] - after)
    company = j_company[j]
    # channel choice by position class among the company's channels
    pools = []
    for k in range(n_c):
        chans = sorted({TRACKS[ti].channel for ti in range(len(TRACKS)) if TRACKS[ti].company == k}
                       | {CHANNEL_INDEX["Email"], CHANNEL_INDEX["Website"]})
        pools.append(chans)
    width = max(len(p) for p in pools)
    cls = np.where(position == 1, 0, np.where(back == 0, 2, 1))
    cw = np.zeros((n_c, 3, width))
    member = np.zeros((n_c, width), np.int64)
    for k, chans in enumerate(pools):
        member[k, : len(chans)] = chans
        for c3 in range(3):
            w = np.array([_KIND_W[CHANNELS[ch].kind][c3] for ch in chans])
            cw[k, c3, : len(chans)] = np.cumsum(w / w.sum())
            cw[k, c3, len(chans):] = 1.0
    cw[:, :, -1] = 1.0
    pick = (rng.random(n)[:, None] >= cw[company, cls]).sum(axis=1)
    channel = member[company, np.minimum(pick, width - 1)]
    day = np.clip(t // DAY - cal.day0, 0, N_DAYS - 1)
    # campaign: the track's campaign that day, the brand's email campaign, or none
    track_of = np.full((n_c, len(CHANNELS)), -1)
    for ti, tr in enumerate(TRACKS):
        track_of[tr.company, tr.channel] = ti
    tr = track_of[company, channel]
    campaign = np.full(n, -1)
    has = tr >= 0
    campaign[has] = plan.pick(tr[has], day[has], rng.random(int(has.sum())))
    for ci in email_campaigns:
        r = plan.rows[ci]
        first = (r["start_date"] - cal.start_date).days
        last = (r["end_date"] - cal.start_date).days
        hit = (company == r["company"]) & (channel == CHANNEL_INDEX["Email"]) & (
            day >= first) & (day <= last)
        campaign[hit] = ci
    last_touch = back == 0
    converted = last_touch & (rng.random(n) < 0.35)
    aov = np.array([INDUSTRIES[c.industry].aov for c in COMPANIES])[company]
    value = np.where(converted, np.rint(aov * np.exp(rng.normal(0, 0.5, n)) * 100), 0)
    value = value.astype(np.int64) * 100
    slugs = [c.slug for c in COMPANIES]
    vocab = [f"{slugs[k]}-j{i:05d}" for k in range(n_c) for i in range(J)]
    csv = bulk.encode_rows([
        bulk.uint_block(np.arange(1, n + 1)),
        bulk.uint_block(np.asarray(company_ids, np.int64)[company]),
        bulk.cat_block(j, vocab),
        bulk.uint_block(position),
        bulk.uint_block(np.asarray(channel_ids, np.int64)[channel]),
        bulk.uint_block(np.maximum(campaign, 0) + 1, null=campaign < 0),
        bulk.timestamp_block(t),
        bulk.bool_block(converted),
        bulk.fixed_block(value, 4),
    ])
    return csv, n
