"""The call queue in a real browser, from the keyboard: a salesperson lands on the queue, moves the
selection with j/k, opens the call panel, logs every kind of outcome across six leads, and sees each
lead leave the queue and its stage change on its contact page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_organization, make_user, make_workspace
from tests.sales.queue_data import graded_profile, make_lead

from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec

pytestmark = pytest.mark.browser
NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra", "Frances Allen")


@dataclass(frozen=True)
class Seeded:
    email: str
    ids: list[str]  # public ids, in queue order


def seed(db: Database, codec: IdCodec) -> Seeded:
    """Seven leads, engagement descending, all missing their title (asked for); the fifth's
    organization has no head count either."""
    now = utcnow()
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        seller = make_user(session, workspace, role="sales")
        big = make_organization(session, workspace, name="Big Co", employees=250)
        unknown = make_organization(session, workspace, name="Mystery Ltd")
        ids = []
        for number, name in enumerate((*NAMES, "Ken Thompson")):
            first, last = name.split()
            lead = make_lead(
                session, workspace, grade=None, score=90 - 10 * number, scored_at=now - timedelta(hours=1),
                first_name=first, last_name=last, custom={"roi_months": 2},
                organization_id=unknown.id if number == 4 else big.id,
            )  # fmt: skip
            ids.append(codec.encode("contact", lead.id))
        graded_profile(session, workspace)
        return Seeded(seller.email, ids)


def names(page: Page) -> list[str]:
    return page.locator("li.lead .lead-name").all_inner_texts()


def selected(page: Page) -> str:
    return page.locator("li.lead.selected .lead-name").inner_text()


def keys_ready(page: Page) -> None:
    """Wait for the queue's keyboard script on the page just loaded."""
    expect(page.locator("#queue[data-keys=ready]")).to_have_count(1)


def log_call(page: Page, digit: str, notice: str, submit: str = "Control+Enter") -> None:
    """Open the selected lead's panel from the keyboard, pick the outcome, submit, see the notice."""
    keys_ready(page)
    page.keyboard.press("o")
    expect(page.locator(".call-panel:not([hidden])")).to_have_count(1)
    page.keyboard.press(digit)
    page.keyboard.press(submit)
    expect(page.locator("#queue-notice")).to_have_text(re.compile(notice))
    keys_ready(page)


def test_a_salesperson_works_the_queue_from_the_keyboard(page: Page, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    log_in(page, seeded.email)
    expect(page).to_have_url(re.compile(r"/queue$"))
    keys_ready(page)
    assert names(page) == [*NAMES, "Ken Thompson"]
    expect(page.locator("li.lead").first).to_contain_text("Ask: title")
    screenshot(page, "queue")

    # j/k (and the arrows) move the selection; Esc closes a panel opened with Enter.
    keys_ready(page)
    assert selected(page) == "Ada Lovelace"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert selected(page) == "Grace Hopper"
    page.keyboard.press("ArrowUp")
    assert selected(page) == "Ada Lovelace"
    page.keyboard.press("Enter")
    expect(page.locator(f"#call-{seeded.ids[0]}")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".call-panel:not([hidden])")).to_have_count(0)

    log_call(page, "1", "Logged: no answer — Ada Lovelace, back in the queue tomorrow")
    assert names(page)[0] == "Grace Hopper" and selected(page) == "Grace Hopper"
    log_call(page, "2", "Logged: voicemail — Grace Hopper, back in the queue in 2 days", submit="s")

    # A conversation, with a note typed after pressing n.
    keys_ready(page)
    page.keyboard.press("o")
    page.keyboard.press("3")
    page.keyboard.press("n")
    page.keyboard.type("Interested; wants a proposal")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#queue-notice")).to_contain_text(
        "Logged: conversation — Alan Turing, back in the queue in 14 days"
    )

    log_call(page, "4", "Logged: meeting booked — Barbara Liskov, now SQL; back in the queue in 14 days")

    # Not a fit: 5 puts the cursor in the reason; what was learned goes in its field.
    keys_ready(page)
    page.keyboard.press("o")
    page.keyboard.press("5")
    expect(page.locator(f"#call-{seeded.ids[4]} input[name=reason]")).to_be_focused()
    page.keyboard.type("Twelve people, no budget")
    page.locator(f"#call-{seeded.ids[4]}").get_by_label("employees").fill("12")
    screenshot(page, "queue-panel")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#queue-notice")).to_contain_text(
        "Logged: not a fit — Edsger Dijkstra, now Disqualified"
    )

    # Not now: 6 puts the cursor in the revisit date; the reason goes with it.
    revisit = (utcnow() + timedelta(days=90)).date()
    keys_ready(page)
    page.keyboard.press("o")
    page.keyboard.press("6")
    panel = page.locator(f"#call-{seeded.ids[5]}")
    expect(panel.locator("input[name=revisit_on]")).to_be_focused()
    panel.locator("input[name=revisit_on]").fill(revisit.isoformat())
    panel.locator("input[name=reason]").fill("budget next quarter")
    page.keyboard.press("Control+Enter")
    until = f"{revisit.day} {revisit.strftime('%b')} {revisit.year}"
    expect(page.locator("#queue-notice")).to_contain_text(
        f"Logged: not now — Frances Allen, in nurture until {until}"
    )
    keys_ready(page)
    assert names(page) == ["Ken Thompson"]
    screenshot(page, "queue-after")

    for public_id, stage in [
        (seeded.ids[3], "sql"),
        (seeded.ids[4], "disqualified"),
        (seeded.ids[5], "nurture"),
    ]:
        page.goto(f"/contacts/{public_id}")
        expect(page.locator("hgroup .stage")).to_have_text(stage)
    page.goto(f"/contacts/{seeded.ids[4]}")
    expect(page.locator("main")).to_contain_text("not a fit: Twelve people, no budget")


def test_a_refused_call_keeps_the_panel_open(page: Page, db: Database, codec: IdCodec) -> None:
    seeded = seed(db, codec)
    log_in(page, seeded.email)
    keys_ready(page)
    page.keyboard.press("o")
    page.keyboard.press("6")
    page.keyboard.press("Escape")  # leaves the date empty: the browser insists on one
    expect(page.locator(".call-panel:not([hidden])")).to_have_count(0)
    page.keyboard.press("o")
    page.keyboard.press("5")
    page.keyboard.press("Control+Enter")  # no reason: the browser refuses to send it
    expect(page.locator("#queue-notice")).to_have_count(0)
    expect(page.locator(f"#call-{seeded.ids[0]} input[name=reason]")).to_be_focused()
    assert names(page)[0] == "Ada Lovelace"
