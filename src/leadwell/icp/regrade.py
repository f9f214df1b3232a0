"""Re-grading the few contacts that just changed, with the same SQL as :func:`grade_all` restricted
to their ids. Contact and organization updates call :func:`regrade_contacts` in their transaction;
imports call :func:`regrade_after_import` once their rows are committed.

Here the changes are few, so each ``fit_changed`` event says in plain words what moved the grade
("organization employees changed from 80 to 120: now grade A (was C)"), from the stored reasons
before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.events.types import validate_properties
from leadwell.icp.definition import Definition, from_document
from leadwell.icp.grading import CONTACTS, EVENTS, Profile, active_profiles
from leadwell.icp.reasons import Graded, change_reason
from leadwell.icp.sql import FITS, grading_statement
from leadwell.icp.store import version_document
from leadwell.scoring.fit_contacts import sync_contacts

CHUNK = 5_000  # ids per statement: well inside SQLite's 32,766 parameters, and short transactions


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def regrade_contacts(session: Session, workspace_id: int, contact_ids: Iterable[int]) -> int:
    """Grade these contacts again against every profile of the workspace; returns how many
    ``fit_changed`` events were written. Cheap when the workspace has no profile (one query)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    session.flush()
    profiles = active_profiles(session, workspace_id)
    if not profiles:
        return 0
    connection = session.connection()
    written = 0
    with _small_statements(connection):
        for chunk in _chunks(ids):
            for profile in profiles:
                written += _regrade(session, connection, workspace_id, profile, chunk)
            sync_contacts(session, workspace_id, chunk)  # best fits into the queue, resurfacing
    return written


@contextmanager
def _small_statements(connection: Connection) -> Iterator[None]:
    """PostgreSQL without JIT compilation for the length of a re-grade, then as it was.

    These statements touch a few rows by key, but the grading statement is long, and right after a
    bulk grading the planner's row estimates for ``fits`` are stale: it then decides to compile the
    query to machine code, which costs 10–30 ms to save microseconds."""
    if connection.dialect.name != "postgresql":
        yield
        return
    previous = connection.scalar(_JIT_OFF)
    try:
        yield
    finally:
        connection.execute(_JIT_BACK, {"value": previous})


# The setting as it was, then off: the fenced subquery reads it before the WHERE clause changes it
# (``SELECT current_setting('jit') FROM set_config(…)`` read it after, and "restored" it to off).
_JIT_OFF = text(
    "SELECT previous FROM (SELECT current_setting('jit') AS previous OFFSET 0) AS before"
    " WHERE set_config('jit', 'off', true) IS NOT NULL"
)
_JIT_BACK = text("SELECT set_config('jit', :value, true)")
# The fits of some contacts, and whether each contact was merged away (its fit then goes).
_BEFORE = (
    select(
        FITS.c.contact_id,
        FITS.c.grade,
        FITS.c.version,
        FITS.c.reasons,
        CONTACTS.c.merged_into_id.is_not(None).label("retired"),
    )
    .join(CONTACTS, CONTACTS.c.id == FITS.c.contact_id)
    .where(FITS.c.icp_id == bindparam("icp_id"), FITS.c.contact_id.in_(bindparam("ids", expanding=True)))
)


def _regrade(
    session: Session, connection: Connection, workspace_id: int, profile: Profile, ids: list[int]
) -> int:
    before = {row.contact_id: row for row in connection.execute(_BEFORE, {"icp_id": profile.id, "ids": ids})}
    retired = [contact_id for contact_id, row in before.items() if row.retired]
    if retired:
        connection.execute(delete(FITS).where(FITS.c.icp_id == profile.id, FITS.c.contact_id.in_(retired)))
    now = utcnow()
    params = {"workspace_id": workspace_id, "icp_id": profile.id, "version": profile.version, "now": now}
    statement = grading_statement(profile.definition, connection.dialect.name, restricted=True)
    # The restricted upsert returns the fits it wrote: new or changed ones only.
    written = connection.execute(statement, {**params, "ids": ids}).all()
    definitions: dict[int, Definition] = {profile.version: profile.definition}
    events = []
    for new in written:
        old = before.get(new.contact_id)
        if old is None or old.grade == new.grade:
            continue  # a first grading, or the same grade: nothing to tell
        if old.version not in definitions:
            definitions[old.version] = from_document(version_document(session, profile.id, old.version))
        why = change_reason(
            profile.slug,
            Graded(old.version, old.grade, definitions[old.version], old.reasons),
            Graded(new.version, new.grade, profile.definition, new.reasons),
        )
        events.append(_event(workspace_id, new.contact_id, profile, old, new, why, now))
    if events:
        connection.execute(insert(EVENTS), events)
    return len(events)


def _event(
    workspace_id: int, contact_id: int, profile: Profile, old: Any, new: Any, why: str, now: Any
) -> dict[str, Any]:
    properties = {
        "icp": profile.slug,
        "from_grade": old.grade,
        "to_grade": new.grade,
        "version": new.version,
        "score": new.score,
        "why": why,
    }
    return {
        "workspace_id": workspace_id,
        "contact_id": contact_id,
        "type": "fit_changed",
        "occurred_at": now,
        "received_at": now,
        "properties": validate_properties("fit_changed", properties),
        "source": "leadwell",
        "campaign": None,
        "idempotency_key": None,
    }


def regrade_after_import(db: Database, workspace_id: int, contact_ids: Iterable[int]) -> int:
    """Grade contacts an import created or changed, after it committed: in chunks of
    :data:`CHUNK` ids, each in its own short transaction. Returns the ``fit_changed`` events written."""
    ids = sorted(set(contact_ids))
    written = 0
    for chunk in _chunks(ids):
        with db.session() as session:
            written += regrade_contacts(session, workspace_id, chunk)
    return written
