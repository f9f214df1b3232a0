"""The contacts list behind pages and exports: filters, dashboard drill-downs, sorts and keyset
cursors (``WHERE key > last key``, never ``OFFSET``), so page 200 costs what page 1 costs and a
bookmarked page does not shift while contacts arrive.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from leadwell.contacts import service
from leadwell.contacts.service import ContactFilters
from leadwell.db.models import Contact, Deal, Engagement, Event, Fit, Icp
from leadwell.reports.funnel import FUNNEL_STEPS, reached_ids

PAGE_SIZE = 50
DEAL_STATUSES = ("open", "won", "lost")
GRADES = ("A", "B", "C", "D", "E", "F")
BAD_CURSOR = "This page link is out of date or damaged; start again from the first page."


@dataclass(frozen=True)
class Sort:
    """An order for the list: its key columns (the id last, so keys are unique) and their types."""

    label: str
    keys: tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]
    kinds: tuple[type, ...]
    descending: bool


SORTS: dict[str, Sort] = {
    "newest": Sort("Newest first", (Contact.id,), (int,), True),
    "oldest": Sort("Oldest first", (Contact.id,), (int,), False),
    "name": Sort(
        "Last name A–Z",
        (func.lower(Contact.last_name), func.lower(Contact.first_name), Contact.id),
        (str, str, int),
        False,
    ),
    "updated": Sort("Recently updated", (Contact.updated_at, Contact.id), (datetime, int), True),
}


@dataclass(frozen=True)
class ListQuery:
    """What a contacts list is narrowed and ordered by, exactly as its query string carries it.

    Beyond the service's filters, the dashboard drills down by creation date, by an event done since
    a date, and by a deal's status (closed since a date), so every figure there links to its contacts.
    ``icp`` names the profile whose fit the list shows (default: the first by slug) and ``grades``
    keeps the contacts with one of these grades for it, so a profile's grade counts link here.
    """

    filters: ContactFilters = ContactFilters()
    sort: str = "newest"
    created_since: date | None = None
    event: str | None = None
    event_since: date | None = None
    deal: str | None = None
    deal_since: date | None = None
    icp: str | None = None
    grades: tuple[str, ...] = ()
    # Dashboard drill-downs: a call outcome (with ``event=call_logged``), the funnel's cohort (entered
    # since a date, reached a funnel stage) and the best fit grade across profiles.
    outcome: str | None = None
    entered_since: date | None = None
    reached: str | None = None
    best_grades: tuple[str, ...] = ()

    def params(self, **changes: Any) -> dict[str, str | list[str]]:
        """Query-string parameters (non-empty ones only), with ``changes`` applied; ``grade`` is a
        list (the parameter repeats: ``grade=A&grade=B``)."""
        values: dict[str, Any] = {
            "q": self.filters.q,
            "stage": self.filters.stage,
            "source": self.filters.source,
            "sort": None if self.sort == "newest" else self.sort,
            "created_since": self.created_since,
            "event": self.event,
            "event_since": self.event_since,
            "deal": self.deal,
            "deal_since": self.deal_since,
            "icp": self.icp,
            "grade": list(self.grades),
            "outcome": self.outcome,
            "entered_since": self.entered_since,
            "reached": self.reached,
            "best_grade": list(self.best_grades),
        }
        values.update(changes)
        return {
            name: value if isinstance(value, list) else str(value) for name, value in values.items() if value
        }

    @property
    def narrowed(self) -> bool:
        """Whether anything leaves contacts out (the profile alone only chooses the Fit column)."""
        return bool(self.params(sort=None, icp=None))


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{name}: expected a date like 2024-05-31") from None


def _grades(values: list[str] | None) -> tuple[str, ...]:
    """ "A", "a", "A,B" or repeated: the grades asked for, in order A–F; 400 for anything else."""
    asked = {part.strip().upper() for value in values or [] for part in value.split(",") if part.strip()}
    if asked - set(GRADES):
        raise HTTPException(400, "grade: expected grades A to F, e.g. grade=A&grade=B")
    return tuple(grade for grade in GRADES if grade in asked)


def list_query(
    q: str = "",
    stage: str = "",
    source: str = "",
    sort: str = "newest",
    created_since: str = "",
    event: str = "",
    event_since: str = "",
    deal: str = "",
    deal_since: str = "",
    icp: str = "",
    grade: Annotated[list[str] | None, Query()] = None,
    outcome: str = "",
    entered_since: str = "",
    reached: str = "",
    best_grade: Annotated[list[str] | None, Query()] = None,
) -> ListQuery:
    """Read a :class:`ListQuery` from the query string; unknown sorts fall back to newest first."""
    return ListQuery(
        filters=ContactFilters(q=q.strip()[:200] or None, stage=stage or None, source=source or None),
        sort=sort if sort in SORTS else "newest",
        created_since=_day(created_since, "created_since"),
        event=event or None,
        event_since=_day(event_since, "event_since"),
        deal=deal if deal in DEAL_STATUSES else None,
        deal_since=_day(deal_since, "deal_since"),
        icp=icp.strip()[:64] or None,
        grades=_grades(grade),
        outcome=outcome.strip()[:40] or None,
        entered_since=_day(entered_since, "entered_since"),
        reached=reached if reached in FUNNEL_STEPS else None,
        best_grades=_grades(best_grade),
    )


Query_ = Annotated[ListQuery, Depends(list_query)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def narrowed_contacts(workspace_id: int, query: ListQuery) -> Select[Contact]:
    """The contacts of ``query`` (unordered), built on the service's filter semantics."""
    select_ = service.filtered_contacts(workspace_id, query.filters)
    if query.created_since:
        select_ = select_.where(Contact.created_at >= _midnight(query.created_since))
    if query.event or query.outcome:
        kind = query.event or "call_logged"
        did = select(Event.id).where(
            Event.workspace_id == workspace_id, Event.contact_id == Contact.id, Event.type == kind
        )
        if query.event_since:
            did = did.where(Event.occurred_at >= _midnight(query.event_since))
        if query.outcome:
            did = did.where(Event.properties["outcome"].as_string() == query.outcome)
        select_ = select_.where(exists(did))
    if query.deal:
        has = select(Deal.id).where(
            Deal.workspace_id == workspace_id, Deal.contact_id == Contact.id, Deal.status == query.deal
        )
        if query.deal_since:
            has = has.where(Deal.closed_at >= _midnight(query.deal_since))
        select_ = select_.where(exists(has))
    if query.grades:
        select_ = select_.where(Contact.id.in_(_graded(workspace_id, query)))
    if query.entered_since:
        entered = _midnight(query.entered_since)
        select_ = select_.where(Contact.id.in_(reached_ids(workspace_id, entered, query.reached or "lead")))
    if query.best_grades:
        best = select(Engagement.contact_id).where(
            Engagement.workspace_id == workspace_id, Engagement.grade.in_(query.best_grades)
        )
        select_ = select_.where(Contact.id.in_(best))
    return select_


def _graded(workspace_id: int, query: ListQuery) -> Select[Any]:
    """Ids of contacts with one of ``query.grades`` for its profile (from the grade index)."""
    profiles = select(Icp.id).where(Icp.workspace_id == workspace_id)
    chosen = profiles.where(Icp.slug == query.icp) if query.icp else profiles.order_by(Icp.slug).limit(1)
    return select(Fit.contact_id).where(
        Fit.workspace_id == workspace_id,
        Fit.icp_id == chosen.scalar_subquery(),
        Fit.grade.in_(query.grades),
    )


def count_narrowed(session: Session, workspace_id: int, query: ListQuery) -> int:
    """How many contacts ``query`` matches."""
    ids = narrowed_contacts(workspace_id, query).with_only_columns(Contact.id).subquery()
    return session.scalar(select(func.count()).select_from(ids)) or 0


def _encode_cursor(sort: str, values: tuple[Any, ...]) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    raw = json.dumps({"s": sort, "k": plain}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _fits(value: Any, kind: type) -> bool:
    """A key value the database can compare: aware times, 64-bit ids, strings."""
    if kind is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None
    if kind is int:
        return isinstance(value, int) and -(2**63) <= value < 2**63
    return isinstance(value, kind)


def _decode_cursor(sort: str, cursor: str) -> list[Any]:
    """The key values a cursor points after; 400 unless it is a cursor of this sort."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        kinds = SORTS[sort].kinds
        if data["s"] != sort or len(data["k"]) != len(kinds):
            raise ValueError
        values = [
            datetime.fromisoformat(v) if k is datetime else v for v, k in zip(data["k"], kinds, strict=True)
        ]
        if not all(_fits(v, k) for v, k in zip(values, kinds, strict=True)):
            raise ValueError
        return values
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise HTTPException(400, BAD_CURSOR) from None


def _after(sort: Sort, values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly past ``values`` in ``sort`` order: the row-value comparison spelt out, so each
    bound value is typed by its column (times stay UTC-aware) on SQLite and PostgreSQL alike."""
    branches = []
    for index, key in enumerate(sort.keys):
        ties = [sort.keys[i] == values[i] for i in range(index)]
        branches.append(and_(*ties, key < values[index] if sort.descending else key > values[index]))
    return or_(*branches)


def contacts_page(
    session: Session, workspace_id: int, query: ListQuery, cursor: str | None, limit: int = PAGE_SIZE
) -> tuple[list[Contact], str | None]:
    """One page of contacts in ``query``'s order and the cursor of the next page (None at the end)."""
    sort = SORTS[query.sort]
    select_ = narrowed_contacts(workspace_id, query).add_columns(*sort.keys)
    if cursor:
        select_ = select_.where(_after(sort, _decode_cursor(query.sort, cursor)))
    order = [key.desc() if sort.descending else key.asc() for key in sort.keys]
    select_ = select_.order_by(*order).limit(limit + 1).options(selectinload(Contact.organization))
    rows = session.execute(select_).all()
    contacts = [row[0] for row in rows[:limit]]
    more = _encode_cursor(query.sort, tuple(rows[limit - 1][1:])) if len(rows) > limit else None
    return contacts, more
