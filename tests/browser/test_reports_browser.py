"""The reports in a real browser: the dashboard's range, every report opened from /reports with its
charts drawn, the attribution switch changing the outcomes table, and the CSV download."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_dashboard import log_in
from tests.reports.test_pages import seed

from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS

pytestmark = pytest.mark.browser


def test_the_reports_from_the_dashboard_to_the_csv(page: Page, db: Database) -> None:
    seeded = seed(db)
    log_in(page, seeded.owner)
    page.wait_for_url("**/dashboard")
    # October 2026 on the dashboard: Ada's USD 6,000 deal, four leads captured
    page.locator("#range-from").fill("2026-10-01")
    page.locator("#range-to").fill("2026-10-31")
    page.locator("#range-apply").click()
    page.wait_for_url(re.compile(r"/dashboard\?from=2026-10-01&to=2026-10-31"))
    expect(page.locator("#figure-won .figure")).to_have_text("1")
    expect(page.locator("#figure-won")).to_contain_text("6,000.00 USD")
    expect(page.locator("#funnel-lead a")).to_have_text("4")
    expect(page.locator("#top-channels")).to_contain_text("Google Ads")

    for name, definition in REPORTS.items():
        page.goto("/reports")
        page.locator(f"#report-{name} a").click()
        page.wait_for_url(f"**/reports/{name}")
        expect(page.get_by_role("heading", level=1)).to_have_text(definition.title)
        expect(page.locator("[data-chart-spec]").first).to_have_attribute("data-rendered", "true")
        expect(page.locator("[data-rendered=true] svg").first).to_be_visible()

    page.goto("/reports/outcomes?from=2026-10-01&to=2026-10-31&attribution=first_touch")
    table = page.locator("#report-table")
    expect(table).to_contain_text("LinkedIn")
    expect(table).not_to_contain_text("Unmapped: email")
    page.locator("#attribution").select_option("last_touch")
    page.locator("#range-apply").click()
    page.wait_for_url(re.compile(r"attribution=last_touch"))
    # Dee's last touch is the email click: the email now has a row of its own
    expect(table).to_contain_text("Unmapped: email")

    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    download = download_info.value
    assert download.suggested_filename == "leadwell-outcomes-2026-10-01-2026-10-31.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:5] == ["Channel", "Leads", "Qualified", "Meetings", "Sales"]
    assert any(row[0] == "Unmapped: email" for row in rows)
