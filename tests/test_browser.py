"""Browser tests in headless Chromium: few, named by code, waiting for text, never sleeping."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from browser import browser_page, log_in, served
from conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("CAMPAIGN_DASH_SCREENSHOTS", "/tmp/campaign-dash-screens"))


def test_exec001_login_shows_four_kpi_cards(server, users):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with served(server) as base_url, browser_page() as page:
        page.goto(f"{base_url}/executive")
        page.wait_for_url(re.compile(r"/login\?next=/executive"))
        log_in(page, base_url, users["executive"], PASSWORD)
        page.wait_for_url(re.compile(r"/executive"))
        for metric in ("spend", "revenue", "roas", "conversions"):
            card = page.locator(f"#executive-kpi-{metric}")
            card.wait_for()
            value = card.inner_text()
            assert re.search(r"\d", value), f"{metric} card shows {value!r}"
        assert re.match(r"^\$[\d,]+$", page.locator("#executive-kpi-spend").inner_text())
        assert page.locator("#executive-kpi-roas").inner_text().endswith("x")
        assert page.locator("#app-nav-executive").is_visible()
        page.screenshot(path=str(SCREENSHOTS / "exec001-executive-1440.png"), full_page=True)
        page.set_viewport_size({"width": 1024, "height": 768})
        page.screenshot(path=str(SCREENSHOTS / "exec001-executive-1024.png"), full_page=True)


def test_exec002_wrong_password_shows_an_error(server, users):
    with served(server) as base_url, browser_page() as page:
        log_in(page, base_url, users["executive"], "wrong-password-here")
        page.get_by_text("Wrong email or password").wait_for()


def test_admin001_admin_creates_a_specialist_who_lands_on_the_realtime_view(server, users,
                                                                            companies):
    """An admin creates a campaign specialist with a one-time link; the specialist sets a
    password, signs in and lands on their view: /realtime (services.roles.landing_view, the
    next built view they may open, while /realtime is not built)."""
    from dashapp.views import BUILT
    from services.roles import landing_view

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    email = f"specialist-{os.getpid()}@browser.test"
    new_password = "a-long-specialist-passphrase"
    with served(server) as base_url, browser_page() as page:
        log_in(page, base_url, users["admin"], PASSWORD)
        page.wait_for_url(re.compile(r"/admin$"))
        page.get_by_text("admin@a.test").first.wait_for()  # the users table loaded
        page.fill("#admin-new-email", email)
        page.fill("#admin-new-name", "Sam Specialist")
        page.click("#admin-new-company")
        page.get_by_role("option").nth(1).click()  # the first company (0: no company)
        page.click("#admin-new-submit")
        link = page.locator("#admin-link-text")
        link.wait_for()
        assert f"Created {email}" in page.locator("#admin-new-result").inner_text()
        url = link.inner_text()
        assert "/set-password?token=" in url
        page.screenshot(path=str(SCREENSHOTS / "admin001-users-1440.png"), full_page=True)
        page.set_viewport_size({"width": 1024, "height": 768})
        page.screenshot(path=str(SCREENSHOTS / "admin001-users-1024.png"), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.get_by_role("tab", name="System health").click()
        page.get_by_text("Latency by view and API route").wait_for()
        page.locator("#admin-health-latency table").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "admin001-health-1440.png"), full_page=True)
        page.get_by_role("tab", name="Audit log").click()
        page.locator("#admin-audit-grid").get_by_text("user_created").first.wait_for()
        page.screenshot(path=str(SCREENSHOTS / "admin001-audit-1440.png"), full_page=True)
        page.goto(f"{base_url}/logout")

        page.goto(url)
        page.fill("#password", new_password)
        page.fill("#confirm", new_password)
        page.click("#set-password-submit")
        page.get_by_text("Your password is set").wait_for()
        log_in(page, base_url, email, new_password)
        landing = landing_view("campaign_specialist", tuple(BUILT))
        if "realtime" in BUILT:
            assert landing == "realtime"
            page.wait_for_url(re.compile(r"/realtime$"))
            page.locator("#app-nav-realtime").wait_for()
        elif landing:
            page.wait_for_url(re.compile(rf"/{landing}$"))
        else:  # no view of this role is built yet: the landing rule answers "access denied"
            page.get_by_text("Access denied").wait_for()
