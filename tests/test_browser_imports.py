"""Browser test of the imports view (issue #12): a marketing manager uploads an export, checks
it with a dry run, imports it with the progress bar, and finds it among past imports; in a
warehouse of its own (the import writes), at 1440 and 390 px."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from browser import browser_page, log_in, served
from conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("CAMPAIGN_DASH_SCREENSHOTS", "/tmp/campaign-dash-screens"))

UPDATES = """competitor,date,kind,title,url
Aurora Jewels,2026-05-05,pricing,Aurora cuts prices on bridal rings,https://aurora.example/a
Aurora Jewels,2026-05-11,product,Aurora launches a lab-grown line,https://aurora.example/b
Aurora Jewels,2026-05-12,rumour,Aurora may merge,https://aurora.example/c
"""


def test_imp001_manager_uploads_checks_and_imports_an_export(private_warehouse, tmp_path):
    from playwright.sync_api import expect

    from dashapp.app import create_app
    from dashapp.runtime import service_context
    from services.users import create_user

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    config = private_warehouse("imports_browser", 17)
    email = create_user(service_context(config), "importer@browser.test", PASSWORD,
                        "marketing_manager", "bellini-gioielli").email
    upload = tmp_path / "aurora-updates.csv"
    upload.write_text(UPDATES)
    with served(create_app(config)) as base_url, browser_page() as page:
        log_in(page, base_url, email, PASSWORD)
        page.wait_for_url(re.compile(r"/marketing"))
        page.goto(f"{base_url}/imports")
        page.get_by_text("No imports into this company yet").wait_for()
        page.get_by_text("No files chosen yet.").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "imp001-empty-1440.png"), full_page=True)

        page.set_input_files("#imports-upload input[type=file]", str(upload))
        page.get_by_text("aurora-updates.csv").first.wait_for()
        page.click("#imports-check")
        page.get_by_text("Dry run: nothing was stored").wait_for()
        results = page.locator("#imports-results").inner_text()
        assert "competitor updates" in results and "2 to import" in results
        assert "1 rejected" in results and "'rumour' is not a kind" in results
        page.screenshot(path=str(SCREENSHOTS / "imp001-dry-run-1440.png"), full_page=True)

        page.click("#imports-run")
        page.get_by_text("Import finished.").wait_for(timeout=60_000)
        expect(page.locator("#imports-past tbody tr")).to_have_count(1)
        row = page.locator("#imports-past tbody tr").first.inner_text()
        assert "aurora-updates.csv" in row and "-aurora" not in row
        assert "competitor-updates" in row
        assert "importer@browser.test" in row
        with page.expect_download() as download:
            page.get_by_text("Rejected rows (CSV)").click()
        lines = Path(download.value.path()).read_text().strip().splitlines()
        assert len(lines) == 2 and "rumour" in lines[1]
        page.screenshot(path=str(SCREENSHOTS / "imp001-imported-1440.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.locator("#imports-past tbody tr").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SCREENSHOTS / "imp001-imports-390.png"), full_page=True)
