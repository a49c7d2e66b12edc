"""Multi-touch attribution models over customer journeys (issue #15): pure numpy/pandas, no
database, no Dash.

A journey is a sequence of touches (channel or campaign labels, in order, with times when the
source has them) that converts on its last touch or not at all. Every model answers the same
question: of the conversions (and their value), how much goes to each label. Every model gives
each conversion's credit exactly once: per model the credits sum to the number of conversions
and to their value. Fractional results are rounded with the largest-remainder method
(``allocate``) so the sums hold to the hundredth of a conversion and to the cent.

Heuristic models give each touch of a converting journey a weight (the weights of a journey
sum to 1): first touch, last touch, linear, time decay (half-life; journeys without times fall
back to position order: each step back halves the weight) and position-based (40/20/40; one
touch 100 %, two touches 50/50).

Data-driven models use the converting and the non-converting journeys:
- Markov chain (order k, default 1): states are the last k labels; the removal effect of a
  label is the share of the chain's conversion probability lost when its states lead nowhere,
  computed exactly from the absorbing chain (solve (I - Q) x = r, i.e. the fundamental
  matrix N = (I - Q)^-1 times the conversion column), not by simulation. Credits are the
  removal effects normalised to the conversions.
- Shapley values: for each set of labels a converting journey touched, the labels share its
  conversion by their Shapley values in the game v(T) = conversion rate of the journeys that
  touched exactly the set T (0 when no journey did), exact over all subsets up to
  ``SHAPLEY_EXACT_MAX`` labels, sampled by random orders beyond (the standard error stated).
  Negative Shapley values (a label whose presence goes with a lower rate) are set to 0 before
  the journey's credit is shared, and the count of such cases is reported.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

HEURISTIC = ("first_touch", "last_touch", "linear", "time_decay", "position")
DATA_DRIVEN = ("markov", "shapley")
MODELS = HEURISTIC + DATA_DRIVEN
MODEL_LABELS = {"first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear",
                "time_decay": "Time decay", "position": "Position-based (40/20/40)",
                "markov": "Markov chain", "shapley": "Shapley"}
DAY_S = 86_400.0
SHAPLEY_EXACT_MAX = 15
SHAPLEY_SAMPLES = 2_000  # random orders per journey set beyond the exact size
CONVERSION_UNITS = 100  # conversions are credited in hundredths


@dataclass
class Journeys:
    """Touches in journey order, as arrays.

    ``journey``: the touch's journey, 0..J-1, non-decreasing; ``label``: the touch's label
    code, 0..L-1 into ``labels``; ``time``: seconds since the epoch, NaN when unknown;
    ``converted`` and ``value_cents``: per journey (value 0 for a non-converting one)."""

    journey: np.ndarray
    label: np.ndarray
    time: np.ndarray
    converted: np.ndarray
    value_cents: np.ndarray
    labels: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def n_journeys(self) -> int:
        return len(self.converted)

    @property
    def n_conversions(self) -> int:
        return int(self.converted.sum())

    @property
    def total_cents(self) -> int:
        return int(self.value_cents[self.converted].sum())

    def lengths(self) -> np.ndarray:
        return np.bincount(self.journey, minlength=self.n_journeys)

    def starts(self) -> np.ndarray:
        return np.r_[0, np.cumsum(self.lengths())[:-1]]


def from_frame(frame: pd.DataFrame, label: str = "label") -> Journeys:
    """Journeys from one row per touch: ``journey`` (any key), ``position``, ``label``
    column, ``time`` (datetime or None), ``converted`` (bool, on any touch of the journey)
    and ``value`` (the conversion's value in currency units, on any touch)."""
    # Hash the keys once and sort integers (sorting millions of strings costs seconds).
    keys, _ = pd.factorize(frame["journey"], sort=False)
    order = np.lexsort((frame["position"].to_numpy(), keys))
    frame = frame.iloc[order]
    journey_codes, _ = pd.factorize(keys[order], sort=False)
    label_codes, labels = pd.factorize(frame[label].astype(str), sort=False)
    rank = np.argsort(np.argsort(np.asarray(labels, dtype=object)))  # labels in name order
    label_codes, labels = rank[label_codes], sorted(str(x) for x in labels)
    times = frame["time"] if "time" in frame else pd.Series(pd.NaT, index=frame.index)
    stamps = pd.to_datetime(times, utc=True)
    seconds = ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
        float, na_value=np.nan)
    n = int(journey_codes.max()) + 1 if len(journey_codes) else 0
    converted = np.zeros(n, bool)
    np.logical_or.at(converted, journey_codes, frame["converted"].fillna(False)
                     .to_numpy(bool))
    value = (pd.to_numeric(frame["value"], errors="coerce").fillna(0).to_numpy(float)
             if "value" in frame else np.zeros(len(frame)))
    cents = np.zeros(n, np.int64)
    np.maximum.at(cents, journey_codes, np.rint(value * 100).astype(np.int64))
    cents[~converted] = 0
    return Journeys(journey_codes.astype(np.int64), label_codes.astype(np.int64), seconds,
                    converted, cents, labels)


# --------------------------------------------------------------------------- options


def apply_options(journeys: Journeys, *, lookback_days: float | None = 30,
                  direct_labels: set[str] | frozenset[str] = frozenset(),
                  direct_credit: bool = True) -> Journeys:
    """Touches that may take credit: those within ``lookback_days`` before the journey's
    conversion (or its last touch; touches without a time are kept), and without direct
    labels when ``direct_credit`` is False (a journey of direct touches only keeps them:
    otherwise its conversion would be lost)."""
    keep = np.ones(len(journeys.journey), bool)
    notes = list(journeys.notes)
    if lookback_days is not None and np.isfinite(journeys.time).any():
        end = np.full(journeys.n_journeys, np.nan)
        timed = np.isfinite(journeys.time)
        np.fmax.at(end, journeys.journey[timed], journeys.time[timed])
        age = end[journeys.journey] - journeys.time
        old = timed & (age > lookback_days * DAY_S)
        if old.any():
            notes.append(f"{int(old.sum()):,} touches older than the {lookback_days:g}-day "
                         "lookback window before their journey's end take no credit")
        keep &= ~old
    if not direct_credit and direct_labels:
        codes = [i for i, name in enumerate(journeys.labels) if name in direct_labels]
        direct = np.isin(journeys.label, codes)
        other = np.bincount(journeys.journey[keep & ~direct],
                            minlength=journeys.n_journeys) > 0
        dropped = keep & direct & other[journeys.journey]
        if dropped.any():
            notes.append(f"{int(dropped.sum()):,} direct touches take no credit (journeys of "
                         "direct touches only keep theirs)")
        keep &= ~dropped
    return Journeys(journeys.journey[keep], journeys.label[keep], journeys.time[keep],
                    journeys.converted, journeys.value_cents, journeys.labels, notes)


# --------------------------------------------------------------------------- rounding


def allocate(amounts: np.ndarray, total: int) -> np.ndarray:
    """Integers as close as possible to ``amounts`` that sum to ``total`` exactly (largest
    remainder: round down, then give the units left to the largest fractional parts; ties
    to the first)."""
    amounts = np.asarray(amounts, float)
    if amounts.size == 0:
        return np.zeros(0, np.int64)
    floor = np.floor(amounts)
    result = floor.astype(np.int64)
    left = int(total - result.sum())
    order = np.argsort(-(amounts - floor), kind="stable")
    if left > 0:
        result[order[np.arange(left) % len(order)]] += 1
    elif left < 0:  # only when the amounts overshoot the total (float error)
        result[order[::-1][np.arange(-left) % len(order)]] -= 1
    return result


@dataclass
class Credit:
    """One model's credit per label: conversions (hundredths) and value (cents), exact."""

    conversions: np.ndarray  # float, exact hundredths
    value_cents: np.ndarray  # int64
    extra: dict = field(default_factory=dict)


def credit_from_shares(conv: np.ndarray, value: np.ndarray, journeys: Journeys,
                       extra: dict | None = None) -> Credit:
    """Fractional conversions and cents per label -> exact credit."""
    units = allocate(conv * CONVERSION_UNITS, journeys.n_conversions * CONVERSION_UNITS)
    cents = allocate(value, journeys.total_cents)
    return Credit(units / CONVERSION_UNITS, cents, extra or {})


# --------------------------------------------------------------------------- heuristics


def _converting_touches(journeys: Journeys):
    """Per touch of a converting journey: journey, label, position from 0, journey length,
    touches after it, time."""
    lengths = journeys.lengths()
    on = journeys.converted[journeys.journey] & (lengths[journeys.journey] > 0)
    j = journeys.journey[on]
    starts = journeys.starts()
    position = np.flatnonzero(on) - starts[j]
    n = lengths[j]
    return j, journeys.label[on], position, n, n - 1 - position, journeys.time[on]


def touch_weights(journeys: Journeys, model: str, half_life_days: float = 7.0):
    """Each converting journey's touches' weights (summing to 1 per journey), with the touch
    arrays; for time decay also how many journeys fell back to position order."""
    j, label, position, n, back, time = _converting_touches(journeys)
    fallback = 0
    if model == "first_touch":
        w = (position == 0).astype(float)
    elif model == "last_touch":
        w = (back == 0).astype(float)
    elif model == "linear":
        w = 1.0 / n
    elif model == "position":
        middle = np.where(n > 2, 0.2 / np.maximum(n - 2, 1), 0.0)
        ends = np.where(n == 1, 1.0, np.where(n == 2, 0.5, 0.4))
        w = np.where((position == 0) | (back == 0), ends, middle)
    elif model == "time_decay":
        end = np.full(journeys.n_journeys, -np.inf)
        np.maximum.at(end, j, np.where(np.isfinite(time), time, -np.inf))
        untimed = np.zeros(journeys.n_journeys, bool)
        np.logical_or.at(untimed, j, ~np.isfinite(time))
        # a journey with any touch missing its time: position order (each step back halves)
        steps = np.where(untimed[j], back.astype(float),
                         (end[j] - np.where(np.isfinite(time), time, 0)) / (
                             half_life_days * DAY_S))
        raw = np.exp2(-steps)
        sums = np.bincount(j, weights=raw, minlength=journeys.n_journeys)
        w = raw / sums[j]
        fallback = int((untimed & journeys.converted).sum())
    else:
        raise ValueError(f"unknown heuristic model {model!r}")
    return j, label, w, fallback


def heuristic(journeys: Journeys, model: str, half_life_days: float = 7.0) -> Credit:
    j, label, w, fallback = touch_weights(journeys, model, half_life_days)
    size = len(journeys.labels)
    conv = np.bincount(label, weights=w, minlength=size)
    value = np.bincount(label, weights=w * journeys.value_cents[j], minlength=size)
    extra = {"fallback_journeys": fallback} if model == "time_decay" else {}
    return credit_from_shares(conv, value, journeys, extra)


# --------------------------------------------------------------------------- Markov


@dataclass
class Chain:
    """An absorbing Markov chain of journeys: transient states 0 = start, 1.. = label
    states (the last ``order`` labels), and transition counts to each other and to the two
    absorbing states (conversion, null)."""

    states: list[tuple[int, ...]]  # label codes of each transient state (start: ())
    counts: np.ndarray  # (S, S) counts between transient states
    to_conversion: np.ndarray  # (S,) counts
    to_null: np.ndarray  # (S,) counts

    def probabilities(self):
        out = self.counts.sum(1) + self.to_conversion + self.to_null
        out = np.where(out > 0, out, 1.0)
        return self.counts / out[:, None], self.to_conversion / out, self.to_null / out


def build_chain(journeys: Journeys, order: int = 1) -> Chain:
    """Transition counts of every journey (converting and not): start -> first state,
    state -> next state, last state -> conversion or null."""
    L = len(journeys.labels)
    base = L + 1  # code 0 pads the first states of a journey
    starts = journeys.starts()
    position = np.arange(len(journeys.journey)) - starts[journeys.journey]
    code = np.zeros(len(journeys.journey), np.int64)
    for k in range(order):  # state = the last `order` labels, as one integer
        shifted = np.full(len(code), 0, np.int64)
        ok = position >= k
        idx = np.flatnonzero(ok)
        shifted[idx] = journeys.label[idx - k] + 1
        code += shifted * base ** k
    unique, state = np.unique(code, return_inverse=True)
    state = state + 1  # 0 is start
    S = len(unique) + 1
    is_first = position == 0
    is_last = np.r_[journeys.journey[1:] != journeys.journey[:-1], True] if len(code) else \
        np.zeros(0, bool)
    prev = np.r_[0, state[:-1]]
    prev = np.where(is_first, 0, prev)
    counts = np.bincount(prev * S + state, minlength=S * S).reshape(S, S).astype(float)
    last_state = state[is_last]
    last_journey = journeys.journey[is_last]
    conv = journeys.converted[last_journey]
    to_conversion = np.bincount(last_state[conv], minlength=S).astype(float)
    to_null = np.bincount(last_state[~conv], minlength=S).astype(float)
    states = [()] + [tuple(int((u // base ** k) % base) - 1 for k in range(order)
                           if (u // base ** k) % base) for u in unique]
    return Chain(states, counts, to_conversion, to_null)


def conversion_probability(Q: np.ndarray, r: np.ndarray) -> float:
    """P(absorbed in conversion | start) = (N r)[0] with N = (I - Q)^-1, solved directly."""
    if len(r) == 0:
        return 0.0
    try:
        x = np.linalg.solve(np.eye(len(r)) - Q, r)
    except np.linalg.LinAlgError:
        x = np.linalg.lstsq(np.eye(len(r)) - Q, r, rcond=None)[0]
    return float(x[0])


def removal_effects(chain: Chain, n_labels: int) -> tuple[float, np.ndarray]:
    """The chain's conversion probability and each label's removal effect: 1 - P(conversion
    with every state holding the label leading to null) / P(conversion)."""
    Q, r, _ = chain.probabilities()
    base = conversion_probability(Q, r)
    effects = np.zeros(n_labels)
    if base <= 0:
        return base, effects
    for label in range(n_labels):
        holds = np.array([label in s for s in chain.states])
        if not holds.any():
            continue
        Q2, r2 = Q.copy(), r.copy()
        Q2[:, holds] = 0.0  # moving into a removed state: absorbed in null
        r2[holds] = 0.0
        effects[label] = 1.0 - conversion_probability(Q2, r2) / base
    return base, effects


def markov(journeys: Journeys, order: int = 1) -> Credit:
    chain = build_chain(journeys, order)
    probability, effects = removal_effects(chain, len(journeys.labels))
    total = effects.sum()
    shares = effects / total if total > 0 else np.zeros_like(effects)
    extra = {"order": order, "conversion_probability": probability,
             "removal_effects": effects.tolist(), "states": len(chain.states) - 1}
    if order == 1:
        P, to_conv, to_null = chain.probabilities()
        extra["transitions"] = {"matrix": P.tolist(), "to_conversion": to_conv.tolist(),
                                "to_null": to_null.tolist()}
    return credit_from_shares(shares * journeys.n_conversions, shares * journeys.total_cents,
                              journeys, extra)


# --------------------------------------------------------------------------- Shapley


def shapley_exact(values: np.ndarray, k: int) -> np.ndarray:
    """Shapley values of k players for a game given as ``values[mask]`` over all 2^k
    coalitions (bit i = player i): sum over coalitions T without i of
    |T|! (k - |T| - 1)! / k! (v(T + i) - v(T))."""
    masks = np.arange(1 << k)
    sizes = np.bitwise_count(masks)
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
                       for s in range(k)])
    phi = np.zeros(k)
    for i in range(k):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = np.sum(weight[sizes[without]] * (values[without | (1 << i)]
                                                    - values[without]))
    return phi


def shapley_sampled(value_of, k: int, samples: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values by random orders of the players (each order's marginal
    contributions), and their standard errors; ``value_of(masks)`` maps an array of
    coalition masks (Python ints held as objects beyond 62 players) to values."""
    totals = np.zeros((samples, k))
    for s in range(samples):
        order = rng.permutation(k)
        masks = list(itertools.accumulate(1 << int(p) for p in order))
        vals = np.asarray(value_of([0] + masks), float)
        totals[s, order] = np.diff(vals)
    return totals.mean(0), totals.std(0, ddof=1) / math.sqrt(samples)


def journey_sets(journeys: Journeys) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Each journey's set of labels as a bit mask (Python ints beyond 62 labels), with the
    journeys and conversions per distinct set."""
    L = len(journeys.labels)
    if L <= 62:
        bits = np.zeros(journeys.n_journeys, np.int64)
        np.bitwise_or.at(bits, journeys.journey, np.left_shift(1, journeys.label))
        masks, inverse = np.unique(bits, return_inverse=True)
        masks = [int(m) for m in masks]
    else:
        bits = [0] * journeys.n_journeys
        for j, label in zip(journeys.journey.tolist(), journeys.label.tolist(), strict=True):
            bits[j] |= 1 << label
        uniq = sorted(set(bits))
        where = {m: i for i, m in enumerate(uniq)}
        inverse = np.array([where[b] for b in bits], np.int64)
        masks = uniq
    journeys_per = np.bincount(inverse, minlength=len(masks)).astype(float)
    conversions = np.bincount(inverse, weights=journeys.converted.astype(float),
                              minlength=len(masks))
    values = np.bincount(inverse, weights=journeys.value_cents.astype(float),
                         minlength=len(masks))
    return masks, journeys_per, conversions, values


def _shapley_exact_sets(keys: np.ndarray, rates: np.ndarray, members: np.ndarray,
                        k: int) -> np.ndarray:
    """Exact Shapley values for many label sets of one size k at once: ``members`` (sets x
    k label codes); v(T) = the rate of the coalition's global mask (0 when absent)."""
    subs = np.arange(1 << k)
    bits = (subs[:, None] >> np.arange(k)) & 1  # (2^k, k)
    # distinct labels: the sum of their bits is their union
    glob = (bits[None, :, :] << members[:, None, :]).sum(axis=2)  # (sets, 2^k)
    at = np.minimum(np.searchsorted(keys, glob), len(keys) - 1)
    values = np.where(keys[at] == glob, rates[at], 0.0)
    sizes = np.bitwise_count(subs)
    weight = np.array([math.factorial(n) * math.factorial(k - n - 1) / math.factorial(k)
                       for n in range(k)])
    phi = np.zeros((len(members), k))
    for i in range(k):
        without = subs[(subs >> i) & 1 == 0]
        phi[:, i] = (weight[sizes[without]] * (values[:, without | (1 << i)]
                                               - values[:, without])).sum(axis=1)
    return phi


def shapley(journeys: Journeys, seed: int = 0) -> Credit:
    masks, n_per, conv_per, value_per = journey_sets(journeys)
    rate = {m: (c / n if n else 0.0) for m, n, c in zip(masks, n_per, conv_per, strict=True)}
    rate.pop(0, None)  # the empty set: journeys with no touch left (v(empty) = 0)
    L = len(journeys.labels)
    if L <= 62:  # coalitions as int64 masks, looked up in sorted arrays
        keys = np.array(sorted(rate), np.int64)
        rates = np.array([rate[m] for m in keys.tolist()], float)
    conv = np.zeros(L)
    value = np.zeros(L)
    rng = np.random.default_rng(seed)
    sampled, worst_error, clipped, largest = 0, 0.0, 0, 0
    rest = []  # sets for the one-by-one path below
    if L <= 62:  # the exact sets of each size at once (numpy over sets x coalitions)
        by_size: dict[int, list] = {}
        for mask, c, v in zip(masks, conv_per, value_per, strict=True):
            if c <= 0 or mask == 0:
                continue
            members = [i for i in range(L) if mask >> i & 1]
            if len(members) > SHAPLEY_EXACT_MAX:
                rest.append((mask, c, v))
            else:
                by_size.setdefault(len(members), []).append((members, c, v))
        for k, group in by_size.items():
            largest = max(largest, k)
            members = np.array([g[0] for g in group], np.int64)
            counts = np.array([g[1] for g in group])
            values = np.array([g[2] for g in group])
            step = max(1, 2_000_000 >> k)  # bounded memory: sets x 2^k values per batch
            for at in range(0, len(group), step):
                phi = _shapley_exact_sets(keys, rates, members[at:at + step], k)
                c, v = counts[at:at + step], values[at:at + step]
                clipped += int(c[(phi < 0).any(axis=1)].sum())
                phi = np.clip(phi, 0.0, None)
                total = phi.sum(axis=1, keepdims=True)
                share = np.where(total > 0, phi / np.where(total > 0, total, 1.0), 1.0 / k)
                np.add.at(conv, members[at:at + step], share * c[:, None])
                np.add.at(value, members[at:at + step], share * v[:, None])
    else:
        rest = list(zip(masks, conv_per, value_per, strict=True))
    for mask, c, v in rest:
        if c <= 0 or mask == 0:
            continue
        members = [i for i in range(L) if mask >> i & 1]
        k = len(members)
        largest = max(largest, k)

        def value_of(subsets, members=members):
            """v of coalitions given as masks over the journey set's members."""
            if L > 62:
                out = []
                for sub in subsets:
                    glob = sum(1 << m for i, m in enumerate(members) if sub >> i & 1)
                    out.append(rate.get(glob, 0.0))
                return np.asarray(out, float)
            subs = np.asarray(subsets, np.int64)
            glob = np.zeros(len(subs), np.int64)
            for i, m in enumerate(members):
                glob |= ((subs >> i) & 1) << m
            at = np.minimum(np.searchsorted(keys, glob), len(keys) - 1)
            return np.where(keys[at] == glob, rates[at], 0.0)

        if k <= SHAPLEY_EXACT_MAX:
            phi = shapley_exact(value_of(np.arange(1 << k)), k)
        else:
            phi, error = shapley_sampled(value_of, k, SHAPLEY_SAMPLES, rng)
            sampled += int(c)
            worst_error = max(worst_error, float((error / max(rate[mask], 1e-12)).max()))
        if (phi < 0).any():
            clipped += int(c)
        phi = np.clip(phi, 0.0, None)
        share = phi / phi.sum() if phi.sum() > 0 else np.full(k, 1.0 / k)
        conv[members] += share * c
        value[members] += share * v
    extra = {"exact": sampled == 0, "sampled_conversions": sampled,
             "largest_set": largest, "negative_clipped_conversions": clipped,
             "max_standard_error_share": worst_error if sampled else 0.0,
             "samples": SHAPLEY_SAMPLES if sampled else 0}
    return credit_from_shares(conv, value, journeys, extra)


# --------------------------------------------------------------------------- all models


def run(journeys: Journeys, *, half_life_days: float = 7.0, markov_order: int = 1,
        models: tuple[str, ...] = MODELS) -> dict[str, Credit]:
    out = {}
    for model in models:
        if model in HEURISTIC:
            out[model] = heuristic(journeys, model, half_life_days)
        elif model == "markov":
            out[model] = markov(journeys, markov_order)
        elif model == "shapley":
            out[model] = shapley(journeys)
        else:
            raise ValueError(f"unknown model {model!r}")
    return out
