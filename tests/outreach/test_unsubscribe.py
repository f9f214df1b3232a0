"""The unsubscribe endpoint: a confirmation page on GET (nothing changes), unsubscribing on POST
(the button and RFC 8058 one-click), idempotent, refusing forged links, rate-limited, with the
public pages' security headers — and end to end from the List-Unsubscribe header of a message the
SMTP server received."""

from __future__ import annotations

import html

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.db.models import Consent, Contact, Enrollment, Event, OutboxMessage, Sequence
from leadwell.db.session import Database
from leadwell.outreach.outbox import send_due
from leadwell.outreach.suppressions import suppression_of
from leadwell.web.ratelimit import RateLimiter
from tests import factories
from tests.outreach.sending_support import LINKS, SIGNER, Outbox, make_outbox, queue, rows, worker
from tests.outreach.smtp_support import SmtpServer, smtp_server

__all__ = ["smtp_server", "worker"]


def _enrolled(db: Database, box: Outbox, email: str = "ada@engines.example") -> tuple[int, int]:
    """A contact enrolled in a sequence with a message queued; (contact id, enrollment id)."""
    with db.session() as session:
        contact = factories.make_contact(session, box.workspace, email=email, consent="opted_in")
        sequence = Sequence(workspace_id=box.workspace.id, slug="welcome", name="Welcome", status="active")
        session.add(sequence)
        session.flush()
        enrollment = Enrollment(workspace_id=box.workspace.id, sequence_id=sequence.id, contact_id=contact.id)
        session.add(enrollment)
        session.flush()
        queue(session, contact, box.template, box.mailbox, enrollment_id=enrollment.id)
        return contact.id, enrollment.id


def _path_of_header(server: SmtpServer) -> str:
    header = str(server.wait_for(1)[0].message["List-Unsubscribe"])
    url = header.strip("<>")
    assert url.startswith(LINKS.base + "/u/")
    return url.removeprefix(LINKS.base)


def _count(db: Database, type_: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(Event.type == type_)) or 0


def test_the_header_link_confirms_on_get_and_unsubscribes_on_one_click_post(
    db: Database, client: TestClient, smtp_server: SmtpServer, worker: str
) -> None:
    box = make_outbox(db, smtp_server)
    contact_id, enrollment_id = _enrolled(db, box)
    send_due(db, worker, links=LINKS)
    path = _path_of_header(smtp_server)

    page = client.get(path)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert "a…@engines.example" in html.unescape(page.text) and box.workspace.name in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    with db.session() as session:  # a GET (a link scanner) changed nothing
        assert suppression_of(session, box.workspace.id, "ada@engines.example") is None

    reply = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200 and "You are unsubscribed" in reply.text
    with db.session() as session:
        assert suppression_of(session, box.workspace.id, "ada@engines.example") == "unsubscribed"
        contact = session.get(Contact, contact_id)
        assert contact is not None and contact.consent == "opted_out" and contact.consent_at is not None
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and (enrollment.status, enrollment.stop_reason) == (
            "stopped",
            "unsubscribed",
        )
        consent = session.scalars(select(Consent)).one()
        assert (consent.state, consent.contact_id) == ("opted_out", contact_id)
        event = session.scalars(select(Event).where(Event.type == "email_unsubscribed")).one()
    assert event.properties["message"] == rows(db)[0].message_id and event.properties["sequence"] == "welcome"

    # Again (the button after the header, a provider retrying): nothing more happens.
    again = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and "You are unsubscribed" in again.text
    assert _count(db, "email_unsubscribed") == 1 and _count(db, "sequence_finished") == 1
    assert "You are unsubscribed" in client.get(path).text


def test_an_unsubscribed_address_is_not_mailed_again(
    db: Database, client: TestClient, smtp_server: SmtpServer, worker: str
) -> None:
    box = make_outbox(db, smtp_server)
    _enrolled(db, box)
    send_due(db, worker, links=LINKS)
    client.post(_path_of_header(smtp_server))
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        queued = queue(session, contact, box.template, box.mailbox)
    assert queued.message is None and queued.skipped == "suppressed: unsubscribed"
    assert send_due(db, worker, links=LINKS) == 0 and len(smtp_server.messages()) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_or_altered_link_gets_a_friendly_400_and_changes_nothing(
    db: Database, client: TestClient, method: str
) -> None:
    box = make_outbox(db, None)
    with db.session() as session:
        contact = factories.make_contact(session, box.workspace)
        queued = queue(session, contact, box.template, box.mailbox)
        assert queued.message is not None
        message_id = queued.message.message_id
    genuine = LINKS.unsubscribe_url(box.workspace.id, contact.id, message_id).removeprefix(LINKS.base)
    altered = genuine[:-3] + ("aaa" if not genuine.endswith("aaa") else "bbb")
    other_purpose = "/u/" + SIGNER.sign("click", {"w": box.workspace.id, "c": contact.id, "m": message_id})
    for path in (altered, other_purpose, "/u/nonsense", "/u/" + "x" * 3000):
        reply = client.request(method, path)
        assert reply.status_code == 400, path
        assert "This link does not work" in reply.text and "Traceback" not in reply.text
        assert "content-security-policy" in reply.headers
    with db.session() as session:
        assert suppression_of(session, box.workspace.id, contact.email or "") is None


def test_floods_from_one_address_are_slowed_down(app: FastAPI, db: Database) -> None:
    app.state.unsubscribe_limiter = RateLimiter(3)
    with TestClient(app) as client:
        codes = [client.get("/u/nonsense").status_code for _ in range(5)]
        assert codes == [400, 400, 400, 429, 429]
        assert client.get("/u/nonsense").headers["retry-after"] == "60"


def test_a_link_of_a_message_no_longer_stored_still_unsubscribes_the_contact(
    db: Database, client: TestClient
) -> None:
    box = make_outbox(db, None)
    with db.session() as session:
        contact = factories.make_contact(session, box.workspace, email="Grace@Navy.example")
    path = LINKS.unsubscribe_url(box.workspace.id, contact.id, "gone@acme.example").removeprefix(LINKS.base)
    assert client.post(path).status_code == 200
    with db.session() as session:
        assert suppression_of(session, box.workspace.id, "grace@navy.example") == "unsubscribed"
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert _count(db, "email_unsubscribed") == 1
