"""The dashboard in a real browser: won revenue and the funnel first, each figure opening its contacts,
and the range's quick choices."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.factories import (
    PASSWORD,
    make_contact,
    make_deal,
    make_event,
    make_user,
    make_workspace,
    move_through,
)

from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("LEADWELL_SCREENSHOTS")
DAY = timedelta(days=1)


def seed(db: Database) -> str:
    """Four leads created 50 days ago: Grace went all the way and won a deal 40 days ago, Alan
    reached SQL, Ada MQL, Barbara is still a lead. Alan got two calls, Grace one."""
    now = utcnow()
    created = now - 50 * DAY
    paths = {
        "Grace": [("mql", 2), ("sql", 5), ("opportunity", 8), ("customer", 10)],
        "Alan": [("mql", 3), ("sql", 4)],
        "Ada": [("mql", 6)],
        "Barbara": [],
    }
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        user = make_user(session, workspace, role="owner")
        for name, moves in paths.items():
            contact = make_contact(
                session, workspace, first_name=name, last_name="Example", created_at=created
            )
            move_through(session, contact, *((stage, created + day * DAY) for stage, day in moves))
            if name == "Grace":
                make_deal(
                    session,
                    contact,
                    name="Ops audit",
                    value=Decimal("12000"),
                    status="won",
                    closed_at=now - 40 * DAY,
                )
                make_event(session, contact, "call_logged", now - 45 * DAY, {"outcome": "meeting_booked"})
            if name == "Alan":
                for outcome in ("no_answer", "voicemail"):
                    make_event(session, contact, "call_logged", now - 45 * DAY, {"outcome": outcome})
        return user.email


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=f"Log out {email}")).to_be_visible()


def test_the_dashboard_shows_won_revenue_and_the_funnel(page: Page, db: Database) -> None:
    log_in(page, seed(db))
    page.wait_for_url("**/dashboard")
    expect(page.locator("#figure-won .figure")).to_have_text("1")
    expect(page.locator("#figure-won")).to_contain_text("12,000.00 USD")
    expect(page.locator("#win-rate")).to_have_text("100% of closed deals won")
    counts = {"lead": "4", "mql": "3", "sql": "2", "opportunity": "1", "customer": "1"}
    for stage, count in counts.items():
        expect(page.locator(f"#funnel-{stage} a")).to_have_text(count)
    expect(page.locator("#funnel-mql .rate")).to_have_text("75%")
    expect(page.locator("#funnel-mql .median")).to_have_text("3.0 days")  # 2, 3 and 6 days
    expect(page.locator("#funnel-customer th")).to_have_text("Won")
    expect(page.locator("#activity-calls a")).to_have_text("3")
    expect(page.locator("#activity-calls-per-win td.number")).to_have_text("3.0")
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "dashboard.png"), full_page=True)
    page.locator("#funnel-sql a").click()
    page.wait_for_url(re.compile(r"/contacts\?entered_since=[\d-]+&reached=sql"))
    expect(page.locator("#contact-count")).to_have_text("2 contacts")
    expect(page.locator("#contact-results")).to_contain_text("Grace Example")
    expect(page.locator("#contact-results")).to_contain_text("Alan Example")
    expect(page.locator(".chip")).to_contain_text("reached SQL")
    page.go_back()
    page.locator("#calls-no_answer a").click()
    expect(page.locator("#contact-count")).to_have_text("1 contact")
    expect(page.locator("#contact-results")).to_contain_text("Alan Example")
    page.go_back()
    page.get_by_role("navigation", name="Range").get_by_role("link", name="Last 30 days").click()
    page.wait_for_url(re.compile(r"/dashboard\?from=[\d-]+&to=[\d-]+$"))
    expect(page.locator("#range-from")).to_have_value((utcnow() - 29 * DAY).date().isoformat())
    expect(page.locator("#figure-won .figure")).to_have_text("0")
    expect(page.locator("#funnel")).to_contain_text("No contact entered the funnel")
