"""A reply in the call queue, in a real browser: a prospect answers an email (forwarded by the mail
provider to the inbound webhook of the live server); the salesperson opens the queue and finds them
first, with the reply as why-now; once the call is logged the queue's usual order returns, and the
reply stays on the contact's timeline."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_user, make_workspace
from tests.outreach.mail_support import make_mailbox, make_sent, message
from tests.sales.queue_data import make_lead

from leadwell.capture.tokens import TokenSigner
from leadwell.config import Settings
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.outreach.inbound_api import inbound_url

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Seeded:
    email: str
    inbound: str  # the mailbox's webhook address on the live server
    replier: str  # public id of the contact who will reply
    sent_id: str


def seed(db: Database, settings: Settings, live_server: str) -> Seeded:
    """Three leads; the least promising one (grade E, no engagement) was sent our email."""
    now = utcnow()
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        seller = make_user(session, workspace, role="sales")
        for number, name in enumerate(("Ada Lovelace", "Grace Hopper")):
            first, last = name.split()
            make_lead(
                session, workspace, grade="A", score=60 - 10 * number, scored_at=now - timedelta(hours=1),
                first_name=first, last_name=last,
            )  # fmt: skip
        replier = make_lead(
            session,
            workspace,
            grade="E",
            first_name="Alan",
            last_name="Turing",
            email="alan@bletchley.example",
        )
        mailbox = make_mailbox(session, workspace)
        sent = make_sent(
            session, replier, mailbox, message_id="lw.browser1@acme.example", subject="Codebreaking help"
        )
        assert settings.secret_key is not None
        signer = TokenSigner(settings.secret_key.get_secret_value())
        codec = IdCodec(settings.secret_key.get_secret_value())
        return Seeded(
            seller.email,
            inbound_url(signer, live_server, mailbox),
            codec.encode("contact", replier.id),
            sent.message_id,
        )


def names(page: Page) -> list[str]:
    return page.locator("li.lead .lead-name").all_inner_texts()


def test_a_reply_puts_its_writer_first_in_the_queue_until_called(
    page: Page, db: Database, settings: Settings, live_server: str
) -> None:
    seeded = seed(db, settings, live_server)
    log_in(page, seeded.email)
    expect(page).to_have_url(re.compile(r"/queue$"))
    assert names(page) == ["Ada Lovelace", "Grace Hopper", "Alan Turing"]

    reply = message(
        sender="Alan Turing <alan@bletchley.example>",
        subject="Re: Codebreaking help",
        body="Yes, let's talk on Thursday.\n\nOn Mon, Grace wrote:\n> Codebreaking help",
        in_reply_to=f"<{seeded.sent_id}>",
        date=utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000"),
    )
    posted = urllib.request.Request(
        seeded.inbound, data=reply, method="POST", headers={"Content-Type": "message/rfc822"}
    )
    with urllib.request.urlopen(posted, timeout=10) as answer:
        assert answer.status == 200

    page.reload()
    assert names(page) == ["Alan Turing", "Ada Lovelace", "Grace Hopper"]
    first = page.locator("li.lead").first
    expect(first.locator(".why-now li").first).to_have_text('Replied to "Codebreaking help" just now')
    screenshot(page, "queue-reply")

    # The call is logged from the keyboard: the reply has had its answer.
    expect(page.locator("#queue[data-keys=ready]")).to_have_count(1)
    page.keyboard.press("o")
    page.keyboard.press("3")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#queue-notice")).to_contain_text("Logged: conversation — Alan Turing")
    assert "Alan Turing" not in names(page)  # back after the conversation's retry days
    expect(page.get_by_text("Replied to", exact=False)).to_have_count(0)

    page.goto(f"/contacts/{seeded.replier}")
    expect(page.get_by_role("listitem").filter(has_text="Replied to an email")).to_contain_text(
        "Codebreaking help"
    )
