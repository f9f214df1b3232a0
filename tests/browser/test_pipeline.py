"""The pipeline in a real browser: open a deal from a contact, move it across the board with the
keyboard-friendly controls, lose one with a reason, win one, and see the contact become a customer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.factories import PASSWORD, make_contact, make_organization, make_user, make_workspace

from leadwell.db.session import Database

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("LEADWELL_SCREENSHOTS")


def seed(db: Database) -> str:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        user = make_user(session, workspace, role="owner")
        navy = make_organization(session, workspace, name="Navy Labs")
        make_contact(
            session, workspace, first_name="Grace", last_name="Hopper", organization_id=navy.id, stage="sql"
        )
        make_contact(session, workspace, first_name="Alan", last_name="Turing", stage="mql")
        return user.email


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {email}")).to_be_visible()


def open_deal_for(page: Page, contact: str, name: str, value: str) -> None:
    page.goto("/contacts")
    page.get_by_role("link", name=contact).click()
    page.get_by_role("button", name="Create deal").click()
    expect(page.locator("#chosen-contact")).to_contain_text(contact)
    page.get_by_label("Deal name").fill(name)
    page.get_by_label("Value").fill(value)
    page.get_by_role("button", name="Open the deal").click()
    expect(page.locator("#pipeline-notice")).to_contain_text(f"Opened “{name}” in Discovery.")


def test_a_deal_moves_across_the_board_and_is_won(page: Page, db: Database) -> None:
    log_in(page, seed(db))
    open_deal_for(page, "Grace Hopper", "Ops audit", "12000")
    expect(page.locator("#pipeline-notice")).to_contain_text("Grace Hopper is now opportunity.")
    card = page.locator("article.deal-card", has_text="Ops audit")
    expect(page.locator("#column-discovery")).to_contain_text("Ops audit")
    expect(page.locator("#column-discovery .column-count")).to_have_text("1 deal")
    for stage, label in (("proposal", "Proposal"), ("negotiation", "Negotiation")):
        card.get_by_label("Move “Ops audit” to stage").select_option(label=label)
        card.get_by_role("button", name="Move").click()
        expect(page.locator("#pipeline-notice")).to_have_text(f"Moved “Ops audit” to {label}.")
        expect(page.locator(f"#column-{stage}")).to_contain_text("Ops audit")
        expect(page.locator("#column-discovery")).not_to_contain_text("Ops audit")
    expect(page.locator("#column-negotiation")).to_contain_text("12,000.00 USD")
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "pipeline.png"), full_page=True)
    card.get_by_role("button", name="Mark won").click()
    expect(page.locator("#pipeline-notice")).to_have_text(
        "Won “Ops audit” (USD 12,000). Grace Hopper is now customer."
    )
    expect(page.locator("#board")).not_to_contain_text("Ops audit")
    expect(page.locator("#closed-won")).to_contain_text("12,000.00 USD")
    page.goto("/contacts")
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.locator("h1 + p .stage")).to_have_text("customer")
    expect(page.locator("#deals")).to_contain_text("won")


def test_losing_needs_a_reason_and_works_from_the_keyboard(page: Page, db: Database) -> None:
    log_in(page, seed(db))
    open_deal_for(page, "Alan Turing", "Enigma review", "3000")
    card = page.locator("article.deal-card", has_text="Enigma review")
    summary = card.locator("summary", has_text="Mark lost")
    summary.focus()
    page.keyboard.press("Enter")  # opens the details
    reason = card.get_by_label("Why was it lost?")
    expect(reason).to_be_visible()
    card.get_by_role("button", name="Mark lost").click()
    # The browser refuses the empty reason: nothing was sent
    assert reason.evaluate("field => field.validity.valueMissing")
    expect(page.locator("#pipeline-notice")).to_contain_text("Opened “Enigma review”")
    reason.focus()
    page.keyboard.type("chose an in-house team")
    page.keyboard.press("Enter")
    expect(page.locator("#pipeline-notice")).to_have_text(
        "Lost “Enigma review”: chose an in-house team. Alan Turing is now nurture."
    )
    expect(page.locator("#closed-lost")).to_contain_text("1")
