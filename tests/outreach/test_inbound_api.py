"""The inbound webhook: a provider posts raw mail for a mailbox; the token decides which, and
everything else about the request is checked before anything is stored."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Enrollment, InboundMessage, Mailbox, Sequence
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.outreach import inbound_api
from leadwell.outreach.inbound_api import MAX_INBOUND_BYTES, inbound_token, inbound_url
from leadwell.web.ratelimit import RateLimiter
from tests import factories
from tests.outreach.mail_support import ADA, make_mailbox, make_sent, sample

RFC822 = {"Content-Type": "message/rfc822"}


def _signer(app: FastAPI) -> TokenSigner:
    signer: TokenSigner = app.state.leadwell.signer
    return signer


def _mailbox(db: Database) -> tuple[Mailbox, int]:
    """A mailbox whose contact Ada was sent our message in a sequence; (mailbox, enrollment id)."""
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, email=ADA)
        mailbox = make_mailbox(session, workspace)
        sequence = Sequence(workspace_id=workspace.id, slug="q1", name="Q1", status="active")
        session.add(sequence)
        session.flush()
        enrollment = Enrollment(workspace_id=workspace.id, sequence_id=sequence.id, contact_id=contact.id)
        session.add(enrollment)
        session.flush()
        make_sent(session, contact, mailbox, enrollment_id=enrollment.id)
        return mailbox, enrollment.id


def _path(app: FastAPI, mailbox: Mailbox) -> str:
    return f"/inbound/{inbound_token(_signer(app), mailbox)}"


def _count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def test_a_posted_reply_is_handled_once(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, enrollment_id = _mailbox(db)
    answer = client.post(_path(app, mailbox), content=sample("reply_gmail.eml"), headers=RFC822)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "stored", "kind": "reply"}
    with db.session() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.stop_reason == "replied"
        stored = session.scalar(select(InboundMessage))
        assert stored is not None and stored.mailbox_id == mailbox.id
    again = client.post(_path(app, mailbox), content=sample("reply_gmail.eml"), headers=RFC822)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert _count(db) == 1


def test_a_posted_bounce_and_a_charset_parameter(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    headers = {"Content-Type": "message/rfc822; charset=utf-8"}
    answer = client.post(_path(app, mailbox), content=sample("dsn_gmail_hard.eml"), headers=headers)
    assert answer.json() == {"status": "stored", "kind": "bounce"}


def test_the_url_for_the_mailbox_page(db: Database, app: FastAPI) -> None:
    mailbox, _ = _mailbox(db)
    url = inbound_url(_signer(app), "https://leads.acme.example/", mailbox)
    assert url == f"https://leads.acme.example/inbound/{inbound_token(_signer(app), mailbox)}"


def test_a_forged_or_foreign_token_is_refused(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    good = inbound_token(_signer(app), mailbox)
    for token in (good[:-2] + ("AA" if not good.endswith("AA") else "BB"), "nonsense"):
        answer = client.post(f"/inbound/{token}", content=sample("reply_gmail.eml"), headers=RFC822)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"] == [{"field": "token", "message": "not an inbound address made here"}]
    # A token made for another purpose (an unsubscribe link's) is no inbound address either.
    other = _signer(app).sign("unsubscribe", {"w": mailbox.workspace_id, "b": mailbox.id})
    assert client.post(f"/inbound/{other}", content=b"x", headers=RFC822).status_code == 404
    assert _count(db) == 0


def test_an_archived_mailbox_s_address_stops_working(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    with db.session() as session:
        stored = session.get(Mailbox, mailbox.id)
        assert stored is not None
        stored.archived_at = utcnow()
    answer = client.post(_path(app, mailbox), content=sample("reply_gmail.eml"), headers=RFC822)
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["field"] == "token"
    assert _count(db) == 0


def test_only_raw_messages_are_taken(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    answer = client.post(_path(app, mailbox), json={"email": "..."})
    assert answer.status_code == 415
    assert answer.json()["errors"] == [
        {"field": "Content-Type", "message": "send the raw message as message/rfc822"}
    ]
    empty = client.post(_path(app, mailbox), content=b"  \r\n", headers=RFC822)
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (400, "body")
    assert _count(db) == 0


def test_a_message_over_ten_mebibytes_is_refused(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    huge = sample("reply_gmail.eml") + b"x" * MAX_INBOUND_BYTES
    answer = client.post(_path(app, mailbox), content=huge, headers=RFC822)
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["field"] == "body"
    # Whatever the client claims its length is.
    chunks = iter([sample("reply_gmail.eml"), b"y" * MAX_INBOUND_BYTES])
    streamed = client.post(_path(app, mailbox), content=chunks, headers=RFC822)
    assert streamed.status_code == 413
    assert _count(db) == 0


def test_a_message_just_under_the_limit_is_taken(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    raw = sample("reply_apple.eml")
    padded = raw + b"\r\n" + b"z" * (5 * 1024 * 1024)
    assert client.post(_path(app, mailbox), content=padded, headers=RFC822).json()["status"] == "stored"


def test_a_flood_is_slowed_down(db: Database, app: FastAPI, client: TestClient) -> None:
    mailbox, _ = _mailbox(db)
    # A small limit per mailbox for the test; the real ones are the module's.
    app.state.inbound_limits = inbound_api._Limits(RateLimiter(100), RateLimiter(2))
    codes = [
        client.post(_path(app, mailbox), content=sample("reply_gmail.eml"), headers=RFC822).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    last = client.post(_path(app, mailbox), content=sample("reply_gmail.eml"), headers=RFC822)
    assert last.headers["retry-after"] == "60"
    assert last.json()["errors"][0]["field"] == "rate"
