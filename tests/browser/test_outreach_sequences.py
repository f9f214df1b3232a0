"""Sequences, segments and newsletters in a real browser: a marketer builds a sequence step by step
and enrols a segment, holds a contact and follows a number to the people behind it; adds a contact
to the sequence from its page; edits a segment whose count follows the filters as they change; and
schedules a newsletter in another time zone, then cancels it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_user, make_workspace
from tests.outreach.sequence_support import make_mailbox, make_template

from leadwell.db.models import Segment
from leadwell.db.session import Database
from leadwell.ids import IdCodec

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Seeded:
    email: str
    loner: str  # the public id of a contact in no segment


def seed(db: Database, codec: IdCodec) -> Seeded:
    """A marketer, a mailbox, two templates, two leads tagged cfo, a nurture contact, a segment."""
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        marketer = make_user(session, workspace, role="marketer")
        make_mailbox(session, workspace)
        make_template(session, workspace, slug="hello")
        make_template(session, workspace, slug="nudge", subject="Still there?")
        for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper")):
            make_contact(session, workspace, first_name=first, last_name=last, stage="lead", tags=["CFO"])
        loner = make_contact(session, workspace, first_name="Alan", last_name="Turing", stage="nurture")
        session.add(
            Segment(workspace_id=workspace.id, slug="leads", name="Leads", filters={"stage": ["lead"]})
        )
        return Seeded(marketer.email, codec.encode("contact", loner.id))


def test_a_marketer_builds_a_sequence_enrols_a_segment_and_follows_its_numbers(
    page: Page, db: Database, codec: IdCodec
) -> None:
    seeded = seed(db, codec)
    log_in(page, seeded.email)
    page.get_by_role("link", name="Outreach", exact=True).click()
    expect(page.get_by_role("heading", name="Outreach", level=1)).to_be_visible()
    page.locator("#new-sequence").click()
    page.get_by_label("Name", exact=True).fill("Welcome")
    page.get_by_label("Sends from").select_option("sales")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Sat").check()
    page.locator("#create-sequence").click()
    expect(page.locator("#notice")).to_contain_text("Sequence created")

    steps = page.locator("table.steps tbody tr")
    add = page.locator("#add-step-form")
    add.get_by_label("Kind").select_option("email")
    add.get_by_label("Template").select_option("hello")
    page.locator("#add-step").click()
    expect(steps).to_have_count(1)
    page.locator("#add-step-panel summary").click()
    add.get_by_label("Kind").select_option("task")
    add.get_by_label("Note for the caller").fill("Ask about the budget")
    page.locator("#add-step").click()
    page.locator("#add-step-panel summary").click()
    add.get_by_label("Kind").select_option("wait")
    add.get_by_label("Business days").fill("2")
    page.locator("#add-step").click()
    expect(steps).to_have_count(3)
    page.get_by_role("button", name="Move step 3 up").click()
    expect(page.locator("table.steps .step-words")).to_have_text(
        ["Email: Hello", "Wait 2 business days", "Call task: Ask about the budget"]
    )
    page.locator("#status-active").click()
    expect(page.locator("#sequence-status")).to_have_text("Active")
    screenshot(page, "outreach-sequence-builder")

    page.locator("#enrol-panel summary").click()
    page.get_by_label("Everyone in the segment").select_option("leads")
    page.locator("#enrol").click()
    expect(page.locator("#notice")).to_have_text("2 enrolled")
    rows = page.locator("#enrollments tbody tr")
    expect(rows).to_have_count(2)
    rows.first.get_by_role("button", name="Hold").click()
    expect(page.locator("#notice")).to_have_text("The contact is held at its step.")
    expect(page.locator("#enrollments .status-paused")).to_have_count(1)

    page.locator("#figure-enrolled").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrolled: Welcome")
    expect(page.locator("#people tbody tr")).to_have_count(2)

    # From a contact's page: the panel arrives by htmx and adds the contact to the sequence.
    page.goto(f"/contacts/{seeded.loner}")
    panel = page.locator("#sequences")
    expect(panel.get_by_text("Not in any sequence.")).to_be_visible()
    panel.get_by_role("button", name="Add to sequence").click()
    expect(page.locator("#sequence-notice")).to_have_text("1 enrolled")
    expect(page.locator("#contact-enrollments")).to_contain_text("Welcome")
    screenshot(page, "outreach-contact-panel")
    page.get_by_role("link", name="Outreach", exact=True).click()
    expect(page.locator("#sequence-welcome td.number").first).to_have_text("3")
    screenshot(page, "outreach-overview")


def test_the_segment_count_follows_the_filters_as_they_change(
    page: Page, db: Database, codec: IdCodec
) -> None:
    seeded = seed(db, codec)
    log_in(page, seeded.email)
    page.goto("/outreach/segments")
    page.locator("#new-segment").click()
    count = page.locator("#segment-count")
    expect(count).to_contain_text("3 contacts match")
    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a page load
    page.get_by_label("Name", exact=True).fill("CFO leads")
    page.get_by_label("Nurture").check()
    expect(count).to_contain_text("1 contact matches")
    page.get_by_label("Nurture").uncheck()
    page.get_by_label("Tags").fill("cfo")
    expect(count).to_contain_text("2 contacts match")
    page.get_by_label("Engagement at least").fill("5")
    expect(count).to_contain_text("0 contacts match")
    page.get_by_label("Engagement at least").fill("")
    expect(count).to_contain_text("2 contacts match")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "outreach-segment-editor")
    page.locator("#save").click()
    expect(page.locator("#notice")).to_have_text("Segment created.")
    page.goto("/outreach/segments")
    expect(page.locator("#segment-cfo-leads .count")).to_have_text("2")
    expect(page.locator("#segment-cfo-leads")).to_contain_text("tags: cfo")


def test_a_newsletter_is_scheduled_in_another_time_zone_then_cancelled(
    page: Page, db: Database, codec: IdCodec
) -> None:
    seeded = seed(db, codec)
    log_in(page, seeded.email)
    page.goto("/outreach")
    page.locator("#new-newsletter").click()
    page.get_by_label(re.compile("^Name")).fill("March news")
    page.get_by_label("Template").select_option("nudge")
    page.get_by_label("Goes to").select_option("segment:leads")
    page.get_by_label("Sends from").select_option("sales")
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    page.get_by_label("Date and time").fill(f"{day.isoformat()}T09:30")
    page.get_by_label("In the time zone").fill("Asia/Tokyo")
    page.locator("#schedule").click()
    expect(page.locator("#notice")).to_have_text("Scheduled: it goes out at the time shown.")
    expect(page.locator("#broadcast-status")).to_have_text("Scheduled")
    tokyo = datetime(day.year, day.month, day.day, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC)
    expect(page.locator("#scheduled-at")).to_have_text(tokyo.strftime("%Y-%m-%d %H:%M UTC"))
    expect(page.locator("#audience")).to_have_text("2")
    screenshot(page, "outreach-newsletter")
    page.locator("#cancel-broadcast").click()
    expect(page.locator("#broadcast-status")).to_have_text("Cancelled")
    page.get_by_role("link", name="Newsletters").first.click()
    expect(page.locator("#broadcasts tbody tr")).to_have_count(1)
    expect(page.locator("#broadcasts")).to_contain_text(re.compile("March news\\s+Cancelled"))
