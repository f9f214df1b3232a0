"""Stages in a real browser over real HTTP: move a contact to nurture with a reason on its page, see
the move in its history, and find the contact on the Newsletter list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.factories import PASSWORD, make_contact, make_user, make_workspace

from leadwell.db.session import Database

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("LEADWELL_SCREENSHOTS")


def test_move_to_nurture_shows_in_history_and_on_the_newsletter(page: Page, db: Database) -> None:
    with db.session() as session:
        acme = make_workspace(session, "Acme")
        email = make_user(session, acme, role="sales").email
        make_contact(session, acme, first_name="Grace", last_name="Hopper", stage="sql")
        make_contact(session, acme, first_name="Alan", last_name="Turing", stage="lead")
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/contacts")
    page.get_by_role("link", name="Grace Hopper").click()

    stage = page.locator("#stage")
    expect(stage).to_contain_text("In the call queue")
    stage.get_by_label("Move to stage").select_option(label="Nurture")
    stage.get_by_role("button", name="Move").click()  # the reason is required: the browser stops it
    expect(page).not_to_have_url("**moved=**")
    stage.get_by_label("Reason").fill("Not now: budget opens in Q3")
    stage.get_by_role("button", name="Move").click()

    expect(page.get_by_role("status")).to_have_text("Moved to Nurture.")
    history = page.locator("table.stage-history tbody tr").first
    expect(history).to_contain_text("SQL")
    expect(history).to_contain_text("Nurture")
    expect(history).to_contain_text("Not now: budget opens in Q3")
    expect(history).to_contain_text("Test User")
    expect(stage).to_contain_text("Parked in nurture")
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "stage-panel.png"), full_page=True)

    stage.get_by_role("link", name="Newsletter list").click()
    expect(page.get_by_role("heading", name="Newsletter")).to_be_visible()
    members = page.locator("table.list-members tbody")
    expect(members).to_contain_text("Grace Hopper")
    expect(members).not_to_contain_text("Alan Turing")
    expect(members).to_contain_text("Nurture")
