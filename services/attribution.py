"""The attribution view's numbers (issue #15): credit per channel or campaign under every
model side by side (``services.attribution_models``), the change against last touch, budget
advice with its evidence, the Markov chain's removal effects and transitions, and what the
data allows (journeys, converting share, lengths, time to convert, top paths).

Results are a pure function of the company's history and the options, so they are computed
per history version like the insight models (``services.insights.store.history_model``): the
worker computes the default view's result ahead of the first request (``refresh``), a request
reads it from Redis or ``insight_results``, and a request whose result is missing computes
and stores it. ``attribution`` serves the view and ``/api/v1/attribution`` alike.

Wording: attribution shares credit among the touches that preceded conversions; it does not
show that a channel caused them. Advice says "consider" and names its evidence.
"""

from __future__ import annotations

import csv
import io
import logging
import time

import numpy as np
import pandas as pd

from db.queries import attribution as queries
from db.queries.companies import all_companies
from services import attribution_models as am
from services import filters
from services.access import Scope
from services.context import ServiceContext
from services.errors import ValidationError, one_of
from services.insights.store import history_model
from services.periods import DEFAULT_RANGE

log = logging.getLogger(__name__)

LEVELS = {"channel": "Channel", "campaign": "Campaign"}
LOOKBACK_DAYS = (7, 14, 30, 60, 90)
DEFAULTS = {"level": "channel", "lookback": 30, "direct": "yes", "half_life": 7.0,
            "order": 1, "range": "year"}
# The model the advice compares with last touch (Shapley's figure is given beside it).
REFERENCE = "markov"
# Shifts of credit share smaller than this are not called under- or overvalued.
VALUED_PP = 3.0
# Below this many conversions the data-driven credits rest on few journeys per path.
TRUSTED_CONVERSIONS = 400
TOP_PATHS = 10
LENGTH_BINS = 10  # journeys of 10 touches and more share the last bar
DAY_BINS = (0, 1, 3, 7, 14, 30, 60, 90)
NO_CAMPAIGN = "{channel} (no campaign)"


# --------------------------------------------------------------------------- options


def _number(value, name: str, default: float, low: float, high: float) -> float:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (low <= number <= high):
        raise ValidationError(f"{name} must be a number from {low:g} to {high:g}, got "
                              f"{str(value)[:20]!r}")
    return number


def options(raw: dict | None) -> dict:
    """The model options from raw parameters (URL, API, page), validated."""
    raw = raw if isinstance(raw, dict) else {}
    level = one_of(raw.get("level"), "level", LEVELS, DEFAULTS["level"])
    direct = one_of(raw.get("direct"), "direct", ("yes", "no"), DEFAULTS["direct"])
    order = _number(raw.get("order"), "order", DEFAULTS["order"], 1, 3)
    if order != int(order):
        raise ValidationError("order must be 1, 2 or 3")
    model = one_of(raw.get("model"), "model", am.MODELS)
    return {"level": level, "direct": direct, "model": model, "order": int(order),
            "lookback": int(_number(raw.get("lookback"), "lookback", DEFAULTS["lookback"],
                                    1, 365)),
            "half_life": _number(raw.get("half_life"), "half_life", DEFAULTS["half_life"],
                                 0.5, 90)}


def resolve(ctx: ServiceContext, scope: Scope, raw: dict | None) -> dict:
    """The filter bar's period (a year unless the request names a range) and the options."""
    raw = raw if isinstance(raw, dict) else {}
    period = filters.resolve(ctx, scope, {"range": raw.get("range") or DEFAULTS["range"],
                                          "start": raw.get("start"), "end": raw.get("end"),
                                          "compare": raw.get("compare")})
    return {"start": period.period.start.isoformat(), "end": period.period.end.isoformat(),
            "range": period.range_name, **options(raw)}


# --------------------------------------------------------------------------- the service


def attribution(ctx: ServiceContext, scope: Scope, raw: dict | None = None) -> dict:
    """Everything the view shows (and the API returns) for the company, period and options;
    ``model`` in the options keeps only that model's credits."""
    chosen = resolve(ctx, scope, raw)
    result = company_attribution(ctx, scope.company_id, chosen["start"], chosen["end"],
                                 chosen["level"], chosen["lookback"], chosen["direct"] == "yes",
                                 chosen["half_life"], chosen["order"])
    result["options"] = {**result["options"], "range": chosen["range"],
                         "model": chosen["model"]}
    if chosen["model"]:
        keep = chosen["model"]
        result["models"] = [m for m in result["models"] if m["key"] in (keep, "last_touch")]
        for row in result["rows"]:
            for part in ("conversions", "value", "share", "change_pp"):
                row[part] = {k: v for k, v in row[part].items() if k in (keep, "last_touch")}
    return result


def credits_csv(result: dict) -> str:
    """The credit table as CSV: one row per label, conversions and value per model."""
    out = io.StringIO()
    writer = csv.writer(out)
    models = [m["key"] for m in result["models"]]
    writer.writerow([result["options"]["level"]]
                    + [f"{m} conversions" for m in models] + [f"{m} value" for m in models]
                    + ["spend"])
    for row in result["rows"] + [result["total_row"]]:
        writer.writerow([row["label"]]
                        + [f"{row['conversions'].get(m, 0):.2f}" for m in models]
                        + [f"{row['value'].get(m, 0):.2f}" for m in models]
                        + ["" if row.get("spend") is None else f"{row['spend']:.2f}"])
    return out.getvalue()


@history_model
def company_attribution(ctx: ServiceContext, company_id: int, start: str, end: str,
                        level: str = "channel", lookback: int = 30, direct: bool = True,
                        half_life: float = 7.0, order: int = 1) -> dict:
    """Every model's credits for the journeys ending in [start, end] (and the undated ones)."""
    started = time.perf_counter()
    with ctx.session() as session:
        frame = queries.touches(session, company_id, start, end)
        spend = queries.spend(session, company_id, start, end)
        any_journeys = not frame.empty or queries.has_journeys(session, company_id)
    described = {"start": start, "end": end, "level": level, "lookback": lookback,
                 "direct": "yes" if direct else "no", "half_life": half_life, "order": order}
    if frame.empty:
        return {"empty": True, "has_journeys": any_journeys, "options": described,
                "models": _models(), "rows": [],
                "total_row": None, "totals": {"conversions": 0, "value": 0.0},
                "data": {"journeys": 0}, "warnings": [], "advice": [],
                "verdicts": {"undervalued": [], "overvalued": []}, "markov": None,
                "shapley": None, "seconds": 0.0}
    frame["label"] = _labels(frame, level)
    direct_labels = set(frame.loc[frame["direct"], "label"])
    raw = am.from_frame(frame)
    journeys = am.apply_options(raw, lookback_days=lookback, direct_labels=direct_labels,
                                direct_credit=direct)
    credits = am.run(journeys, half_life_days=half_life, markov_order=order)
    result = summarise(journeys, credits, _spend_by(spend, level))
    result["options"] = described
    result["has_journeys"] = True
    result["data"] = {**data_note(raw, frame), "notes": journeys.notes}
    result["warnings"] = warnings(result, credits)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _models() -> list[dict]:
    return [{"key": m, "label": am.MODEL_LABELS[m], "data_driven": m in am.DATA_DRIVEN}
            for m in am.MODELS]


def _labels(frame: pd.DataFrame, level: str) -> pd.Series:
    if level == "channel":
        return frame["channel"].astype(str)
    unnamed = frame["channel"].map(lambda c: NO_CAMPAIGN.format(channel=c))
    return frame["campaign"].where(frame["campaign"].notna(), unnamed).astype(str)


def _spend_by(spend: pd.DataFrame, level: str) -> dict[str, float]:
    if spend.empty:
        return {}
    return spend.groupby(level)["spend"].sum().to_dict()


# --------------------------------------------------------------------------- the summary


def _pct(part: float, whole: float) -> float | None:
    return part / whole * 100 if whole else None


def summarise(journeys: am.Journeys, credits: dict[str, am.Credit],
              spend: dict[str, float]) -> dict:
    """Rows per label (credits, shares, change against last touch, spend), the totals row,
    under- and overvalued labels and the advice."""
    total = journeys.n_conversions
    cents = journeys.total_cents
    spend_total = sum(spend.get(label, 0.0) for label in journeys.labels)
    rows = []
    for i, label in enumerate(journeys.labels):
        conv = {m: float(c.conversions[i]) for m, c in credits.items()}
        share = {m: _pct(v, total) for m, v in conv.items()}
        last = share["last_touch"]
        rows.append({
            "label": label,
            "conversions": conv,
            "value_cents": {m: int(c.value_cents[i]) for m, c in credits.items()},
            "value": {m: int(c.value_cents[i]) / 100 for m, c in credits.items()},
            "share": share,
            "change_pp": {m: (None if s is None or last is None else s - last)
                          for m, s in share.items()},
            "spend": spend.get(label),
            "spend_share": _pct(spend.get(label, 0.0), spend_total) if label in spend
            else None,
        })
    rows.sort(key=lambda r: (-r["conversions"][REFERENCE], r["label"]))
    total_row = {"label": "Total", "conversions": {m: float(total) for m in credits},
                 "value_cents": {m: cents for m in credits},
                 "value": {m: cents / 100 for m in credits},
                 "spend": spend_total if spend else None}
    verdicts = valued(rows)
    markov = credits["markov"].extra
    effects = dict(zip(journeys.labels, markov["removal_effects"], strict=True))
    transitions = None
    if "transitions" in markov:
        transitions = {"labels": ["(start)", *journeys.labels], **markov["transitions"]}
    return {"empty": False, "models": _models(), "rows": rows, "total_row": total_row,
            "totals": {"conversions": total, "value": cents / 100, "value_cents": cents,
                       "spend": spend_total if spend else None},
            "verdicts": verdicts, "advice": advice(rows, verdicts),
            "markov": {"order": markov["order"], "states": markov["states"],
                       "conversion_probability": markov["conversion_probability"],
                       "removal_effects": effects, "transitions": transitions},
            "shapley": credits["shapley"].extra,
            "time_decay_fallback": credits["time_decay"].extra["fallback_journeys"]}


def valued(rows: list[dict]) -> dict:
    """Labels whose share under both data-driven models is at least ``VALUED_PP`` points above
    (undervalued by last touch) or below (overvalued) their last-touch share; where Markov
    and Shapley disagree, nothing is claimed."""
    under, over = [], []
    for row in rows:
        change, other = row["change_pp"][REFERENCE], row["change_pp"]["shapley"]
        if change is None or other is None:
            continue
        item = {"label": row["label"], "last_touch": row["share"]["last_touch"],
                "markov": row["share"]["markov"], "shapley": row["share"]["shapley"],
                "change_pp": change}
        if min(change, other) >= VALUED_PP:
            under.append(item)
        elif max(change, other) <= -VALUED_PP:
            over.append(item)
    under.sort(key=lambda i: -i["change_pp"])
    over.sort(key=lambda i: i["change_pp"])
    return {"undervalued": under, "overvalued": over}


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def advice(rows: list[dict], verdicts: dict) -> list[dict]:
    """Plain-words budget advice with its evidence: a label undervalued by last touch that
    takes a smaller share of spend than of data-driven credit, and where the budget could
    come from (the overvalued label taking the most spend per credited conversion)."""
    by_label = {row["label"]: row for row in rows}
    sources = [by_label[i["label"]] for i in verdicts["overvalued"]
               if by_label[i["label"]]["spend_share"]]
    source = max(sources, key=lambda r: r["spend_share"] / max(r["share"][REFERENCE] or 0,
                                                                0.1), default=None)
    out = []
    for item in verdicts["undervalued"]:
        row = by_label[item["label"]]
        shares = (f"{row['label']} gets {_p(item['last_touch'])} of conversions under last "
                  f"touch and {_p(item['markov'])} under the Markov model "
                  f"({_p(item['shapley'])} under Shapley)")
        evidence = [f"last touch: {row['conversions']['last_touch']:,.2f} conversions",
                    f"Markov: {row['conversions']['markov']:,.2f} conversions",
                    f"Shapley: {row['conversions']['shapley']:,.2f} conversions"]
        if row["spend_share"] is not None and row["spend_share"] < (item["markov"] or 0):
            text = f"{shares} while taking {_p(row['spend_share'])} of spend"
            text += (f": consider moving budget from {source['label']} "
                     f"({_p(source['spend_share'])} of spend, "
                     f"{_p(source['share'][REFERENCE])} of Markov credit)"
                     if source is not None and source["label"] != row["label"]
                     else ": consider giving it more budget")
            evidence.append(f"spend: ${row['spend']:,.2f} ({_p(row['spend_share'])})")
        elif row["spend_share"] is None:
            text = (f"{shares}: it opens or carries more converting journeys than last "
                    "touch shows (it has no recorded ad spend)")
        else:
            text = (f"{shares}; it already takes {_p(row['spend_share'])} of spend, so "
                    "judge it by more than last-touch conversions")
        out.append({"label": row["label"], "text": text + ".", "evidence": evidence})
    for item in verdicts["overvalued"]:
        out.append({"label": item["label"], "text": (
            f"{item['label']} gets {_p(item['last_touch'])} of conversions under last touch "
            f"but {_p(item['markov'])} under the Markov model ({_p(item['shapley'])} under "
            "Shapley): last touch gives it credit the data-driven models share with the "
            "touches before it."),
            "evidence": [f"change against last touch: {item['change_pp']:+.1f} pp"]})
    return out


# --------------------------------------------------------------------------- the data


def data_note(journeys: am.Journeys, frame: pd.DataFrame) -> dict:
    """What the journeys are: counts, converting share, undated ones, lengths, days to
    convert and the top converting paths (before the options drop touches)."""
    n = journeys.n_journeys
    converting = journeys.n_conversions
    lengths = journeys.lengths()
    undated = np.zeros(n, bool)
    np.logical_or.at(undated, journeys.journey, ~np.isfinite(journeys.time))
    bins = np.minimum(lengths, LENGTH_BINS)
    length_hist = {
        "touches": [str(k) if k < LENGTH_BINS else f"{LENGTH_BINS}+"
                    for k in range(1, LENGTH_BINS + 1)],
        "converting": np.bincount(bins[journeys.converted], minlength=LENGTH_BINS + 1)[1:]
        .tolist(),
        "not_converting": np.bincount(bins[~journeys.converted],
                                      minlength=LENGTH_BINS + 1)[1:].tolist()}
    return {"journeys": n, "converting": converting,
            "converting_share": _pct(converting, n),
            "non_converting": n - converting, "touches": int(len(journeys.journey)),
            "undated_journeys": int(undated.sum()),
            "only_converting": converting == n,
            "lengths": length_hist, "days_to_convert": days_to_convert(journeys, undated),
            "top_paths": top_paths(journeys)}


def days_to_convert(journeys: am.Journeys, undated: np.ndarray) -> dict:
    first = np.full(journeys.n_journeys, np.inf)
    last = np.full(journeys.n_journeys, -np.inf)
    timed = np.isfinite(journeys.time)
    np.minimum.at(first, journeys.journey[timed], journeys.time[timed])
    np.maximum.at(last, journeys.journey[timed], journeys.time[timed])
    use = journeys.converted & ~undated & np.isfinite(first)
    days = (last[use] - first[use]) / am.DAY_S
    edges = np.array([*DAY_BINS, np.inf])
    counts = np.histogram(days, bins=edges)[0].tolist()
    labels = [f"{a}-{b} days" for a, b in zip(DAY_BINS[:-1], DAY_BINS[1:], strict=True)]
    labels.append(f"{DAY_BINS[-1]}+ days")
    return {"bins": labels, "counts": counts,
            "median_days": float(np.median(days)) if len(days) else None}


def top_paths(journeys: am.Journeys, limit: int = TOP_PATHS) -> list[dict]:
    """The most frequent converting paths (labels in order), each with how many journeys
    took it and how many of them converted. Paths are coded as integers (base: labels + 1),
    so only paths short enough for 63 bits are counted; longer ones are left out."""
    base = len(journeys.labels) + 1
    longest = int(62 / np.log2(base)) if base > 1 else 0
    lengths = journeys.lengths()
    starts = journeys.starts()
    position = np.arange(len(journeys.journey)) - starts[journeys.journey]
    fits = lengths[journeys.journey] <= longest
    code = np.zeros(journeys.n_journeys, np.int64)
    np.add.at(code, journeys.journey[fits],
              (journeys.label[fits] + 1) * np.power(base, position[fits], dtype=np.int64))
    keep = (lengths <= longest) & (lengths > 0)
    paths = pd.DataFrame({"code": code[keep], "converted": journeys.converted[keep]})
    grouped = paths.groupby("code")["converted"].agg(["sum", "size"])
    grouped = grouped[grouped["sum"] > 0].sort_values(["sum", "size"], ascending=False)
    out = []
    for code_value, row in grouped.head(limit).iterrows():
        labels, rest = [], int(code_value)
        while rest:
            labels.append(journeys.labels[rest % base - 1])
            rest //= base
        out.append({"path": labels, "conversions": int(row["sum"]), "journeys": int(row["size"]),
                    "conversion_rate": _pct(float(row["sum"]), float(row["size"]))})
    return out


def warnings(result: dict, credits: dict[str, am.Credit]) -> list[str]:
    data = result["data"]
    out = []
    if data["only_converting"]:
        out.append("Every journey here converts: the data set holds no non-converting paths. "
                   "The heuristic models are unaffected, but the Markov and Shapley models "
                   "then only measure how often a channel appears on converting paths, not "
                   "whether journeys with it convert more often than journeys without it.")
    if data["converting"] < TRUSTED_CONVERSIONS:
        out.append(f"Only {data['converting']:,} conversions: the data-driven models need "
                   f"about {TRUSTED_CONVERSIONS} or more (with the non-converting journeys "
                   "beside them) before their credits settle. With fewer, each channel's "
                   "transition and coalition rates rest on a handful of journeys, and a few "
                   "journeys more or less move a channel's credit by several points. Widen "
                   "the date range or read them as a rough guide.")
    shap = credits["shapley"].extra
    if not shap["exact"]:
        out.append(f"Shapley values for {shap['sampled_conversions']:,} conversions whose "
                   f"journeys touched more than {am.SHAPLEY_EXACT_MAX} channels were sampled "
                   f"({shap['samples']:,} random orders each; largest standard error "
                   f"{shap['max_standard_error_share'] * 100:.1f} % of the journey's credit).")
    if result.get("time_decay_fallback"):
        out.append(f"{result['time_decay_fallback']:,} converting journeys have no touch "
                   "times: time decay weighs their touches by position instead (each step "
                   "back from the conversion halves the weight).")
    return out


# --------------------------------------------------------------------------- the worker


def refresh(ctx: ServiceContext, company_ids: list[int] | None = None) -> dict:
    """Compute each company's default attribution for the current history (channel and
    campaign level; the API's default year and the users' default range, which the view
    opens with unless a preference says otherwise), so the first request reads it."""
    if company_ids is None:
        with ctx.session() as session:
            company_ids = [company.id for company in all_companies(session)]
    seconds = {}
    for company_id in company_ids:
        started = time.perf_counter()
        try:
            scope = _system_scope(ctx, company_id)
            for period in dict.fromkeys((DEFAULTS["range"], DEFAULT_RANGE)):
                chosen = resolve(ctx, scope, {"range": period})
                for level in LEVELS:
                    company_attribution.refit_if_stale(
                        ctx, company_id, chosen["start"], chosen["end"], level,
                        chosen["lookback"], chosen["direct"] == "yes", chosen["half_life"],
                        chosen["order"])
        except Exception:  # noqa: BLE001 - one company's bad data must not stop the others
            log.exception("attribution of company %s failed", company_id)
        seconds[company_id] = time.perf_counter() - started
    return seconds


def _system_scope(ctx: ServiceContext, company_id: int) -> Scope:
    from services.access import system_scope

    return system_scope(ctx, company_id, actor="worker")
