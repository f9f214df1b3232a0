"""Reviewing duplicates in a real browser: choose the survivor, merge, then undo from the history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_event, make_organization, make_user, make_workspace

from leadwell.contacts.dedupe import find_duplicates
from leadwell.db.session import Database

pytestmark = pytest.mark.browser


def seed(db: Database) -> str:
    """A salesperson's workspace where Jon Smith (with events) and John Smith look like one person."""
    with db.session() as session:
        acme = make_workspace(session, "Acme")
        user = make_user(session, acme, role="sales")
        org = make_organization(session, acme, name="Initech", domain="initech.example.net")
        jon = make_contact(session, acme, first_name="Jon", last_name="Smith", organization_id=org.id)
        make_event(session, jon)
        make_contact(session, acme, first_name="John", last_name="Smith", organization_id=org.id, title="CTO")
        make_contact(session, acme, first_name="Grace", last_name="Hopper")
        assert find_duplicates(session, acme.id) == 1
        return user.email


def test_merge_a_pair_then_undo_it(page: Page, db: Database) -> None:
    log_in(page, seed(db))
    page.goto("/contacts")
    page.get_by_role("link", name="Review duplicates (1)").click()
    expect(page.get_by_role("heading", name="Review duplicates", level=1)).to_be_visible()
    pair = page.locator("article.duplicate")
    expect(pair).to_contain_text("at the same organization initech.example.net")
    expect(page.get_by_label("Keep Jon Smith")).to_be_checked()  # the one with events
    screenshot(page, "duplicates-review")
    page.get_by_label("Keep John Smith").check()
    pair.get_by_role("button", name="Merge").click()
    expect(page).to_have_url(re.compile(r"/contacts/duplicates\?merged=ct_"))
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Merged into John Smith")
    expect(page.locator("article.duplicate")).to_have_count(0)
    notice.get_by_role("link", name="John Smith").click()
    expect(page.get_by_role("heading", name="John Smith", level=1)).to_be_visible()
    expect(page.locator("ol.timeline > li")).to_have_count(1)  # Jon's event moved over
    page.goto("/contacts")
    expect(page.locator("#contact-count")).to_have_text("2 contacts")
    expect(page.locator("#contact-results")).not_to_contain_text("Jon Smith")

    page.goto("/contacts/merges")
    screenshot(page, "merge-history")
    page.get_by_role("button", name="Undo merge of Jon Smith into John Smith").click()
    expect(page.locator("#notice")).to_contain_text("Merge undone: John Smith and Jon Smith are separate")
    page.goto("/contacts")
    results = page.locator("#contact-results")
    expect(page.locator("#contact-count")).to_have_text("3 contacts")
    expect(results).to_contain_text("Jon Smith")
    expect(results).to_contain_text("John Smith")
    expect(page.get_by_role("link", name="Review duplicates (1)")).to_be_visible()
