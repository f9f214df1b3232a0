"""Merging two contacts into one, and undoing it.

A merge keeps the *survivor* and retires the *merged* contact (``merged_into_id`` points at the
survivor, so old links still lead somewhere). Fields are combined by fixed rules (see
:func:`merged_fields`), the merged contact's addresses, events, deals, capture records (form
submissions, consents, browsers, reading progress), outreach (enrollments, messages, replies) and
experiment assignments move to the survivor, and a :class:`ContactMerge` row keeps what both looked
like before, so :func:`undo_merge` can put back exactly what was there. The merge itself writes no
event (the merge row is the history); where both walk the same sequence, the merged contact's walk
stops with a ``sequence_finished`` event (reason ``merged``).

Both functions work inside the caller's transaction and check everything before writing, so an
error leaves nothing half-done (the caller rolls back on any database error).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from leadwell.contacts.dedupe_sql import in_values
from leadwell.db.models import (
    LIFECYCLE_STAGES,
    Consent,
    Contact,
    ContactEmail,
    ContactMerge,
    Deal,
    DuplicateCandidate,
    Enrollment,
    Event,
    ExperimentAssignment,
    FormSubmission,
    InboundMessage,
    OutboxMessage,
    Reading,
    Visitor,
)
from leadwell.db.types import UTCDateTime, utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.experiments.assignment import move_assignments
from leadwell.icp.regrade import regrade_contacts
from leadwell.outreach.stops import stop_enrollments
from leadwell.scoring.fit_contacts import follow_merge

SNAPSHOT_VERSION = 1
# Single values: the survivor's when the other has none, the other's when the survivor has none,
# and the more recently updated contact's when both have one.
SINGLE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "timezone",
    "organization_id",
    "owner_id",
)
# Provenance stays the survivor's: it says where *that* record came from.
FILLED_FIELDS = ("source", "import_id")
PROGRESS = LIFECYCLE_STAGES[: LIFECYCLE_STAGES.index("customer") + 1]
_NOT_SNAPSHOTTED = ("id", "workspace_id")
_T = TypeVar("_T")
# Rows that follow their contact into the survivor, under the snapshot key that lists their ids.
Owned = (
    type[Event]
    | type[Deal]
    | type[FormSubmission]
    | type[Consent]
    | type[Visitor]
    | type[Reading]
    | type[Enrollment]
    | type[OutboxMessage]
    | type[InboundMessage]
    | type[ExperimentAssignment]
)
MOVED: tuple[tuple[Owned, str], ...] = (
    (Event, "events"),
    (Deal, "deals"),
    (FormSubmission, "submissions"),
    (Consent, "consents"),
    (Visitor, "visitors"),
    (Reading, "readings"),
    (Enrollment, "enrollments"),
    (OutboxMessage, "messages"),
    (InboundMessage, "inbound"),
)
# Undoing also puts back the experiment assignments the merge moved (see ``move_assignments``: where
# both were assigned in one experiment, the survivor's stays and the other's is gone for good).
UNDONE: tuple[tuple[Owned, str], ...] = (*MOVED, (ExperimentAssignment, "assignments"))


def _columns() -> list[tuple[str, bool]]:
    """Every contact column (its attribute key, and whether it holds a datetime)."""
    mapper = sa_inspect(Contact)
    return [
        (attr.key, isinstance(attr.columns[0].type, UTCDateTime))
        for attr in mapper.column_attrs
        if attr.key not in _NOT_SNAPSHOTTED
    ]


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    """Every column of ``contact`` as JSON-safe values (datetimes as ISO text)."""
    values: dict[str, Any] = {}
    for key, is_time in _columns():
        value = getattr(contact, key)
        if is_time and value is not None:
            value = value.isoformat()
        elif isinstance(value, list | dict):
            value = _copy(value)
        values[key] = value
    return values


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value, so snapshots never share lists or dicts with live rows."""
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def _restore(contact: Contact, values: dict[str, Any]) -> None:
    """Put back the columns of a snapshot (columns added since the merge keep their value)."""
    for key, is_time in _columns():
        if key not in values:
            continue
        value = values[key]
        if is_time and value is not None:
            value = datetime.fromisoformat(value)
        setattr(contact, key, _copy(value))


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _pick(survivor_value: Any, other_value: Any, other_is_newer: bool) -> Any:
    if _empty(other_value):
        return survivor_value
    if _empty(survivor_value) or other_is_newer:
        return other_value
    return survivor_value


def _union(first: Sequence[str], second: Sequence[str], fold: bool = False) -> list[str]:
    """Both lists in order, each value once (compared without case when ``fold``)."""
    seen: set[str] = set()
    kept: list[str] = []
    for value in [*first, *second]:
        key = value.casefold() if fold else value
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def merged_stage(first: str, second: str) -> str:
    """The furthest stage along subscriber … customer; disqualified only when both are."""
    if first == second == "disqualified":
        return first
    live = [stage for stage in (first, second) if stage != "disqualified"]
    return max(live, key=lambda stage: PROGRESS.index(stage) if stage in PROGRESS else -1)


def _consent(survivor: Contact, other: Contact) -> tuple[str, datetime | None]:
    """An opt-out anywhere wins (never mail someone who said no); then opt-in beats unknown."""
    for value in ("opted_out", "opted_in"):
        holders = [c for c in (survivor, other) if c.consent == value]
        if holders:
            moments = [c.consent_at for c in holders if c.consent_at is not None]
            return value, moments[0] if moments else None
    return survivor.consent, survivor.consent_at


def merged_fields(survivor: Contact, other: Contact) -> dict[str, Any]:
    """The survivor's new column values (emails aside) when ``other`` is merged into it."""
    # Ties go to the survivor: the person choosing it had a reason.
    other_is_newer = other.updated_at > survivor.updated_at
    values: dict[str, Any] = {
        name: _pick(getattr(survivor, name), getattr(other, name), other_is_newer) for name in SINGLE_FIELDS
    }
    for name in FILLED_FIELDS:
        values[name] = _pick(getattr(survivor, name), getattr(other, name), False)
    values["phones"] = _union(survivor.phones, other.phones)
    values["tags"] = _union(survivor.tags, other.tags, fold=True)
    custom = dict(survivor.custom)
    for key, value in other.custom.items():
        if key not in custom or other_is_newer:
            custom[key] = value
    values["custom"] = custom
    values["stage"] = merged_stage(survivor.stage, other.stage)
    values["consent"], values["consent_at"] = _consent(survivor, other)
    values["created_at"] = min(survivor.created_at, other.created_at)
    return values


def _locked(query: Select[_T], session: Session) -> Select[_T]:
    """Row locks on PostgreSQL (two people merging the same contact wait for each other)."""
    return query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query


def _live_contact(session: Session, workspace_id: int, contact_id: int, field: str) -> Contact:
    query = select(Contact).where(Contact.id == contact_id, Contact.workspace_id == workspace_id)
    contact = session.scalar(_locked(query, session))
    if contact is None:
        raise NotFound(f"{field}: no such contact in this workspace", field=field)
    if contact.merged_into_id is not None:
        raise InvalidInput(f"{field}: this contact was already merged into another one", field=field)
    return contact


def _email_rows(session: Session, contact_ids: Collection[int]) -> list[ContactEmail]:
    query = select(ContactEmail).where(ContactEmail.contact_id.in_(contact_ids))
    return list(session.scalars(query.order_by(ContactEmail.position, ContactEmail.id)))


def _email_snapshot(rows: Sequence[ContactEmail]) -> list[dict[str, Any]]:
    return [{"id": r.id, "contact_id": r.contact_id, "email": r.email, "position": r.position} for r in rows]


def _move_emails(session: Session, survivor: Contact, other: Contact, rows: list[ContactEmail]) -> None:
    """The survivor's addresses, then the other's, numbered 0, 1, 2…; the first is primary."""
    ordered = [r for r in rows if r.contact_id == survivor.id] + [r for r in rows if r.contact_id == other.id]
    for position, row in enumerate(ordered):
        row.contact_id, row.position = survivor.id, position
    survivor.email = ordered[0].email if ordered else None
    session.flush()
    # The rows moved under the relationship's feet; reload it on next use.
    session.expire(survivor, ["emails"])
    session.expire(other, ["emails"])


def _reassign(session: Session, model: Owned, source: Contact, target: Contact) -> list[int]:
    """Point every row of ``model`` owned by ``source`` at ``target``; returns the moved ids.

    A contact has one reading per asset, so where both read the same asset the survivor keeps its
    own and the merged contact's stays behind (undo finds it untouched)."""
    statement = update(model).where(model.workspace_id == source.workspace_id, model.contact_id == source.id)
    if model is Reading:
        survivors_assets = select(Reading.asset_id).where(Reading.contact_id == target.id)
        statement = statement.where(Reading.asset_id.not_in(survivors_assets.scalar_subquery()))
    if model is Enrollment:  # likewise one enrollment per contact and sequence
        survivors_sequences = select(Enrollment.sequence_id).where(Enrollment.contact_id == target.id)
        statement = statement.where(Enrollment.sequence_id.not_in(survivors_sequences.scalar_subquery()))
    statement = (
        statement.values(contact_id=target.id)
        .returning(model.id)
        .execution_options(synchronize_session="fetch")
    )
    return sorted(session.scalars(statement).all())


def _stop_twin_enrollments(session: Session, workspace_id: int, survivor: Contact, other: Contact) -> None:
    """Where both walk the same sequence, the survivor goes on and the other's walk stops, so one
    person never gets a step twice (an undo leaves it stopped)."""
    shared = select(Enrollment.sequence_id).where(Enrollment.contact_id == survivor.id).scalar_subquery()
    twins = session.scalars(
        select(Enrollment.sequence_id).where(
            Enrollment.contact_id == other.id,
            Enrollment.status == "active",
            Enrollment.sequence_id.in_(shared),
        )
    ).all()
    for sequence_id in twins:
        stop_enrollments(session, workspace_id, other.id, "merged", utcnow(), sequence_id=sequence_id)


def merge_contacts(
    session: Session,
    workspace_id: int,
    survivor_id: int,
    merged_id: int,
    merged_by_id: int | None = None,
) -> ContactMerge:
    """Merge contact ``merged_id`` into ``survivor_id`` and return the record that can undo it.

    Raises :class:`NotFound` or :class:`InvalidInput` naming ``survivor_id``/``merged_id`` when
    either is not a live contact of the workspace, or both are the same.
    """
    if survivor_id == merged_id:
        raise InvalidInput("merged_id: a contact cannot be merged into itself", field="merged_id")
    # Lock in id order, so two merges of the same pair cannot deadlock.
    fields = {survivor_id: "survivor_id", merged_id: "merged_id"}
    loaded = {n: _live_contact(session, workspace_id, n, fields[n]) for n in sorted(fields)}
    survivor, other = loaded[survivor_id], loaded[merged_id]
    rows = _email_rows(session, (survivor.id, other.id))
    snapshot: dict[str, Any] = {
        "version": SNAPSHOT_VERSION,
        "survivor": contact_snapshot(survivor),
        "merged": contact_snapshot(other),
        "emails": _email_snapshot(rows),
    }
    for name, value in merged_fields(survivor, other).items():
        setattr(survivor, name, value)
    _move_emails(session, survivor, other, rows)
    _stop_twin_enrollments(session, workspace_id, survivor, other)
    for model, key in MOVED:
        snapshot[key] = _reassign(session, model, other, survivor)
    snapshot["assignments"] = move_assignments(session, workspace_id, other.id, survivor.id)
    snapshot["candidates"] = _close_candidates(session, workspace_id, survivor.id, other.id)
    now = utcnow()
    survivor.updated_at = other.updated_at = now
    other.merged_into_id = survivor.id
    snapshot["survivor_updated_at"] = now.isoformat()
    record = ContactMerge(
        workspace_id=workspace_id,
        survivor_id=survivor.id,
        merged_id=other.id,
        snapshot=snapshot,
        merged_by_id=merged_by_id,
        created_at=now,
    )
    session.add(record)
    session.flush()
    regrade_contacts(session, workspace_id, (survivor.id, other.id))  # the merged one's fit goes
    follow_merge(session, workspace_id, (survivor.id, other.id))  # the merged one leaves the queue
    return record


def _close_candidates(session: Session, workspace_id: int, first: int, second: int) -> list[int]:
    """Mark the open duplicate candidate of this pair as merged; returns the ids changed."""
    statement = (
        update(DuplicateCandidate)
        .where(
            DuplicateCandidate.workspace_id == workspace_id,
            DuplicateCandidate.contact_a_id == min(first, second),
            DuplicateCandidate.contact_b_id == max(first, second),
            DuplicateCandidate.status == "open",
        )
        .values(status="merged")
        .returning(DuplicateCandidate.id)
        .execution_options(synchronize_session="fetch")
    )
    return sorted(session.scalars(statement).all())


def undo_blockers(session: Session, workspace_id: int, merges: Sequence[ContactMerge]) -> dict[int, int]:
    """For each merge that cannot be undone yet, the later merge (still in force) that blocks it.

    Merges are undone in reverse order: once a contact took part in a later merge, putting back an
    earlier snapshot would silently throw that later merge's result away.
    """
    contacts = {n for m in merges for n in (m.survivor_id, m.merged_id)}
    if not merges:
        return {}
    later = session.execute(
        select(ContactMerge.id, ContactMerge.survivor_id, ContactMerge.merged_id).where(
            ContactMerge.workspace_id == workspace_id,
            ContactMerge.undone_at.is_(None),
            ContactMerge.id > min(m.id for m in merges),
            or_(ContactMerge.survivor_id.in_(contacts), ContactMerge.merged_id.in_(contacts)),
        )
    ).all()
    blockers: dict[int, int] = {}
    for merge in merges:
        involved = {merge.survivor_id, merge.merged_id}
        found = [n for n, s, m in later if n > merge.id and {s, m} & involved]
        if found and merge.undone_at is None:
            blockers[merge.id] = max(found)
    return blockers


def get_merge(session: Session, workspace_id: int, merge_id: int) -> ContactMerge:
    """The merge with this id in this workspace, else :class:`NotFound` naming ``merge_id``."""
    query = select(ContactMerge).where(ContactMerge.id == merge_id, ContactMerge.workspace_id == workspace_id)
    merge = session.scalar(_locked(query, session))
    if merge is None:
        raise NotFound("merge_id: no such merge in this workspace", field="merge_id")
    return merge


def undo_merge(session: Session, workspace_id: int, merge_id: int) -> None:
    """Put both contacts back exactly as they were before merge ``merge_id``.

    Columns, addresses, events and deals return to where the snapshot says; changes made to the
    survivor after the merge are replaced by its pre-merge values. Raises :class:`InvalidInput` when
    the merge was already undone or a later merge involving either contact is still in force.
    """
    merge = get_merge(session, workspace_id, merge_id)
    if merge.undone_at is not None:
        raise InvalidInput("merge_id: this merge was already undone", field="merge_id")
    blocker = undo_blockers(session, workspace_id, [merge]).get(merge.id)
    if blocker is not None:
        raise InvalidInput(
            f"merge_id: a later merge (#{blocker}) involves these contacts; undo it first", field="merge_id"
        )
    snapshot = merge.snapshot
    ids = sorted((merge.survivor_id, merge.merged_id))
    query = select(Contact).where(Contact.workspace_id == workspace_id, Contact.id.in_(ids))
    contacts = {c.id: c for c in session.scalars(_locked(query, session))}
    survivor, merged = contacts[merge.survivor_id], contacts[merge.merged_id]
    _restore(survivor, snapshot["survivor"])
    _restore(merged, snapshot["merged"])
    _restore_emails(session, workspace_id, snapshot["emails"])
    session.expire(survivor, ["emails"])
    session.expire(merged, ["emails"])
    for model, key in UNDONE:
        # Merges recorded before capture existed list only events and deals.
        session.execute(
            update(model)
            .where(in_values(session, model.id, snapshot.get(key, [])), model.contact_id == survivor.id)
            .where(model.workspace_id == workspace_id)
            .values(contact_id=merged.id)
            .execution_options(synchronize_session="fetch")
        )
    session.execute(
        update(DuplicateCandidate)
        .where(in_values(session, DuplicateCandidate.id, snapshot["candidates"]))
        .where(DuplicateCandidate.workspace_id == workspace_id, DuplicateCandidate.status == "merged")
        .values(status="open")
        .execution_options(synchronize_session="fetch")
    )
    merge.undone_at = utcnow()
    session.flush()
    regrade_contacts(session, workspace_id, (survivor.id, merged.id))
    follow_merge(session, workspace_id, (survivor.id, merged.id))  # back in the queue per stage


def _restore_emails(session: Session, workspace_id: int, recorded: list[dict[str, Any]]) -> None:
    """Each recorded address back on its contact at its position (re-created if deleted since)."""
    addresses = [row["email"] for row in recorded]
    existing = {
        row.email: row
        for row in session.scalars(
            select(ContactEmail).where(
                ContactEmail.workspace_id == workspace_id, ContactEmail.email.in_(addresses)
            )
        )
    }
    for row in recorded:
        current = existing.get(row["email"])
        if current is None:
            current = ContactEmail(workspace_id=workspace_id, email=row["email"])
            session.add(current)
        current.contact_id, current.position = row["contact_id"], row["position"]
    session.flush()
