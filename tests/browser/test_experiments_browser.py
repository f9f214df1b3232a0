"""Experiments in a real browser: a marketer creates an experiment on a sequence's email step through
the pages (the kind and the step redraw the form, the variants come prefilled), starts it; contacts
are enrolled and the outbox sends to a real SMTP server on loopback; the page then shows each
variant's exposed contacts, the verdict, and the chart drawn by vega under a CSP without
'unsafe-eval'."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import select
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_event, make_user, make_workspace
from tests.outreach.sending_support import LINKS, PUBLIC_URL, SIGNER, make_mailbox, make_template, worker
from tests.outreach.sequence_support import make_sequence
from tests.outreach.smtp_support import SmtpServer, smtp_server

from leadwell.auth.accounts import add_member
from leadwell.db.models import Contact, ExperimentAssignment, ExperimentVariant
from leadwell.db.session import Database
from leadwell.events.types import validate_properties
from leadwell.outreach.enroll import enroll
from leadwell.outreach.outbox import send_due
from leadwell.outreach.runner import advance_due
from leadwell.outreach.signing import Signing

__all__ = ["smtp_server", "worker"]
pytestmark = pytest.mark.browser

PEOPLE = 24
SIGNING = Signing(PUBLIC_URL, SIGNER)


def _zone_away_from_midnight(now: datetime) -> str:
    """A time zone where the clock is far from midnight now: the sequence's window (00:00–23:59
    there) is open whenever the test runs."""
    return "UTC" if 1 <= now.hour <= 21 else "Asia/Tokyo"


@dataclass(frozen=True)
class Seeded:
    email: str
    workspace_id: int
    sequence_id: int
    contact_ids: list[int]


def seed(db: Database, server: SmtpServer) -> Seeded:
    """A marketer, a mailbox on the test server, a sequence whose email step sends "opener", a
    second template to try at that step, and contacts."""
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        marketer = make_user(session, workspace, role="marketer")
        add_member(session, make_workspace(session, "Beta Ltd"), marketer, "marketer")
        mailbox = make_mailbox(session, workspace, server)
        opener = make_template(session, workspace, subject="The usual opener", slug="opener")
        make_template(session, workspace, subject="A bolder opener", slug="bold-opener")
        sequence = make_sequence(
            session, workspace, [("email", opener)], mailbox=mailbox,
            timezone=_zone_away_from_midnight(datetime.now(UTC)),
        )  # fmt: skip
        people = [make_contact(session, workspace, first_name=f"P{n}") for n in range(PEOPLE)]
        return Seeded(marketer.email, workspace.id, sequence.id, [person.id for person in people])


def _send(db: Database, seeded: Seeded, worker: str) -> datetime:
    """Enrol the contacts now and let the outbox send their first email; when it was sent."""
    now = datetime.now(UTC)
    people = seeded.contact_ids
    with db.session() as session:
        enroll(
            session,
            seeded.workspace_id,
            seeded.sequence_id,
            people,
            source="manual",
            by_user_id=None,
            now=now,
        )
    assert advance_due(db, now, signing=SIGNING) == len(people)
    assert send_due(db, worker, now=now, links=LINKS) == len(people)
    return now


def _replies(db: Database, sent: datetime, key: str, template: str, count: int) -> None:
    """``count`` of variant ``key``'s contacts reply to the email they got."""
    with db.session() as session:
        variant_id = session.scalar(select(ExperimentVariant.id).where(ExperimentVariant.key == key))
        contact_ids = session.scalars(
            select(ExperimentAssignment.contact_id)
            .where(ExperimentAssignment.variant_id == variant_id)
            .limit(count)
        ).all()
        properties = validate_properties("email_replied", {"template": template})
        for contact_id in contact_ids:
            contact = session.get_one(Contact, contact_id)
            # At the sending time itself: a later one could still be in the future when the page loads.
            make_event(session, contact, "email_replied", sent, properties)


def test_an_experiment_on_a_sequence_step_from_creation_to_its_chart(
    page: Page, db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    seeded = seed(db, smtp_server)
    violations: list[str] = []
    page.on("console", lambda message: _note_violation(message, violations))
    page.on("pageerror", lambda error: violations.append(str(error)))
    log_in(page, seeded.email)
    page.get_by_role("link", name="Experiments", exact=True).click()
    expect(page.get_by_role("heading", name="Experiments", level=1)).to_be_visible()
    page.locator("#new-experiment").click()

    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a page load
    # Each choice re-renders the form. The next choice waits until htmx has settled the new form:
    # made on the form about to be replaced, or on the new one before htmx listens to it, a
    # choice is lost (under load, once, even after the response had arrived).
    page.evaluate(
        "document.body.dataset.settled = 0;"
        "document.body.addEventListener('htmx:afterSettle', () => { document.body.dataset.settled++; })"
    )
    body = page.locator("body")
    page.get_by_label("What it tests").select_option("sequence_step")
    expect(body).to_have_attribute("data-settled", "1")
    page.get_by_label("Which sequence step").select_option("welcome/1")
    expect(body).to_have_attribute("data-settled", "2")
    variant_b = page.locator("#variant-1")
    expect(variant_b.get_by_label("Template sent at the step")).to_be_visible()
    expect(page.locator("#variant-0").get_by_label("Template sent at the step")).to_have_value("opener")
    assert page.evaluate("window.__sameDocument") is True
    page.locator('input[name="name"]').fill("A bolder opener")
    variant_b.get_by_label("Name", exact=True).fill("Bold")
    variant_b.get_by_label("Template sent at the step").select_option("bold-opener")
    page.get_by_label("Primary metric").select_option("reply")
    screenshot(page, "experiment-new")
    page.locator("#create-experiment").click()
    expect(page.locator("#notice")).to_contain_text("Experiment created as a draft")
    expect(page.locator("#no-chart")).to_be_visible()
    page.locator("#start").click()
    expect(page.locator("#notice")).to_contain_text("Started")
    expect(page.locator("#experiment-state")).to_have_text("Running")

    sent = _send(db, seeded, worker)
    subjects = {str(received.message["Subject"]) for received in smtp_server.messages()}
    assert subjects == {"The usual opener", "A bolder opener"}
    _replies(db, sent, "B", "bold-opener", 2)
    page.reload()
    exposed = [int(text) for text in page.locator("#variants td.exposed").all_inner_texts()]
    assert len(exposed) == 2 and sum(exposed) == PEOPLE and min(exposed) > 0
    expect(page.locator("#variant-B td.outcome")).to_have_text("2")
    expect(page.locator("#verdict")).to_contain_text(re.compile(r"Too early: fewer than 100"))
    expect(page.locator("#warnings")).to_contain_text("Conversions still coming in")
    chart = page.locator("#experiment-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(chart.locator("svg")).to_have_count(1)
    expect(chart.locator("svg")).to_contain_text("A: Current")
    screenshot(page, "experiment-report")
    assert violations == [], "\n".join(violations)

    page.get_by_role("banner").get_by_role("link", name="Experiments", exact=True).click()
    row = page.locator("#experiments tbody tr").first
    expect(row.locator(".exposed")).to_have_text(str(PEOPLE))
    expect(row).to_contain_text("Running")
    # The workspace switcher's inline handler runs under the section's policy (allowed by its hash).
    page.get_by_label("Workspace").select_option(label="Beta Ltd")
    expect(page).to_have_url(re.compile(r"/contacts$"))  # the form was submitted: a marketer lands there
    page.get_by_role("banner").get_by_role("link", name="Experiments", exact=True).click()
    expect(page.locator("#no-experiments")).to_be_visible()
    assert violations == [], "\n".join(violations)


def _note_violation(message: ConsoleMessage, violations: list[str]) -> None:
    """Keep the console's Content-Security-Policy complaints."""
    if "Content Security Policy" in message.text:
        violations.append(f"{message.text} at {message.location.get('url')}")
