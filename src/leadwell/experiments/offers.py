"""Channel and offer experiments: the variant the user's own systems ask for, for one contact.

A ``channel_offer`` experiment has no subject inside leadwell (a call script, an offer, a channel):
the user's systems ask the API (or the CLI) which variant a contact gets, act on it, and say when
the contact met it. Every other kind assigns and exposes its units itself, where its subject is
sent or shown, so asking for them here is refused, as is asking a draft or stopped experiment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Experiment, ExperimentAssignment, ExperimentVariant
from leadwell.errors import Conflict, InvalidInput
from leadwell.experiments.assignment import ACTIVE_STATES, assign, assignment_of, expose

# Where each other kind meets its units, for the refusal's message.
ASSIGNED_WHERE = {
    "email_template": "when an email of its template is queued",
    "sequence_step": "when its sequence step's email is queued",
    "landing_page": "when its landing page is served",
    "form": "when its form is shown",
    "magnet": "when its form is shown",
}
# How many merges deep a contact id is followed to the contact it lives on in.
MAX_MERGE_HOPS = 20


@dataclass(frozen=True)
class Offer:
    """A contact's assignment in a channel or offer experiment (``created``: by this call)."""

    assignment: ExperimentAssignment
    variant: ExperimentVariant
    created: bool


def check_offer(experiment: Experiment) -> None:
    """:class:`Conflict` unless ``experiment`` is a running (or scaled) channel/offer experiment."""
    if experiment.kind != "channel_offer":
        where = ASSIGNED_WHERE.get(experiment.kind, "where its subject is shown")
        raise Conflict(
            f"experiment: {experiment.slug} is a {experiment.kind} experiment, whose contacts are "
            f"assigned {where}; only channel_offer experiments are assigned on request",
            field="experiment",
        )
    if experiment.state not in ACTIVE_STATES:
        hint = "start it first" if experiment.state == "draft" else "it assigns nobody any more"
        raise Conflict(
            f"experiment: {experiment.slug} is {experiment.state}; only a running experiment "
            f"assigns variants ({hint})",
            field="experiment",
        )


def live_contact_id(session: Session, workspace_id: int, contact_id: int, field: str = "contact_id") -> int:
    """The contact's id, or the id of the contact it was merged into; :class:`InvalidInput` naming
    ``field`` when there is no such contact in the workspace."""
    for _ in range(MAX_MERGE_HOPS):
        merged_into = session.execute(
            select(Contact.merged_into_id).where(
                Contact.id == contact_id, Contact.workspace_id == workspace_id
            )
        ).first()
        if merged_into is None:
            break
        if merged_into[0] is None:
            return contact_id
        contact_id = merged_into[0]
    raise InvalidInput(f"{field}: no such contact in this workspace", field=field)


def offer_for(session: Session, experiment: Experiment, contact_id: int, now: datetime) -> Offer:
    """The contact's variant in a channel/offer experiment, assigned now if it had none."""
    check_offer(experiment)
    unit = live_contact_id(session, experiment.workspace_id, contact_id)
    before = assignment_of(session, experiment, contact_id=unit)
    variant = assign(session, experiment, contact_id=unit, now=now)
    row = before or assignment_of(session, experiment, contact_id=unit)
    assert row is not None  # just assigned
    return Offer(row, variant, created=before is None)


def offer_made(session: Session, experiment: Experiment, contact_id: int, now: datetime) -> Offer:
    """The contact met its variant of a channel/offer experiment (assigned first if need be)."""
    offer = offer_for(session, experiment, contact_id, now)
    expose(session, experiment, offer.variant, contact_id=offer.assignment.contact_id, now=now)
    session.refresh(offer.assignment)
    return offer
