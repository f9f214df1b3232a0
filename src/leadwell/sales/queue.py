"""The call queue: who to call now, and why, ordered by expected value.

Expected value = P(sale) × expected deal value. P comes from the lead's fit grade and its
engagement as it stands now (``settings.queue.probability``); the deal value is the settings' one,
or the mean of the workspace's recent won deals once there are enough of them.

A million contacts are never scanned. Candidates are read from the index
``ix_engagements_queue (workspace_id, queue_state, grade, rank_key)``: for each grade A–E and
ungraded, the ``limit`` open leads with the highest ``rank_key`` (the current engagement's order at
any "now"), skipping those not due yet. Within a grade P only grows with engagement, so the best
``limit`` of the whole queue by expected value are among these few lists: merging them is exact.
Nurture contacts whose revisit date has come join them, read from ``ix_engagements_due``; they
leave that state on their next call, so there are few of them (at most :data:`PARKED_SCAN` are read,
oldest revisit date first). Grade F (qualified out) and contacts merged away never appear.

When the workspace has an active predictive model (:mod:`leadwell.predict`), P comes from the
model instead: its probability is stored on each engagement row with the expected value, and one more
part of the same statement reads the ``limit`` due open leads with the highest ``predicted_value``
from ``ix_engagements_predicted``. Leads not scored yet (created since the worker last scored) keep
P from fit and engagement until it does, a few seconds later; they are found by the per-grade parts.

Hot contacts come first: those who replied to an email and have not been called since
(``Engagement.hot_at``, read newest first from ``ix_engagements_hot``), whatever their grade or
retry date — they wrote to us, so even a qualified-out contact gets an answer. Only contacts
worked elsewhere (opportunities, customers, disqualified: queue state ``closed``) stay out. The
next call logged for them clears it; behind them the queue keeps its expected-value order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, Select, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Engagement, Organization, PredictiveModel
from leadwell.db.types import UTCDateTime
from leadwell.errors import InvalidInput
from leadwell.sales.why_now import Lead, explain
from leadwell.scoring.decay import current
from leadwell.scoring.settings import Settings
from leadwell.scoring.store import current_settings

DEFAULT_LIMIT = 25
MAX_LIMIT = 200
GRADES: tuple[str | None, ...] = ("A", "B", "C", "D", "E", None)
PARKED_SCAN = 2_000
# Won deals needed before their mean replaces the configured deal value, and how far back they count.
WON_DEALS_NEEDED = 5
WON_DEALS_DAYS = 365
CENTS = Decimal("0.01")
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns

_CANDIDATE = (
    Engagement.contact_id,
    Engagement.grade,
    Engagement.score,
    Engagement.scored_at,
    Engagement.rank_key,
    Engagement.fit_score,
    Engagement.icp_id,
    Engagement.queue_state,
    Engagement.due_at,
    Engagement.resurfaced_why,
    Engagement.last_outcome,
    Engagement.last_called_at,
    Engagement.hot_at,
    Engagement.hot_why,
    Engagement.predicted_p,
    Engagement.predicted_reasons,
    Engagement.predicted_model_id,
)
# What ranking needs (a lead's place): a fifth of the bytes, and no explanations to feed.
_RANKED = (
    Engagement.contact_id,
    Engagement.grade,
    Engagement.score,
    Engagement.scored_at,
    Engagement.fit_score,
    Engagement.hot_at,
    Engagement.predicted_p,
    Engagement.predicted_model_id,
)
# Queue states a hot contact shows in: closed ones are worked on the pipeline or were ruled out.
HOT_STATES = ("open", "parked")


@dataclass(frozen=True)
class DealValue:
    """The expected deal value and where it comes from: ``settings`` or ``won_deals``."""

    amount: Decimal
    currency: str
    basis: str
    won_deals: int

    @property
    def words(self) -> str:
        """ "mean of 7 won deals in the last 365 days" or "the configured deal value"."""
        if self.basis == "won_deals":
            return f"mean of {self.won_deals} won deals in the last {WON_DEALS_DAYS} days"
        return "the configured deal value"


@dataclass(frozen=True)
class QueueItem:
    """One lead to call, with everything the caller needs on one line."""

    contact_id: int
    name: str
    title: str | None
    organization: str | None
    phones: tuple[str, ...]
    email: str | None
    timezone: str | None
    stage: str
    owner_id: int | None
    grade: str | None
    fit_score: int | None
    engagement: float
    probability: float
    expected_value: Decimal
    deal_value: DealValue
    why_now: tuple[str, ...]
    ask: tuple[str, ...]  # fields to find out, as people say them
    unknown_fields: tuple[str, ...]  # the same as field paths (organization.employees, custom.budget)
    queue_state: str
    resurfaced_why: str | None
    due_at: datetime | None
    last_outcome: str | None
    last_called_at: datetime | None
    # The predictive model's version and reasons when P came from it; None and () for fit × engagement.
    model_version: int | None = None
    model_reasons: tuple[str, ...] = ()

    @property
    def currency(self) -> str:
        """The currency of the expected value."""
        return self.deal_value.currency


@dataclass(frozen=True)
class _Candidate:
    row: Any
    engagement: float
    probability: float
    value: float
    predicted: bool = False


@dataclass(frozen=True)
class ActiveModel:
    """The workspace model whose predictions rank the queue."""

    id: int
    version: int


# The queue's small reads, built once: each queue read or place asks them, and building a statement
# costs more than SQLite takes to run it.
_ACTIVE_MODEL = select(PredictiveModel.id, PredictiveModel.version).where(
    PredictiveModel.workspace_id == bindparam("workspace_id"),
    PredictiveModel.source == "workspace",
    PredictiveModel.active.is_(True),
    PredictiveModel.status == "ready",
)
_WON_DEALS = select(func.count(), func.sum(Deal.value)).where(
    Deal.workspace_id == bindparam("workspace_id"),
    Deal.status == "won",
    Deal.closed_at >= bindparam("since"),
    Deal.currency == bindparam("currency"),
)


def active_model_of(session: Session, workspace_id: int) -> ActiveModel | None:
    """The workspace's active, ready predictive model (None: the queue ranks by fit × engagement)."""
    found = session.execute(_ACTIVE_MODEL, {"workspace_id": workspace_id}).first()
    return ActiveModel(found.id, found.version) if found is not None else None


def check_limit(limit: int, field: str = "limit") -> int:
    """``limit`` if it is 1–:data:`MAX_LIMIT`; :class:`InvalidInput` naming ``field`` otherwise."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"{field}: between 1 and {MAX_LIMIT}", field=field)
    return limit


def expected_deal_value(session: Session, workspace_id: int, settings: Settings, now: datetime) -> DealValue:
    """The mean of the workspace's won deals in the settings' currency over the last year when there
    are at least :data:`WON_DEALS_NEEDED`, else the configured deal value."""
    currency = settings.queue.currency
    since = now - timedelta(days=WON_DEALS_DAYS)
    params = {"workspace_id": workspace_id, "since": since, "currency": currency}
    count, total = session.execute(_WON_DEALS, params).one()
    if count >= WON_DEALS_NEEDED and total is not None:
        mean = (Decimal(total) / count).quantize(CENTS)
        return DealValue(mean, currency, "won_deals", count)
    return DealValue(settings.queue.deal_value, currency, "settings", count)


def _fixed(value: str | int) -> Any:
    """A constant written into the statement's text rather than sent as a parameter. PostgreSQL
    plans a prepared statement once for any parameters only when that plan is as good as one made
    for the values at hand; with the grades and limits as parameters it never is (it guessed 37 ms
    against 0.5 ms), so every execution was planned again, which took twice as long as running it."""
    written = str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"
    return literal_column(written)


def _candidates_part(state: str | tuple[str, ...], owner: bool, columns: tuple[Any, ...]) -> AnySelect:
    in_state = (
        or_(*(Engagement.queue_state == _fixed(one) for one in state))
        if isinstance(state, tuple)
        else Engagement.queue_state == _fixed(state)
    )
    query: AnySelect = (
        select(*columns)
        .join(Contact, Contact.id == Engagement.contact_id)
        .where(
            Engagement.workspace_id == bindparam("workspace_id"),
            in_state,
            Contact.merged_into_id.is_(None),
        )
    )
    if owner:
        query = query.where(Contact.owner_id == bindparam("owner_id"))
    return query


@lru_cache(maxsize=32)
def candidates_statement(
    owner: bool,
    predicted: bool = False,
    ranked_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    revisits: bool = True,
) -> CompoundSelect[Any]:
    """One statement for the candidates: for each grade A–E and ungraded, the top ``limit`` due
    open leads by rank key (one short scan of ``ix_engagements_queue`` each), and the ``limit``
    hot contacts who replied most recently (``ix_engagements_hot``); with ``predicted``, also the
    top ``limit`` due open leads (not qualified out) by the model's expected value
    (``ix_engagements_predicted``); with ``revisits``, the revisits of :func:`revisits_statement`
    too (SQLite; PostgreSQL reads them on their own). Built once per process and limit: putting a
    dozen selects together costs more than running them. Only the workspace, the moment and the
    owner are parameters (see :func:`_fixed`). ``ranked_only`` reads only the columns the order
    needs (:data:`_RANKED`)."""
    columns = _RANKED if ranked_only else _CANDIDATE
    now = bindparam("now", type_=UTCDateTime)
    due = or_(Engagement.due_at.is_(None), Engagement.due_at <= now)
    not_out = or_(Engagement.grade.is_(None), Engagement.grade != _fixed("F"))
    parts = []
    for grade in GRADES:
        same = Engagement.grade == _fixed(grade) if grade is not None else Engagement.grade.is_(None)
        part = _candidates_part("open", owner, columns).where(due, same).order_by(Engagement.rank_key.desc())
        parts.append(part.limit(_fixed(limit)).subquery())
    hot = (
        _candidates_part(HOT_STATES, owner, columns)
        .where(Engagement.hot_at.is_not(None))
        .order_by(Engagement.hot_at.desc())
        .limit(_fixed(limit))
    )
    parts.append(hot.subquery())
    if predicted:
        best = (
            _candidates_part("open", owner, columns)
            .where(due, Engagement.predicted_value.is_not(None), not_out)
            .order_by(Engagement.predicted_value.desc())
            .limit(_fixed(limit))
        )
        parts.append(best.subquery())
    if revisits:
        parts.append(revisits_statement(owner, ranked_only).subquery())
    return union_all(*(select(*part.c) for part in parts))


@lru_cache(maxsize=8)
def revisits_statement(owner: bool, ranked_only: bool = False, moment_in_text: bool = False) -> AnySelect:
    """The nurture contacts whose revisit date has come, oldest date first (``ix_engagements_due``).
    On PostgreSQL a statement of its own, with (``moment_in_text``) the moment written into its
    text, so that it is planned for that moment and never prepared: planned for any moment,
    PostgreSQL expects a third of the parked contacts to be due and starts a parallel worker to
    read them, which took 4–6 ms to find none; planned for the moment at hand it is a short index
    scan."""
    columns = _RANKED if ranked_only else _CANDIDATE
    not_out = or_(Engagement.grade.is_(None), Engagement.grade != _fixed("F"))
    now = bindparam("now", type_=UTCDateTime, literal_execute=moment_in_text)
    return (
        _candidates_part("parked", owner, columns)
        .where(Engagement.due_at <= now, not_out)
        .order_by(Engagement.due_at)
        .limit(_fixed(PARKED_SCAN))
    )


def _candidates(
    session: Session,
    workspace_id: int,
    now: datetime,
    limit: int,
    owner_id: int | None,
    predicted: bool,
    ranked_only: bool = False,
) -> list[Any]:
    params: dict[str, Any] = {"workspace_id": workspace_id, "now": now}
    if owner_id is not None:
        params["owner_id"] = owner_id
    owner = owner_id is not None
    apart = session.get_bind().dialect.name == "postgresql"
    found = list(
        session.execute(candidates_statement(owner, predicted, ranked_only, limit, not apart), params)
    )
    if apart:
        found.extend(session.execute(revisits_statement(owner, ranked_only, moment_in_text=True), params))
    return found


_PEOPLE = (
    select(
        Contact.id,
        Contact.first_name,
        Contact.last_name,
        Contact.email,
        Contact.phones,
        Contact.title,
        Contact.timezone,
        Contact.stage,
        Contact.owner_id,
        Organization.name.label("organization"),
    )
    .outerjoin(Organization, Organization.id == Contact.organization_id)
    .where(Contact.id.in_(bindparam("ids", expanding=True)))
)


def _rank(
    rows: Sequence[Any], settings: Settings, deal: DealValue, now: datetime, model: ActiveModel | None = None
) -> list[_Candidate]:
    """Hot contacts first, most recent reply first; then the rest by expected value (the model's
    P where the active model scored the lead, else P from fit and engagement)."""
    rate, value = settings.decay_rate, float(deal.amount)
    ranked = []
    unique = {row.contact_id: row for row in rows}  # a hot contact is also read by its grade's part
    for row in unique.values():
        engagement = current(row.score, row.scored_at, now, rate)
        predicted = model is not None and row.predicted_model_id == model.id and row.predicted_p is not None
        probability = row.predicted_p if predicted else settings.queue.probability(row.grade, engagement)
        ranked.append(_Candidate(row, engagement, probability, probability * value, predicted))
    hot = [c for c in ranked if c.row.hot_at is not None]
    hot.sort(key=lambda c: (-c.row.hot_at.timestamp(), c.row.contact_id))
    rest = [c for c in ranked if c.row.hot_at is None]
    # Ties (common among leads not engaged yet) go to the better fit, then the older contact.
    rest.sort(key=lambda c: (-c.value, -c.engagement, -(c.row.fit_score or -1), c.row.contact_id))
    return hot + rest


def _first(
    session: Session, workspace_id: int, now: datetime, limit: int, owner_id: int | None, ranked_only: bool
) -> tuple[Settings, DealValue, ActiveModel | None, list[_Candidate]]:
    """The settings, deal value and model the queue ranks with, and its first ``limit`` candidates."""
    check_limit(limit)
    settings = current_settings(session, workspace_id)[1]
    deal = expected_deal_value(session, workspace_id, settings, now)
    model = active_model_of(session, workspace_id)
    rows = _candidates(session, workspace_id, now, limit, owner_id, model is not None, ranked_only)
    return settings, deal, model, _rank(rows, settings, deal, now, model)[:limit]


def queue_place(
    session: Session,
    workspace_id: int,
    contact_id: int,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    owner_id: int | None = None,
) -> int | None:
    """``contact_id``'s place (1 first) among the queue's first ``limit`` leads at ``now``, None
    when it is not among them. The same order as :func:`call_queue`, without reading the leads'
    records and explanations, which cost most of the page."""
    chosen = _first(session, workspace_id, now, limit, owner_id, ranked_only=True)[3]
    return next((n for n, c in enumerate(chosen, 1) if c.row.contact_id == contact_id), None)


def call_queue(
    session: Session,
    workspace_id: int,
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    owner_id: int | None = None,
) -> list[QueueItem]:
    """The ``limit`` leads to call first at ``now``, by expected value, each with why now and what
    to ask; ``owner_id`` keeps one person's contacts only."""
    settings, deal, model, chosen = _first(session, workspace_id, now, limit, owner_id, ranked_only=False)
    if not chosen:
        return []
    ids = [candidate.row.contact_id for candidate in chosen]
    people = {row.id: row for row in session.execute(_PEOPLE, {"ids": ids})}
    leads = [
        Lead(
            c.row.contact_id,
            c.row.icp_id,
            c.row.grade,
            c.row.queue_state,
            c.row.due_at,
            c.row.resurfaced_why,
            c.row.hot_at,
            c.row.hot_why,
            c.probability if c.predicted else None,
            tuple(c.row.predicted_reasons or ()) if c.predicted else (),
        )
        for c in chosen
    ]
    explained = explain(session, workspace_id, leads, settings, now)
    version = model.version if model is not None else None
    return [_item(c, people[c.row.contact_id], deal, explained[c.row.contact_id], version) for c in chosen]


def person_name(contact: Any) -> str:
    """The contact's name as the queue shows it (the email address when there is no name)."""
    return f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"


def _item(candidate: _Candidate, contact: Any, deal: DealValue, told: Any, version: int | None) -> QueueItem:
    row = candidate.row
    return QueueItem(
        contact_id=row.contact_id,
        name=person_name(contact),
        title=contact.title,
        organization=contact.organization,
        phones=tuple(contact.phones or ()),
        email=contact.email,
        timezone=contact.timezone,
        stage=contact.stage,
        owner_id=contact.owner_id,
        grade=row.grade,
        fit_score=row.fit_score,
        engagement=candidate.engagement,
        probability=candidate.probability,
        expected_value=Decimal(repr(candidate.value)).quantize(CENTS),
        deal_value=deal,
        why_now=told.sentences,
        ask=told.ask,
        unknown_fields=told.unknown,
        queue_state=row.queue_state,
        resurfaced_why=row.resurfaced_why,
        due_at=row.due_at,
        last_outcome=row.last_outcome,
        last_called_at=row.last_called_at,
        model_version=version if candidate.predicted else None,
        model_reasons=tuple(row.predicted_reasons or ()) if candidate.predicted else (),
    )
