"""Editing what engagement is worth in a real browser: raise a rule's points in the editor, save,
see the new version and a contact's score follow."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_event, make_user, make_workspace

from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser


def seed(db: Database) -> str:
    """A marketer; Ada downloaded the guide an hour ago and opened two emails."""
    now = utcnow()
    with db.session() as session:
        acme = make_workspace(session, "Acme")
        user = make_user(session, acme, role="marketer")
        ada = make_contact(session, acme, first_name="Ada", last_name="Lovelace", email="ada@example.com")
        make_event(session, ada, "asset_downloaded", now - timedelta(hours=1), {"asset": "Guide"})
        for hours in (3, 2):
            make_event(session, ada, "email_opened", now - timedelta(hours=hours), {})
        return user.email


def test_raise_a_rules_points_save_and_see_the_score_follow(page: Page, db: Database) -> None:
    log_in(page, seed(db))
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Qualification settings").click()
    expect(page.get_by_role("heading", name="In force: the defaults (version 0)")).to_be_visible()
    expect(page.locator("#rule-sentences")).to_contain_text(
        "Downloaded a lead magnet: +10 when Downloaded, at most 10 per 365 days per asset"
    )
    page.get_by_label("Contact's email or id").fill("ada@example.com")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#explained-score")).to_contain_text("engagement 0.0 now")  # not scored yet

    page.get_by_role("button", name="Save and rescore").click()
    expect(page.locator("#notice")).to_contain_text("Nothing changed: still version 0.")

    page.get_by_label("Rule 1 points", exact=True).fill("40")
    page.get_by_label("Rule 1 cap points").fill("40")
    page.get_by_label("Rule 9 condition 1 property").fill("subject")
    page.get_by_label("Rule 9 condition 1 operator").select_option("contains")
    page.get_by_label("Rule 9 condition 1 value").fill("Offer")
    screenshot(page, "scoring-editor")
    page.get_by_role("button", name="Save and rescore").click()
    expect(page).to_have_url(re.compile(r"/settings/scoring\?saved=new\+version&version=1"))
    expect(page.locator("#notice")).to_contain_text(
        re.compile(r"Saved as version 1\. Rescored 1 contacts in [0-9.]+ s\.")
    )
    expect(page.get_by_role("heading", name="In force: version 1")).to_be_visible()
    expect(page.locator("#rule-sentences")).to_contain_text(
        "+40 when Downloaded, at most 40 per 365 days per asset"
    )
    expect(page.locator("#rule-sentences")).to_contain_text(
        "+1 when Opened an email: subject contains “Offer”"
    )
    expect(page.locator("#versions")).to_contain_text("1")

    page.get_by_label("Contact's email or id").fill("ada@example.com")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#explained-score")).to_contain_text(
        re.compile(r"engagement (39\.9|40\.0) now \(settings version 1")
    )
    expect(page.locator("#explain")).to_contain_text("Downloaded — Downloaded a lead magnet: +40")
    expect(page.locator("#explain")).not_to_contain_text("Opened an email")  # no subject: no points now
    screenshot(page, "scoring-settings")

    page.get_by_label("Rule 1 points", exact=True).fill("lots")
    page.get_by_role("button", name="Save and rescore").click()
    expect(page.locator("#rule-0-error")).to_contain_text("rules[0].points: 'lots' is not a number")
    expect(page.get_by_label("Rule 1 points", exact=True)).to_have_value("lots")
