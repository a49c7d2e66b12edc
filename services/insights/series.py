"""Which KPI series the insights engine scans, and which metrics move together when one base
quantity is disturbed. Metric definitions are the catalogue's (``services.metrics``); the
series themselves come from ``services.series``."""

from __future__ import annotations

# The series every detector scans: at company level and per channel.
DETECTED = ("revenue", "spend", "impressions", "clicks", "conversions", "ctr",
            "conversion_rate", "cpc", "cpa", "roas")

# Which metrics move when one base quantity is disturbed (the generator's patterns and real
# incidents alike): a CTR problem is an impressions problem seen through a ratio, and so on.
# Used to group the findings of one incident and to score detections against ground truth.
EFFECTS: dict[str, frozenset[str]] = {
    "spend": frozenset({"spend", "cpc", "cpa", "roas"}),
    "clicks": frozenset({"clicks", "ctr", "cpc", "conversion_rate"}),
    "impressions": frozenset({"impressions", "ctr"}),
    "ctr": frozenset({"impressions", "ctr"}),
    "conversions": frozenset({"conversions", "conversion_rate", "cpa"}),
    "revenue": frozenset({"revenue", "roas"}),
}
