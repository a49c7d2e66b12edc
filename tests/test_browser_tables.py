"""Browser test of the data tables every view shares (dashapp/assets/30-tables.js): a header
click sorts by value (money as numbers, a dash last), a second click reverses, the search box
filters the rows, and CSV downloads the rows as shown."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest

from browser import browser_page, log_in, served
from conftest import PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("CAMPAIGN_DASH_SCREENSHOTS", "/tmp/campaign-dash-screens"))


def _column(page, table: str, index: int) -> list[str]:
    return page.locator(f"{table} tbody tr:visible > :nth-child({index + 1})").all_inner_texts()


def _money(text: str) -> float:
    return float(re.sub(r"[^\d.\-]", "", text))


def test_tbl001_executive_sorts_searches_and_downloads_the_campaigns_table(server, users):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    table = "#executive-campaigns table"
    with served(server) as base_url, browser_page() as page:
        log_in(page, base_url, users["executive"], PASSWORD)
        page.wait_for_url(re.compile(r"/executive"))
        page.goto(f"{base_url}/executive?range=year")
        page.locator(f"{table} caption .cd-table-csv").wait_for()
        page.wait_for_load_state("networkidle")  # the view's callbacks have drawn it
        headers = page.locator(f"{table} thead th").all_inner_texts()
        spend = next(i for i, h in enumerate(headers) if h.strip().lower() == "spend")
        page.locator(f"{table} thead th").nth(spend).click()
        ascending = [_money(v) for v in _column(page, table, spend)]
        assert ascending == sorted(ascending) and len(ascending) >= 2
        page.locator(f"{table} thead th").nth(spend).click()
        descending = [_money(v) for v in _column(page, table, spend)]
        assert descending == sorted(ascending, reverse=True)
        assert page.locator(f"{table} thead th").nth(spend).get_attribute("aria-sort") \
            == "descending"

        names = _column(page, table, 0)
        search = page.locator(f"{table} caption .cd-table-search")
        if search.count():  # more than 8 rows: a search box
            search.fill(names[0])
            assert _column(page, table, 0) == [n for n in names if names[0].lower()
                                              in n.lower()]
        shown = _column(page, table, 0)
        with page.expect_download() as download:
            page.locator(f"{table} caption .cd-table-csv").click()
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
        assert [h.strip() for h in rows[0]] == [h.strip() for h in headers]
        assert [row[0] for row in rows[1:]] == shown
        assert download.value.suggested_filename.endswith(".csv")
        page.screenshot(path=str(SCREENSHOTS / "tbl001-executive-1440.png"), full_page=True)
