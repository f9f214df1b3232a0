"""The Capture section in a real browser: a marketer uploads a PDF magnet, builds a form that gates it
with a consent text and an allowed origin, builds a landing page carrying that form, then reads the
magnet's numbers on the overview (events and readings seeded directly) and follows one to the people
behind it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.test_pages_browser import log_in, screenshot
from tests.capture.test_assets import pdf_bytes
from tests.factories import make_contact, make_user, make_workspace

from leadwell.db.models import Asset, Event, Form, FormSubmission, LandingPage, Reading, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser


def seed_activity(db: Database, workspace_id: int) -> None:
    """Four visitors of the landing page (one anonymous), three submissions, three downloads, and
    readings at 95 %, 60 % and 20 %."""
    when = utcnow() - timedelta(days=2)
    with db.session() as session:
        workspace = session.get(Workspace, workspace_id)
        asset = session.scalar(select(Asset).where(Asset.slug == "roi-playbook"))
        form = session.scalar(select(Form).where(Form.slug == "playbook-download"))
        page = session.scalar(select(LandingPage).where(LandingPage.slug == "playbook"))
        assert workspace is not None and asset is not None and form is not None and page is not None
        people = [
            make_contact(session, workspace, first_name=first, last_name=last)
            for first, last in (("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"))
        ]
        url = "http://leadwell.example/p/playbook"
        viewers = [(person.id, None) for person in people] + [(None, 99)]
        for contact_id, visitor_id in viewers:
            session.add(
                Event(
                    workspace_id=workspace_id, contact_id=contact_id, visitor_id=visitor_id,
                    type="page_viewed", occurred_at=when, properties={"url": url, "page": page.slug},
                )
            )  # fmt: skip
        for number, (person, percent) in enumerate(zip(people, (95.0, 60.0, 20.0), strict=True)):
            session.add(
                FormSubmission(
                    workspace_id=workspace_id, form_id=form.id, contact_id=person.id, landing_page_id=page.id,
                    nonce=f"n{number}", submitted_at=when,
                )
            )  # fmt: skip
            session.add(
                Event(
                    workspace_id=workspace_id, contact_id=person.id, type="asset_downloaded",
                    occurred_at=when, properties={"asset": asset.slug},
                )
            )  # fmt: skip
            session.add(
                Reading(
                    workspace_id=workspace_id, contact_id=person.id, asset_id=asset.id, pages_total=6,
                    percent=percent, first_at=when, last_at=when,
                )
            )  # fmt: skip


def test_a_marketer_builds_a_magnet_form_and_page_then_follows_a_number(
    page: Page, db: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        marketer = make_user(session, workspace, role="marketer")
        workspace_id, email = workspace.id, marketer.email
    paper = tmp_path_factory.mktemp("magnet") / "roi-playbook.pdf"
    paper.write_bytes(pdf_bytes(6))
    log_in(page, email)

    page.get_by_role("link", name="Capture", exact=True).click()
    expect(page.get_by_role("heading", name="Capture", level=1)).to_be_visible()
    page.locator("#new-pdf").click()
    page.get_by_label("Title", exact=True).fill("ROI playbook")
    page.locator('input[name="file"]').set_input_files(str(paper))
    page.get_by_role("button", name="Create PDF magnet").click()
    expect(page.locator("#notice")).to_have_text("Magnet created.")
    expect(page.locator("hgroup")).to_contain_text("6 pages")
    screenshot(page, "capture-magnet")

    page.get_by_role("link", name="Build one").click()
    page.get_by_label("Name", exact=True).fill("Playbook download")
    page.locator('textarea[name="consent_text"]').fill("I agree that Acme may email me about the playbook.")
    page.get_by_label("Consent is required to send the form").check()
    expect(page.get_by_label("Lead magnet")).to_have_value("roi-playbook")
    page.get_by_label("Allowed origins").fill("https://WWW.Acme-Consulting.example/")
    page.locator("#add-field").click()
    page.get_by_label("Field 4 key").fill("company")
    page.get_by_label("Field 4 label").fill("Company")
    page.get_by_label("Field 4 fills").fill("organization")
    page.locator("#save").click()
    expect(page.locator("#notice")).to_have_text("Form created.")
    expect(page.locator("#embed-snippet")).to_contain_text(
        '<div data-leadwell-form="playbook-download"></div>'
    )
    expect(page.get_by_label("Allowed origins")).to_have_value("https://www.acme-consulting.example")
    screenshot(page, "capture-form")

    page.goto("/capture/pages/new")
    page.get_by_label("Title", exact=True).fill("The ROI playbook")
    page.locator('input[name="slug"]').fill("playbook")
    page.locator('textarea[name="body_markdown"]').fill("Payback in **five months**.\n\n<b>raw</b>")
    page.get_by_label("Form").select_option("playbook-download")
    page.locator("#preview-button").click()
    expect(page.locator("#preview strong")).to_have_text("five months")
    expect(page.locator("#preview")).to_contain_text("<b>raw</b>")  # shown as text, not markup
    screenshot(page, "capture-page-editor")
    page.locator("#save").click()
    expect(page.locator("#notice")).to_have_text("Page created.")
    expect(page.locator("#public-link")).to_have_attribute("href", re.compile(r"/p/playbook$"))

    seed_activity(db, workspace_id)
    page.goto("/capture?period=30")
    magnet = page.locator("#magnet-roi-playbook")
    figures = magnet.locator(".figure")
    expect(figures).to_have_text(["4", "3", "3", "2", "1"])
    expect(magnet.locator(".step-read50 .conversion")).to_have_text("66.7 %")
    screenshot(page, "capture-overview")
    magnet.locator('[data-step="read50"]').click()
    expect(page.locator("h1")).to_have_text("Read ≥ 50 %: ROI playbook")
    expect(page.locator("#people tbody tr")).to_have_count(2)
    expect(page.locator("#people")).to_contain_text("Ada Lovelace")
    expect(page.locator("#people")).to_contain_text("Grace Hopper")
    expect(page.locator("#people")).not_to_contain_text("Alan Turing")
    screenshot(page, "capture-people")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.locator("h1")).to_contain_text("Ada Lovelace")
