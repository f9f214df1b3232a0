"""Describing the ideal client in a real browser: build a profile in the editor, watch the live
preview follow a must-have's threshold, save, then read and filter the grades on the contacts list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_organization, make_user, make_workspace

from leadwell.db.session import Database

pytestmark = pytest.mark.browser


def seed(db: Database) -> str:
    """A marketer's workspace: Ada (CTO, 500 people), Dee (CTO, 150), Bob (developer, 150) and
    Cy (CTO, 20)."""
    with db.session() as session:
        acme = make_workspace(session, "Acme")
        user = make_user(session, acme, role="marketer")
        big = make_organization(session, acme, name="Big Corp", employees=500)
        mid = make_organization(session, acme, name="Mid GmbH", employees=150)
        small = make_organization(session, acme, name="Tiny Ltd", employees=20)
        people = [("Ada", "Admiral", big, "CTO"), ("Dee", "Dean", mid, "CTO"), ("Bob", "Builder", mid, "Dev")]
        for first, last, organization, title in [*people, ("Cy", "Cyan", small, "CTO")]:
            make_contact(
                session, acme, first_name=first, last_name=last, organization_id=organization.id, title=title
            )
        return user.email


def draft_count(page: Page, grade: str) -> Locator:
    """The preview's count of contacts the draft gives ``grade``."""
    return page.locator(f'#preview-counts tr[data-grade="{grade}"] .draft-count')


def test_build_a_profile_preview_it_save_it_and_filter_contacts_by_grade(page: Page, db: Database) -> None:
    log_in(page, seed(db))
    page.get_by_role("link", name="Ideal clients").click()
    page.get_by_role("button", name="New profile").click()
    expect(page.get_by_role("heading", name="New ideal client profile")).to_be_visible()
    expect(page.locator("#preview-error")).to_contain_text("at least one")  # nothing to grade yet

    page.get_by_label("Name").fill("Consulting")
    page.get_by_label("Slug", exact=True).fill("consulting")
    page.get_by_label("Must-have field").select_option("organization.employees")
    expect(page.get_by_label("Must-have operator")).to_have_value("gte")  # the operators that fit a count
    page.get_by_label("Must-have value").fill("100")
    page.get_by_label("Nice-to-have field").select_option("contact.title")
    page.get_by_label("Nice-to-have operator").select_option("matches")
    page.get_by_label("Nice-to-have value").fill("(?i)cto")
    page.get_by_label("Roles").fill("CTO, Head of IT")
    expect(draft_count(page, "A")).to_have_text("2")  # Ada and Dee
    expect(draft_count(page, "F")).to_have_text("1")  # Cy's firm is too small
    expect(page.locator("#preview-counts")).to_be_visible()
    expect(page.locator("#toml-equivalent")).to_contain_text('op = "gte"')

    page.get_by_role("button", name="Add a must-have").click()  # in place, by the page's script
    expect(page.locator("#must-rows tr.criterion")).to_have_count(2)
    expect(page.get_by_label("Must-have field").nth(1)).to_be_focused()
    page.get_by_role("button", name="Remove this must-have").nth(1).click()
    expect(page.locator("#must-rows tr.criterion")).to_have_count(1)

    page.get_by_label("Must-have value").fill("200")  # a stricter threshold: only Ada's firm is big enough
    expect(draft_count(page, "A")).to_have_text("1")
    expect(draft_count(page, "F")).to_have_text("3")
    expect(page.locator("#icp-preview")).to_contain_text("employees ≥ 200: unmet")
    screenshot(page, "icp-editor")

    page.get_by_role("button", name="Save profile").click()
    expect(page).to_have_url(re.compile(r"/icp/consulting\?saved=created"))
    expect(page.locator("#notice")).to_contain_text("Profile created (version 1).")
    expect(page.locator("#avatar")).to_contain_text("CTO, Head of IT")
    expect(page.locator("#criteria")).to_contain_text("employees ≥ 200")
    screenshot(page, "icp-profile")

    page.get_by_role("link", name="Contacts", exact=True).click()
    results = page.locator("#contact-results")
    expect(results.locator("thead")).to_contain_text("Fit")
    ada = results.locator("tr", has_text="Ada Admiral")
    expect(ada.locator(".grade")).to_have_text("A")
    expect(ada.locator(".fit")).to_have_attribute("data-tooltip", re.compile(r"^Grade A, score 100\."))
    expect(results.locator("tr", has_text="Dee Dean").locator(".grade")).to_have_text("F")
    ada.locator(".fit").focus()  # the reasons are reachable from the keyboard
    expect(ada.locator(".fit")).to_be_focused()
    screenshot(page, "contacts-fit")

    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a page load
    page.locator("#grade-filter").get_by_label("A", exact=True).check()
    expect(page.locator("#contact-count")).to_have_text("1 contact")
    expect(results).to_contain_text("Ada Admiral")
    expect(results).not_to_contain_text("Dee Dean")
    expect(page).to_have_url(re.compile(r"grade=A"))
    assert page.evaluate("window.__sameDocument") is True
