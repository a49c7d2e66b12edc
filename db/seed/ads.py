"""Ad activity: the daily design of every track, and ``ad_events`` rows that carry it.

The design (scale-free) is a table of *cells*, one per track (company x channel) and day,
with integer impressions, clicks, conversions and money totals:

    volume  = daily_spend x channel share x weekly x yearly x growth x lognormal noise
    spend   = volume                         (x spend pattern)
    clicks  = volume / CPC                   (x clicks pattern)
    impr.   = clicks_base / CTR              (x impressions pattern, / ctr pattern)
    conv.   = clicks_base x CVR              (x conversions pattern)
    revenue = conversions_base x AOV         (x revenue pattern)

CTR, CPC, CVR and AOV are channel means x industry factors x a per company-channel factor,
with small daily noise. Then the requested number of rows is spread over the cells in
proportion to spend, at least one per cell, and each cell's totals are split over its rows
exactly (integer cumulative splitting), so the daily totals are the same at every scale.
Within a day, rows go to the campaigns active on the track (by weight), a device, a location
and a time of day from the hourly curve.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from db.seed import bulk, seasonality
from db.seed.campaigns import CampaignPlan
from db.seed.dimensions import (
    CHANNEL_INDEX,
    CHANNELS,
    COMPANIES,
    COMPANY_INDEX,
    DEVICE_CPC,
    DEVICE_CTR,
    DEVICE_CVR,
    DEVICES,
    INDUSTRIES,
    LOCATIONS,
    N_DAYS,
    TRACKS,
    Calendar,
    stream,
)
from db.seed.patterns import Pattern, trend_log

MONEY = 10_000  # money is carried as integers of 1/10000 USD
SIGMA_COMPANY = 0.07  # daily lognormal noise shared by a company's channels
SIGMA_TRACK = 0.035  # extra daily noise of one channel
NOISE_CLIP = 2.5  # noise is clipped at +-2.5 sigma: no accidental outliers
SIGMA_RATE = {"ctr": 0.03, "cpc": 0.03, "cvr": 0.04, "aov": 0.04}
CHUNK_ROWS = 400_000

AD_COLUMNS = ("id", "company_id", "campaign_id", "channel_id", "occurred_at", "location_id",
              "device", "impressions", "clicks", "conversions", "cost", "revenue", "ingested_at")


@dataclass
class Design:
    """Daily totals per (track, day); arrays of shape (tracks, days)."""

    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    spend: np.ndarray  # units of 1/10000 USD
    revenue: np.ndarray  # units of 1/10000 USD
    volume: np.ndarray  # float USD before patterns (activity index)


def pattern_multipliers(patterns: list[Pattern], cal: Calendar) -> dict[str, np.ndarray]:
    """Per-metric multipliers of shape (tracks, days) from the injected patterns."""
    mult = {m: np.ones((len(TRACKS), N_DAYS)) for m in
            ("spend", "clicks", "impressions", "conversions", "revenue")}
    idx = np.arange(N_DAYS)
    for p in patterns:
        ci = COMPANY_INDEX[p.company]
        rows = [ti for ti, t in enumerate(TRACKS) if t.company == ci
                and (p.channel is None or t.channel == CHANNEL_INDEX[p.channel])]
        assert rows, f"pattern on a channel the company does not buy: {p}"
        metric, factor = p.metric, p.magnitude
        if p.kind == "anomaly":
            days = slice(cal.index(p.start_day), cal.index(p.end_day) + 1)
            if metric == "ctr":
                metric, factor = "impressions", 1.0 / factor
            for ti in rows:
                mult[metric][ti, days] *= factor
        else:
            log = trend_log(idx, cal.index(p.start_day), p.slope_before, p.slope_after)
            for ti in rows:
                mult[metric][ti] *= np.exp(log - log.mean())
    return mult


def design(cal: Calendar, seed: int, patterns: list[Pattern]) -> Design:
    rng = stream(seed, "design")
    n_t = len(TRACKS)
    idx = np.arange(N_DAYS)
    dates, dow = cal.dates, cal.dow
    def noise(sigma, shape):
        return sigma * np.clip(rng.standard_normal(shape), -NOISE_CLIP, NOISE_CLIP)

    company_noise = noise(SIGMA_COMPANY, (len(COMPANIES), N_DAYS))
    track_noise = noise(SIGMA_TRACK, (n_t, N_DAYS))
    rates = {k: noise(s, (n_t, N_DAYS)) for k, s in SIGMA_RATE.items()}
    level = np.exp(rng.normal(0, [0.15, 0.10, 0.15, 0.08], (n_t, 4)))  # ctr, cpc, cvr, aov
    vol = np.empty((n_t, N_DAYS))
    ctr, cpc, cvr, aov = (np.empty((n_t, N_DAYS)) for _ in range(4))
    for ti, tr in enumerate(TRACKS):
        comp = COMPANIES[tr.company]
        ind = INDUSTRIES[comp.industry]
        ch = CHANNELS[tr.channel]
        log = (seasonality.yearly_log(comp.industry, dates) + comp.growth * (idx - N_DAYS) / 365.25
               + company_noise[tr.company] + track_noise[ti])
        vol[ti] = comp.daily_spend * tr.share * seasonality.weekly(comp.industry, dow) * np.exp(log)
        ctr[ti] = ch.ctr * ind.ctr * level[ti, 0] * np.exp(rates["ctr"][ti])
        cpc[ti] = ch.cpc * ind.cpc * level[ti, 1] * np.exp(rates["cpc"][ti])
        cvr[ti] = ch.cvr * ind.cvr * level[ti, 2] * np.exp(rates["cvr"][ti])
        aov[ti] = ind.aov * level[ti, 3] * np.exp(rates["aov"][ti])
    # Recurring public holidays (the same effect both years), then the last day, which may be
    # partial (end_date == today): only the hours so far.
    vol *= seasonality.holiday_multiplier(cal.start_date, cal.end_date)
    vol[:, -1] *= seasonality.day_fraction(cal.cutoff_seconds)
    m = pattern_multipliers(patterns, cal)
    clicks_base = vol / cpc
    conv_base = clicks_base * cvr
    return Design(
        impressions=np.rint(clicks_base / ctr * m["impressions"]).astype(np.int64),
        clicks=np.rint(clicks_base * m["clicks"]).astype(np.int64),
        conversions=np.rint(conv_base * m["conversions"]).astype(np.int64),
        spend=np.rint(vol * m["spend"] * MONEY).astype(np.int64),
        revenue=np.rint(conv_base * aov * m["revenue"] * MONEY).astype(np.int64),
        volume=vol,
    )


def allocate_rows(activity: np.ndarray, total: int) -> np.ndarray:
    """Rows per cell: one each, the rest in proportion to activity (largest remainder)."""
    n = activity.size
    if total < n:
        raise ValueError(f"need at least {n} ad event rows, got {total}")
    share = activity / activity.sum() * (total - n)
    base = np.floor(share).astype(np.int64)
    left = total - n - int(base.sum())
    if left:
        order = np.argsort(-(share - base), kind="stable")
        base[order[:left]] += 1
    return base + 1


def expected_campaign_spend(plan: CampaignPlan, d: Design) -> np.ndarray:
    """Each campaign's expected share of its track's designed spend (USD), for budgets."""
    w = plan.slot_weight
    share = w / w.sum(axis=2, keepdims=True)
    out = np.zeros(len(plan))
    spend = d.spend / MONEY
    for ti in range(len(TRACKS)):
        for s, ci in enumerate(plan.slot_campaign[ti]):
            if ci >= 0:
                out[ci] = float((share[ti, :, s] * spend[ti]).sum())
    return out


class AdRows:
    """Generates the ``ad_events`` CSV in day-aligned chunks of about ``CHUNK_ROWS`` rows."""

    def __init__(self, cal: Calendar, seed: int, d: Design, plan: CampaignPlan, rows: int,
                 company_ids: list[int], channel_ids: list[int], location_ids: list[int]):
        self.cal, self.seed, self.plan = cal, seed, plan
        n_t = len(TRACKS)
        # cells in day-major order: cell = day * tracks + track
        self.totals = np.stack([x.T.reshape(-1) for x in
                                (d.impressions, d.clicks, d.conversions, d.spend, d.revenue)])
        self.n_rows = allocate_rows(d.volume.T.reshape(-1), rows)
        self.track_of_cell = np.tile(np.arange(n_t), N_DAYS)
        self.day_of_cell = np.repeat(np.arange(N_DAYS), n_t)
        self.company_ids = np.asarray(company_ids, np.int64)
        self.channel_ids = np.asarray(channel_ids, np.int64)
        self.location_ids = np.asarray(location_ids, np.int64)
        self.track_company = np.array([t.company for t in TRACKS])
        self.track_channel = np.array([t.channel for t in TRACKS])
        # device choice per channel, location choice per company (national campaigns)
        dev = np.array([c.devices for c in CHANNELS])
        self.dev_cum = (np.cumsum(dev / dev.sum(1, keepdims=True), 1)
                        + np.arange(len(CHANNELS))[:, None])
        self.dev_cum[:, -1] = np.arange(1, len(CHANNELS) + 1)
        self.dev_cum = self.dev_cum.reshape(-1)
        pop = np.array([loc[4] for loc in LOCATIONS])
        region = np.array([loc[1] for loc in LOCATIONS])
        lrng = stream(seed, "design", 1)
        lw = []
        for _ in COMPANIES:
            skew = {r: lrng.uniform(0.7, 1.4) for r in ("East", "Central", "South", "West")}
            lw.append(pop * np.array([skew[r] for r in region]))
        lw = np.array(lw)
        lc = np.cumsum(lw / lw.sum(1, keepdims=True), 1)
        lc[:, -1] = 1.0
        self.loc_cum = (lc + np.arange(len(COMPANIES))[:, None]).reshape(-1)
        self.n_loc = len(LOCATIONS)
        # day-aligned chunks
        per_day = self.n_rows.reshape(N_DAYS, n_t).sum(axis=1)
        self.chunks: list[tuple[int, int]] = []
        first, acc = 0, 0
        for day in range(N_DAYS):
            acc += int(per_day[day])
            if acc >= CHUNK_ROWS or day == N_DAYS - 1:
                self.chunks.append((first, day + 1))
                first, acc = day + 1, 0
        self.first_id_of_day = np.concatenate([[1], 1 + np.cumsum(per_day)])
        self.total_rows = int(self.n_rows.sum())

    def chunk(self, k: int) -> tuple[bytes, int]:
        d0, d1 = self.chunks[k]
        n_t = len(TRACKS)
        c0, c1 = d0 * n_t, d1 * n_t
        rng = stream(self.seed, "ad_rows", k)
        nr = self.n_rows[c0:c1]
        n = int(nr.sum())
        cell = np.repeat(np.arange(c0, c1), nr)
        track = self.track_of_cell[cell]
        day = self.day_of_cell[cell]
        company = self.track_company[track]
        channel = self.track_channel[track]
        # campaign, device, location
        campaign = self.plan.pick(track, day, rng.random(n))
        dpos = np.searchsorted(self.dev_cum, channel + rng.random(n), side="right")
        device = np.minimum(dpos - channel * 3, 2)
        lpos = np.searchsorted(self.loc_cum, company + rng.random(n), side="right")
        location = np.minimum(lpos - company * self.n_loc, self.n_loc - 1)
        local = self.plan.location[campaign]
        location = np.where(local >= 0, local, location)
        # time of day (the last day stops at the cutoff)
        limit = np.where(day == N_DAYS - 1, self.cal.cutoff_seconds, 86400)
        secs = seasonality.seconds_of_day(rng.random(n), limit)
        # split each cell's totals over its rows
        base = rng.gamma(2.0, 1.0, n)
        f = self.plan.factors[campaign]
        w_impr = base
        w_clicks = base * f[:, 0] * DEVICE_CTR[device]
        w_spend = w_clicks * f[:, 1] * DEVICE_CPC[device]
        w_conv = w_clicks * f[:, 2] * DEVICE_CVR[device]
        w_rev = w_conv * f[:, 3]
        starts = np.concatenate([[0], np.cumsum(nr)[:-1]])
        last = np.cumsum(nr) - 1
        local_cell = cell - c0
        values = []
        for m, w in enumerate((w_impr, w_clicks, w_conv, w_spend, w_rev)):
            cs = np.cumsum(w)
            before = np.where(starts > 0, cs[starts - 1], 0.0)
            tot = cs[last] - before
            frac = (cs - before[local_cell]) / tot[local_cell]
            frac[last] = 1.0
            cum = np.floor(self.totals[m, cell] * frac).astype(np.int64)
            prev = np.empty_like(cum)
            prev[0] = 0
            prev[1:] = cum[:-1]
            prev[starts] = 0
            values.append(cum - prev)
        impressions, clicks, conversions, spend, revenue = values
        # order by time; ids follow the stream order
        order = np.lexsort((secs, day))
        epoch = (self.cal.day0 + day[order]) * 86400 + secs[order]
        ids = self.first_id_of_day[d0] + np.arange(n)
        campaign = campaign[order]
        ts = bulk.timestamp_block(epoch)
        data = bulk.encode_rows([
            bulk.uint_block(ids),
            bulk.uint_block(self.company_ids[company[order]]),
            bulk.uint_block(campaign + 1),
            bulk.uint_block(self.channel_ids[channel[order]]),
            ts,
            bulk.uint_block(self.location_ids[location[order]]),
            bulk.cat_block(device[order], DEVICES),
            bulk.uint_block(impressions[order]),
            bulk.uint_block(clicks[order]),
            bulk.uint_block(conversions[order]),
            bulk.fixed_block(spend[order], 4),
            bulk.fixed_block(revenue[order], 4),
            ts,
        ])
        return data, n

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        for k in range(len(self.chunks)):
            yield self.chunk(k)
