"""The demo's running experiment: a subject-line test on the first email of the busiest sequence.

The story's history is already written when this runs: the test gets a second variant of that
template, and every contact the first email went to is assigned and exposed at the moment the email
was sent. Variants are drawn from the address rather than the experiment's id, so that the same
seed gives the same rows in any database. Replies are the story's,
so the variants differ only by chance: the page shows an honest "no difference yet".
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from leadwell.db.models import OutboxMessage, TemplateVariant
from leadwell.demo.outreach import DemoOutreach
from leadwell.experiments.assignment import expose, variants_of
from leadwell.experiments.definitions import create_experiment, default_variants, start
from leadwell.experiments.specs import ExperimentSpec

SLUG = "first-email-subject"


def build_experiment(session: Session, workspace_id: int, outreach: DemoOutreach) -> int:
    """Create and start the demo experiment; the number of contacts exposed to it."""
    template_id = _busiest_first_template(session, outreach)
    if template_id is None:
        return 0
    _add_question_variant(session, template_id)
    spec = ExperimentSpec(
        slug=SLUG,
        name="First email: statement or question subject",
        kind="email_template",
        subject_id=template_id,
        primary_metric="reply",
        variants=default_variants(session, workspace_id, "email_template", template_id),
        hypothesis="A subject that asks a question gets more replies than one that states a fact.",
        guardrails=[{"metric": "unsubscribe", "tolerance": 0.0}],
        minimum_effect=0.3,
    )
    experiment = create_experiment(session, workspace_id, spec, None)
    sent = _first_sends(session, template_id)
    if not sent:
        return 0
    start(session, experiment, sent[0][1])
    variants = variants_of(session, experiment.id)
    for contact_id, sent_at, address in sent:
        variant = variants[hashlib.sha256(address.encode()).digest()[0] % len(variants)]
        expose(session, experiment, variant, contact_id=contact_id, now=sent_at)
        if variant.template_variant_key != "a":
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.template_id == template_id, OutboxMessage.contact_id == contact_id)
                .values(variant_key=variant.template_variant_key)
            )
    return len(sent)


def _busiest_first_template(session: Session, outreach: DemoOutreach) -> int | None:
    firsts = [series.template_ids[0] for series in outreach.series.values() if series.template_ids]
    if not firsts:
        return None
    counts = dict(
        session.execute(
            select(OutboxMessage.template_id, func.count())
            .where(OutboxMessage.template_id.in_(firsts))
            .group_by(OutboxMessage.template_id)
        ).all()
    )
    return max(firsts, key=lambda template_id: (counts.get(template_id, 0), -template_id))


def _add_question_variant(session: Session, template_id: int) -> None:
    """Variant ``b``: the same email under a question."""
    original = session.scalars(
        select(TemplateVariant).where(TemplateVariant.template_id == template_id, TemplateVariant.key == "a")
    ).one()
    question = original.subject.rstrip(".!") + "?"
    session.add(
        TemplateVariant(
            template_id=template_id,
            key="b",
            subject=f"Quick question: {question[:1].lower()}{question[1:]}",
            html=original.html,
            text=original.text,
        )
    )
    session.flush()


def _first_sends(session: Session, template_id: int) -> list[tuple[int, datetime, str]]:
    """Each contact the template went to, with when it was first sent and where, oldest first."""
    rows = session.execute(
        select(OutboxMessage.contact_id, func.min(OutboxMessage.sent_at), func.min(OutboxMessage.to_email))
        .where(
            OutboxMessage.template_id == template_id,
            OutboxMessage.state == "sent",
            OutboxMessage.contact_id.is_not(None),
        )
        .group_by(OutboxMessage.contact_id)
    ).all()
    sends = [
        (contact, at, address) for contact, at, address in rows if contact is not None and at is not None
    ]
    return sorted(sends, key=lambda send: (send[1], send[2]))
