"""Pure computations of the campaigns view (issue #14) over a frame of per-campaign totals:
metrics from the catalogue, duration bands, group totals, filters, sorting and clusters. No
database, no cache: ``services.campaigns`` reads the rows and calls these.

Group figures are ratios of sums (a segment's CTR is its clicks / its impressions), never
averages of campaign ratios, so a small campaign weighs no more than its volume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.metrics import METRICS, metric_array, metric_value

# Summed base quantities of a campaign or a group.
BASES = ("impressions", "clicks", "ad_conversions", "conversions", "spend", "ad_revenue",
         "revenue")
# The ratios shown per campaign and group (all from the catalogue).
RATIOS = ("ctr", "conversion_rate", "cpa", "roas", "roi_pct", "ad_cpa", "ad_roas")
DIMENSIONS = ("channel", "goal", "segment", "location", "language", "duration_band",
              "status")
UNSET = "(none)"  # a campaign without a segment or location is grouped under this name

# Campaign length bands, in days (start to end, both counted); open-ended campaigns apart.
DURATION_BANDS = ((1, 14, "1–14 days"), (15, 29, "15–29 days"), (30, 44, "30–44 days"),
                  (45, 59, "45–59 days"), (60, 89, "60–89 days"), (90, None, "90+ days"))
OPEN_ENDED = "No end date"
BAND_ORDER = [label for _, _, label in DURATION_BANDS] + [OPEN_ENDED]
TIERS = ("High ROI", "Good ROI", "Standard")


def duration_band(days: float | None) -> str:
    if days is None or (isinstance(days, float) and math.isnan(days)):
        return OPEN_ENDED
    for low, high, label in DURATION_BANDS:
        if days >= low and (high is None or days <= high):
            return label
    return DURATION_BANDS[0][2]  # an end before the start counts as the shortest band


def duration_bands(days: pd.Series) -> np.ndarray:
    """``duration_band`` of a whole column at once."""
    values = days.to_numpy(dtype="float64", na_value=np.nan)
    conditions = [np.isnan(values)] + [
        (values >= low) & (True if high is None else values <= high)
        for low, high, _ in DURATION_BANDS]
    labels = [OPEN_ENDED] + [label for _, _, label in DURATION_BANDS]
    return np.select(conditions, labels, default=DURATION_BANDS[0][2]).astype(object)


def tiers(roi_pct: np.ndarray) -> np.ndarray:
    """``services.kpis.roi_tier`` of a whole column (None where ROI is undefined)."""
    values = np.asarray(roi_pct, dtype="float64")
    out = np.select([values >= 100, values >= 50, values < 50], list(TIERS), default="")
    out = out.astype(object)
    out[np.isnan(values)] = None
    return out


def with_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the catalogue's ratios (NaN where a denominator is zero) and, per row,
    the ROI tier (None where ROI is undefined), computed on the columns' arrays and added at
    once (a column at a time cost ~2 ms on a table of ten groups)."""
    bases = {name: frame[name].to_numpy(dtype=float, na_value=np.nan) for name in BASES}
    bases["profit"] = bases["revenue"] - bases["spend"]
    added = {metric: metric_array(bases, metric) for metric in RATIOS}
    added["tier"] = tiers(added["roi_pct"])
    return pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)


def _rows_frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows as columns, built column by column (a frame from 100,000 tuples costs half a
    second); a campaign without a segment or location has ``UNSET``."""
    data = dict(zip(columns, zip(*rows, strict=True), strict=True)) if rows \
        else {name: () for name in columns}
    frame = pd.DataFrame({name: list(values) for name, values in data.items()})
    for name in ("segment", "location"):
        frame[name] = frame[name].fillna(UNSET)
    return frame


def campaign_frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    """Per-campaign rows (``db.queries.campaigns.campaign_totals``) as a frame with its
    duration band and every metric."""
    frame = _rows_frame(rows, columns)
    for name in (*BASES, "duration_days"):
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    frame["duration_band"] = duration_bands(frame["duration_days"])
    return with_metrics(frame)


_EPOCH = np.datetime64("1970-01-01", "D")


def dimension_frame(rows: list[tuple], columns: tuple[str, ...],
                    flagged: dict[str, dict]) -> pd.DataFrame:
    """Every campaign's dimensions (``db.queries.campaigns.campaign_dimensions``), by id, as
    ``campaign_frame`` has them, with its anomaly reason (``flagged``: the anomaly model's,
    by campaign id) and its first and last day as day numbers (NaN: no end) for
    ``period_campaigns``."""
    frame = _rows_frame(rows, columns)
    frame["duration_days"] = pd.to_numeric(frame["duration_days"]).astype("float64")
    frame["duration_band"] = duration_bands(frame["duration_days"])
    frame["anomaly"] = [flagged[key]["reason"] if key in flagged else None
                        for key in frame["campaign_id"].astype("int64").astype(str)]
    # each name's place in name order: a period's order by name is an integer sort
    frame["name_rank"] = pd.factorize(frame["campaign"], sort=True)[0]
    for name, day in (("start_date", "start_day"), ("end_date", "end_day")):
        days = pd.to_datetime(frame[name], format="%Y-%m-%d").to_numpy("datetime64[D]")
        frame[day] = np.where(np.isnat(days), np.nan,
                              (days - _EPOCH).astype("float64"))
    return frame


# The text columns of ``dimension_frame``: kept as codes in ``Dimensions``.
DIMENSION_TEXTS = ("campaign", "channel", "goal", "segment", "location", "language", "status",
                   "start_date", "end_date", "duration_band", "anomaly")


@dataclass(frozen=True)
class Dimensions:
    """``dimension_frame`` as arrays: its numbers, and each text column as integer codes
    (-1: none) into its distinct values, so a period takes its rows, its filters' codes and
    options by integer indexing instead of copying strings."""

    numbers: dict[str, np.ndarray]
    texts: dict[str, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Dimensions:
        texts = {}
        for name in DIMENSION_TEXTS:
            codes, distinct = pd.factorize(np.asarray(frame[name], dtype=object))
            texts[name] = (codes, np.asarray(distinct, dtype=object))
        return cls({name: frame[name].to_numpy() for name in frame.columns
                    if name not in DIMENSION_TEXTS}, texts)


def text_values(codes: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """The values of ``codes`` (None for -1), as Python objects."""
    lookup = np.empty(len(distinct) + 1, dtype=object)
    lookup[:-1] = distinct
    return lookup[codes]


def text_column(codes: np.ndarray, distinct: np.ndarray):
    """The column of ``codes`` (-1: missing) into ``distinct`` (strings) as a frame holds
    text: with pandas' string dtype, the distinct values are checked once and taken per row
    (a frame checking every row's string cost ~0.7 ms a column at 30,000 rows, taking
    ~0.2 ms). Many distinct values (names) or none: their objects, as a frame infers them."""
    if 0 < len(distinct) <= len(codes) // 8:
        return pd.array(distinct, dtype="str").take(codes, allow_fill=True)
    return text_values(codes, distinct)


@dataclass(frozen=True)
class Period:
    """``period_campaigns``' answer: the frame, its row orders by campaign name
    ({("campaign", descending): row positions}, ``sort_rows``' order) and its text columns'
    codes ({column: (codes, distinct values)}, as in ``Dimensions``)."""

    frame: pd.DataFrame
    orders: dict[tuple[str, bool], np.ndarray]
    texts: dict[str, tuple[np.ndarray, np.ndarray]]


def period_campaigns(dimensions: Dimensions, columns: tuple[str, ...],
                     sums: dict[str, list], start, end, strict: bool = True) -> Period | None:
    """The period's frame as ``campaign_frame`` builds it from ``campaign_totals``' rows (same
    rows, columns and values; plus ``anomaly``): the campaigns with activity in [start, end]
    (``sums``: ``db.queries.campaigns.sums_of``) and those scheduled to run in it,
    each with its dimensions (``columns``: the ones ``dimension_frame`` was given, in
    order). A campaign with activity that is not in ``dimensions`` (created after they were
    read, or gone) makes it None; with ``strict=False`` it is left out, as the join with the
    campaigns leaves it out of ``campaign_totals``."""
    numbers, texts = dimensions.numbers, dimensions.texts
    ids = numbers["campaign_id"]
    active = np.asarray(sums["campaign_id"], dtype="int64")
    at = np.minimum(np.searchsorted(ids, active), max(len(ids) - 1, 0))
    known = ids[at] == active if len(ids) else np.zeros(len(active), dtype=bool)
    if not known.all():
        if strict:
            return None
        sums = {name: np.asarray(values)[known] for name, values in sums.items()}
        at = at[known]
    first, last = ((np.datetime64(day, "D") - _EPOCH).astype("float64") for day in (start, end))
    ends = numbers["end_day"]
    keep = (numbers["start_day"] <= last) & (np.isnan(ends) | (ends >= first))
    keep[at] = True
    rows = np.flatnonzero(keep)
    kept = {name: (codes[rows], distinct) for name, (codes, distinct) in texts.items()}
    data = {}
    for name in columns:
        data[name] = text_column(*kept[name]) if name in kept else numbers[name][rows]
    for name in BASES:
        values = np.zeros(len(ids))
        values[at] = np.asarray(sums[name], dtype="float64")
        data[name] = values[rows]
    data["duration_band"] = text_column(*kept["duration_band"])
    frame = with_metrics(pd.DataFrame(data))
    frame["anomaly"] = text_column(*kept["anomaly"])
    ranks, ids = numbers["name_rank"][rows], ids[rows]
    return Period(frame, {("campaign", False): np.lexsort((ids, ranks)),
                          ("campaign", True): np.lexsort((ids, -ranks))}, kept)


def group_totals(frame: pd.DataFrame, by: str | list[str],
                 texts: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> pd.DataFrame:
    """Summed bases and the number of campaigns per group, with the ratios of the sums.
    ``texts``: the frame's text columns as codes and distinct values (``Period.texts``);
    when it has every key, the rows are grouped by the codes (factorizing 30,000 strings
    again cost ~1.5 ms a grouping), with the same groups, order and sums."""
    keys = [by] if isinstance(by, str) else list(by)
    if texts and all(key in texts for key in keys):
        return _group_totals_by_codes(frame, keys, texts)
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = grouped[list(BASES)].sum()
    out["campaigns"] = grouped.size()
    return with_metrics(out.reset_index())


def _group_totals_by_codes(frame: pd.DataFrame, keys: list[str],
                           texts: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """``group_totals`` grouped by each key's rank in value order (missing last) instead of
    its values: pandas numbers the groups as it would from the values, and its sums depend
    on that numbering (rows already in group order are summed another way), so the same
    groups come with the same doubles."""
    ranks, ordered = [], []
    for key in keys:
        codes, distinct = texts[key]
        by_value = np.argsort(distinct, kind="stable")
        rank = np.empty(len(distinct) + 1, dtype=np.intp)  # the last slot: code -1, last
        rank[by_value] = np.arange(len(distinct))
        rank[-1] = len(distinct)
        ranks.append(rank[codes])
        ordered.append(distinct[by_value])
    grouped = frame[list(BASES)].groupby(ranks, sort=True)
    out = grouped.sum()
    out["campaigns"] = grouped.size()
    data = {}
    for level, (key, distinct) in enumerate(zip(keys, ordered, strict=True)):
        rank = np.asarray(out.index.get_level_values(level), dtype=np.intp)
        data[key] = text_column(np.where(rank == len(distinct), -1, rank), distinct)
    for name in (*BASES, "campaigns"):
        data[name] = out[name].to_numpy()
    return with_metrics(pd.DataFrame(data))


def totals(frame: pd.DataFrame) -> dict:
    """The frame's summed bases and their ratios (one dict, None for undefined): the
    catalogue's scalar formula, the same float operations as ``with_metrics``' columns."""
    summed = {name: float(frame[name].sum()) for name in BASES}
    with_profit = {**summed, "profit": summed["revenue"] - summed["spend"]}
    return {**summed, "campaigns": int(len(frame)),
            **{metric: metric_value(with_profit, metric) for metric in RATIOS}}


def clean(value):
    """NaN and numpy scalars as plain Python (None for NaN)."""
    if value is None:
        return None
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """Rows as JSON-ready dicts (None for NaN). Converted a column at a time: numeric
    columns in one ``tolist`` (a page of the explorer is read on every scroll)."""
    lists = []
    for name in columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "f":
            lists.append([None if math.isnan(v) else v for v in values.tolist()])
        elif values.dtype.kind in "iub":
            lists.append(values.tolist())
        else:
            lists.append([clean(v) for v in values])
    return [dict(zip(columns, row, strict=True)) for row in zip(*lists, strict=True)]


def sort_rows(frame: pd.DataFrame, column: str, descending: bool,
              tie: str = "campaign_id") -> pd.DataFrame:
    """Sorted on ``column``, undefined values last whatever the order, ties by ``tie``."""
    keys = [column] if column == tie else [column, tie]
    return frame.sort_values(keys, ascending=[not descending, True][:len(keys)],
                             na_position="last", kind="mergesort")


def ranked_rows(frame: pd.DataFrame, column: str, descending: bool,
                tie: str = "campaign_id") -> np.ndarray:
    """Positions of the rows where ``column`` is defined, in ``sort_rows``' order. Numbers
    tied by numbers are one lexsort of two arrays (ranking 100,000 campaigns by a metric:
    ~3 ms, against ~35 ms for sorting the frame); anything else goes through ``sort_rows``
    with the two key columns only."""
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    rows = np.flatnonzero(~np.isnan(values))
    ties = frame[tie].to_numpy()
    if ties.dtype.kind in "iuf":
        keys = values[rows]
        return rows[np.lexsort((ties[rows], -keys if descending else keys))]
    keys = list(dict.fromkeys([column, tie]))
    ordered = sort_rows(frame[keys].iloc[rows], column, descending, tie)
    return frame.index.get_indexer(ordered.index)


def good_direction(metric: str) -> int:
    return METRICS[metric].good or 1


# --------------------------------------------------------------------------- clusters

# Dimensions that describe a combination; each one-hot encoded with equal weight.
CLUSTER_DIMENSIONS = ("channel", "segment", "goal", "duration_band", "location")
K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 4000  # silhouette is quadratic: scored on a seeded sample beyond this
SEED = 14


def one_hot(frame: pd.DataFrame) -> np.ndarray:
    return pd.get_dummies(frame[list(CLUSTER_DIMENSIONS)].astype(str),
                          dtype="float64").to_numpy()


def cluster_labels(frame: pd.DataFrame, seed: int = SEED) -> dict:
    """KMeans over the one-hot dimensions, k from 2 to 8 (at most one per five campaigns)
    chosen by the silhouette score (Euclidean on 0/1 columns: campaigns sharing more
    dimension values are closer). Why KMeans: the groups should be combinations a marketer
    can name, each campaign in exactly one, and KMeans on one-hot columns gives centroids
    that read as "mostly Email, mostly Foodies"; the silhouette says how real the groups are.
    Seeded: the same campaigns in the same order give the same labels. Fewer than ten
    campaigns, or fewer distinct combinations than three, give no clustering.

    KMeans is fitted on the distinct combinations weighted by how many campaigns share each:
    the same objective as one row per campaign (duplicates weigh as their count), at a
    fraction of the cost (100,000 campaigns share a few thousand combinations)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    features = one_hot(frame)
    if len(features):
        combinations, inverse, weights = np.unique(features, axis=0, return_inverse=True,
                                                   return_counts=True)
        inverse = inverse.reshape(-1)
    distinct = len(combinations) if len(features) else 0
    if len(features) < 10 or distinct < 3:
        return {"labels": None, "k": None, "silhouette": None, "scores": {}}
    sample = min(len(features), SILHOUETTE_SAMPLE)
    best, scores = None, {}
    # At most one cluster per five campaigns: a cluster of one or two says nothing.
    for k in K_RANGE:
        if k >= distinct or k > max(2, len(features) // 5):
            break
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(
            combinations, sample_weight=weights)
        labels = model.labels_[inverse]
        score = float(silhouette_score(features, labels, sample_size=sample,
                                       random_state=seed))
        scores[k] = score
        if best is None or score > best[0] + 1e-12:
            best = (score, k, labels)
    if best is None:
        return {"labels": None, "k": None, "silhouette": None, "scores": scores}
    return {"labels": best[2].astype(int), "k": best[1], "silhouette": best[0],
            "scores": scores}


def profile(members: pd.DataFrame, everyone: pd.DataFrame) -> list[dict]:
    """What sets a cluster apart: per dimension, its most common value, that value's share in
    the cluster and in all campaigns."""
    out = []
    for dimension in CLUSTER_DIMENSIONS:
        counts = members[dimension].value_counts()
        value = counts.index[0]
        share = counts.iloc[0] / len(members)
        overall = float((everyone[dimension] == value).mean())
        out.append({"dimension": dimension, "value": str(value), "share": float(share),
                    "overall_share": overall})
    return out


DIMENSION_WORDS = {"channel": "on", "segment": "for", "goal": "goal", "duration_band": "running",
                   "location": "in"}


def profile_words(parts: list[dict]) -> str:
    """The profile in words: dimensions whose top value covers most of the cluster first
    ("all on Email, mostly for Foodies (64 %), ...")."""
    phrases = []
    for part in sorted(parts, key=lambda p: -p["share"]):
        share = part["share"]
        if share < max(0.35, part["overall_share"] * 1.2):
            continue  # not characteristic of this cluster
        amount = "all" if share >= 0.999 else "mostly" if share >= 0.6 else "often"
        if part["dimension"] == "goal":
            text = f"{part['value']} goal"
        elif part["value"] == OPEN_ENDED:
            text = "with no end date"
        elif part["value"] == UNSET:
            text = f"with no {part['dimension']}"
        else:
            text = f"{DIMENSION_WORDS[part['dimension']]} {part['value']}"
        phrases.append(f"{amount} {text}" + ("" if share >= 0.999 else f" ({share:.0%})"))
    return ", ".join(phrases[:4]) or "a mix with no dominant channel, segment or goal"


# --------------------------------------------------------------------------- anomalies

ANOMALY_WINDOW = 28  # trailing days a campaign's latest complete day is compared with
ANOMALY_MIN_DAYS = 14  # fewer days with data: no baseline, no flag
ANOMALY_Z = 3.5  # robust z beyond which a day is anomalous (Iglewicz and Hoaglin)
# Per checked metric: label, the day's denominator and its minimum on the latest day (a CTR
# from 40 impressions says nothing).
ANOMALY_METRICS = {"spend": ("Spend", None, 0), "ctr": ("CTR", "impressions", 100),
                   "conversion_rate": ("Conversion rate", "clicks", 20)}


def _fmt(metric: str, value: float) -> str:
    return f"${value:,.2f}" if metric == "spend" else f"{value:.2f} %"


def campaign_anomalies(days: pd.DataFrame, latest) -> dict[int, dict]:
    """Per campaign with ad activity on ``latest`` (its newest complete day): each of spend,
    CTR and ad conversion rate whose value that day lies ``ANOMALY_Z`` robust z-scores
    (distance from the median of its previous ``ANOMALY_WINDOW`` days with data, in units of
    1.4826 x their median absolute deviation) or more away, with the reason in words.
    ``days`` holds one row per campaign and day: campaign_id, day, impressions, clicks,
    ad_conversions, spend. A flat baseline (deviation 0) or too few days flags nothing."""
    if days.empty:
        return {}
    days = days.assign(  # NaN where the denominator is zero (undefined, never 0)
        ctr=days["clicks"] / days["impressions"].where(days["impressions"] > 0) * 100,
        conversion_rate=days["ad_conversions"] / days["clicks"].where(days["clicks"] > 0) * 100)
    start = latest - pd.Timedelta(days=ANOMALY_WINDOW).to_pytimedelta()
    base = days[(days["day"] < latest) & (days["day"] >= start)]
    today = days[days["day"] == latest].set_index("campaign_id")
    found: dict[int, dict] = {}
    for metric, (label, denominator, minimum) in ANOMALY_METRICS.items():
        grouped = base.groupby("campaign_id")[metric]
        median = grouped.median()
        deviation = (base[metric] - grouped.transform("median")).abs()
        mad = deviation.groupby(base["campaign_id"]).median()
        count = grouped.count()
        check = today[[metric, *([denominator] if denominator else [])]].join(
            pd.DataFrame({"median": median, "mad": mad, "count": count}), how="inner")
        check = check[(check["count"] >= ANOMALY_MIN_DAYS) & (check["mad"] > 0)
                      & check[metric].notna()]
        if denominator:
            check = check[check[denominator] >= minimum]
        z = (check[metric] - check["median"]) / (1.4826 * check["mad"])
        for campaign_id, score in z[z.abs() >= ANOMALY_Z].items():
            value, typical = float(check.at[campaign_id, metric]), float(
                check.at[campaign_id, "median"])
            direction = "above" if score > 0 else "below"
            entry = found.setdefault(int(campaign_id), {"metrics": [], "reasons": [], "z": 0.0})
            entry["metrics"].append({"metric": metric, "value": value, "typical": typical,
                                     "z": float(score)})
            entry["reasons"].append(
                f"{label} {_fmt(metric, value)} on {latest.isoformat()}, far {direction} its "
                f"typical {_fmt(metric, typical)} (median of the previous "
                f"{int(check.at[campaign_id, 'count'])} days; robust z {score:+.1f})")
            entry["z"] = max(entry["z"], abs(float(score)))
    for entry in found.values():
        entry["reason"] = "; ".join(entry.pop("reasons"))
    return found
