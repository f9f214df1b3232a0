"""Queueing: rendered at once with tracked links, stored once per key, skipped when it may not go."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from leadwell.capture.beacons import click_payload, open_payload
from leadwell.db.models import Contact, OutboxMessage
from leadwell.db.session import Database
from leadwell.errors import NotFound
from leadwell.outreach.render import TemplateInvalid
from leadwell.outreach.suppressions import suppress
from leadwell.outreach.unsubscribe import read_token
from tests import factories
from tests.outreach.sending_support import PUBLIC_URL, SIGNER, make_outbox, make_template, queue


def test_a_queued_message_is_rendered_with_tracked_links_the_pixel_and_its_unsubscribe_link(
    db: Database,
) -> None:
    box = make_outbox(db, None)
    with db.session() as session:
        organization = factories.make_organization(session, box.workspace, name="Engines Ltd")
        contact = factories.make_contact(
            session,
            box.workspace,
            first_name="Ada",
            email="Ada@Engines.Example",
            organization_id=organization.id,
        )
        queued = queue(session, contact, box.template, box.mailbox, key="step:1:0")
        assert queued.created and queued.skipped is None and queued.message is not None
        row = queued.message
        assert (row.state, row.to_email, row.recipient_domain) == (
            "queued",
            "ada@engines.example",
            "engines.example",
        )
        assert row.subject == "A guide for Engines Ltd"
        assert row.to_name == "Ada " + contact.last_name
        assert row.variant_key == "a" and row.template_id == box.template.id
    local, _, domain = row.message_id.partition("@")
    assert domain == "acme.example" and len(local) == 24 and len(row.message_id) <= 120
    # The guide link goes through the click redirect; mailto and the unsubscribe link do not.
    assert "https://acme.example/guide" not in row.html and 'href="mailto:help@acme.example"' in row.html
    click_token = row.html.split(f"{PUBLIC_URL}/t/c/")[1].split('"')[0]
    click = click_payload(SIGNER, click_token)
    assert click == {
        "w": box.workspace.id,
        "c": contact.id,
        "m": row.message_id,
        "u": "https://acme.example/guide?from=mail",
    }
    unsubscribe_token = row.html.split(f"{PUBLIC_URL}/u/")[1].split('"')[0]
    assert read_token(SIGNER, unsubscribe_token) == {
        "w": box.workspace.id,
        "c": contact.id,
        "m": row.message_id,
    }
    pixel_token = row.html.split(f"{PUBLIC_URL}/t/o/")[1].split(".gif")[0]
    assert open_payload(SIGNER, pixel_token)["m"] == row.message_id
    assert row.html.index("/t/o/") < row.html.index("</body>")
    # The text part's link is tracked too.
    assert "https://acme.example/guide" not in row.text and f"{PUBLIC_URL}/t/c/" in row.text
    assert unquote(row.text).startswith("Hello Ada,")


def test_queueing_the_same_key_twice_stores_one_message(db: Database) -> None:
    box = make_outbox(db, None)
    with db.session() as session:
        contact = factories.make_contact(session, box.workspace)
        first = queue(session, contact, box.template, box.mailbox, key="broadcast:7:1")
        again = queue(session, contact, box.template, box.mailbox, key="broadcast:7:1")
        assert first.created and not again.created
        assert again.message is not None and first.message is not None
        assert again.message.id == first.message.id
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize(
    ("email", "consent", "reason"),
    [
        (None, "unknown", "no email"),
        ("not an address", "unknown", "invalid address"),
        ("zoë@example.com", "unknown", "invalid address"),
        ("gone@example.com", "unknown", "suppressed: hard_bounce"),
        ("ada@example.com", "opted_out", "suppressed: opted out"),
    ],
)
def test_a_contact_who_may_not_be_mailed_is_skipped_and_recorded(
    db: Database, email: str | None, consent: str, reason: str
) -> None:
    box = make_outbox(db, None)
    with db.session() as session:
        suppress(session, box.workspace.id, "Gone@Example.com", "hard_bounce")
        contact = factories.make_contact(session, box.workspace, email=email, consent=consent)
        queued = queue(session, contact, box.template, box.mailbox, key="k1")
        assert queued.message is None and queued.created
        assert queued.skipped is not None and queued.skipped.startswith(reason)
        again = queue(session, contact, box.template, box.mailbox, key="k1")
        assert (again.created, again.skipped) == (False, queued.skipped)
        stored = session.scalars(select(OutboxMessage)).one()
        assert stored.state == "suppressed" and stored.last_error == queued.skipped


def test_a_broken_template_is_refused_before_anything_is_stored(db: Database) -> None:
    box = make_outbox(db, None)
    with db.session() as session:
        broken = make_template(session, box.workspace, text="Hi\n{{ frist_name }}\n")
        contact = factories.make_contact(session, box.workspace)
        with pytest.raises(TemplateInvalid) as caught:
            queue(session, contact, broken, box.mailbox)
        assert caught.value.problems[0].part == "text" and caught.value.problems[0].line == 2
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_another_workspaces_contact_or_template_is_not_found(db: Database) -> None:
    box, other = make_outbox(db, None), make_outbox(db, None)
    with db.session() as session:
        stranger = factories.make_contact(session, other.workspace)
        contact = factories.make_contact(session, box.workspace)
        with pytest.raises(NotFound):
            queue(session, stranger, box.template, box.mailbox)
        with pytest.raises(NotFound):
            queue(session, contact, other.template, box.mailbox)


def test_losing_the_race_for_a_key_returns_the_winners_row_and_keeps_the_transaction(db: Database) -> None:
    from leadwell.outreach.outbox import _store

    box = make_outbox(db, None)
    with db.session() as session:
        contact = factories.make_contact(session, box.workspace)
        first = queue(session, contact, box.template, box.mailbox, key="race:1").message
        assert first is not None
        # A second queuer that checked before the first committed now inserts the same key.
        late = OutboxMessage(
            workspace_id=box.workspace.id, contact_id=contact.id, mailbox_id=box.mailbox.id,
            idempotency_key="race:1", message_id="late@acme.example", to_email="x@y.example",
            recipient_domain="y.example", subject="late",
        )  # fmt: skip
        stored, created = _store(session, late)
        assert (stored.id, created) == (first.id, False)
        # The savepoint kept the rest of the transaction: it goes on and commits.
        factories.make_contact(session, box.workspace, email="after@race.example")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert session.scalar(select(func.count()).where(Contact.email == "after@race.example")) == 1
