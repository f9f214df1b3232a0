"""The pages in a real browser over real HTTP: live search, the timeline's "Older events", the
workspace switcher, dashboard drill-downs and token creation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.factories import PASSWORD, make_contact, make_event, make_organization, make_user, make_workspace

from leadwell.db.models import Membership
from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser
# Set LEADWELL_SCREENSHOTS=/some/dir to keep screenshots of the pages for a look at the layout.
SCREENSHOTS = os.environ.get("LEADWELL_SCREENSHOTS")


@dataclass(frozen=True)
class Seeded:
    email: str
    other_workspace: str


def seed(db: Database) -> Seeded:
    """An owner of "Acme" (also sales in "Beta"), a few contacts, one with more than a page of events."""
    now = utcnow()
    with db.session() as session:
        acme, beta = make_workspace(session, "Acme"), make_workspace(session, "Beta")
        user = make_user(session, acme, role="owner")
        session.add(Membership(workspace_id=beta.id, user_id=user.id, role="sales"))
        org = make_organization(session, acme, name="Navy Labs", employees=900, industry="Defense")
        grace = make_contact(
            session,
            acme,
            first_name="Grace",
            last_name="Hopper",
            organization_id=org.id,
            stage="mql",
            title="Rear Admiral",
            source="webinar",
        )
        for minute in range(25):
            make_event(
                session,
                grace,
                "read_progress",
                now - timedelta(minutes=minute),
                {"asset": "COBOL guide", "percent": 4 * minute},
            )
        make_event(session, grace, "call_logged", now, {"outcome": "connected", "duration_seconds": 300})
        for number in range(6):
            make_contact(session, acme, first_name=f"Alan{number}", last_name="Turing", stage="lead")
        make_contact(session, beta, first_name="Barbara", last_name="Liskov")
        return Seeded(user.email, beta.name)


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {email}")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_live_search_then_timeline_and_older_events(page: Page, db: Database) -> None:
    seeded = seed(db)
    log_in(page, seeded.email)
    page.goto("/contacts")
    rows = page.locator("#contact-results tbody tr")
    expect(rows).to_have_count(7)
    screenshot(page, "contacts-list")
    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a page load
    page.get_by_role("searchbox", name="Search contacts").fill("hopp")
    expect(rows).to_have_count(1)
    expect(page.locator("#contact-count")).to_have_text("1 contact")
    expect(page).to_have_url(re.compile(r"/contacts\?q=hopp"))  # bookmarkable
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#contact-results h1, #contact-results form")).to_have_count(0)  # results only
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", name="Grace Hopper", level=1)).to_be_visible()
    items = page.locator("ol.timeline > li:not(.more)")
    expect(items).to_have_count(20)
    expect(items.first).to_contain_text("Call: connected, 5 min")
    expect(items.nth(1)).to_contain_text("Read COBOL guide — 0%")
    screenshot(page, "contact-page")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Older events").click()
    expect(items).to_have_count(26)
    expect(items.last).to_contain_text("Read COBOL guide — 96%")
    expect(page.get_by_role("button", name="Older events")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_workspace_switcher_changes_the_visible_contacts(page: Page, db: Database) -> None:
    seeded = seed(db)
    log_in(page, seeded.email)
    page.goto("/contacts")
    results = page.locator("#contact-results")
    expect(results).to_contain_text("Grace Hopper")
    page.get_by_label("Workspace").select_option(label=seeded.other_workspace)
    expect(page.get_by_label("Workspace")).to_have_value(re.compile(r"\d+"))
    page.wait_for_url("**/queue")  # a salesperson lands on the call queue
    page.goto("/contacts")
    expect(results).to_contain_text("Barbara Liskov")
    expect(results).not_to_contain_text("Grace Hopper")
    expect(page.locator("#contact-count")).to_have_text("1 contact")


def test_dashboard_figures_open_filtered_contact_lists(page: Page, db: Database) -> None:
    seeded = seed(db)
    log_in(page, seeded.email)
    page.wait_for_url("**/dashboard")  # owners land here
    expect(page.locator("#figure-contacts .figure")).to_have_text("7")
    page.locator("#by-stage").get_by_role("link", name="1", exact=True).click()
    page.wait_for_url("**/contacts?stage=mql")
    expect(page.get_by_label("Stage")).to_have_value("mql")
    expect(page.locator("#contact-results tbody tr")).to_have_count(1)
    expect(page.locator("#contact-results")).to_contain_text("Grace Hopper")
    page.go_back()
    page.locator("#by-event tr", has_text="Read").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/contacts\?event=read_progress&event_since="))
    expect(page.locator("#contact-count")).to_have_text("1 contact")
    expect(page.locator(".chip")).to_contain_text("Did “Read”")


def test_owner_creates_a_token_and_sees_the_secret_once(page: Page, db: Database) -> None:
    seeded = seed(db)
    log_in(page, seeded.email)
    page.goto("/settings")
    expect(page.locator("#tokens")).to_contain_text("No API tokens yet")
    page.get_by_label("Token name").fill("Reporting")
    page.get_by_label("write").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token secret")
    expect(secret).to_have_value(re.compile(r"^lw_[\w-]{40,}$"))
    expect(page.locator("#new-token")).to_contain_text("only time it is shown")
    value = secret.input_value()
    expect(page.locator("#tokens tbody")).to_contain_text("read, write")
    page.goto("/settings")
    expect(page.get_by_label("Token secret")).to_have_count(0)
    expect(page.locator("#tokens tbody")).to_contain_text("Reporting")
    assert value not in page.content()
