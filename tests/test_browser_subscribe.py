"""Browser test of "Subscribe" (issue #17): from a view, with its filters as they are at the
click, to a saved schedule of that view's sections, sent at once with the run logged."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from browser import browser_page, log_in, served
from conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("CAMPAIGN_DASH_SCREENSHOTS", "/tmp/campaign-dash-screens"))


def test_sub001_manager_subscribes_from_the_executive_view_and_sends_it(server, ctx, users):
    """A marketing manager subscribes to the executive view as filtered; an executive (who
    reads reports but may not create schedules) is not offered the button."""
    from playwright.sync_api import expect

    from services.users import create_user

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    email = create_user(ctx, f"sub-{os.getpid()}@browser.test", PASSWORD,
                        "marketing_manager", "bellini-gioielli").email
    with served(server) as base_url, browser_page() as page:
        log_in(page, base_url, users["executive"], PASSWORD)
        page.wait_for_url(re.compile(r"/executive"))
        page.locator("#executive-kpi-revenue").wait_for()
        assert page.locator("#executive-subscribe").count() == 0
        page.context.clear_cookies()
        log_in(page, base_url, email, PASSWORD)
        page.wait_for_url(re.compile(r"/marketing"))
        page.goto(f"{base_url}/executive?range=quarter&compare=year")
        page.locator("#executive-kpi-revenue").wait_for()
        page.click("#executive-subscribe")
        page.wait_for_url(re.compile(r"/reports\?"))
        url = page.url
        assert "view=executive" in url and "range=quarter" in url and "compare=year" in url
        page.locator("#reports-name").wait_for()
        checked = page.locator("#reports-sections input:checked")
        expect(checked.first).to_be_attached()
        page.fill("#reports-name", "Quarter for the board")
        page.click("#reports-save")
        expect(page.locator("#reports-form-message")).to_contain_text(
            "Saved 'Quarter for the board'")
        # Other tests may have scheduled reports for this company: send this one's.
        row = page.locator("#reports-schedules tr", has_text="Quarter for the board")
        row.get_by_role("button", name="Send now").click()
        expect(page.locator("#reports-message")).to_contain_text(
            "'Quarter for the board' sent", timeout=60_000)
        expect(page.locator("#reports-runs tr", has_text="Quarter for the board")
               .locator(".badge").first).to_have_text("sent")
        page.screenshot(path=str(SCREENSHOTS / "sub001-subscribed-1440.png"), full_page=True)

    from sqlalchemy import text

    with ctx.session() as session:
        filters = session.execute(text(
            "SELECT filters FROM report_schedules WHERE name = 'Quarter for the board'"
        )).scalar()
    assert filters.get("range") == "quarter" and filters.get("compare") == "year"
    # Leave the company as it was for the other report tests (its runs go with it).
    from services import reports
    from services.access import CLI_USER, choose_company, system_scope

    scope = system_scope(ctx, choose_company(ctx, CLI_USER, "bellini-gioielli").id)
    for schedule in reports.list_schedules(ctx, scope)["schedules"]:
        if schedule["name"] == "Quarter for the board":
            reports.delete_schedule(ctx, scope, schedule["id"])
