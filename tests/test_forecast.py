"""Forecasts: 95 % intervals hold the held-out truth at about their nominal rate on the demo
data, and the backtest is compared with seasonal-naive (and says so when it loses)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.access import system_scope
from services.errors import ValidationError
from services.insights import forecast


@pytest.fixture(scope="module")
def company_ids(ctx):
    with ctx.session() as session:
        return [row[0] for row in session.execute(text("SELECT id FROM companies ORDER BY id"))]


def test_intervals_cover_the_held_out_truth_at_about_the_nominal_rate(ctx, company_ids):
    inside = total = 0
    model = seasonal = 0.0
    for company_id in company_ids:
        result = forecast.metric_forecast(ctx, system_scope(ctx, company_id), "revenue", 3)
        test = result["backtest"]
        assert test is not None and test["held_out_weeks"] > 0
        inside += round(test["coverage"] * test["held_out_weeks"])
        total += test["held_out_weeks"]
        model += test["mape"]
        seasonal += test["seasonal_naive_mape"]
        # the band brackets the forecast, weeks follow the history
        for week in result["forecast"]:
            assert week["lower"] <= week["mean"] <= week["upper"]
        assert result["forecast"][0]["week"] > result["history"][-1]["week"]
    coverage = inside / total
    print(f"\nforecast: 95% interval coverage {coverage:.3f} over {total} held-out weeks; "
          f"mean MAPE {model / len(company_ids):.1f}% vs seasonal-naive "
          f"{seasonal / len(company_ids):.1f}%")
    assert 0.85 <= coverage <= 1.0


def test_backtest_beats_seasonal_naive_on_revenue_or_the_view_says_so(ctx, company_ids):
    from callbacks.executive import backtest_text

    for company_id in company_ids:
        result = forecast.metric_forecast(ctx, system_scope(ctx, company_id), "revenue", 3)
        words = str(backtest_text(result))
        if result["backtest"]["beats_seasonal_naive"]:
            assert "better than that simple guess" in words and "no better" not in words
        else:
            assert "no better than that simple guess" in words
        assert f"{result['backtest']['mape']:.1f}%" in words
        assert f"{result['backtest']['seasonal_naive_mape']:.1f}%" in words


def test_horizon_is_at_most_twelve_months(ctx, company_ids):
    result = forecast.metric_forecast(ctx, system_scope(ctx, company_ids[0]), "revenue", 12)
    assert len(result["forecast"]) == 52
    with pytest.raises(ValidationError):
        forecast.metric_forecast(ctx, system_scope(ctx, company_ids[0]), "revenue", 13)
    with pytest.raises(ValidationError):
        forecast.metric_forecast(ctx, system_scope(ctx, company_ids[0]), "roas", 3)
    # money and counts the daily series do not hold (found by the API fuzz test: a 500)
    for metric in ("cac", "sessions"):
        with pytest.raises(ValidationError, match="cannot forecast"):
            forecast.metric_forecast(ctx, system_scope(ctx, company_ids[0]), metric, 3)
    assert all(forecast.forecastable(m) for m in
               ("revenue", "spend", "clicks", "impressions", "conversions"))
