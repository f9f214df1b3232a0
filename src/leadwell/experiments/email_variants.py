"""Experiments in outreach email: which content a contact is sent, and the exposure once it is sent.

- An ``email_template`` experiment on a template decides which of its variants (``a``, ``b``…) a
  contact gets whenever an email of that template is queued for them — by a sequence step or a
  newsletter alike. The contact is assigned then.
- A ``sequence_step`` experiment on an email step sends each contact its variant's template in
  place of the step's; the contact is assigned when the step's email is queued.
- Either way the contact is *exposed* only when the message is actually sent: a message suppressed
  or cancelled before sending exposes nobody. Which experiment a sent message belongs to is read
  from what the outbox row already stores (its template, variant, enrollment and step position).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Enrollment,
    Experiment,
    ExperimentVariant,
    OutboxMessage,
    SequenceStep,
    TemplateVariant,
)
from leadwell.experiments.assignment import ACTIVE_STATES, assign, assignment_of, expose, running_experiment


def template_variant_key(
    session: Session, workspace_id: int, template_id: int, contact_id: int, now: datetime
) -> str | None:
    """The template variant the contact is assigned in the experiment running on the template;
    None without one (or when the variant names a template variant that no longer exists: then
    the template's usual choice applies, and the send exposes nobody)."""
    experiment = running_experiment(session, workspace_id, "email_template", template_id)
    if experiment is None:
        return None
    key = assign(session, experiment, contact_id=contact_id, now=now).template_variant_key
    if key is None:
        return None
    found = session.scalar(
        select(TemplateVariant.id).where(
            TemplateVariant.template_id == template_id, TemplateVariant.key == key
        )
    )
    return key if found is not None else None


def step_template_id(session: Session, enrollment: Enrollment, step: SequenceStep, now: datetime) -> int:
    """The template the step sends this contact: their variant's when an experiment runs on the
    step (the control's own template, or the step's when the variant names none)."""
    assert step.template_id is not None  # an email step has a template (checked when saved)
    experiment = running_experiment(session, enrollment.workspace_id, "sequence_step", step.id)
    if experiment is None:
        return step.template_id
    variant = assign(session, experiment, contact_id=enrollment.contact_id, now=now)
    return variant.template_id or step.template_id


def _experiments_on(session: Session, row: OutboxMessage) -> list[Experiment]:
    """The running experiments on the row's template and on the sequence step it came from, in one
    query (sending pays it for every message, experiments or not)."""
    on = [and_(Experiment.kind == "email_template", Experiment.template_id == row.template_id)]
    if row.enrollment_id is not None and row.step_position is not None:
        step = (
            select(SequenceStep.id)
            .join(Enrollment, Enrollment.sequence_id == SequenceStep.sequence_id)
            .where(Enrollment.id == row.enrollment_id, SequenceStep.position == row.step_position)
            .scalar_subquery()
        )
        on.append(and_(Experiment.kind == "sequence_step", Experiment.sequence_step_id == step))
    query = select(Experiment).where(
        Experiment.workspace_id == row.workspace_id, Experiment.state.in_(ACTIVE_STATES), or_(*on)
    )
    return list(session.scalars(query.order_by(Experiment.id)))


def _carried(
    session: Session, experiment: Experiment, row: OutboxMessage
) -> Callable[[ExperimentVariant], bool]:
    """Whether a variant of ``experiment`` is what the sent ``row`` carried."""
    if experiment.kind == "email_template":
        return lambda variant: variant.template_variant_key == row.variant_key
    step = session.get(SequenceStep, experiment.sequence_step_id)
    step_template = step.template_id if step is not None else None
    return lambda variant: (variant.template_id or step_template) == row.template_id


def expose_sent(session: Session, row: OutboxMessage, now: datetime) -> None:
    """The message ``row`` was sent: expose its contact in the experiments on its template and on
    the sequence step it came from, when it carried the contact's assigned variant (a message
    queued before the experiment started, or with a variant chosen by hand, exposes nobody)."""
    contact_id = row.contact_id
    if contact_id is None or row.template_id is None:
        return
    for experiment in _experiments_on(session, row):
        assignment = assignment_of(session, experiment, contact_id=contact_id)
        variant = session.get(ExperimentVariant, assignment.variant_id) if assignment is not None else None
        if variant is not None and _carried(session, experiment, row)(variant):
            expose(session, experiment, variant, contact_id=contact_id, now=now)
