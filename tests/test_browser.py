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
