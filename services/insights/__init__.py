"""The insights engine: anomalies, trend changes, forecasts, benchmarks, plain-language
insights and action items. Plain functions over rollups; no Dash imports."""
