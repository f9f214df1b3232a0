"""What a workspace's history teaches: one row of features per contact, and who bought.

**Outcomes.** A contact with a won deal is a positive (1), decided when its first won deal closed.
A contact with only lost deals, or disqualified (a move to the disqualified stage, a "not a fit"
call, or the stage itself when it has no history), is a negative (0), decided at the latest of those
moments. A contact with a deal still open and nothing won is undecided and left out. ``until`` moves
"now" into the past: only outcomes known by then count, and a deal closed after it was still open.
Deals without a contact, and contacts merged into another, are not used.

**The cut-off.** Features come only from what happened before the contact left the call queue for
its outcome: before its deal was opened (the won deal, or the latest lost one), or before it was
disqualified. That is earlier than the outcome itself, on purpose: the model scores leads that are
still in the queue, and what happens during a deal (meetings, proposals, the sales cycle's length)
never happens to them. For an open lead the cut-off is "now".

**Features**, as text cells of a :class:`~leadwell.predict.table.Table`:

- who they are: ``seniority`` (from the title's words), ``country``, ``source``, the organization's
  ``employees`` (a size known as a range counts as its middle), ``industry`` and ``organization
  country``, the best fit ``fit grade`` and ``fit score``, and the custom fields the workspace uses
  (``custom.<key>``, ``organization.custom.<key>``: numbers when every value is one, else categories);
- what they did before the cut-off: per event type, how many (``downloads``) and how long before the
  cut-off the latest was (``days since last download``); ``days to first engagement`` after the
  contact was created; ``days since created`` at the cut-off.

Events that record the outcome or the sales process itself (stage and fit changes, deals won or
lost) are never features. Record fields (title, organization, custom fields, the fit grade) are read
as they stand now: the database keeps no history of them, so a field filled in on the discovery call
of a won deal teaches the model a little of the outcome (docs/predict.md § The workspace model).

Everything is read with a few set-based statements, not a query per contact: outcomes are one
grouped ``UNION ALL``; the record fields one join; the event aggregates one ``GROUP BY`` of the
events joined to their contact's cut-off (an index range per contact on ``ix_events_timeline``).
Open leads come in batches by contact id (:func:`queue_lead_batches`, :func:`open_lead_batches`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Engagement, Event, Organization, StageChange
from leadwell.db.types import UTCDateTime
from leadwell.events.types import EVENT_TYPES
from leadwell.predict.table import Table

# Events that say how the sale went, not what the lead did.
OUTCOME_EVENTS = frozenset({"stage_changed", "fit_changed", "deal_won", "deal_lost"})
# Events that record what the firm showed the lead, not what the lead did: an experiment's
# exposure would teach the model which test was running when, not who buys.
NOT_LEAD_EVENTS = frozenset({"experiment_exposed"})
# Per event type: the column of how many, and the column of how long since the latest.
EVENT_COLUMNS: dict[str, tuple[str, str]] = {
    "form_submitted": ("forms submitted", "days since last form"),
    "asset_downloaded": ("downloads", "days since last download"),
    "read_progress": ("reading milestones", "days since last reading"),
    "video_progress": ("video milestones", "days since last video"),
    "webinar_registered": ("webinar registrations", "days since last webinar registration"),
    "webinar_attended": ("webinars attended", "days since last webinar"),
    "page_viewed": ("page views", "days since last page view"),
    "email_sent": ("emails sent", "days since last email sent"),
    "email_opened": ("email opens", "days since last email open"),
    "email_clicked": ("email clicks", "days since last email click"),
    "email_replied": ("replies", "days since last reply"),
    "email_bounced": ("bounces", "days since last bounce"),
    "email_unsubscribed": ("unsubscribes", "days since last unsubscribe"),
    "call_logged": ("calls", "days since last call"),
    "meeting_booked": ("meetings booked", "days since last meeting booked"),
    "note_added": ("notes", "days since last note"),
    "sequence_enrolled": ("sequences joined", "days since last sequence joined"),
    "sequence_finished": ("sequences left", "days since last sequence left"),
    "call_task": ("call tasks", "days since last call task"),
}
ENGAGEMENT_EVENTS = tuple(kind for kind in EVENT_TYPES if kind not in OUTCOME_EVENTS | NOT_LEAD_EVENTS)
RECORD_COLUMNS = (
    "seniority",
    "country",
    "source",
    "employees",
    "industry",
    "organization country",
    "fit grade",
    "fit score",
    "days since created",
    "days to first engagement",
)
NUMERIC_RECORD = frozenset({"employees", "fit score", "days since created", "days to first engagement"})
# The ideal client profile field each built-in column reads (custom columns are named by theirs), so
# a rule found over these columns can become a profile's criterion.
ICP_FIELDS: dict[str, str] = {
    "country": "contact.country",
    "source": "contact.source",
    "employees": "organization.employees",
    "industry": "organization.industry",
    "organization country": "organization.country",
}
# Custom fields become features when enough rows have them and, as categories, when their values
# repeat: free text and ids teach nothing and cost a column per value.
MAX_CUSTOM_COLUMNS = 40
MIN_CUSTOM_ROWS = 5
MAX_CATEGORY_LEVELS = 50
MAX_CELL = 100
MIN_RECENCY_SHARE = 0.1
DEFAULT_BATCH = 20_000
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns
DAY_SECONDS = 86_400.0
SENIORITY = (
    ("vp", re.compile(r"\b(vp|svp|evp|vice[- ]president)\b", re.I)),
    (
        "c-level",
        re.compile(
            r"\b(ceo|cfo|coo|cto|cio|cmo|cro|chief|founder|co-?founder|owner|president|"
            r"managing director|managing partner|partner|principal)\b",
            re.I,
        ),
    ),
    ("director", re.compile(r"\b(director|head)\b", re.I)),
    ("manager", re.compile(r"\b(manager|lead|supervisor)\b", re.I)),
)


@dataclass
class Examples:
    """Decided contacts as training rows: features (from before each lead left the queue), 1 won /
    0 lost or disqualified, when each outcome became known (for a time-aware split) and whose row it
    is. ``numeric`` names the number columns; every other column is a category."""

    table: Table
    labels: list[int]
    decided_at: list[datetime]
    contact_ids: list[int]
    numeric: list[str] = field(default_factory=list)

    @property
    def categorical(self) -> list[str]:
        """The category columns."""
        return [name for name in self.table.columns if name not in self.numeric]

    @property
    def wins(self) -> int:
        """How many rows are won."""
        return sum(self.labels)


@dataclass(frozen=True)
class Columns:
    """Which feature columns to build, in order, and which of them hold numbers."""

    names: tuple[str, ...]
    numeric: frozenset[str]


def seniority(title: str | None) -> str | None:
    """ "c-level", "vp", "director", "manager" or "staff" from a job title's words (None: no title)."""
    if title is None or not title.strip():
        return None
    for level, pattern in SENIORITY:
        if pattern.search(title):
            return level
    return "staff"


def employees_of(exact: int | None, low: int | None, high: int | None) -> float | None:
    """A head count: the exact one, else the middle of the known range, else its known end."""
    if exact is not None:
        return float(exact)
    if low is not None and high is not None:
        return (low + high) / 2
    known = low if low is not None else high
    return None if known is None else float(known)


def number_text(value: float | None) -> str | None:
    """A number as a cell: whole numbers without a point, others to 2 decimals."""
    if value is None or math.isnan(value):
        return None
    rounded = round(value, 2)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def _days(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / DAY_SECONDS


# --- outcomes --------------------------------------------------------------------------------------


def _by(column: Any, until: datetime | None) -> ColumnElement[bool]:
    return column <= until if until is not None else true()


def _part(contact_id: Any, at: Any, start: Any, won: int, pending: int) -> AnySelect:
    """One kind of outcome row, with its flags written into the statement."""
    return select(
        contact_id.label("contact_id"),
        at.label("at"),
        start.label("start"),
        literal_column(str(won)).label("won"),
        literal_column(str(pending)).label("pending"),
    )


def _outcome_parts(workspace_id: int, until: datetime | None) -> list[AnySelect]:
    """(contact_id, at, start, won, pending) rows: each won or lost deal (closed ``at``, opened at
    ``start``), each deal still open at ``until``, each disqualification (both at its moment)."""
    closed = func.coalesce(Deal.closed_at, Deal.updated_at)
    opened = Deal.created_at
    deal = (Deal.workspace_id == workspace_id, Deal.contact_id.is_not(None))
    still_open = Deal.status == "open"
    if until is not None:
        still_open = and_(opened <= until, or_(still_open, closed > until))
    disqualified = StageChange.to_stage == "disqualified"
    not_a_fit = and_(Event.type == "call_logged", Event.properties["outcome"].as_string() == "not_a_fit")
    never_moved = ~exists().where(StageChange.contact_id == Contact.id, disqualified)
    moved, called, stage = StageChange.changed_at, Event.occurred_at, Contact.updated_at
    return [
        _part(Deal.contact_id, closed, opened, 1, 0).where(*deal, Deal.status == "won", _by(closed, until)),
        _part(Deal.contact_id, closed, opened, 0, 0).where(*deal, Deal.status == "lost", _by(closed, until)),
        _part(Deal.contact_id, opened, opened, 0, 1).where(*deal, still_open),
        _part(StageChange.contact_id, moved, moved, 0, 0).where(
            StageChange.workspace_id == workspace_id, disqualified, _by(moved, until)
        ),
        _part(Event.contact_id, called, called, 0, 0).where(
            Event.workspace_id == workspace_id, Event.contact_id.is_not(None), not_a_fit, _by(called, until)
        ),
        _part(Contact.id, stage, stage, 0, 0).where(
            Contact.workspace_id == workspace_id,
            Contact.stage == "disqualified",
            never_moved,
            _by(stage, until),
        ),
    ]


def outcomes(workspace_id: int, until: datetime | None = None) -> Subquery:
    """The decided live contacts as a subquery: ``contact_id``, ``won`` (1/0), ``cutoff`` (when the
    outcome became known) and ``left_queue_at`` (when the lead left the queue for it: the deal
    opened, or the disqualification; features are read from before this moment)."""
    parts = union_all(*_outcome_parts(workspace_id, until)).subquery("parts")
    contact_id, at, start, won, pending = parts.c
    winning = won == 1
    losing = and_(won == 0, pending == 0)
    grouped = (
        select(
            contact_id.label("contact_id"),
            func.max(won).label("won"),
            func.min(case((winning, at))).label("won_at"),
            func.min(case((winning, start))).label("won_start"),
            func.max(case((losing, at))).label("lost_at"),
            func.max(case((losing, start))).label("lost_start"),
            func.max(pending).label("pending"),
        )
        .group_by(contact_id)
        .subquery("grouped")
    )
    g = grouped.c
    decided = or_(g.won == 1, and_(g.lost_at.is_not(None), g.pending == 0))
    return (
        select(
            g.contact_id,
            g.won,
            func.coalesce(g.won_at, g.lost_at).label("cutoff"),
            func.coalesce(g.won_start, g.lost_start).label("left_queue_at"),
        )
        .join(Contact, Contact.id == g.contact_id)
        .where(decided, Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None))
        .subquery("decided")
    )


@dataclass(frozen=True)
class OutcomeSummary:
    """How many contacts are decided, how many of them won, and the latest decision: what changes
    when there is something new to learn."""

    rows: int
    wins: int
    latest: datetime | None

    def as_json(self) -> dict[str, Any]:
        """For a model's ``spec``."""
        return {
            "rows": self.rows,
            "wins": self.wins,
            "latest": self.latest.isoformat() if self.latest else None,
        }


def outcome_summary(session: Session, workspace_id: int) -> OutcomeSummary:
    """The workspace's decided contacts counted in one statement (no features read)."""
    decided = outcomes(workspace_id)
    rows, wins, latest = session.execute(
        select(func.count(), func.sum(decided.c.won), func.max(decided.c.cutoff))
    ).one()
    return OutcomeSummary(int(rows or 0), int(wins or 0), latest)


def _pending_or_decided(session: Session, workspace_id: int, as_of: datetime) -> set[int]:
    """Contacts that were not open leads at ``as_of``: decided by then, or with a deal open then."""
    decided = outcomes(workspace_id, as_of)
    closed = func.coalesce(Deal.closed_at, Deal.updated_at)
    dealing = select(Deal.contact_id).where(
        Deal.workspace_id == workspace_id,
        Deal.contact_id.is_not(None),
        Deal.created_at <= as_of,
        or_(Deal.status == "open", closed > as_of),
    )
    found = set(session.scalars(select(decided.c.contact_id)))
    return found | {contact_id for contact_id in session.scalars(dealing) if contact_id is not None}


# --- features --------------------------------------------------------------------------------------


@dataclass
class _Lead:
    """One contact's raw material: its record fields, its cut-off and its events before it."""

    record: Any
    activity: dict[str, tuple[int, datetime, datetime]]  # type -> (count, first, latest)

    @property
    def contact_id(self) -> int:
        return int(self.record.contact_id)

    @property
    def cutoff(self) -> datetime:
        moment: datetime = self.record.cutoff
        return moment


def _records(session: Session, population: Subquery) -> list[Any]:
    query = (
        select(
            *population.c,
            Contact.title,
            Contact.country,
            Contact.source,
            Contact.custom.label("contact_custom"),
            Contact.created_at,
            Organization.employees,
            Organization.employees_min,
            Organization.employees_max,
            Organization.industry,
            Organization.country.label("organization_country"),
            Organization.custom.label("organization_custom"),
            Engagement.grade,
            Engagement.fit_score,
        )
        .select_from(population)
        .join(Contact, Contact.id == population.c.contact_id)
        .outerjoin(Organization, Organization.id == Contact.organization_id)
        .outerjoin(Engagement, Engagement.contact_id == Contact.id)
        .order_by(population.c.contact_id)
    )
    return list(session.execute(query))


def _activity(
    session: Session, workspace_id: int, population: Subquery
) -> dict[int, dict[str, tuple[int, datetime, datetime]]]:
    """Per contact and event type: how many events before its cut-off, the first and the latest."""
    query = (
        select(
            Event.contact_id,
            Event.type,
            func.count(),
            func.min(Event.occurred_at),
            func.max(Event.occurred_at),
        )
        .join(population, population.c.contact_id == Event.contact_id)
        .where(
            Event.workspace_id == workspace_id,
            Event.occurred_at < population.c.cutoff,  # strictly before: the outcome's own event is out
            Event.type.in_(ENGAGEMENT_EVENTS),
        )
        .group_by(Event.contact_id, Event.type)
    )
    found: dict[int, dict[str, tuple[int, datetime, datetime]]] = {}
    rows: Any = session.execute(query)  # contact ids are never NULL here: they matched a lead
    for contact_id, kind, count, first, latest in rows:
        found.setdefault(contact_id, {})[kind] = (count, first, latest)
    return found


def _gather(session: Session, workspace_id: int, population: Subquery) -> list[_Lead]:
    activity = _activity(session, workspace_id, population)
    return [_Lead(row, activity.get(row.contact_id, {})) for row in _records(session, population)]


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _category(value: Any) -> str | None:
    if value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = " ".join(str(value).split())[:MAX_CELL]
    return text or None


def _customs(lead: _Lead) -> dict[str, Any]:
    """The lead's custom fields by column name (``custom.<key>``, ``organization.custom.<key>``)."""
    record = lead.record
    found = {f"custom.{key}": value for key, value in (record.contact_custom or {}).items()}
    for key, value in (record.organization_custom or {}).items():
        found[f"organization.custom.{key}"] = value
    return found


def _custom_columns(leads: Sequence[_Lead]) -> tuple[list[str], set[str]]:
    """The custom fields worth a column, most used first (then by name), and which hold numbers."""
    present: Counter[str] = Counter()
    numeric: dict[str, bool] = {}
    levels: dict[str, set[str]] = {}
    for lead in leads:
        for name, value in _customs(lead).items():
            category = _category(value)
            if category is None:
                continue
            present[name] += 1
            numeric[name] = numeric.get(name, True) and _as_number(value) is not None
            if len(levels.setdefault(name, set())) <= MAX_CATEGORY_LEVELS:
                levels[name].add(category)
    usable = [
        name
        for name, count in present.items()
        if count >= MIN_CUSTOM_ROWS and (numeric[name] or len(levels[name]) <= MAX_CATEGORY_LEVELS)
    ]
    usable.sort(key=lambda name: (-present[name], name))
    chosen = sorted(usable[:MAX_CUSTOM_COLUMNS])
    return chosen, {name for name in chosen if numeric[name]}


def choose_columns(leads: Sequence[_Lead], every_event: bool = False) -> Columns:
    """The record columns; per event type seen among ``leads`` (every engagement type with
    ``every_event``) its count, and how long since the latest when at least
    :data:`MIN_RECENCY_SHARE` of the leads have one (else the count says as much: a column blank in
    nearly every row only adds noise); and the custom fields worth a column."""
    seen = Counter(kind for lead in leads for kind in lead.activity)
    kinds = [kind for kind in ENGAGEMENT_EVENTS if every_event or kind in seen]
    enough = max(1, math.ceil(MIN_RECENCY_SHARE * len(leads)))
    events: list[str] = []
    for kind in kinds:
        how_many, how_long = EVENT_COLUMNS[kind]
        events += [how_many, how_long] if every_event or seen[kind] >= enough else [how_many]
    custom, custom_numeric = _custom_columns(leads)
    names = (*RECORD_COLUMNS, *events, *custom)
    return Columns(names, frozenset({*NUMERIC_RECORD, *events, *custom_numeric}))


def _record_values(lead: _Lead) -> dict[str, Any]:
    record, cutoff = lead.record, lead.cutoff
    firsts = [first for _count, first, _latest in lead.activity.values()]
    first_touch = _days(min(firsts), record.created_at) if firsts else None
    return {
        "seniority": seniority(record.title),
        "country": record.country,
        "source": record.source,
        "employees": employees_of(record.employees, record.employees_min, record.employees_max),
        "industry": record.industry,
        "organization country": record.organization_country,
        "fit grade": record.grade,
        "fit score": record.fit_score,
        "days since created": max(_days(cutoff, record.created_at), 0.0),
        "days to first engagement": None if first_touch is None else max(first_touch, 0.0),
    }


def _event_values(lead: _Lead) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kind, (count, _first, latest) in lead.activity.items():
        how_many, how_long = EVENT_COLUMNS[kind]
        values[how_many] = count
        values[how_long] = max(_days(lead.cutoff, latest), 0.0)
    return values


_COUNT_COLUMNS = frozenset(how_many for how_many, _ in EVENT_COLUMNS.values())


def _row(lead: _Lead, columns: Columns) -> list[str | None]:
    values = {**_record_values(lead), **_event_values(lead), **_customs(lead)}
    row: list[str | None] = []
    for name in columns.names:
        value = values.get(name)
        if value is None and name in _COUNT_COLUMNS:
            row.append("0")  # no event of that type: none, not unknown
        elif name in columns.numeric:
            row.append(number_text(_as_number(value)))
        else:
            row.append(_category(value))
    return row


def _table(leads: Sequence[_Lead], columns: Columns) -> Table:
    return Table(list(columns.names), [_row(lead, columns) for lead in leads])


# --- what other modules call -----------------------------------------------------------------------


def training_examples(session: Session, workspace_id: int, until: datetime | None = None) -> Examples:
    """The workspace's decided contacts (outcomes known by ``until``; default: now) as training rows,
    each with features only from events before its own outcome."""
    decided = outcomes(workspace_id, until)
    # Features from before the lead left the queue; the outcome's own moment orders the split.
    population = select(
        decided.c.contact_id,
        decided.c.won,
        decided.c.cutoff.label("decided_at"),
        decided.c.left_queue_at.label("cutoff"),
    ).subquery("examples")
    leads = _gather(session, workspace_id, population)
    columns = choose_columns(leads)
    return Examples(
        table=_table(leads, columns),
        labels=[int(lead.record.won) for lead in leads],
        decided_at=[lead.record.decided_at for lead in leads],
        contact_ids=[lead.contact_id for lead in leads],
        numeric=[name for name in columns.names if name in columns.numeric],
    )


def columns_of(names: Sequence[str], numeric: Iterable[str]) -> Columns:
    """The columns a model reads (its feature names and which hold numbers), to build rows for it."""
    return Columns(tuple(names), frozenset(numeric))


def _at(as_of: datetime) -> ColumnElement[datetime]:
    return literal(as_of, UTCDateTime()).label("cutoff")


def _lead_batches(
    session: Session, workspace_id: int, page: AnySelect, keep: Callable[[int], bool], batch: int
) -> Iterator[list[_Lead]]:
    """Walk ``page`` (contact_id, cutoff; ordered by contact id) ``batch`` contacts at a time,
    keeping the leads ``keep`` accepts."""
    after = 0
    while True:
        gathered = _gather(
            session, workspace_id, page.where(Contact.id > after).limit(batch).subquery("leads")
        )
        if not gathered:
            return
        after = gathered[-1].contact_id
        leads = [lead for lead in gathered if keep(lead.contact_id)]
        if leads:
            yield leads
        if len(gathered) < batch:
            return


def _as_rows(leads: list[_Lead], columns: Columns | None) -> tuple[Table, list[int]]:
    chosen = columns or choose_columns(leads, every_event=True)
    return _table(leads, chosen), [lead.contact_id for lead in leads]


def queue_lead_batches(
    session: Session,
    workspace_id: int,
    as_of: datetime,
    columns: Columns,
    batch: int = DEFAULT_BATCH,
    unscored: bool = False,
) -> Iterator[tuple[Table, list[int]]]:
    """The call queue's leads now (open and parked engagement rows of live contacts; with
    ``unscored``, only those without a prediction yet) as rows of ``columns`` with features as of
    ``as_of``, ``batch`` contacts at a time, by contact id."""
    page = (
        select(Contact.id.label("contact_id"), _at(as_of))
        .join(Engagement, Engagement.contact_id == Contact.id)
        .where(
            Contact.workspace_id == workspace_id,
            Engagement.workspace_id == workspace_id,
            Engagement.queue_state.in_(("open", "parked")),
            Contact.merged_into_id.is_(None),
        )
        .order_by(Contact.id)
    )
    if unscored:
        page = page.where(Engagement.predicted_value.is_(None))
    for leads in _lead_batches(session, workspace_id, page, lambda _id: True, batch):
        yield _as_rows(leads, columns)


def _open_then(session: Session, workspace_id: int, as_of: datetime, batch: int) -> Iterator[list[_Lead]]:
    """The leads open at ``as_of``: live contacts created by then, without an outcome known or a
    deal open then (those are read once, then left out of each batch)."""
    excluded = _pending_or_decided(session, workspace_id, as_of)
    page = (
        select(Contact.id.label("contact_id"), _at(as_of))
        .where(
            Contact.workspace_id == workspace_id,
            Contact.merged_into_id.is_(None),
            Contact.created_at <= as_of,
        )
        .order_by(Contact.id)
    )
    return _lead_batches(session, workspace_id, page, lambda contact_id: contact_id not in excluded, batch)


def open_lead_batches(
    session: Session,
    workspace_id: int,
    as_of: datetime,
    columns: Columns | None = None,
    batch: int = DEFAULT_BATCH,
) -> Iterator[tuple[Table, list[int]]]:
    """The leads that were open at ``as_of`` — live contacts created by then, with no outcome known
    and no deal open then — with features as of ``as_of``, ``batch`` at a time. Give the ``columns``
    a model reads (:func:`columns_of`); without them each batch has the record columns, every event
    type's and the custom fields worth a column among its rows."""
    for leads in _open_then(session, workspace_id, as_of, batch):
        yield _as_rows(leads, columns)


def open_lead_rows(
    session: Session, workspace_id: int, as_of: datetime, columns: Columns | None = None
) -> tuple[Table, list[int]]:
    """Every lead open at ``as_of`` (see :func:`open_lead_batches`) in one table, and their contact
    ids. Without ``columns``, the columns are chosen over all of them."""
    leads = [lead for part in _open_then(session, workspace_id, as_of, DEFAULT_BATCH) for lead in part]
    return _as_rows(leads, columns)
