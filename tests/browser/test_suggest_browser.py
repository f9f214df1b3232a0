"""Ideal-client discovery and backtests in a real browser: a marketer finds the rule the wins
suggest, makes a profile draft of it, reviews it in the editor and saves it; a salesperson
backtests the profile over a past period and sees which criterion misleads."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_user, make_workspace
from tests.predict.planted_workspace import PROFILE, plant_outcomes, plant_period

from leadwell.db.session import Database
from leadwell.icp.definition import load_toml
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition

pytestmark = pytest.mark.browser


def test_a_suggested_rule_becomes_a_saved_profile(page: Page, db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        email = make_user(session, workspace, role="marketer").email
        plant_outcomes(session, workspace)
    log_in(page, email)
    page.get_by_role("link", name="Ideal clients").click()
    page.get_by_role("link", name="Rules your wins suggest").click()
    expect(page.get_by_role("heading", name="Rules your wins suggest")).to_be_visible()
    first = page.locator("#rule-1")
    expect(first.locator(".rule-text")).to_have_text(
        re.compile(r"^employees ≥ \d+ and custom\.roi_months ≤ 3$")
    )
    screenshot(page, "icp-suggest")

    page.get_by_label("Conditions per rule").select_option("1")
    page.get_by_role("button", name="Find rules").click()
    expect(page).to_have_url(re.compile(r"conditions=1"))
    expect(page.locator("#rules .rule-text").first).not_to_contain_text(" and ")
    page.go_back()

    page.get_by_role("button", name="Make a profile draft from rule 1").click()
    expect(page.get_by_role("heading", name="New ideal client profile")).to_be_visible()
    expect(page.get_by_label("Slug", exact=True)).to_have_value("suggested")
    fields = page.get_by_label("Must-have field")
    expect(fields).to_have_count(2)
    expect(fields.nth(0)).to_have_value("organization.employees")
    expect(fields.nth(1)).to_have_value("custom.roi_months")
    expect(page.get_by_label("Must-have value").nth(1)).to_have_value("3")
    expect(page.locator("#preview-counts")).to_be_visible()  # the draft is graded as it stands
    page.get_by_label("Name").fill("Big and quick")
    screenshot(page, "icp-suggest-draft")

    page.get_by_role("button", name="Save profile").click()
    expect(page).to_have_url(re.compile(r"/icp/suggested\?saved=created"))
    expect(page.locator("#notice")).to_contain_text("Profile created (version 1).")
    expect(page.locator("#criteria")).to_contain_text("roi_months ≤ 3")


def test_a_backtest_shows_the_criterion_that_misleads(page: Page, db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        email = make_user(session, workspace, role="sales").email
        plant_period(session, workspace)
        grade_all(session, workspace.id, apply_definition(session, workspace.id, load_toml(PROFILE)).icp)
    log_in(page, email)
    page.get_by_role("link", name="Ideal clients").click()
    page.get_by_role("link", name="Backtest your rules").click()
    expect(page.get_by_role("heading", name=re.compile("Backtest"))).to_be_visible()
    page.get_by_label("Period start").fill("2026-03-01")
    page.get_by_label("Period end").fill("2026-07-01")
    page.get_by_role("button", name="Backtest").click()
    expect(page).to_have_url(re.compile(r"since=2026-03-01&until=2026-07-01"))
    expect(page.locator("#backtest-summary")).to_contain_text("228 leads were open on 2026-03-01")
    expect(page.locator("#method-random")).to_contain_text("(20 %)")
    expect(page.locator("#method-profile-consulting")).to_contain_text("Profile consulting")
    misleads = page.locator("#signal-table tr.misleads")
    expect(misleads).to_have_count(1)
    expect(misleads).to_contain_text("country in DE")
    screenshot(page, "icp-backtest")

    page.get_by_label("Period end").fill("2026-01-01")  # before the start
    page.get_by_role("button", name="Backtest").click()
    expect(page.get_by_role("alert")).to_contain_text("the period must start before it ends")
