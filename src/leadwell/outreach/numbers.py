"""Numbers of sequences, their steps and broadcasts: activity beside outcomes, in SQL aggregates.

Activity counts **people**, from the outbox and the event log: ``sent`` (a message to them was
accepted by the SMTP server), and, among their messages, ``opened``, ``clicked``, ``replied``,
``bounced`` and ``unsubscribed`` (events whose ``message`` property is one of those messages'
Message-ID). Rates are over ``sent``. Outcomes count what happened to the people after they were
enrolled (a broadcast: after their message went out): ``meetings`` booked (a ``meeting_booked``
event), deals ``won`` and their revenue by currency. A sequence also counts its enrollments:
``enrolled``, ``active``, ``completed`` and ``stopped``.

Every figure has a SELECT of the contacts behind it (:func:`sequence_people`,
:func:`broadcast_people`), so pages link each number to the people it counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Deal, Enrollment, Event, OutboxMessage
from leadwell.errors import InvalidInput

EVENT_METRICS = {
    "opened": "email_opened",
    "clicked": "email_clicked",
    "replied": "email_replied",
    "bounced": "email_bounced",
    "unsubscribed": "email_unsubscribed",
}
ACTIVITY = ("sent", *EVENT_METRICS)
ENROLLMENT_METRICS = ("enrolled", "active", "completed", "stopped")
OUTCOMES = ("meetings", "won")
METRIC_LABELS = {
    "enrolled": "Enrolled",
    "active": "Active",
    "completed": "Completed",
    "stopped": "Stopped",
    "sent": "Sent",
    "opened": "Opened",
    "clicked": "Clicked",
    "replied": "Replied",
    "bounced": "Bounced",
    "unsubscribed": "Unsubscribed",
    "meetings": "Meetings booked",
    "won": "Deals won",
}


@dataclass(frozen=True)
class Numbers:
    """The figures of one sequence, step or broadcast (0 when nothing happened)."""

    counts: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, Decimal] = field(default_factory=dict)  # won deals' value by currency

    def __getitem__(self, metric: str) -> int:
        return self.counts.get(metric, 0)

    def rate(self, metric: str) -> float | None:
        """``metric`` as a share of the people sent to (None before anyone was)."""
        sent = self["sent"]
        return self[metric] / sent if sent else None

    def percent(self, metric: str) -> str:
        """The rate as "12.5 %", or "—"."""
        share = self.rate(metric)
        return "—" if share is None else f"{share * 100:.1f} %"

    def revenue_words(self) -> str:
        """ "USD 12,000.00, EUR 500.00" or "—"."""
        parts = [f"{currency} {amount:,.2f}" for currency, amount in sorted(self.revenue.items())]
        return ", ".join(parts) or "—"


def _merge(
    found: dict[Any, Numbers], key: Any, counts: dict[str, int], revenue: dict[str, Decimal] | None = None
) -> None:
    current = found.setdefault(key, Numbers())
    current.counts.update({name: int(value or 0) for name, value in counts.items()})
    for currency, amount in (revenue or {}).items():
        current.revenue[currency] = current.revenue.get(currency, Decimal(0)) + Decimal(amount)


def _event_join(workspace_id: int) -> ColumnElement[bool]:
    """An email event about one of the messages (its ``message`` property is the Message-ID)."""
    return and_(
        Event.workspace_id == workspace_id,
        Event.type.in_(tuple(EVENT_METRICS.values())),
        Event.properties["message"].as_string() == OutboxMessage.message_id,
        Event.contact_id == OutboxMessage.contact_id,
    )


def _activity_columns() -> list[Any]:
    sent = func.count(func.distinct(case((OutboxMessage.state == "sent", OutboxMessage.contact_id))))
    columns = [sent.label("sent")]
    for metric, kind in EVENT_METRICS.items():
        columns.append(func.count(func.distinct(case((Event.type == kind, Event.contact_id)))).label(metric))
    return columns


def _activity(
    session: Session, workspace_id: int, key: Any, where: Iterable[ColumnElement[bool]]
) -> dict[Any, Numbers]:
    """Activity per ``key`` over the outbox messages ``where`` selects (joined to enrollments)."""
    query = (
        select(key.label("key"), *_activity_columns())
        .select_from(OutboxMessage)
        .outerjoin(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .outerjoin(Event, _event_join(workspace_id))
        .where(OutboxMessage.workspace_id == workspace_id, *where)
        .group_by(key)
    )
    found: dict[Any, Numbers] = {}
    for row in session.execute(query).mappings():
        _merge(found, row["key"], {metric: row[metric] for metric in ACTIVITY})
    return found


def _enrollment_counts(session: Session, workspace_id: int, sequence_ids: list[int]) -> dict[Any, Numbers]:
    found: dict[Any, Numbers] = {}
    query = (
        select(
            Enrollment.sequence_id,
            func.count().label("enrolled"),
            *(
                func.count(case((Enrollment.status == state, 1))).label(state)
                for state in ENROLLMENT_METRICS[1:]
            ),
        )
        .where(Enrollment.workspace_id == workspace_id, Enrollment.sequence_id.in_(sequence_ids))
        .group_by(Enrollment.sequence_id)
    )
    for row in session.execute(query).mappings():
        _merge(found, row["sequence_id"], {metric: row[metric] for metric in ENROLLMENT_METRICS})
    return found


def _outcomes(
    session: Session, workspace_id: int, people: Any, key: Any, since: Any, found: dict[Any, Numbers]
) -> None:
    """Meetings and won deals of ``people`` (a subquery with ``key``, ``contact_id`` and ``since``)."""
    meetings = (
        select(people.c.key, func.count(func.distinct(Event.contact_id)).label("meetings"))
        .join(Event, and_(Event.contact_id == people.c.contact_id, Event.occurred_at >= people.c.since))
        .where(Event.workspace_id == workspace_id, Event.type == "meeting_booked")
        .group_by(people.c.key)
    )
    for row in session.execute(meetings):
        _merge(found, row[0], {"meetings": row[1]})
    won = (
        select(people.c.key, Deal.currency, func.count(func.distinct(Deal.id)), func.sum(Deal.value))
        .join(Deal, and_(Deal.contact_id == people.c.contact_id, Deal.closed_at >= people.c.since))
        .where(Deal.workspace_id == workspace_id, Deal.status == "won")
        .group_by(people.c.key, Deal.currency)
    )
    totals: dict[Any, int] = {}
    for group, currency, count, value in session.execute(won):
        totals[group] = totals.get(group, 0) + int(count)
        _merge(found, group, {"won": totals[group]}, {currency: Decimal(value or 0)})


def sequence_numbers(session: Session, workspace_id: int, sequence_ids: list[int]) -> dict[int, Numbers]:
    """Each sequence's numbers, in a handful of grouped queries whatever the number of sequences."""
    if not sequence_ids:
        return {}
    found = _enrollment_counts(session, workspace_id, sequence_ids)
    for key, numbers in _activity(
        session, workspace_id, Enrollment.sequence_id, [Enrollment.sequence_id.in_(sequence_ids)]
    ).items():
        _merge(found, key, numbers.counts)
    people = (
        select(
            Enrollment.sequence_id.label("key"),
            Enrollment.contact_id.label("contact_id"),
            Enrollment.enrolled_at.label("since"),
        )
        .where(Enrollment.workspace_id == workspace_id, Enrollment.sequence_id.in_(sequence_ids))
        .subquery()
    )
    _outcomes(session, workspace_id, people, people.c.key, people.c.since, found)
    return {sequence_id: found.get(sequence_id, Numbers()) for sequence_id in sequence_ids}


def step_numbers(session: Session, workspace_id: int, sequence_id: int) -> dict[int, Numbers]:
    """Each step's activity (by position), and how many contacts are at it now (``active``)."""
    found = _activity(
        session, workspace_id, OutboxMessage.step_position, [Enrollment.sequence_id == sequence_id]
    )
    here = (
        select(Enrollment.position, func.count())
        .where(Enrollment.sequence_id == sequence_id, Enrollment.status == "active")
        .group_by(Enrollment.position)
    )
    for position, count in session.execute(here):
        _merge(found, position, {"active": count})
    return found


def broadcast_numbers(session: Session, workspace_id: int, broadcast_ids: list[int]) -> dict[int, Numbers]:
    """Each broadcast's activity, its queued messages (``queued``), and its recipients' outcomes
    after their message went out."""
    if not broadcast_ids:
        return {}
    found = _activity(
        session, workspace_id, OutboxMessage.broadcast_id, [OutboxMessage.broadcast_id.in_(broadcast_ids)]
    )
    states = (
        select(OutboxMessage.broadcast_id, OutboxMessage.state, func.count())
        .where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.broadcast_id.in_(broadcast_ids))
        .group_by(OutboxMessage.broadcast_id, OutboxMessage.state)
    )
    for broadcast_id, state, count in session.execute(states):
        _merge(found, broadcast_id, {state: count})
    people = (
        select(
            OutboxMessage.broadcast_id.label("key"),
            OutboxMessage.contact_id.label("contact_id"),
            OutboxMessage.sent_at.label("since"),
        )
        .where(
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.broadcast_id.in_(broadcast_ids),
            OutboxMessage.state == "sent",
        )
        .subquery()
    )
    _outcomes(session, workspace_id, people, people.c.key, people.c.since, found)
    return {broadcast_id: found.get(broadcast_id, Numbers()) for broadcast_id in broadcast_ids}


def _check_metric(metric: str, allowed: tuple[str, ...]) -> str:
    if metric not in allowed:
        raise InvalidInput(f"metric: one of {', '.join(allowed)}", field="metric")
    return metric


def _message_people(workspace_id: int, metric: str, where: list[ColumnElement[bool]]) -> Select[int | None]:
    query = (
        select(OutboxMessage.contact_id)
        .outerjoin(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .where(OutboxMessage.workspace_id == workspace_id, OutboxMessage.contact_id.is_not(None), *where)
    )
    if metric == "sent":
        return query.where(OutboxMessage.state == "sent")
    return query.join(Event, _event_join(workspace_id)).where(Event.type == EVENT_METRICS[metric])


def _outcome_people(workspace_id: int, metric: str, people: Any) -> Select[int | None]:
    if metric == "meetings":
        return select(people.c.contact_id).join(
            Event,
            and_(
                Event.contact_id == people.c.contact_id,
                Event.occurred_at >= people.c.since,
                Event.workspace_id == workspace_id,
                Event.type == "meeting_booked",
            ),
        )
    return select(people.c.contact_id).join(
        Deal,
        and_(
            Deal.contact_id == people.c.contact_id,
            Deal.closed_at >= people.c.since,
            Deal.workspace_id == workspace_id,
            Deal.status == "won",
        ),
    )


def sequence_people(
    workspace_id: int, sequence_id: int, metric: str, position: int | None = None
) -> Select[int | None]:
    """The ids of the contacts behind one of a sequence's figures (or one step's, by position)."""
    _check_metric(metric, (*ENROLLMENT_METRICS, *ACTIVITY, *OUTCOMES))
    mine = Enrollment.sequence_id == sequence_id
    if metric in ACTIVITY:
        where = [mine] + ([OutboxMessage.step_position == position] if position is not None else [])
        return _message_people(workspace_id, metric, where)
    enrolled = select(Enrollment.contact_id).where(Enrollment.workspace_id == workspace_id, mine)
    if metric in ENROLLMENT_METRICS:
        if position is not None:
            enrolled = enrolled.where(Enrollment.position == position)
        return enrolled if metric == "enrolled" else enrolled.where(Enrollment.status == metric)
    people = (
        select(Enrollment.contact_id.label("contact_id"), Enrollment.enrolled_at.label("since"))
        .where(Enrollment.workspace_id == workspace_id, mine)
        .subquery()
    )
    return _outcome_people(workspace_id, metric, people)


def broadcast_people(workspace_id: int, broadcast_id: int, metric: str) -> Select[int | None]:
    """The ids of the contacts behind one of a broadcast's figures."""
    _check_metric(metric, (*ACTIVITY, *OUTCOMES))
    mine = OutboxMessage.broadcast_id == broadcast_id
    if metric in ACTIVITY:
        return _message_people(workspace_id, metric, [mine])
    people = (
        select(OutboxMessage.contact_id.label("contact_id"), OutboxMessage.sent_at.label("since"))
        .where(OutboxMessage.workspace_id == workspace_id, mine, OutboxMessage.state == "sent")
        .subquery()
    )
    return _outcome_people(workspace_id, metric, people)
