"""The template editor in a real browser: a marketer writes a template, sees the unknown merge field
refused beside its field with its line, saves it, finds a real contact and previews the email for
them (HTML in a sandboxed frame, the contact's markup shown as text, a warning for an empty field),
breaks the HTML and sees the problem appear by the field without the page reloading, then adds a
variant. A salesperson reads the same template without a way to change it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_organization, make_user, make_workspace

from leadwell.db.models import EmailTemplate, TemplateVariant
from leadwell.db.session import Database

pytestmark = pytest.mark.browser

BODY = '<p>Hello {{ first_name | default("there") }},</p>\n<p>You work as {{ title }} at {{ company }}.</p>'


def seed(db: Database) -> tuple[str, str]:
    """A workspace with a marketer, a salesperson and two contacts; their emails."""
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        marketer = make_user(session, workspace, role="marketer")
        seller = make_user(session, workspace, role="sales")
        engines = make_organization(session, workspace, name="Analytical Engines")
        make_contact(
            session, workspace, first_name="Ada <b>Bold</b>", last_name="Lovelace",
            email="ada@engines.example", title=None, organization_id=engines.id,
        )  # fmt: skip
        make_contact(session, workspace, first_name="Grace", last_name="Hopper", email="grace@navy.example")
        return marketer.email, seller.email


def variants_stored(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(TemplateVariant.key, TemplateVariant.subject)
            .join(EmailTemplate, EmailTemplate.id == TemplateVariant.template_id)
            .where(EmailTemplate.slug == "paper-follow-up")
            .order_by(TemplateVariant.key)
        )
        return [(key, subject) for key, subject in rows]


def test_write_check_save_preview_and_add_a_variant(page: Page, db: Database) -> None:
    marketer, _seller = seed(db)
    log_in(page, marketer)
    page.goto("/outreach/templates")
    page.get_by_role("button", name="New template").click()
    page.get_by_label("Name", exact=True).fill("Paper follow-up")
    page.get_by_label("Subject").fill("Your copy, {{ frist_name }}")
    page.get_by_label("HTML body").fill(BODY)
    page.get_by_role("button", name="Create template").click()

    expect(page.locator("#problems-0-subject")).to_have_text(
        "line 1: unknown merge field 'frist_name' (did you mean 'first_name'?)"
    )
    expect(page.get_by_label("Subject")).to_have_attribute("aria-invalid", "true")
    assert variants_stored(db) == []
    page.get_by_label("Subject").fill("Your copy, {{ first_name | default('there') }}")
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("status")).to_have_text("Template created.")
    assert variants_stored(db) == [("a", "Your copy, {{ first_name | default('there') }}")]

    # Preview for a real contact, found by typing (htmx), without leaving the page.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("For the contact").fill("lovelace")
    choice = page.locator("#contact-results button", has_text="ada@engines.example")
    expect(choice).to_have_count(1)
    choice.click()
    expect(page.locator("#preview-for")).to_contain_text("Ada <b>Bold</b> Lovelace")
    expect(page.locator(".preview-subject")).to_have_text("Your copy, Ada <b>Bold</b>")
    frame = page.frame_locator("iframe.preview-html")
    expect(frame.locator("p").first).to_have_text("Hello Ada <b>Bold</b>,")
    expect(frame.locator("b")).to_have_count(0)  # the contact's markup is text, never HTML
    expect(frame.locator("p").nth(1)).to_have_text("You work as  at Analytical Engines.")
    expect(page.locator("iframe.preview-html")).to_have_attribute("sandbox", "")
    expect(page.locator(".warnings li")).to_have_text(["title is empty for this contact and has no default"])
    screenshot(page, "template-preview")

    # A broken body: the problem shows beside the HTML field, with its line, and nothing is saved.
    page.get_by_label("HTML body").fill(BODY + "\n{{ nobody }}")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#problems-0-html")).to_have_text("line 3: unknown merge field 'nobody'")
    expect(page.locator(".preview-problems li")).to_have_text(["html, line 3: unknown merge field 'nobody'"])
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_label("HTML body").fill(BODY)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#problems-0-html")).to_have_text("")
    expect(page.locator(".preview-subject")).to_have_text("Your copy, Ada <b>Bold</b>")

    # A second variant, chosen by weight.
    page.get_by_role("button", name="Add a variant").click()
    variant_b = page.locator("#variant-1")
    expect(variant_b.locator("legend")).to_have_text("Variant b")
    variant_b.get_by_label("Subject").fill("The paper for {{ company | default('you') }}")
    variant_b.get_by_label("Plain text").fill("Hello {{ first_name }}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert [key for key, _subject in variants_stored(db)] == ["a", "b"]
    page.goto("/outreach/templates")
    expect(page.locator("#template-paper-follow-up td.number")).to_have_text("2")


def test_a_salesperson_reads_and_previews_but_cannot_save(page: Page, db: Database) -> None:
    marketer, seller = seed(db)
    log_in(page, marketer)
    page.goto("/outreach/templates/new")
    page.get_by_label("Name", exact=True).fill("Paper follow-up")
    page.get_by_label("Subject").fill("Hello {{ first_name }}")
    page.get_by_label("HTML body").fill(BODY)
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("status")).to_have_text("Template created.")
    page.get_by_role("button", name=re.compile(f"Log out {re.escape(marketer)}")).click()

    log_in(page, seller)
    page.goto("/outreach/templates")
    expect(page.locator("#new-template")).to_have_count(0)
    page.get_by_role("link", name="Paper follow-up").click()
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(page.get_by_label("Subject")).not_to_be_editable()
    page.get_by_label("For the contact").fill("hopper")
    page.locator("#contact-results button", has_text="grace@navy.example").click()
    expect(page.locator(".preview-subject")).to_have_text("Hello Grace")
