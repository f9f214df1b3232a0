"""Experiments in outreach, through the real outbox and a real SMTP server on loopback: each contact
is sent their assigned template variant (a newsletter) or their variant's template (a sequence
step), and is exposed when the message is sent — not when it is queued, nor when it is withheld."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    EmailTemplate,
    Event,
    ExperimentAssignment,
    OutboxMessage,
    Segment,
    SequenceStep,
    TemplateVariant,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.outreach.broadcasts import BroadcastInput, create_broadcast, release_due_broadcasts
from leadwell.outreach.enroll import enroll
from leadwell.outreach.outbox import send_due
from leadwell.outreach.runner import advance_due
from leadwell.outreach.signing import Signing
from leadwell.outreach.suppressions import suppress
from tests import factories
from tests.experiments.integration_support import (
    assigned_keys,
    assignments,
    exposure_events,
    make_experiment,
    variant,
)
from tests.outreach.sending_support import (
    LINKS,
    PUBLIC_URL,
    SIGNER,
    make_mailbox,
    make_template,
    queue,
    rows,
    worker,
)
from tests.outreach.sequence_support import make_sequence
from tests.outreach.smtp_support import SmtpServer, smtp_server

__all__ = ["smtp_server", "worker"]

SIGNING = Signing(PUBLIC_URL, SIGNER)
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
SENT = NOW + timedelta(minutes=5)
PEOPLE = 20


def _two_variant_template(session: Session, workspace: Workspace, slug: str) -> EmailTemplate:
    """A template whose variant ``a`` and ``b`` say which they are in the subject."""
    template = make_template(session, workspace, subject="News A for {{ first_name }}", slug=slug)
    session.add(
        TemplateVariant(
            template_id=template.id, key="b", subject="News B for {{ first_name }}", text="Hello from B."
        )
    )
    session.flush()
    return template


def _subjects(server: SmtpServer) -> dict[str, str]:
    """The subject each recipient got."""
    return {received.rcpt_tos[0]: str(received.message["Subject"]) for received in server.messages()}


def test_a_newsletter_sends_each_contact_its_variant_and_exposes_them_when_sent(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        make_mailbox(session, ws, smtp_server, slug="news")
        template = _two_variant_template(session, ws, "march")
        session.add(Segment(workspace_id=ws.id, slug="leads", name="Leads", filters={"stage": ["lead"]}))
        people = [factories.make_contact(session, ws, first_name=f"P{n}") for n in range(PEOPLE)]
        suppress(session, ws.id, people[0].email or "", "unsubscribed")  # never queued
        specs = [variant("A", template_variant_key="a"), variant("B", template_variant_key="b")]
        experiment = make_experiment(session, ws, "email_template", template.id, specs, metric="click")
        data = BroadcastInput(name="March", template="march", segment="leads", mailbox="news", send_at="now")
        create_broadcast(session, ws.id, data, None, NOW)
        emails = {person.id: person.email or "" for person in people}
        names = {person.id: person.first_name for person in people}
        experiment_id, slug, late = experiment.id, experiment.slug, people[1]
    assert release_due_broadcasts(db, NOW, SIGNING) == 1
    keys = assigned_keys(db, experiment_id)
    assert set(keys) == set(emails) - {people[0].id}  # assigned when queued; the suppressed one is not
    assert set(keys.values()) == {"A", "B"}
    assert exposure_events(db) == [] and all(row.exposures == 0 for row in assignments(db, experiment_id))
    with db.session() as session:
        suppress(session, ws.id, late.email or "", "unsubscribed")  # withheld at sending time

    send_due(db, worker, now=SENT, links=LINKS)
    states = {row.contact_id: row.state for row in rows(db)}
    assert states == {n: "suppressed" if n == late.id else "sent" for n in keys}
    subjects = _subjects(smtp_server)
    assert len(subjects) == PEOPLE - 2
    assert subjects == {
        emails[contact_id]: f"News {key} for {names[contact_id]}"
        for contact_id, key in keys.items()
        if contact_id != late.id
    }
    exposed = {row.contact_id: row for row in assignments(db, experiment_id)}
    assert exposed[late.id].exposures == 0 and exposed[late.id].first_exposed_at is None
    sent = [row for contact_id, row in exposed.items() if contact_id != late.id]
    assert all(row.exposures == 1 and row.first_exposed_at == SENT for row in sent)
    events = exposure_events(db)
    assert sorted(event.contact_id or 0 for event in events) == sorted(row.contact_id or 0 for row in sent)
    assert all(
        event.properties == {"experiment": slug, "variant": keys[event.contact_id or 0]} for event in events
    )
    with db.session() as session:
        variants_sent = {
            event.contact_id: event.properties["variant"]
            for event in session.scalars(select(Event).where(Event.type == "email_sent"))
        }
    assert variants_sent == {n: key.lower() for n, key in keys.items() if n != late.id}


def test_a_sequence_step_experiment_sends_the_variants_template(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        mailbox = make_mailbox(session, ws, smtp_server)
        original = make_template(session, ws, subject="The usual opener", slug="opener")
        challenger = make_template(session, ws, subject="A bolder opener", slug="bold-opener")
        sequence = make_sequence(session, ws, [("email", original)], mailbox=mailbox)
        step = session.scalars(select(SequenceStep).where(SequenceStep.sequence_id == sequence.id)).one()
        specs = [variant("A", template_id=original.id), variant("B", template_id=challenger.id)]
        experiment = make_experiment(session, ws, "sequence_step", step.id, specs, metric="reply")
        people = [factories.make_contact(session, ws) for _ in range(PEOPLE)]
        enroll(session, ws.id, sequence.id, [p.id for p in people], source="manual", by_user_id=None, now=NOW)
        emails = {person.id: person.email or "" for person in people}
        experiment_id, templates = experiment.id, {"A": original.id, "B": challenger.id}
    assert advance_due(db, NOW, signing=SIGNING) == PEOPLE
    keys = assigned_keys(db, experiment_id)
    assert set(keys) == set(emails) and set(keys.values()) == {"A", "B"}
    with db.session() as session:
        queued = {row.contact_id: row.template_id for row in session.scalars(select(OutboxMessage))}
    assert queued == {contact_id: templates[key] for contact_id, key in keys.items()}
    assert exposure_events(db) == []

    assert send_due(db, worker, now=SENT, links=LINKS) == PEOPLE
    subjects = _subjects(smtp_server)
    wording = {"A": "The usual opener", "B": "A bolder opener"}
    assert subjects == {emails[contact_id]: wording[key] for contact_id, key in keys.items()}
    assert all(row.exposures == 1 and row.first_exposed_at == SENT for row in assignments(db, experiment_id))
    assert len(exposure_events(db)) == PEOPLE


def test_a_message_queued_before_the_experiment_started_exposes_nobody(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        mailbox = make_mailbox(session, ws, smtp_server)
        template = _two_variant_template(session, ws, "april")
        early, late = factories.make_contact(session, ws), factories.make_contact(session, ws)
        queue(session, early, template, mailbox, due_at=NOW)
        specs = [variant("A", template_variant_key="a"), variant("B", template_variant_key="b")]
        experiment = make_experiment(session, ws, "email_template", template.id, specs, metric="click")
        queue(session, late, template, mailbox, due_at=NOW)
        experiment_id, late_id = experiment.id, late.id
    assert send_due(db, worker, now=SENT, links=LINKS) == 2
    assert len(smtp_server.messages()) == 2
    (row,) = assignments(db, experiment_id)
    assert (row.contact_id, row.exposures, row.first_exposed_at) == (late_id, 1, SENT)
    with db.session() as session:
        assert (
            session.scalar(select(ExperimentAssignment.id).where(ExperimentAssignment.contact_id != late_id))
            is None
        )
