"""Sending in a real browser: a marketer adds a mailbox pointed at a loopback SMTP server, makes a
DKIM key and reads the DNS record to publish, sends herself a test message and follows it from the
outbox to the sent list; a prospect opens the unsubscribe link of a message the server received
and presses the button."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.test_pages_browser import log_in, screenshot
from tests.factories import make_contact, make_user, make_workspace
from tests.outreach.sending_support import SIGNER, make_template, worker
from tests.outreach.smtp_support import SmtpServer, smtp_server

from leadwell.db.models import Mailbox, Workspace
from leadwell.db.session import Database
from leadwell.outreach.links import LinkMaker
from leadwell.outreach.outbox import queue_message, send_due
from leadwell.outreach.suppressions import suppression_of

pytestmark = pytest.mark.browser
__all__ = ["smtp_server", "worker"]


def test_a_marketer_sets_up_a_mailbox_and_sends_herself_a_test(
    page: Page, db: Database, smtp_server: SmtpServer, worker: str, live_server: str
) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        user = make_user(session, workspace, role="marketer", email="zoe@acme.example")
        workspace_id, email = workspace.id, user.email
    log_in(page, email)
    page.goto("/outreach/mailboxes")
    page.get_by_role("button", name="New mailbox").click()
    page.get_by_label("Name shown").fill("Zoë at Acme")
    page.get_by_label("Address", exact=True).fill("zoe@acme.example")
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.locator('input[name="smtp_port"]').fill("70000")
    page.locator('select[name="smtp_security"]').select_option("none")
    page.get_by_role("button", name="Add mailbox").click()
    expect(page.get_by_role("alert")).to_contain_text("smtp_port: between 1 and 65535")
    expect(page.locator('input[name="smtp_port"]')).to_have_attribute("aria-invalid", "true")
    page.locator('input[name="smtp_port"]').fill(str(smtp_server.port))
    page.get_by_role("button", name="Add mailbox").click()
    expect(page.get_by_role("status")).to_have_text("Mailbox added.")

    page.get_by_role("button", name="Make a key").click()
    expect(page.locator("#dkim-name")).to_have_text("leadwell._domainkey.acme.example")
    expect(page.locator("#dkim-value")).to_contain_text("v=DKIM1; k=rsa; p=")
    screenshot(page, "mailbox-editor")

    page.get_by_role("button", name=f"Send a test message to {email}").click()
    expect(page.get_by_role("status")).to_contain_text("Test message queued")
    expect(page.locator("#outbox tbody tr")).to_have_count(1)
    expect(page.locator("#outbox td.state")).to_have_text("queued")
    assert send_due(db, worker, links=LinkMaker(SIGNER, live_server)) == 1
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == (email,) and "DKIM-Signature" in received.message
    page.get_by_role("link", name="Sent", exact=True).click()
    expect(page.locator("#sent tbody tr")).to_have_count(1)
    expect(page.locator("#sent")).to_contain_text("Test message from zoe")
    screenshot(page, "sent")

    # A message to a prospect; its List-Unsubscribe link opens a page with a button.
    with db.session() as session:
        workspace_row = session.get_one(Workspace, workspace_id)
        mailbox = session.scalars(select(Mailbox)).one()
        contact = make_contact(session, workspace_row, first_name="Ada", email="ada@engines.example")
        template = make_template(session, workspace_row)
        queue_message(
            session, workspace_id=workspace_id, contact_id=contact.id, template_id=template.id,
            mailbox_id=mailbox.id, idempotency_key="browser:1", public_url=live_server, signer=SIGNER,
        )  # fmt: skip
    send_due(db, worker, links=LinkMaker(SIGNER, live_server))
    header = str(smtp_server.wait_for(2)[1].message["List-Unsubscribe"]).strip("<>")
    assert header.startswith(f"{live_server}/u/")
    page.goto(header)
    expect(page.get_by_role("heading")).to_have_text("Unsubscribe?")
    expect(page.locator("article")).to_contain_text("Stop emails from Acme to a…@engines.example")
    screenshot(page, "unsubscribe-confirm")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading")).to_have_text("You are unsubscribed")
    with db.session() as session:
        assert suppression_of(session, workspace_id, "ada@engines.example") == "unsubscribed"
