"""The import wizard in a real browser over real HTTP: Contacts → Import, upload, change a column's
mapping and watch the cleaned preview follow (htmx), import, read the summary, open the contacts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_user, make_workspace

from leadwell.config import Settings
from leadwell.db.session import Database

pytestmark = pytest.mark.browser
PEOPLE = Path(__file__).parent.parent / "fixtures" / "imports" / "wizard" / "people.csv"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Uploads go to this test's own directory."""
    return Settings(database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data")


def log_in_as_marketer(page: Page, db: Database) -> None:
    with db.session() as session:
        email = make_user(session, make_workspace(session, "Acme"), role="marketer").email
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {email}")).to_be_visible()


def test_import_a_file_with_a_remapped_column(page: Page, db: Database, settings: Settings) -> None:
    log_in_as_marketer(page, db)
    page.goto("/contacts")
    page.get_by_role("link", name="Import contacts from a file").click()
    expect(page.get_by_role("heading", name="Import contacts", level=1)).to_be_visible()
    page.get_by_label("File").set_input_files(PEOPLE)
    page.get_by_label("List name").fill("Pioneers")
    page.get_by_label("Default country for phone numbers").select_option("US")
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Check the import of people.csv")).to_be_visible()
    expect(page.locator("#detected")).to_contain_text("comma")
    grace = page.locator("#cleaned-rows tbody tr", has_text="Grace Hopper")
    expect(grace.locator("td").nth(5)).to_have_text("")  # Title: "Position Held" is a custom field
    expect(grace).to_contain_text("position_held: Rear Admiral")
    page.evaluate("window.__sameDocument = true")  # survives an htmx swap, not a page load
    page.get_by_label("Column Position Held holds").select_option("title")
    expect(grace.locator("td").nth(5)).to_have_text("Rear Admiral")
    expect(grace).not_to_contain_text("position_held")
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#cleaned-rows tbody.rejected")).to_contain_text("no email, phone or name")

    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(r"/contacts/imports/\d+$"))
    expect(page.locator("#figure-rows_read .figure")).to_have_text("5")
    expect(page.locator("#figure-created .figure")).to_have_text("4")
    expect(page.locator("#figure-rejected .figure")).to_have_text("1")
    expect(page.locator("#issue-rows")).to_contain_text("no email, phone or name identifies a person")
    assert not any(path.is_file() for path in settings.data_dir.rglob("*"))  # the upload is gone

    page.get_by_role("link", name="See the contacts of “Pioneers”").click()
    page.wait_for_url("**/contacts?source=Pioneers")
    expect(page.locator("#contact-count")).to_have_text("4 contacts")
    row = page.locator("#contact-results tbody tr", has_text="Grace Hopper")
    expect(row).to_contain_text("Rear Admiral")
    expect(row).to_contain_text("US Navy")
