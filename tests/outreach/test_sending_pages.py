"""The mailbox, outbox and sent pages over HTTP with a real login: roles, CSRF, refusals shown at
their field, the DKIM record, the test message, cancel and retry, outcomes from events, filters,
pages, and other workspaces' messages out of reach."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import Event, Mailbox, OutboxMessage, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.outreach import dkim
from leadwell.outreach.outbox import send_due
from leadwell.outreach.suppressions import suppress
from tests import factories
from tests.conftest import TEST_SECRET
from tests.outreach.sending_support import LINKS, make_mailbox, make_template, queue, rows, worker
from tests.outreach.smtp_support import SmtpServer, smtp_server
from tests.test_pages import Account, Reply, csrf_of, logged_in, make_account

__all__ = ["smtp_server", "worker"]
CODEC = IdCodec(TEST_SECRET)
FORM = {
    "from_name": "Zoë",
    "from_email": "zoe@acme.example",
    "smtp_host": "smtp.acme.example",
    "smtp_port": "587",
    "smtp_security": "starttls",
    "smtp_username": "zoe",
    "smtp_password": "s3cret",
    "daily_cap": "300",
    "warmup_started_on": "",
    "warmup_start": "20",
    "warmup_increment": "10",
    "per_domain_per_minute": "20",
    "imap_port": "993",
    "imap_security": "tls",
    "imap_folder": "INBOX",
}


@pytest.fixture
def marketer(db: Database) -> Account:
    return make_account(db, "Acme", role="marketer")


def _post(client: TestClient, page: str, path: str, data: Mapping[str, Any]) -> Reply:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _workspace(db: Database, account: Account) -> Workspace:
    with db.session() as session:
        return session.get_one(Workspace, account.workspace_id)


def test_a_marketer_adds_a_mailbox_sees_refusals_and_the_dkim_record(
    app: FastAPI, db: Database, marketer: Account
) -> None:
    client = logged_in(app, marketer.email)
    refused = _post(
        client, "/outreach/mailboxes/new", "/outreach/mailboxes/new", {**FORM, "smtp_port": "99999"}
    )
    assert refused.status_code == 422 and 'name="smtp_port" value="99999"' in refused.text
    assert 'aria-invalid="true"' in refused.text and "smtp_port: between 1 and 65535" in html.unescape(
        refused.text
    )
    created = _post(client, "/outreach/mailboxes/new", "/outreach/mailboxes/new", FORM)
    assert (
        created.status_code == 303 and created.headers["location"] == "/outreach/mailboxes/zoe?done=created"
    )
    editor = client.get("/outreach/mailboxes/zoe")
    assert "s3cret" not in editor.text and "(stored; empty keeps it)" in editor.text
    assert "/inbound/" in editor.text
    keyed = _post(client, "/outreach/mailboxes/zoe", "/outreach/mailboxes/zoe/key", {})
    assert keyed.status_code == 303
    page = client.get("/outreach/mailboxes/zoe?done=key").text
    with db.session() as session:
        mailbox = session.scalars(select(Mailbox)).one()
        assert mailbox.dkim_private_key and (mailbox.dkim_domain, mailbox.dkim_selector) == (
            "acme.example",
            "leadwell",
        )
        record = dkim.load_key(mailbox.dkim_private_key).dns_record()
    assert "leadwell._domainkey.acme.example" in page and record in html.unescape(page)
    assert "PRIVATE KEY" not in page
    saved = _post(
        client,
        "/outreach/mailboxes/zoe",
        "/outreach/mailboxes/zoe",
        {
            **FORM,
            "smtp_password": "",
            "dkim_domain": "acme.example",
            "dkim_selector": "leadwell",
            "daily_cap": "400",
        },
    )
    assert saved.status_code == 303
    with db.session() as session:
        mailbox = session.scalars(select(Mailbox)).one()
        assert (mailbox.daily_cap, mailbox.smtp_password) == (400, "s3cret") and mailbox.dkim_private_key
    listing = client.get("/outreach/mailboxes").text
    assert 'id="mailbox-zoe"' in listing and "0 of 400" in listing


def test_salespeople_see_the_lists_but_change_nothing(app: FastAPI, db: Database) -> None:
    sales = make_account(db, "Acme", role="sales")
    with db.session() as session:
        make_mailbox(session, session.get_one(Workspace, sales.workspace_id), slug="team")
    client = logged_in(app, sales.email)
    assert client.get("/outreach/mailboxes").status_code == 200
    assert "new-mailbox" not in client.get("/outreach/mailboxes").text
    assert (
        client.get("/outreach/outbox").status_code == 200 and client.get("/outreach/sent").status_code == 200
    )
    assert client.get("/outreach/mailboxes/team").status_code == 403
    token = csrf_of(client.get("/outreach/outbox").text)
    for path in (
        "/outreach/mailboxes/new",
        "/outreach/mailboxes/team/test",
        "/outreach/mailboxes/team/archive",
    ):
        assert client.post(path, data={"csrf_token": token, **FORM}).status_code == 403


def test_posts_without_the_csrf_token_are_refused(app: FastAPI, db: Database, marketer: Account) -> None:
    client = logged_in(app, marketer.email)
    assert client.post("/outreach/mailboxes/new", data=FORM).status_code == 403
    with db.session() as session:
        assert session.scalars(select(Mailbox)).first() is None


def test_the_test_button_queues_a_message_to_me_and_the_outbox_shows_it(
    app: FastAPI, db: Database, marketer: Account, smtp_server: SmtpServer, worker: str
) -> None:
    with db.session() as session:
        make_mailbox(session, _workspace(db, marketer), smtp_server, slug="team")
    client = logged_in(app, marketer.email)
    reply = _post(client, "/outreach/mailboxes/team", "/outreach/mailboxes/team/test", {})
    assert reply.status_code == 303 and reply.headers["location"] == "/outreach/outbox?mailbox=team&done=test"
    outbox = client.get(reply.headers["location"]).text
    assert "Test message queued" in outbox and marketer.email in outbox and 'data-state="queued"' in outbox
    assert send_due(db, worker, links=LINKS) == 1
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == (marketer.email,) and "List-Unsubscribe" not in received.message
    assert "Test message from team" in client.get("/outreach/sent").text


def test_cancel_a_queued_message_and_retry_a_failed_one(
    app: FastAPI, db: Database, marketer: Account
) -> None:
    workspace = _workspace(db, marketer)
    with db.session() as session:
        mailbox = make_mailbox(session, workspace, slug="team")
        template = make_template(session, workspace)
        waiting = queue(session, factories.make_contact(session, workspace), template, mailbox).message
        failed = queue(session, factories.make_contact(session, workspace), template, mailbox).message
        assert waiting is not None and failed is not None
        session.get_one(OutboxMessage, failed.id).state = "failed"
    client = logged_in(app, marketer.email)
    cancel = f"/outreach/outbox/{CODEC.encode('message', waiting.id)}/cancel"
    retry = f"/outreach/outbox/{CODEC.encode('message', failed.id)}/retry"
    assert (
        _post(client, "/outreach/outbox", cancel, {}).headers["location"] == "/outreach/outbox?done=cancelled"
    )
    assert _post(client, "/outreach/outbox", retry, {}).headers["location"] == "/outreach/outbox?done=retried"
    states = {row.id: (row.state, row.attempts) for row in rows(db)}
    assert states == {waiting.id: ("cancelled", 0), failed.id: ("queued", 0)}
    # Only a queued message can be cancelled; the refusal is a page, not a crash.
    again = _post(client, "/outreach/outbox", cancel, {})
    assert again.status_code == 409 and "only a queued message" in again.text
    assert "cancelled by hand" in client.get("/outreach/outbox?state=cancelled").text


def test_another_workspaces_message_is_out_of_reach(app: FastAPI, db: Database, marketer: Account) -> None:
    other = make_account(db, "Rival", role="owner")
    with db.session() as session:
        workspace = session.get_one(Workspace, other.workspace_id)
        mailbox = make_mailbox(session, workspace, slug="rival")
        message = queue(
            session, factories.make_contact(session, workspace), make_template(session, workspace), mailbox
        ).message
        assert message is not None
    client = logged_in(app, marketer.email)
    path = f"/outreach/outbox/{CODEC.encode('message', message.id)}/cancel"
    assert _post(client, "/outreach/outbox", path, {}).status_code == 404
    assert _post(client, "/outreach/outbox", "/outreach/outbox/msg_1_nottag/cancel", {}).status_code == 404
    assert "rival" not in client.get("/outreach/outbox?state=all").text
    assert rows(db)[0].state == "queued"


def test_the_sent_page_shows_outcomes_and_pages_through_messages(
    app: FastAPI, db: Database, marketer: Account, smtp_server: SmtpServer, worker: str
) -> None:
    workspace = _workspace(db, marketer)
    with db.session() as session:
        mailbox = make_mailbox(session, workspace, smtp_server, slug="team")
        template = make_template(session, workspace)
        for number in range(53):
            queue(
                session,
                factories.make_contact(session, workspace, email=f"p{number}@x{number}.example"),
                template,
                mailbox,
            )
    while send_due(db, worker, limit=60, links=LINKS):
        pass
    first = rows(db)[0]
    with db.session() as session:
        for type_ in ("email_opened", "email_clicked", "email_replied"):
            properties: dict[str, Any] = {"message": first.message_id}
            if type_ == "email_clicked":
                properties["url"] = "https://acme.example/"
            session.add(
                Event(
                    workspace_id=workspace.id,
                    contact_id=first.contact_id,
                    type=type_,
                    occurred_at=utcnow(),
                    properties=properties,
                )
            )
        suppress(session, workspace.id, "nobody@x.example", "manual")
    client = logged_in(app, marketer.email)
    page = client.get("/outreach/sent").text
    assert page.count('<tr id="message-') == 50 and 'id="next-page"' in page
    older = html.unescape(page.split('id="next-page"')[0].rsplit('href="', 1)[1].split('"')[0])
    rest = client.get(older).text
    assert rest.count('<tr id="message-') == 3 and 'id="next-page"' not in rest
    row = rest.split(f'id="message-{CODEC.encode("message", first.id)}"')[1].split("</tr>")[0]
    assert "outcome-opened" in row and "outcome-clicked" in row and "outcome-replied" in row
    assert "outcome-bounced" not in row
    assert client.get("/outreach/sent?mailbox=other").text.count('<tr id="message-') == 0
    assert client.get("/outreach/sent?cursor=garbage").status_code == 400
    assert client.get("/outreach/outbox?state=bogus").status_code == 400
