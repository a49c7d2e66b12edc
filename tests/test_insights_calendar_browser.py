"""Browser test cal001 (issue #20): an annotated company event is marked on the executive
revenue chart (a dotted line at its week, named on hover) and the forecast's trust text names
its model."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from browser import browser_page, log_in, served
from conftest import PASSWORD
from services.access import system_scope
from services.insights import events

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("CAMPAIGN_DASH_SCREENSHOTS", "/tmp/campaign-dash-screens"))


def test_cal001_an_annotated_event_is_marked_on_the_revenue_chart(server, ctx, users,
                                                                  companies):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with ctx.session() as session:
        company_id = session.execute(text("SELECT id FROM companies WHERE slug = :s"),
                                     {"s": companies[0]}).scalar()
        last = session.execute(text(
            "SELECT max(day) FROM rollup_campaign_daily WHERE company_id = :c"),
            {"c": company_id}).scalar()
    scope = system_scope(ctx, company_id)
    analyst = dataclasses.replace(scope, user=dataclasses.replace(scope.user, role="analyst"))
    day = last - dt.timedelta(days=60)
    made = events.add_event(ctx, analyst, day.isoformat(), None, "outage", "Checkout outage")
    try:
        with served(server) as base_url, browser_page() as page:
            log_in(page, base_url, users["executive"], PASSWORD)
            page.wait_for_url(re.compile(r"/executive"))
            page.goto(f"{base_url}/executive?range=year")
            page.locator("#executive-revenue-chart .main-svg").first.wait_for(timeout=90_000)
            page.get_by_text("Company event", exact=True).first.wait_for(timeout=90_000)
            page.get_by_text(re.compile(r"model: ")).first.wait_for()
            page.locator("#executive-revenue-chart").scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "cal001-executive-event-1440.png"),
                            full_page=True)
            page.locator("#executive-revenue-chart").screenshot(
                path=str(SCREENSHOTS / "cal001-revenue-chart.png"))
    finally:
        events.remove_event(ctx, analyst, made["id"])
