"""Seconds of the attribution models (``services.attribution_models``) over generated journeys
(issue #15: 1 million journeys, heuristic models under 10 s, the Markov model under 60 s on 2
cores). No database: the models' own time, from journeys already in memory.

    python -m dashapp.bench.attribution [--journeys 1000000] [--channels 7] [--seed 1]

Journeys have 1-8 touches over the channels, times a few days apart, and ~30 % convert with a
value; one line for reading them from rows (as the service does with the query's), one per
model: seconds and the conservation check."""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from services import attribution_models as am


def generate(n: int, channels: int, seed: int) -> am.Journeys:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, n)
    journey = np.repeat(np.arange(n), lengths)
    label = rng.integers(0, channels, len(journey))
    end = 1.7e9 + rng.uniform(0, 90 * am.DAY_S, n)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    back = lengths[journey] - 1 - (np.arange(len(journey)) - starts[journey])
    time_s = end[journey] - back * rng.uniform(0.1, 4.0, len(journey)) * am.DAY_S
    converted = rng.random(n) < 0.3
    cents = np.where(converted, rng.integers(500, 50_000, n), 0)
    return am.Journeys(journey, label, time_s, converted, cents,
                       [f"channel {i}" for i in range(channels)])


def measure(n: int = 1_000_000, channels: int = 7, seed: int = 1, log=print) -> dict:
    """Seconds of reading the journeys from rows, of the lookback window and of each model
    over ``n`` generated journeys, with whether each model's credits add up exactly."""
    started = time.perf_counter()
    journeys = generate(n, channels, seed)
    log(f"{n:,} journeys, {len(journeys.journey):,} touches, "
        f"{journeys.n_conversions:,} conversions over {channels} channels "
        f"(generated in {time.perf_counter() - started:.1f} s)")
    frame = pd.DataFrame({
        "journey": pd.Series(journeys.journey).map("journey-{}".format),
        "position": np.arange(len(journeys.journey)) - journeys.starts()[journeys.journey] + 1,
        "label": np.asarray(journeys.labels)[journeys.label],
        "time": pd.to_datetime(journeys.time, unit="s", utc=True),
        "converted": journeys.converted[journeys.journey],
        "value": journeys.value_cents[journeys.journey] / 100})
    result = {"journeys": n, "touches": int(len(journeys.journey)), "channels": channels,
              "models": {}}
    started = time.perf_counter()
    from_rows = am.from_frame(frame)  # what the service does with the query's rows
    result["from_rows_s"] = round(time.perf_counter() - started, 3)
    log(f"{'from rows':<16} {result['from_rows_s']:6.2f} s   same journeys: "
        f"{from_rows.n_conversions == journeys.n_conversions}")
    started = time.perf_counter()
    windowed = am.apply_options(journeys, lookback_days=30)
    result["lookback_s"] = round(time.perf_counter() - started, 3)
    log(f"{'lookback window':<16} {result['lookback_s']:6.2f} s")
    heuristics = 0.0
    for model in am.MODELS:
        started = time.perf_counter()
        credit = am.run(windowed, models=(model,))[model]
        seconds = time.perf_counter() - started
        heuristics += seconds if model in am.HEURISTIC else 0.0
        exact = (round(credit.conversions.sum() * am.CONVERSION_UNITS)
                 == windowed.n_conversions * am.CONVERSION_UNITS
                 and int(credit.value_cents.sum()) == windowed.total_cents)
        result["models"][model] = {"seconds": round(seconds, 3), "credits_add_up": exact}
        log(f"{model:<16} {seconds:6.2f} s   credits add up: {exact}")
    result["heuristics_s"] = round(heuristics, 3)
    log(f"{'heuristics':<16} {heuristics:6.2f} s (all five)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    measure(args.journeys, args.channels, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
