"""Assignment and exposure: which variant a contact or a visitor gets, and when they saw it.

A *unit* is a contact, or a visitor (a browser) before a form identifies them. Its variant is drawn
once, from a SHA-256 of the experiment and the unit (``c<contact id>`` or ``v<visitor id>``) laid
over the variants' traffic — the same draw in every process and on every machine — and stored. Later
calls read the stored row, so changing the weights, or the bandit moving its shares, never moves
anyone already assigned: one variant per unit for the experiment's whole life. A scaled experiment
gives every *new* unit its winner; the units assigned before keep theirs.

*Exposure* is the moment the unit actually met its variant: the email sent, the page or form shown,
the offer made. Only exposed units count in the statistics; the first exposure writes one
``experiment_exposed`` event on the unit's timeline.

Two requests assigning the same new unit at once both find no row and both insert: the unique
indexes keep one, and the other reads that row back (a savepoint keeps its transaction usable).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.db.models import Event, Experiment, ExperimentAssignment, ExperimentVariant
from leadwell.errors import Conflict, InvalidInput
from leadwell.events.types import validate_properties
from leadwell.scoring.engine import score_new_events

# States in which an experiment assigns and exposes units (a scaled one gives new units its winner).
ACTIVE_STATES = ("running", "scaled")
# The column naming each kind's subject; channel offers have none (the API and CLI assign them).
SUBJECTS = {
    "email_template": Experiment.template_id,
    "sequence_step": Experiment.sequence_step_id,
    "landing_page": Experiment.landing_page_id,
    "form": Experiment.form_id,
    "magnet": Experiment.form_id,
}
Assignment = ExperimentAssignment


def running_experiment(session: Session, workspace_id: int, kind: str, subject_id: int) -> Experiment | None:
    """The running or scaled experiment of ``kind`` on that subject (a template, a sequence step, a
    landing page or a form), or None. At most one per subject should run; if several do, the newest."""
    column = SUBJECTS.get(kind)
    if column is None:
        raise InvalidInput(f"kind: {kind[:40]!r} experiments have no subject", field="kind")
    return session.scalar(
        select(Experiment)
        .where(
            Experiment.workspace_id == workspace_id,
            Experiment.kind == kind,
            column == subject_id,
            Experiment.state.in_(ACTIVE_STATES),
        )
        .order_by(Experiment.id.desc())
        .limit(1)
    )


def unit_point(experiment_id: int, unit: str) -> float:
    """Where ``unit`` ("c12", "v7") falls in [0, 1) for this experiment: the first 8 bytes of a
    SHA-256, so every process draws the same (Python's ``hash()`` changes from one process to the next)."""
    digest = hashlib.sha256(f"experiment:{experiment_id}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(point: float, weights: Sequence[float]) -> int:
    """The index whose share of the total weight holds ``point`` (in [0, 1)); a weight of 0 or
    less is never picked. :class:`InvalidInput` when no weight is positive."""
    total = sum(weight for weight in weights if weight > 0)
    if total <= 0:
        raise InvalidInput("weight: no variant gets any traffic", field="weight")
    remaining = point * total
    last = 0
    for index, weight in enumerate(weights):
        if weight <= 0:
            continue
        last = index
        remaining -= weight
        if remaining < 0:
            return index
    return last  # only reached through rounding at the very top of the range


def variants_of(session: Session, experiment_id: int) -> list[ExperimentVariant]:
    """The experiment's variants in key order (A, B, C…)."""
    query = select(ExperimentVariant).where(ExperimentVariant.experiment_id == experiment_id)
    return list(session.scalars(query.order_by(ExperimentVariant.key)))


def control_of(variants: Sequence[ExperimentVariant]) -> ExperimentVariant:
    """The variant marked as control, else the first (A)."""
    return next((variant for variant in variants if variant.is_control), variants[0])


def traffic(experiment: Experiment, variants: Sequence[ExperimentVariant]) -> list[float]:
    """Each variant's share of new units: the winner alone once scaled, the bandit's shares (for
    variants still switched on) under ``bandit``, else the fixed weights."""
    if experiment.state == "scaled":
        winner = next((v for v in variants if v.key == experiment.winner_key), control_of(variants))
        return [1.0 if variant is winner else 0.0 for variant in variants]
    if experiment.allocation == "bandit":
        return [
            (variant.weight if variant.share is None else variant.share) if variant.weight > 0 else 0.0
            for variant in variants
        ]
    return [variant.weight for variant in variants]


def _unit(contact_id: int | None, visitor_id: int | None) -> str:
    if contact_id is not None:
        return f"c{contact_id}"
    if visitor_id is not None:
        return f"v{visitor_id}"
    raise InvalidInput("contact_id: a contact or a visitor is needed", field="contact_id")


def assignment_of(
    session: Session, experiment: Experiment, *, contact_id: int | None = None, visitor_id: int | None = None
) -> Assignment | None:
    """The unit's stored assignment: the contact's, else the visitor's; None when not assigned yet."""
    _unit(contact_id, visitor_id)
    scope = Assignment.experiment_id == experiment.id
    if contact_id is not None:
        found = session.scalar(select(Assignment).where(scope, Assignment.contact_id == contact_id))
        if found is not None:
            return found
    if visitor_id is None:
        return None
    return session.scalar(select(Assignment).where(scope, Assignment.visitor_id == visitor_id))


def _stored(
    session: Session,
    experiment: Experiment,
    variant: ExperimentVariant,
    contact_id: int | None,
    visitor_id: int | None,
    now: datetime,
) -> Assignment:
    """Assign the unit ``variant`` at ``now``; when a concurrent request assigned it first, that
    request's row."""
    row = Assignment(
        workspace_id=experiment.workspace_id,
        experiment_id=experiment.id,
        variant_id=variant.id,
        contact_id=contact_id,
        visitor_id=visitor_id,
        assigned_at=now,
        exposures=0,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = assignment_of(session, experiment, contact_id=row.contact_id, visitor_id=row.visitor_id)
        if winner is None:
            raise
        return winner
    return row


def _variant(session: Session, assignment: Assignment) -> ExperimentVariant:
    variant = session.get(ExperimentVariant, assignment.variant_id)
    assert variant is not None  # variants go only with their experiment, which takes its assignments
    return variant


def assign(
    session: Session,
    experiment: Experiment,
    *,
    contact_id: int | None = None,
    visitor_id: int | None = None,
    now: datetime,
) -> ExperimentVariant:
    """The unit's variant: the one stored for it, else a new draw (see the module's description),
    stored. Given both, the contact's assignment comes first; a visitor's assignment found for a
    contact that has none becomes the contact's."""
    existing = assignment_of(session, experiment, contact_id=contact_id, visitor_id=visitor_id)
    if existing is not None:
        if contact_id is not None and existing.contact_id is None:
            existing.contact_id = contact_id
        return _variant(session, existing)
    variants = variants_of(session, experiment.id)
    if not variants:
        raise InvalidInput(f"experiment: {experiment.slug} has no variants", field="experiment")
    point = unit_point(experiment.id, _unit(contact_id, visitor_id))
    chosen = variants[pick(point, traffic(experiment, variants))]
    stored = _stored(session, experiment, chosen, contact_id, visitor_id, now)
    return chosen if stored.variant_id == chosen.id else _variant(session, stored)


def expose(
    session: Session,
    experiment: Experiment,
    variant: ExperimentVariant,
    *,
    contact_id: int | None = None,
    visitor_id: int | None = None,
    now: datetime,
) -> None:
    """The unit met ``variant``: its first and last exposure times and count move, and the first
    exposure writes an ``experiment_exposed`` event. A unit not assigned yet is assigned ``variant``;
    :class:`Conflict` when it holds another variant."""
    row = assignment_of(session, experiment, contact_id=contact_id, visitor_id=visitor_id)
    if row is None:
        row = _stored(session, experiment, variant, contact_id, visitor_id, now)
    if row.variant_id != variant.id:
        held = _variant(session, row).key
        raise Conflict(f"variant: this unit is assigned {held}, not {variant.key}", field="variant")
    first = row.first_exposed_at is None
    if row.first_exposed_at is None or now < row.first_exposed_at:
        row.first_exposed_at = now
    if row.last_exposed_at is None or now > row.last_exposed_at:
        row.last_exposed_at = now
    # Counted in SQL: two exposures at once each add theirs.
    row.exposures = Assignment.exposures + 1
    session.flush()
    if first:
        _exposed_event(session, experiment, variant, row, now)


def _exposed_event(
    session: Session, experiment: Experiment, variant: ExperimentVariant, row: Assignment, now: datetime
) -> None:
    """One ``experiment_exposed`` event per unit (its key makes a concurrent twin a no-op)."""
    event = Event(
        workspace_id=experiment.workspace_id,
        contact_id=row.contact_id,
        visitor_id=row.visitor_id,
        type="experiment_exposed",
        occurred_at=now,
        received_at=now,
        properties=validate_properties(
            "experiment_exposed", {"experiment": experiment.slug, "variant": variant.key}
        ),
        source="experiments",
        idempotency_key=f"experiment-exposed:{experiment.id}:{row.id}",
    )
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        return
    if event.contact_id is not None:
        score_new_events(session, experiment.workspace_id, [event])  # points only if a rule says so


def adopt_visitor(session: Session, workspace_id: int, visitor_id: int, contact_id: int) -> None:
    """A form identified the visitor: its assignments become the contact's. Where the contact already
    holds an assignment in the same experiment, the contact's wins and the visitor's is dropped."""
    rows = session.scalars(
        select(Assignment).where(
            Assignment.workspace_id == workspace_id,
            Assignment.visitor_id == visitor_id,
            Assignment.contact_id.is_(None),
        )
    ).all()
    for row in rows:
        taken = session.scalar(
            select(Assignment.id).where(
                Assignment.experiment_id == row.experiment_id, Assignment.contact_id == contact_id
            )
        )
        if taken is None:
            row.contact_id = contact_id
        else:
            session.delete(row)
    session.flush()


def move_assignments(session: Session, workspace_id: int, loser_id: int, winner_id: int) -> list[int]:
    """Contact ``loser_id`` was merged into ``winner_id``: its assignments follow, except in the
    experiments where the winner holds one (the winner's is kept, the loser's dropped, so one person
    is one unit). Returns the ids of the assignments moved."""
    winners = select(Assignment.experiment_id).where(Assignment.contact_id == winner_id).scalar_subquery()
    session.execute(
        delete(Assignment)
        .where(
            Assignment.workspace_id == workspace_id,
            Assignment.contact_id == loser_id,
            Assignment.experiment_id.in_(winners),
        )
        .execution_options(synchronize_session="fetch")
    )
    moved = session.scalars(
        update(Assignment)
        .where(Assignment.workspace_id == workspace_id, Assignment.contact_id == loser_id)
        .values(contact_id=winner_id)
        .returning(Assignment.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    return sorted(moved)
