"""Attribution models (issue #15) against answers worked out by hand, an independent
fundamental-matrix computation and a simulation of a small chain, the Shapley axioms, and
journeys generated with a known true channel effect."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sqlalchemy import text

from services import attribution_models as am

DAY = "2026-01-{:02d}T00:00:00Z"


def journeys_of(rows, times: bool = True) -> am.Journeys:
    """rows: (journey, label, day or None, converted, value)."""
    frame = pd.DataFrame(rows, columns=["journey", "label", "day", "converted", "value"])
    frame["position"] = frame.groupby("journey").cumcount() + 1
    frame["time"] = pd.to_datetime([DAY.format(d) if times and d else None
                                    for d in frame["day"]], utc=True)
    return am.from_frame(frame)


# Four journeys, times a week apart (one half-life): A B C converts 100.00, B converts 33.33,
# C A converts 10.00, A B does not convert. 3 conversions, 14,333 cents.
HAND = [("j1", "A", 1, False, 0), ("j1", "B", 8, False, 0), ("j1", "C", 15, True, 100.00),
        ("j2", "B", 1, True, 33.33),
        ("j3", "C", 1, False, 0), ("j3", "A", 8, True, 10.00),
        ("j4", "A", 1, False, 0), ("j4", "B", 2, False, 0)]
# (conversions, cents) of A, B, C per model, worked out by hand:
EXPECTED = {
    # firsts: A (j1, 10,000), B (j2, 3,333), C (j3, 1,000)
    "first_touch": ([1, 1, 1], [10_000, 3_333, 1_000]),
    "last_touch": ([1, 1, 1], [1_000, 3_333, 10_000]),
    # j1 a third each (3,333.33), j2 B, j3 halves (500): A 3,833.33, B 6,666.33, C 3,833.33;
    # the cent left goes to the largest remainder, a tie: the first (A). Conversions
    # 0.8333, 1.3333, 0.8333: the hundredth left to A as well.
    "linear": ([0.84, 1.33, 0.83], [3_834, 6_666, 3_833]),
    # j1 40/20/40, j2 100 % B, j3 50/50
    "position": ([0.9, 1.2, 0.9], [4_500, 5_333, 4_500]),
    # j1 weights 1/4, 1/2, 1 (ages 14, 7, 0 days): 1/7, 2/7, 4/7 -> 1,428.57, 2,857.14,
    # 5,714.29; j3 C 1/2 A 1: 333.33, 666.67; j2 B 3,333: A 2,095.24, B 6,190.14,
    # C 6,047.62 -> the cent to C. Conversions 0.8095, 1.2857, 0.9048 -> 80, 128, 90
    # hundredths and the 2 left to A (.95) and B (.57).
    "time_decay": ([0.81, 1.29, 0.90], [2_095, 6_190, 6_048]),
}


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_heuristic_models_match_hand_worked_answers_to_the_cent(model):
    journeys = journeys_of(HAND)
    assert journeys.labels == ["A", "B", "C"]
    credit = am.heuristic(journeys, model)
    conversions, cents = EXPECTED[model]
    assert credit.conversions.tolist() == pytest.approx(conversions, abs=1e-9)
    assert credit.value_cents.tolist() == cents
    assert sum(cents) == 14_333 and round(credit.conversions.sum(), 9) == 3


def test_time_decay_without_times_falls_back_to_position_order():
    # Each step back halves the weight: here the same as the timed journeys (a week apart).
    credit = am.heuristic(journeys_of(HAND, times=False), "time_decay")
    assert credit.extra["fallback_journeys"] == 3
    assert credit.value_cents.tolist() == EXPECTED["time_decay"][1]
    assert am.heuristic(journeys_of(HAND), "time_decay").extra["fallback_journeys"] == 0


def test_position_based_one_and_two_touch_journeys():
    one = am.heuristic(journeys_of([("a", "X", 1, True, 9.99)]), "position")
    assert one.value_cents.tolist() == [999]
    two = am.heuristic(journeys_of([("a", "X", 1, False, 0), ("a", "Y", 2, True, 0.01)]),
                       "position")
    assert two.conversions.tolist() == [0.5, 0.5]
    assert two.value_cents.sum() == 1  # the odd cent goes to one of them, never lost


def test_lookback_and_direct_options():
    rows = [("a", "Social", 1, False, 0), ("a", "Website", 20, False, 0),
            ("a", "Email", 25, True, 50.0), ("b", "Website", 1, True, 20.0)]
    windowed = am.apply_options(journeys_of(rows), lookback_days=10)
    first = am.heuristic(windowed, "first_touch")  # Social is 24 days before: out
    assert dict(zip(windowed.labels, first.value_cents.tolist(), strict=True)) == {
        "Email": 0, "Social": 0, "Website": 7_000}
    no_direct = am.apply_options(journeys_of(rows), lookback_days=None,
                                 direct_labels={"Website"}, direct_credit=False)
    linear = am.heuristic(no_direct, "linear")
    # a: Social and Email halves; b: direct only, keeps its credit
    assert dict(zip(no_direct.labels, linear.value_cents.tolist(), strict=True)) == {
        "Email": 2_500, "Social": 2_500, "Website": 2_000}


def test_allocate_is_exact_and_closest():
    amounts = np.array([1 / 3, 1 / 3, 1 / 3]) * 100
    assert am.allocate(amounts, 100).tolist() == [34, 33, 33]
    rng = np.random.default_rng(5)
    for _ in range(50):
        raw = rng.dirichlet(np.ones(7)) * 12_345
        out = am.allocate(raw, 12_345)
        assert out.sum() == 12_345 and np.abs(out - raw).max() < 1


# --------------------------------------------------------------------------- Markov

# Five journeys: A B converts, A (null), B converts, B A (null), A B (null).
CHAIN = [("1", "A", 1, False, 0), ("1", "B", 2, True, 30.0), ("2", "A", 1, False, 0),
         ("3", "B", 1, True, 10.0), ("4", "B", 1, False, 0), ("4", "A", 2, False, 0),
         ("5", "A", 1, False, 0), ("5", "B", 2, False, 0)]


def hand_chain():
    """The chain of CHAIN written out by hand: transient start, A, B; absorbing conversion,
    null. start -> A 3, -> B 2; A -> B 2, -> null 2; B -> conversion 2, -> A 1, -> null 1."""
    Q = np.array([[0, 3 / 5, 2 / 5],
                  [0, 0, 2 / 4],
                  [0, 1 / 4, 0]])
    R = np.array([[0, 0], [0, 2 / 4], [2 / 4, 1 / 4]])  # columns: conversion, null
    return Q, R


def fundamental_conversion(Q, R, removed=()):
    Q, R = Q.copy(), R.copy()
    for state in removed:  # into a removed state: absorbed in null
        R[:, 1] += Q[:, state]
        Q[:, state] = 0
        R[state] = [0, 1]
        Q[state] = 0
    N = np.linalg.inv(np.eye(len(Q)) - Q)
    return (N @ R)[0, 0]


def test_markov_removal_effects_equal_the_fundamental_matrix():
    Q, R = hand_chain()
    base = fundamental_conversion(Q, R)
    assert base == pytest.approx(0.4)  # 2 conversions in 5 journeys
    expected = [1 - fundamental_conversion(Q, R, [s]) / base for s in (1, 2)]
    assert expected == pytest.approx([0.5, 1.0])
    credit = am.markov(journeys_of(CHAIN))
    assert credit.extra["conversion_probability"] == pytest.approx(base, abs=1e-12)
    assert credit.extra["removal_effects"] == pytest.approx(expected, abs=1e-12)
    # shares 1/3 and 2/3 of 2 conversions and 4,000 cents
    assert credit.conversions.tolist() == pytest.approx([0.67, 1.33])
    assert credit.value_cents.tolist() == [1_333, 2_667]


def test_markov_agrees_with_a_simulation_of_the_chain():
    Q, R = hand_chain()
    P = np.hstack([Q, R])  # states 0..2 transient, 3 conversion, 4 null
    rng = np.random.default_rng(11)
    walks = 200_000

    def simulate(removed: set[int]) -> float:
        state = np.zeros(walks, np.int64)
        for _ in range(60):  # P(still walking after 60 steps) is negligible here
            live = state < 3
            if not live.any():
                break
            cum = np.cumsum(P[state[live]], axis=1)
            nxt = (rng.random(live.sum())[:, None] >= cum).sum(1)
            nxt = np.where(np.isin(nxt, list(removed)), 4, nxt)
            state[live] = nxt
        return float((state == 3).mean())

    credit = am.markov(journeys_of(CHAIN))
    base = simulate(set())
    error = math.sqrt(base * (1 - base) / walks)
    assert abs(base - credit.extra["conversion_probability"]) < 4 * error
    for label, removed in ((0, {1}), (1, {2})):
        without = simulate(removed)
        error = math.sqrt(without * (1 - without) / walks + base * (1 - base) / walks)
        effect = credit.extra["removal_effects"][label]
        assert abs((1 - without / base) - effect) < 4 * error / base


def test_markov_higher_order_conserves_credit():
    journeys = journeys_of(HAND + CHAIN)
    for order in (1, 2, 3):
        credit = am.markov(journeys, order)
        assert credit.value_cents.sum() == journeys.total_cents
        assert round(credit.conversions.sum() * 100) == journeys.n_conversions * 100


# --------------------------------------------------------------------------- Shapley


def brute_shapley(v, k):
    """By definition: average marginal contribution over all orders."""
    phi = np.zeros(k)
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        mask = 0
        for p in order:
            phi[p] += v[mask | 1 << p] - v[mask]
            mask |= 1 << p
    return phi / len(orders)


def test_shapley_efficiency_symmetry_and_null_player():
    rng = np.random.default_rng(2)
    k = 5
    v = np.zeros(1 << k)
    for mask in range(1, 1 << k):
        core = mask & 0b111  # players 0..2; 3 is null; 0 and 1 symmetric
        key = (bin(core & 0b11).count("1"), core >> 2 & 1, mask >> 4 & 1)
        v[mask] = hash(key) % 1000 / 1000 if core or mask >> 4 & 1 else 0.0
    v[0] = 0.0
    phi = am.shapley_exact(v, k)
    assert phi == pytest.approx(brute_shapley(v, k))
    assert phi.sum() == pytest.approx(v[-1] - v[0])  # efficiency
    assert phi[0] == pytest.approx(phi[1])  # symmetry
    assert phi[3] == pytest.approx(0.0, abs=1e-12)  # null player
    # sampled orders agree within their stated error
    sampled, error = am.shapley_sampled(lambda masks: v[np.asarray(masks)], k, 4_000, rng)
    assert np.all(np.abs(sampled - phi) < 5 * error + 1e-12)


def test_shapley_model_on_journeys_null_channel_and_symmetric_channels():
    rows = []
    plan = {("A",): (4, 2), ("A", "X"): (4, 2), ("X",): (4, 0), ("B",): (4, 2),
            ("B", "X"): (4, 2)}
    for labels, (n, converting) in plan.items():
        for i in range(n):
            key = "".join(labels) + str(i)
            for position, label in enumerate(labels):
                last = position == len(labels) - 1
                rows.append((key, label, position + 1, last and i < converting,
                             12.5 if last and i < converting else 0))
    journeys = journeys_of(rows)
    credit = am.shapley(journeys)
    got = dict(zip(journeys.labels, credit.conversions.tolist(), strict=True))
    assert got == {"A": 4.0, "B": 4.0, "X": 0.0}  # X converts nothing on its own or added
    assert credit.value_cents.sum() == journeys.total_cents == 8 * 1250
    assert credit.extra["exact"]


# --------------------------------------------------------------------------- known truth

TRUTH_CHANNELS = ["Display", "Video", "Social", "Email", "Affiliate", "Search"]
TRUE_EFFECT = np.array([0.10, 0.07, 0.04, 0.03, 0.015, 0.005])
# How often each channel is the first, a middle or the last touch: the weakest channel
# (Search) closes most journeys, the strongest (Display) opens them.
PROPENSITY = np.array([[5, 4, 3, 1, 1, 1], [2, 2, 3, 2, 1, 2], [0.5, 0.5, 1, 2, 2, 8]], float)


def known_truth(n: int, seed: int):
    """Journeys whose conversion probability is 1 - (1 - 2 %) x prod (1 - effect) over the
    channels touched, and each channel's true contribution: the expected conversions lost
    without it."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, n)
    journey = np.repeat(np.arange(n), lengths)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    position = np.arange(len(journey)) - starts[journey]
    back = lengths[journey] - 1 - position
    kind = np.where(position == 0, 0, np.where(back == 0, 2, 1))
    cum = np.cumsum(PROPENSITY / PROPENSITY.sum(1, keepdims=True), axis=1)
    label = np.minimum((rng.random(len(journey))[:, None] >= cum[kind]).sum(1), 5)
    present = np.zeros((n, 6), bool)
    present[journey, label] = True
    miss = 0.98 * np.prod(np.where(present, 1 - TRUE_EFFECT, 1), axis=1)
    converted = rng.random(n) < 1 - miss
    truth = np.array([np.sum(miss / np.where(present[:, c], 1 - TRUE_EFFECT[c], 1) - miss)
                      for c in range(6)])
    journeys = am.Journeys(journey, label, np.full(len(journey), np.nan), converted,
                           np.where(converted, 10_000, 0), TRUTH_CHANNELS)
    return journeys, truth


def test_data_driven_models_rank_channels_closer_to_the_truth_than_last_touch():
    journeys, truth = known_truth(100_000, 3)
    results = am.run(journeys)
    rho = {m: spearmanr(c.conversions, truth).statistic for m, c in results.items()}
    share = truth / truth.sum()
    error = {m: float(np.abs(c.conversions / c.conversions.sum() - share).sum() / 2)
             for m, c in results.items()}
    print("\nSpearman rank correlation with the true contributions:",
          {m: round(r, 3) for m, r in rho.items()})
    print("Share of credit misplaced against the truth:",
          {m: round(e, 3) for m, e in error.items()})
    for model in am.DATA_DRIVEN:
        assert rho[model] > rho["last_touch"] + 0.5
        assert error[model] < error["last_touch"]
    assert rho["shapley"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- real data

JOURNEYS_CSV = (Path(__file__).resolve().parents[2] / "shared" / "data"
                / "channel_attribution_journeys" / "Channel_attribution.csv")


def assert_conserved(result: dict, conversions: int, cents: int) -> None:
    assert result["totals"]["conversions"] == conversions
    assert result["totals"]["value_cents"] == cents
    for model in am.MODELS:
        units = sum(round(row["conversions"][model] * 100) for row in result["rows"])
        assert units == conversions * 100, model
        assert sum(row["value_cents"][model] for row in result["rows"]) == cents, model


def stored_totals(ctx, company_id: int, start: str, end: str) -> tuple[int, int]:
    """Conversions and their value in cents, straight from the touchpoints (pandas)."""
    with ctx.session() as session:
        rows = session.execute(text("""
            SELECT coalesce(source, '') || journey_id AS journey, touched_at, converted,
                   conversion_value FROM touchpoints WHERE company_id = :c"""),
            {"c": company_id}).all()
    frame = pd.DataFrame(rows, columns=["journey", "time", "converted", "value"])
    ends = frame.groupby("journey")["time"].max()
    inside = ends.isna() | ((ends >= pd.Timestamp(start, tz="UTC"))
                            & (ends < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)))
    chosen = frame[frame["journey"].isin(ends.index[inside]) & frame["converted"]]
    cents = (pd.to_numeric(chosen["value"]).fillna(0) * 100).round().astype(int)
    return int(chosen["journey"].nunique()), int(cents.sum())


@pytest.mark.parametrize("level", ["channel", "campaign"])
@pytest.mark.parametrize("direct", ["yes", "no"])
def test_every_model_conserves_credit_on_the_demo_journeys(ctx, companies, level, direct):
    from services import attribution
    from services.access import system_scope

    with ctx.session() as session:
        company_id = session.execute(text("SELECT id FROM companies WHERE slug = :s"),
                                     {"s": companies[0]}).scalar()
    scope = system_scope(ctx, company_id)
    result = attribution.attribution(ctx, scope, {"range": "year", "level": level,
                                                  "direct": direct})
    options = result["options"]
    conversions, cents = stored_totals(ctx, company_id, options["start"], options["end"])
    assert conversions > 50 and not result["empty"]
    assert_conserved(result, conversions, cents)
    assert result["data"]["converting"] == conversions
    assert 0 < result["data"]["converting_share"] < 100


@pytest.fixture(scope="module")
def imported(empty_database_factory, config):
    """Channel_attribution.csv imported (services/importers/journeys.py) into a company of
    its own, in an empty warehouse of this module's own (the import makes the channels)."""
    from dataclasses import replace

    from dashapp.runtime import service_context
    from services.catalog import add_company
    from services.importers import import_file

    ctx = service_context(replace(config, database_url=empty_database_factory("attribution"),
                                  cache_namespace=f"{config.cache_namespace}-attribution"))
    company = add_company(ctx, "Journeys Import Co")
    summary = import_file(ctx, JOURNEYS_CSV, company=company["slug"])
    assert summary["imported"] == 2_392 and summary["rejected"] == 0
    return ctx, company


def test_every_model_conserves_credit_on_the_imported_journeys(imported):
    from services import attribution
    from services.access import system_scope

    ctx, company = imported
    scope = system_scope(ctx, company["id"])
    raw = pd.read_csv(JOURNEYS_CSV, dtype=str)
    converting = int(raw.drop(columns="Output").eq("21").any(axis=1).sum())
    for level in ("channel", "campaign"):
        result = attribution.attribution(ctx, scope, {"level": level})
        assert_conserved(result, converting, 0)  # the export has no values
        data = result["data"]
        assert data["journeys"] == data["undated_journeys"] == len(raw) == 2_392
        assert data["only_converting"] and data["converting"] == converting
        assert result["time_decay_fallback"] == converting
        assert any("no non-converting paths" in w for w in result["warnings"])
    print("\nCredits on the imported journeys (conversions):")
    for row in result["rows"]:
        print(f"  {row['label']:<16}", {m: round(v, 2) for m, v in row["conversions"].items()})
