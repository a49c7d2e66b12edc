"""The luxury jewellery brand's retailer email funnel: email campaigns of three emails each,
one ``email_sends`` row per recipient, CRM conversions and e-commerce orders.

Sizes (shared/reference/004): 15 retailers, about 600 recipients per retailer per email, 43 %
open and 3.2 % click rates of delivered mail, CRM conversions 70 % sales ($2,000-10,000), 20 %
leads ($500-2,000), 10 % sign-ups ($100-400), 1-4 orders per retailer and campaign of
$1,000-6,000, 60 % of them attributed to the email.

Scale: a full email campaign is 3 x 15 x 600 = 27,000 sends. Email sends are ``EMAIL_SHARE``
(30 %) of the requested events, so a bench's email funnel is at the scale of its ad events: the
generator runs 1 to 6 campaigns (the most recent ones); when even one full campaign does not
fit (events below 90,000) it sends to fewer recipients per retailer (e.g. 133 at
events=20,000), and once six full campaigns fit (events above 540,000) to more (11,111 per
retailer and email at 10 million events: 3 million sends). Between those, the share is at most
30 %. Open, click and conversion-type shares are drawn as exact counts per (email, retailer),
so the rates hold at every scale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from db.seed import bulk
from db.seed.campaigns import CampaignPlan
from db.seed.dimensions import (
    CHANNEL_INDEX,
    COMPANY_INDEX,
    JEWELLERY,
    N_DAYS,
    RETAILERS,
    SEGMENT_INDEX,
    Calendar,
    retailer_domain,
    stream,
)

EMAIL_SHARE = 0.30
SENDS_PER_RETAILER = 600
EMAILS_PER_CAMPAIGN = 3
MAX_CAMPAIGNS = 6
OPEN_RATE = 0.43
CLICK_RATE = 0.032
BOUNCE_RATE = 0.025
CONVERSION_PER_CLICK = 0.15
CONVERSION_TYPES = (("sale", 0.70, 2000, 10000), ("lead", 0.20, 500, 2000),
                    ("signup", 0.10, 100, 400))
PRODUCT_CATEGORIES = ("Necklaces", "Bracelets", "Earrings", "Rings")
ORDER_STATUSES = (("completed", 0.88), ("pending", 0.05), ("cancelled", 0.04),
                  ("refunded", 0.03))
ATTRIBUTED_SHARE = 0.60
# days before end_date on which each campaign starts, most recent first; emails on days 0, 9, 18
_STARTS = (45, 130, 215, 300, 385, 470)
_EMAIL_DAYS = (0, 9, 18)
_COLLECTIONS = ("Spring Collection Preview", "Summer Elegance", "Autumn Icons",
                "Holiday Luxury")
_SUBJECTS = ("Introducing the {c}", "Exclusive Retailer Pricing - {c}",
             "{c}: Marketing Materials Available")
_FIRST = ("olivia", "liam", "emma", "noah", "ava", "elijah", "sophia", "james", "isabella",
          "lucas", "mia", "mason", "amelia", "ethan", "harper", "logan", "evelyn", "aiden")
_LAST = ("smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
         "rodriguez", "martinez", "lopez", "wilson", "anderson", "thomas", "moore", "lee")


@dataclass(frozen=True)
class EmailPlan:
    campaigns: int
    per_retailer: int

    @property
    def sends(self) -> int:
        return self.campaigns * EMAILS_PER_CAMPAIGN * len(RETAILERS) * self.per_retailer


def plan_email(events: int, ad_cells: int) -> EmailPlan:
    """How many campaigns and recipients fit in ``events`` (see the module docstring)."""
    per_full = EMAILS_PER_CAMPAIGN * len(RETAILERS) * SENDS_PER_RETAILER
    budget = min(int(events * EMAIL_SHARE), events - ad_cells)
    unit = EMAILS_PER_CAMPAIGN * len(RETAILERS)
    if budget < unit:
        raise ValueError(f"events must be at least {ad_cells + unit} (one ad event per "
                         f"channel-day and one email per retailer), got {events}")
    campaigns = max(1, min(MAX_CAMPAIGNS, budget // per_full))
    if campaigns * per_full > budget:  # not even one full campaign fits
        return EmailPlan(campaigns, budget // unit)
    if campaigns == MAX_CAMPAIGNS:  # a big sender: more recipients per retailer
        return EmailPlan(campaigns, max(SENDS_PER_RETAILER, budget // (campaigns * unit)))
    return EmailPlan(campaigns, SENDS_PER_RETAILER)


def _season_name(day: dt.date) -> str:
    return _COLLECTIONS[((day.month % 12) // 3 + 3) % 4]


def add_email_campaigns(cal: Calendar, seed: int, plan: CampaignPlan, ep: EmailPlan) -> list[int]:
    """Append the jewellery brand's email campaigns (oldest first) to the campaign plan."""
    rng = stream(seed, "email_campaigns")
    ci = COMPANY_INDEX[JEWELLERY]
    recs = []
    for offset in reversed(_STARTS[: ep.campaigns]):
        first = N_DAYS - 1 - offset
        start = cal.day(first)
        active = offset == _STARTS[0]
        collection = f"{_season_name(start)} {start.year}"
        budget = float(round(rng.uniform(45000, 120000) / 500) * 500)
        end = start + dt.timedelta(days=59 if active else 44)
        created = start - dt.timedelta(days=14)
        recs.append(dict(
            company=ci, channel=CHANNEL_INDEX["Email"], track=-1, first=first,
            last=first - 1, location=-1, segment=SEGMENT_INDEX["Luxury Shoppers"],
            name=f"Bellini {collection} Retailer Campaign", goal="sales",
            status="active" if active else "completed", start_date=start, end_date=end,
            budget_allocated=budget, daily_budget=round(budget / ((end - start).days + 1), 2),
            language="English", project="Retail Partner Program",
            tags=["retailer", "email", "b2b2c"], collection=collection,
            created_at=dt.datetime(created.year, created.month, created.day, 16, 0,
                                   tzinfo=dt.timezone.utc),
        ))
    return plan.append(recs)


def _exact_shares(n: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts summing to n, as close to n x shares as possible."""
    raw = n * np.asarray(shares, dtype=np.float64)
    base = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: n - int(base.sum())]] += 1
    return base


def _rank_in_group(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """0-based rank of each element by ``key`` within its ``group``."""
    order = np.lexsort((key, group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    pos = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    rank = np.empty(len(g), np.int64)
    rank[order] = pos
    return rank


@dataclass
class EmailTables:
    email_campaigns: tuple[list[str], bytes]
    email_sends: tuple[list[str], Iterator[tuple[bytes, int]]]  # CSV chunks and their rows
    crm_conversions: tuple[list[str], bytes]
    ecommerce_orders: tuple[list[str], bytes]
    sends: int


def build(cal: Calendar, seed: int, plan: CampaignPlan, campaign_idx: list[int], ep: EmailPlan,
          company_ids: list[int], retailer_ids: list[int]) -> EmailTables:
    rng = stream(seed, "email")
    crm_rng = stream(seed, "crm")
    comp_id = company_ids[COMPANY_INDEX[JEWELLERY]]
    n_r, per, n_e = len(RETAILERS), ep.per_retailer, EMAILS_PER_CAMPAIGN
    n_c = len(campaign_idx)
    # -- email_campaigns: one row per (campaign, sequence)
    ec_rows, ec_sent = [], []
    for k, ci in enumerate(campaign_idx):
        r = plan.rows[ci]
        for e in range(n_e):
            day = r["start_date"] + dt.timedelta(days=_EMAIL_DAYS[e])
            sent = dt.datetime(day.year, day.month, day.day, 14, 0, tzinfo=dt.timezone.utc)
            ec_sent.append(int(sent.timestamp()))
            ec_rows.append([k * n_e + e + 1, comp_id, ci + 1, e + 1,
                            _SUBJECTS[e].format(c=f"Bellini {r['collection']}"),
                            "trade@bellini-gioielli.example", sent, n_r * per])
    ec_cols = ["id", "company_id", "campaign_id", "sequence", "subject", "sender_email",
               "sent_at", "total_recipients"]
    # -- recipients: the same list per retailer for every email; a few addresses bounce
    names = [f"{_FIRST[i % len(_FIRST)]}.{_LAST[(i * 7 + i // len(_FIRST)) % len(_LAST)]}{i}"
             for i in range(per)]
    vocab = [f"{nm}@{retailer_domain(ret[0])}" for ret in RETAILERS for nm in names]
    bad = np.zeros((n_r, per), bool)
    n_bad = int(round(per * BOUNCE_RATE))
    for ri in range(n_r):
        bad[ri, rng.choice(per, n_bad, replace=False)] = True
    # -- sends in (campaign, email, retailer, recipient) order
    shape = (n_c, n_e, n_r, per)
    c_i, e_i, r_i, k_i = (a.reshape(-1) for a in np.indices(shape))
    n = c_i.size
    group = (c_i * n_e + e_i) * n_r + r_i  # one (email, retailer) pair
    sent = np.asarray(ec_sent, np.int64)[c_i * n_e + e_i] + rng.integers(0, 1800, n)
    bounced = bad[r_i, k_i]
    delivered = ~bounced
    delivered_at = sent + rng.integers(1, 90, n)
    f_open = rng.uniform(0.85, 1.15, n_r)
    f_open /= f_open.mean()
    f_click = rng.uniform(0.7, 1.3, n_r)
    f_click /= f_click.mean()
    g_open = np.array([1.06, 1.0, 0.94])
    g_click = np.array([1.1, 1.0, 0.9])
    n_deliv = np.bincount(group, weights=delivered, minlength=n_c * n_e * n_r)
    ge, gr = (np.arange(n_c * n_e * n_r) // n_r) % n_e, np.arange(n_c * n_e * n_r) % n_r
    n_open = np.rint(n_deliv * OPEN_RATE * f_open[gr] * g_open[ge]).astype(np.int64)
    n_click = np.minimum(n_open, np.rint(n_deliv * CLICK_RATE * f_click[gr] * g_click[ge])
                         .astype(np.int64))
    key = rng.random(n) + bounced  # bounced sort last
    rank = _rank_in_group(group, key)
    opened = delivered & (rank < n_open[group])
    clicked = opened & (rank < n_click[group])
    open_delay = np.clip(np.exp(rng.normal(np.log(5 * 3600), 1.0, n)), 120, 6 * 86400)
    opened_at = delivered_at + open_delay.astype(np.int64)
    clicked_at = opened_at + rng.integers(15, 3600, n)
    send_cols = ["id", "company_id", "email_campaign_id", "retailer_id", "recipient_email",
                 "sent_at", "delivered_at", "opened_at", "clicked_at", "status"]
    rid = np.asarray(retailer_ids, np.int64)

    def send_blocks(part: slice) -> list:
        c, e, r, k = c_i[part], e_i[part], r_i[part], k_i[part]
        return [
            bulk.uint_block(np.arange(part.start + 1, part.stop + 1)),
            bulk.uint_block(np.full(len(c), comp_id)),
            bulk.uint_block(c * n_e + e + 1),
            bulk.uint_block(rid[r]),
            bulk.cat_block(r * per + k, vocab),
            bulk.timestamp_block(sent[part]),
            bulk.timestamp_block(delivered_at[part], null=bounced[part]),
            bulk.timestamp_block(opened_at[part], null=~opened[part]),
            bulk.timestamp_block(clicked_at[part], null=~clicked[part]),
            bulk.cat_block(bounced[part].astype(np.int64), ["delivered", "bounced"]),
        ]

    # -- CRM conversions from clicked sends, exact type shares per campaign
    conv_idx = []
    for k in range(n_c):
        cand = np.flatnonzero(clicked & (c_i == k))
        m = int(round(len(cand) * CONVERSION_PER_CLICK))
        conv_idx.append(np.sort(crm_rng.choice(cand, m, replace=False)))
    conv = np.concatenate(conv_idx) if conv_idx else np.zeros(0, np.int64)
    types = np.concatenate([
        crm_rng.permutation(np.repeat(np.arange(3), _exact_shares(len(ix), [t[1] for t in
                                                                         CONVERSION_TYPES])))
        for ix in conv_idx]).astype(np.int64)
    lo = np.array([t[2] for t in CONVERSION_TYPES])[types]
    hi = np.array([t[3] for t in CONVERSION_TYPES])[types]
    value = np.rint(crm_rng.uniform(lo, hi) * 100).astype(np.int64) * 100  # cents, 4 dp units
    converted_at = clicked_at[conv] + crm_rng.integers(3600, 14 * 86400, len(conv))
    converted_at = np.minimum(converted_at, cal.cutoff_epoch - 1)
    camp_ids = np.asarray(campaign_idx, np.int64) + 1
    crm_cols = ["id", "company_id", "campaign_id", "retailer_id", "email_send_id",
                "conversion_type", "conversion_value", "converted_at", "product_category"]
    order = np.argsort(converted_at, kind="stable")
    conv, types, value, converted_at = conv[order], types[order], value[order], converted_at[order]
    crm_csv = bulk.encode_rows([
        bulk.uint_block(np.arange(1, len(conv) + 1)),
        bulk.uint_block(np.full(len(conv), comp_id)),
        bulk.uint_block(camp_ids[c_i[conv]]),
        bulk.uint_block(rid[r_i[conv]]),
        bulk.uint_block(conv + 1),
        bulk.cat_block(types, [t[0] for t in CONVERSION_TYPES]),
        bulk.fixed_block(value, 4),
        bulk.timestamp_block(converted_at),
        bulk.cat_block(crm_rng.integers(0, len(PRODUCT_CATEGORIES), len(conv)),
                       PRODUCT_CATEGORIES),
    ])
    # -- e-commerce orders: 1-4 per retailer and campaign, 60 % attributed to the email
    per_pair = crm_rng.integers(1, 5, (n_c, n_r))
    o_c = np.repeat(np.repeat(np.arange(n_c), n_r), per_pair.reshape(-1))
    o_r = np.repeat(np.tile(np.arange(n_r), n_c), per_pair.reshape(-1))
    n_o = len(o_c)
    attributed = np.zeros(n_o, bool)
    for k in range(n_c):
        ix = np.flatnonzero(o_c == k)
        chosen = crm_rng.choice(ix, int(round(len(ix) * ATTRIBUTED_SHARE)), replace=False)
        attributed[chosen] = True
    starts = np.array([plan.rows[ci]["start_date"].toordinal() for ci in campaign_idx])
    start_epoch = (starts - dt.date(1970, 1, 1).toordinal()) * 86400
    ordered_at = start_epoch[o_c] + crm_rng.integers(86400, 44 * 86400, n_o)
    ordered_at = np.minimum(ordered_at, cal.cutoff_epoch - 1)
    o_value = np.rint(crm_rng.uniform(1000, 6000, n_o) * 100).astype(np.int64) * 100
    st = crm_rng.choice(len(ORDER_STATUSES), n_o, p=[s[1] for s in ORDER_STATUSES])
    order = np.argsort(ordered_at, kind="stable")
    o_c, o_r, attributed, ordered_at, o_value, st = (
        x[order] for x in (o_c, o_r, attributed, ordered_at, o_value, st))
    order_cols = ["id", "company_id", "campaign_id", "retailer_id", "order_value", "ordered_at",
                  "product_count", "order_status", "attributed_to_email"]
    orders_csv = bulk.encode_rows([
        bulk.uint_block(np.arange(1, n_o + 1)),
        bulk.uint_block(np.full(n_o, comp_id)),
        bulk.uint_block(camp_ids[o_c], null=~attributed),
        bulk.uint_block(rid[o_r]),
        bulk.fixed_block(o_value, 4),
        bulk.timestamp_block(ordered_at),
        bulk.uint_block(crm_rng.integers(1, 5, n_o)),
        bulk.cat_block(st, [s[0] for s in ORDER_STATUSES]),
        bulk.bool_block(attributed),
    ])
    return EmailTables((ec_cols, bulk.rows_csv(ec_rows)),
                       (send_cols, bulk.encode_chunks(n, send_blocks)),
                       (crm_cols, crm_csv), (order_cols, orders_csv), n)
