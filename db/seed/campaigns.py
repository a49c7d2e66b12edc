"""Campaign plans: which campaigns each company ran, when, on which channel.

Every company has always-on *tracks* (one per ad channel it buys). On a track, a chain of
campaigns (80-200 days each, slightly overlapping) covers the whole history, so the
company's channel series never has holes; extra short promotions, a paused campaign or a
draft sit on top. A track's daily totals are designed in ``ads.py``; the campaigns active on
a day share them by weight (ramping up and down over their first and last week), so campaign
starts and ends move activity between campaigns without bending the company series.

The plan does not depend on the number of events, only on the seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from db.seed.bulk import pg_array
from db.seed.dimensions import (
    CHANNELS,
    COMPANIES,
    INDUSTRIES,
    LOCATIONS,
    N_DAYS,
    SEGMENT_INDEX,
    TRACKS,
    Calendar,
    stream,
)

_GOALS_BY_CHANNEL = {
    "Google Ads": ("sales", "leads", "traffic"),
    "Facebook": ("awareness", "traffic", "sales"),
    "LinkedIn": ("leads", "awareness"),
    "Instagram": ("awareness", "sales", "traffic"),
    "YouTube": ("awareness", "traffic"),
    "Email": ("sales", "traffic", "leads"),
    "Website": ("traffic", "sales"),
}
_TAGS_BY_CHANNEL = {
    "Google Ads": ("search", "brand-terms", "non-brand", "shopping", "performance-max"),
    "Facebook": ("prospecting", "retargeting", "lookalike", "carousel", "video"),
    "LinkedIn": ("b2b", "lead-gen-form", "abm", "sponsored-content", "thought-leadership"),
    "Instagram": ("reels", "stories", "influencer", "prospecting", "shoppable"),
    "YouTube": ("in-stream", "bumper", "brand-lift", "video"),
    "Email": ("newsletter", "promo", "lifecycle", "crm"),
    "Website": ("landing-page", "onsite", "seo", "personalization"),
}
_GENERIC_TAGS = ("evergreen", "seasonal", "test", "q1", "q2", "q3", "q4", "priority")
_PROJECTS = ("Always-on Acquisition", "Seasonal Promotions", "Brand Building", "Product Launch",
             "Customer Retention")
_LOCAL_SHARE = 0.25  # campaigns targeted at one city; the rest are national


@dataclass
class CampaignPlan:
    """Campaigns in id order (id = position + 1) and the per-track share of each day."""

    company: np.ndarray  # company index
    channel: np.ndarray  # channel index
    track: np.ndarray  # track index, -1 if the campaign has no ad activity
    act_first: np.ndarray  # first day index with activity
    act_last: np.ndarray  # last day index with activity (< act_first: none)
    location: np.ndarray  # location index or -1 (national)
    factors: np.ndarray  # (n, 4): CTR, CPC, CVR, AOV multipliers of the campaign
    rows: list[dict] = field(default_factory=list)  # column values for the campaigns table
    slot_campaign: np.ndarray | None = None  # (tracks, slots) campaign index or -1
    slot_weight: np.ndarray | None = None  # (tracks, days, slots) share weights
    _cum: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.company)

    def append(self, recs: list[dict]) -> list[int]:
        """Add campaigns without ad activity (the jewellery emails); returns their indexes."""
        start = len(self)
        n = len(recs)
        def grow(arr: np.ndarray, values) -> np.ndarray:
            return np.concatenate([arr, np.asarray(values, np.int64)]).astype(np.int64)

        self.company = grow(self.company, [r["company"] for r in recs])
        self.channel = grow(self.channel, [r["channel"] for r in recs])
        self.track = grow(self.track, np.full(n, -1))
        self.act_first = grow(self.act_first, [r["first"] for r in recs])
        self.act_last = grow(self.act_last, [r["last"] for r in recs])
        self.location = grow(self.location, np.full(n, -1))
        self.factors = np.vstack([self.factors, np.ones((n, 4))])
        self.rows.extend(recs)
        return list(range(start, start + n))

    def _group_cum(self) -> np.ndarray:
        if self._cum is None:
            w = self.slot_weight.reshape(-1, self.slot_weight.shape[2])
            cw = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
            cw[:, -1] = 1.0
            self._cum = (cw + np.arange(w.shape[0])[:, None]).reshape(-1)
        return self._cum

    def pick(self, track: np.ndarray, day: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Campaign index active on (track, day), chosen by weight with uniforms ``u``."""
        slots = self.slot_weight.shape[2]
        group = np.asarray(track) * N_DAYS + np.asarray(day)
        pos = np.searchsorted(self._group_cum(), group + u, side="right")
        return self.slot_campaign[track, np.minimum(pos - group * slots, slots - 1)]


def _ramp(first: int, last: int, end_open: bool) -> np.ndarray:
    """Weight of a campaign over days first..last: ramps over its first and last week."""
    n = last - first + 1
    t = np.arange(n, dtype=np.float64)
    w = np.minimum(1.0, 0.3 + 0.7 * (t + 1) / 7)
    if not end_open:
        w = np.minimum(w, 0.3 + 0.7 * (n - t) / 7)
    return w


def _season(day: dt.date) -> int:
    return (day.month % 12) // 3  # 0 winter, 1 spring, 2 summer, 3 fall


def plan_campaigns(cal: Calendar, seed: int) -> CampaignPlan:
    recs: list[dict] = []
    for ci, comp in enumerate(COMPANIES):
        rng = stream(seed, "campaigns", ci)
        ind = INDUSTRIES[comp.industry]
        tracks = [ti for ti, t in enumerate(TRACKS) if t.company == ci]
        mine: list[dict] = []
        for ti in tracks:
            t = 0
            while True:
                length = int(rng.integers(80, 201))
                last = t + length - 1
                if last >= N_DAYS - 1 - 20:
                    mine.append(dict(track=ti, first=t, last=N_DAYS - 1, status="active",
                                     weight=1.0, chain=True))
                    break
                mine.append(dict(track=ti, first=t, last=last, status="completed", weight=1.0,
                                 chain=True))
                t = last + 1 - int(rng.integers(0, 15))
        n_extra = int(rng.integers(1, 4))
        while len(mine) + n_extra < 8:
            n_extra += 1
        for _ in range(n_extra):
            ti = tracks[int(rng.integers(len(tracks)))]
            length = int(rng.integers(21, 57))
            first = int(rng.integers(30, N_DAYS - 60 - length))
            mine.append(dict(track=ti, first=first, last=first + length - 1,
                             status="completed", weight=float(rng.uniform(0.6, 1.2))))
        if ci % 3 == 1:  # a paused campaign at every third company
            ti = tracks[int(rng.integers(len(tracks)))]
            first = int(rng.integers(N_DAYS - 150, N_DAYS - 60))
            mine.append(dict(track=ti, first=first, last=first + int(rng.integers(20, 41)),
                             status="paused", weight=0.8))
        if ci % 4 == 2:  # a draft that never ran
            ti = tracks[int(rng.integers(len(tracks)))]
            first = N_DAYS - 1 - int(rng.integers(0, 8))
            mine.append(dict(track=ti, first=first, last=first - 1, status="draft", weight=0.0))
        mine = mine[:20]
        for rec in mine:
            rec["company"] = ci
            rec["channel"] = TRACKS[rec["track"]].channel
            ch = CHANNELS[rec["channel"]].name
            first_day = cal.day(rec["first"])
            theme = ind.themes[_season(first_day) * 2 + int(rng.integers(2))]
            chain = rec.get("chain", False)
            if chain and rec["last"] - rec["first"] >= 180:
                theme = ind.always_on
            rec["name"] = f"{theme} {first_day.year} | {ch}"
            goals = [g for g in _GOALS_BY_CHANNEL[ch] if g in ind.goals] or [ind.goals[0]]
            rec["goal"] = goals[int(rng.integers(len(goals)))]
            rec["segment"] = SEGMENT_INDEX[ind.segments[int(rng.integers(len(ind.segments)))]]
            rec["location"] = (int(rng.integers(len(LOCATIONS))) if rng.random() < _LOCAL_SHARE
                               else -1)
            rec["language"] = "Spanish" if rng.random() < 0.12 else "English"
            rec["project"] = (_PROJECTS[0] if chain
                              else _PROJECTS[1 + int(rng.integers(len(_PROJECTS) - 1))])
            tags = list(rng.choice(_TAGS_BY_CHANNEL[ch], size=2, replace=False))
            tags.append(_GENERIC_TAGS[int(rng.integers(len(_GENERIC_TAGS)))])
            rec["tags"] = [str(x) for x in tags]
            rec["factors"] = np.exp(rng.normal(0, [0.15, 0.12, 0.20, 0.08]))
            rec["end_open"] = rec["status"] == "active" and rng.random() < 0.5
            rec["budget_noise"] = float(rng.uniform(1.02, 1.25))
            rec["created_lead"] = int(rng.integers(5, 22))
        recs.extend(mine)
    return _finish(cal, recs)


def _finish(cal: Calendar, recs: list[dict]) -> CampaignPlan:
    n = len(recs)
    plan = CampaignPlan(
        company=np.array([r["company"] for r in recs], np.int64),
        channel=np.array([r["channel"] for r in recs], np.int64),
        track=np.array([r["track"] for r in recs], np.int64),
        act_first=np.array([r["first"] for r in recs], np.int64),
        act_last=np.array([r["last"] for r in recs], np.int64),
        location=np.array([r["location"] for r in recs], np.int64),
        factors=np.array([r["factors"] for r in recs], np.float64).reshape(n, 4),
        rows=recs,
    )
    per_track = [[i for i in range(n) if recs[i]["track"] == ti] for ti in range(len(TRACKS))]
    slots = max(len(p) for p in per_track)
    plan.slot_campaign = np.full((len(TRACKS), slots), -1, np.int64)
    plan.slot_weight = np.zeros((len(TRACKS), N_DAYS, slots), np.float64)
    for ti, members in enumerate(per_track):
        for s, i in enumerate(members):
            r = recs[i]
            plan.slot_campaign[ti, s] = i
            if r["last"] >= r["first"]:
                open_end = r["status"] == "active"
                plan.slot_weight[ti, r["first"]: r["last"] + 1, s] = (
                    r["weight"] * _ramp(r["first"], r["last"], open_end))
    assert (plan.slot_weight.sum(axis=2) > 0).all(), "every track-day needs a campaign"
    return plan


def finalize_rows(cal: Calendar, plan: CampaignPlan, expected_spend: np.ndarray) -> None:
    """Dates, status, budgets (from the designed spend) and created_at of each campaign."""
    end = cal.end_date
    for i, r in enumerate(plan.rows):
        if "start_date" in r:  # email campaigns are finished by email_funnel
            continue
        start = cal.day(r["first"])
        r["start_date"] = start
        status = r["status"]
        spent = float(expected_spend[i])
        if status == "completed":
            r["end_date"] = cal.day(r["last"])
            budget = spent * r["budget_noise"]
            days = r["last"] - r["first"] + 1
        elif status == "active":
            elapsed = N_DAYS - r["first"]
            planned = elapsed + 30 + int(r["budget_noise"] * 100)
            r["end_date"] = None if r["end_open"] else start + dt.timedelta(days=planned - 1)
            budget = spent / elapsed * planned
            days = planned
        elif status == "paused":
            planned = (r["last"] - r["first"] + 1) * 2 + 20
            r["end_date"] = start + dt.timedelta(days=planned - 1)
            budget = spent * 2.3 * r["budget_noise"]
            days = planned
        else:  # draft
            r["end_date"] = start + dt.timedelta(days=59)
            budget = 15000 * r["budget_noise"]
            days = 60
        budget = max(500.0, round(budget / 500.0) * 500.0)
        r["budget_allocated"] = budget
        r["daily_budget"] = round(budget / days, 2)
        created = start - dt.timedelta(days=r["created_lead"])
        r["created_at"] = dt.datetime(created.year, created.month, created.day, 15, 30,
                                      tzinfo=dt.timezone.utc)
        if r["end_date"] is not None and r["end_date"] > end and status == "completed":
            r["end_date"] = end


def campaign_table(plan: CampaignPlan, company_ids: list[int], channel_ids: list[int],
                   segment_ids: list[int], location_ids: list[int]) -> tuple[list[str], list[list]]:
    """Columns and Python rows for the campaigns COPY (small table)."""
    cols = ["id", "company_id", "channel_id", "segment_id", "location_id", "name", "goal",
            "status", "start_date", "end_date", "budget_allocated", "daily_budget", "language",
            "project", "tags", "created_at"]
    rows = []
    for i, r in enumerate(plan.rows):
        rows.append([
            i + 1, company_ids[r["company"]], channel_ids[r["channel"]],
            segment_ids[r["segment"]] if r["segment"] >= 0 else None,
            location_ids[r["location"]] if r["location"] >= 0 else None,
            r["name"], r["goal"], r["status"], r["start_date"], r["end_date"],
            f"{r['budget_allocated']:.2f}", f"{r['daily_budget']:.2f}", r["language"],
            r["project"], pg_array(r["tags"]), r["created_at"],
        ])
    return cols, rows
