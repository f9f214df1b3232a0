"""The model page in a real browser: an owner finds it from the dashboard, trains on the workspace's
history, sees the new version active with its figures, the call queue ranked by it with P(sale) in
why-now, and a lead's "Likelihood to buy" on its contact page; a salesperson reads, never trains."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_user, make_workspace
from tests.predict.trait_history import plant_history

from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser


def test_train_from_the_page_then_the_queue_and_a_contact(page: Page, db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session, "Northwind")
        owner = make_user(session, ws, role="owner")
        seller = make_user(session, ws, role="sales")
        plant_history(session, ws, utcnow() - timedelta(hours=1), decided=120, open_leads=6)
    log_in(page, owner.email)
    page.goto("/dashboard")
    page.get_by_role("link", name="Predictive model").click()
    expect(page.get_by_role("heading", name="Predictive model", level=1)).to_be_visible()
    expect(page.locator("#no-model")).to_contain_text("No model has been trained yet")
    page.get_by_role("button", name="Train now").click()
    expect(page.locator("#notice")).to_have_text(
        "Trained version 1: it is now active and every open lead was rescored."
    )
    expect(page.locator("#version-1")).to_contain_text("active")
    expect(page.locator("#current-auc")).to_have_text(re.compile(r"0\.\d{3}"))
    expect(page.locator("#calibration tbody tr").first).to_be_visible()
    expect(page.locator("#top-features li").first).to_be_visible()
    screenshot(page, "predict-page")

    page.get_by_role("link", name="Call queue").click()
    expect(page.locator("#queue-model")).to_have_text("predictive model, version 1")
    first = page.locator("li.lead").first
    expect(first.locator(".why-now")).to_contain_text(re.compile(r"P\(sale\) \d+(\.\d)? %"))
    first.locator(".lead-name").click()
    panel = page.locator("#likelihood")
    expect(panel.locator("#likelihood-p")).to_have_text(re.compile(r"P\(sale\) \d+(\.\d)? %"))
    expect(panel.locator("#likelihood-reasons li").first).to_be_visible()
    screenshot(page, "predict-contact-panel")

    # The panel's lazy parts may still be loading; a response landing after the log-out would
    # put the owner's session cookie back, so wait for them before handing over to the seller.
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name=f"Log out {owner.email}").click()
    expect(page.get_by_label("Password")).to_be_visible()
    log_in(page, seller.email)
    page.goto("/icp")
    page.get_by_role("link", name="Predictive model: who actually buys").click()
    expect(page.locator("#version-table")).to_contain_text("active")
    expect(page.get_by_role("button", name="Train now")).to_have_count(0)
    expect(page.get_by_role("button", name="Activate")).to_have_count(0)
