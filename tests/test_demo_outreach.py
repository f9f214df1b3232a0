"""The demo's outreach: sequences, broadcasts and outbox rows that agree with the story's emails."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from leadwell.db.models import (
    Broadcast,
    EmailTemplate,
    Enrollment,
    Event,
    ExperimentAssignment,
    ExperimentVariant,
    OutboxMessage,
    Sequence,
    TemplateVariant,
)
from leadwell.db.session import Database
from leadwell.experiments.definitions import get_experiment
from leadwell.experiments.results import experiment_report
from leadwell.outreach.numbers import broadcast_numbers, sequence_numbers
from leadwell.outreach.render import check_variant
from tests.test_demo import NOW, build


def test_every_demo_template_is_valid(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        variants = session.scalars(
            select(TemplateVariant)
            .join(EmailTemplate, EmailTemplate.id == TemplateVariant.template_id)
            .where(EmailTemplate.workspace_id == result.workspace_id)
        ).all()
        assert variants
        for variant in variants:
            assert check_variant(variant.subject, variant.html, variant.text) == [], variant.subject


def test_sequence_and_broadcast_numbers_match_the_emails_sent(db: Database) -> None:
    result = build(db)
    workspace_id = result.workspace_id
    with db.session() as session:
        sent = session.scalars(
            select(Event).where(Event.workspace_id == workspace_id, Event.type == "email_sent")
        ).all()
        per_sequence = Counter(e.properties["sequence"] for e in sent if "sequence" in e.properties)
        per_broadcast = Counter(e.properties["broadcast"] for e in sent if "broadcast" in e.properties)
        assert sum(per_sequence.values()) + sum(per_broadcast.values()) == len(sent) > 0
        messages = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.workspace_id == workspace_id)
        )
        assert messages == len(sent)

        sequences = {
            s.id: s.slug
            for s in session.scalars(select(Sequence).where(Sequence.workspace_id == workspace_id))
        }
        numbers = sequence_numbers(session, workspace_id, list(sequences))
        # "sent" counts people; each person walks a sequence once, so people = first emails.
        first_emails = Counter(
            e.properties["sequence"]
            for e in sent
            if "sequence" in e.properties and e.properties["template"].endswith("-1")
        )
        assert {sequences[i]: n["sent"] for i, n in numbers.items() if n["sent"]} == dict(first_emails)
        enrolled = Counter(
            sequences[sequence_id]
            for sequence_id in session.scalars(
                select(Enrollment.sequence_id).where(Enrollment.workspace_id == workspace_id)
            )
        )
        assert enrolled == first_emails

        broadcasts = {
            b.id: b.name
            for b in session.scalars(select(Broadcast).where(Broadcast.workspace_id == workspace_id))
        }
        counted = broadcast_numbers(session, workspace_id, list(broadcasts))
        assert {broadcasts[i]: n["sent"] for i, n in counted.items() if n["sent"]} == dict(per_broadcast)
        opened = Counter(
            e.properties["broadcast"]
            for e in session.scalars(
                select(Event).where(Event.workspace_id == workspace_id, Event.type == "email_opened")
            )
            if "broadcast" in e.properties
        )
        assert {broadcasts[i]: n["opened"] for i, n in counted.items() if n["opened"]} == dict(opened)


def test_stopped_enrollments_have_their_reason_on_the_timeline(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        stopped = session.scalars(
            select(Enrollment).where(
                Enrollment.workspace_id == result.workspace_id, Enrollment.status != "active"
            )
        ).all()
        assert stopped
        finished = {
            e.idempotency_key: e.properties["reason"]
            for e in session.scalars(select(Event).where(Event.type == "sequence_finished"))
        }
        for enrollment in stopped:
            assert finished[f"sequence-finished:{enrollment.id}"] == (enrollment.stop_reason or "completed")
            assert enrollment.finished_at is not None and enrollment.next_at is None
        waiting = session.scalars(
            select(Enrollment).where(
                Enrollment.workspace_id == result.workspace_id, Enrollment.status == "active"
            )
        ).all()
        assert all(row.next_at is not None and row.next_at > row.enrolled_at for row in waiting)


def test_the_demo_runs_a_subject_line_experiment_on_the_emails_it_sent(db: Database) -> None:
    """Every contact the tested template went to is assigned and exposed when it was sent, the
    outbox row names the variant they got, and the report reads both variants."""
    result = build(db)
    with db.session() as session:
        experiment = get_experiment(session, result.workspace_id, "first-email-subject")
        assert experiment.state == "running" and experiment.kind == "email_template"
        sent = dict(
            session.execute(
                select(OutboxMessage.contact_id, OutboxMessage.variant_key).where(
                    OutboxMessage.template_id == experiment.template_id
                )
            ).all()
        )
        rows = session.execute(
            select(ExperimentAssignment.contact_id, ExperimentVariant.template_variant_key)
            .join(ExperimentVariant, ExperimentVariant.id == ExperimentAssignment.variant_id)
            .where(
                ExperimentAssignment.experiment_id == experiment.id,
                ExperimentAssignment.first_exposed_at.is_not(None),
            )
        ).all()
        assert dict(rows) == sent
        assert set(sent.values()) == {"a", "b"}
        report = experiment_report(session, experiment, NOW).as_dict()
        exposed = [variant["exposed"] for variant in report["variants"]]
        assert sum(exposed) == len(sent) and min(exposed) > 0
