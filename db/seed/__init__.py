"""Deterministic demo data for the warehouse.

``seed(url, events=...)`` replaces the demo data of a migrated database with 18 months of
daily history for nine companies in five industries (ads on seven channels, a luxury
jewellery brand's retailer email funnel, leads, web traffic, journeys, business and market
context) and a documented set of injected anomalies and trend changes, returned by the pure
function ``injected_patterns(end_date)`` and stored in the ``injected_patterns`` table.

Modules: ``dimensions`` (catalogs, calendar, random streams), ``seasonality`` (demand
curves), ``patterns`` (ground truth), ``campaigns`` (campaign plans), ``ads`` (daily design
and ad_events rows), ``email_funnel``, ``crm_web`` (leads, web traffic, touchpoints),
``market`` (business metrics, competitors, KPI targets, content), ``bulk`` (CSV encoding and
COPY), ``generate`` (the ``seed`` orchestration).

Pattern-free companies: see ``patterns.PATTERN_FREE`` (pipewise-analytics, skyline-getaways).
"""

from db.seed.generate import SCALES, SeedReport, seed
from db.seed.patterns import PATTERN_FREE, Pattern, injected_patterns

__all__ = ["SCALES", "SeedReport", "seed", "Pattern", "injected_patterns", "PATTERN_FREE"]
