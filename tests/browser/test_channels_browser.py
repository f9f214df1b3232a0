"""Channels in a real browser: a marketer maps a source people arrived with to a channel in one
click, then types in a speaking fee and sees it in the spend totals."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in
from tests.factories import make_contact, make_user, make_workspace

from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser


def test_map_a_source_and_add_spend(page: Page, db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        marketer = make_user(session, workspace, role="marketer")
        for _ in range(2):
            make_contact(session, workspace, source="Leeds seminar")
        email = marketer.email
    log_in(page, email)
    page.goto("/channels")
    row = page.locator('tr[data-key="leeds seminar"]')
    expect(row.locator("td.number")).to_have_text("2")
    row.get_by_label("Channel for leeds seminar").select_option(label="Events & speaking")
    row.get_by_role("button", name="Map leeds seminar").click()
    expect(page.locator("#notice")).to_have_text("Source key mapped.")
    expect(page.locator("#no-unmapped")).to_be_visible()
    page.get_by_role("link", name="Spend").click()
    form = page.locator("#spend-form")
    form.get_by_label("Channel").select_option(label="Events & speaking")
    form.get_by_label("Amount").fill("1,250.50")
    form.get_by_label("Description").fill("speaking fee")
    form.get_by_role("button", name="Add spend").click()
    expect(page.locator("#notice")).to_have_text("Spend added.")
    total = page.locator('#totals tr[data-channel="Events & speaking"][data-currency="USD"] td.amount')
    expect(total).to_have_text("1,250.50")
    expect(page.locator("#spend-rows")).to_contain_text(utcnow().date().isoformat())
