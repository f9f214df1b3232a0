"""Grading every contact of a workspace in the database (:func:`grade_all`).

A contact whose grade changes (qualified out or back in included) gets a ``fit_changed`` event;
a first grading writes none. :mod:`leadwell.icp.regrade` grades the few contacts that just changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    case,
    column,
    exists,
    func,
    insert,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Base, Icp, IcpVersion
from leadwell.db.types import UTCDateTime, utcnow
from leadwell.icp.definition import Definition, from_document
from leadwell.icp.sql import FITS, grading_statement
from leadwell.icp.sql_values import text as sql_text
from leadwell.icp.store import grade_counts, load_definition
from leadwell.scoring.fit_sync import COUNTED, halves, in_halves, sync_all

ANALYZE_FROM = 50_000  # fits written by one grading that make fresh statistics worth their cost
EVENTS = Base.metadata.tables["events"]
CONTACTS = Base.metadata.tables["contacts"]


@dataclass(frozen=True)
class GradeRun:
    """The outcome of grading one profile: how many contacts, the grade counts, the changes."""

    slug: str
    version: int
    graded: int
    counts: dict[str, int]
    changed: int


@dataclass(frozen=True)
class Profile:
    """A profile as grading needs it: ids, slug, current version and its compiled definition."""

    id: int
    slug: str
    version: int
    definition: Definition


def grade_all(session: Session, workspace_id: int, icp: Icp, engine: Engine | None = None) -> GradeRun:
    """Grade every live contact of the workspace with the profile's current version, in SQL.

    One upsert computes every fit; grade changes since the last grading become ``fit_changed``
    events in one more statement; fits of contacts merged away are removed.

    With ``engine``, on PostgreSQL, the upsert runs as two halves of the contact ids at once on
    connections of their own, each committing: the server then uses both cores; with one profile
    the copy of the fits into the queue's engagement rows too. Only when the session holds no
    uncommitted change to this profile or to engagement rows (the halves cannot see it, and
    would wait for it: the import and ``leadwell icp grade`` call it with a fresh session); the
    fits and their copies are derived data, so a failure between the halves leaves rows that the
    next grading completes."""
    session.flush()
    connection = session.connection()
    profile = Profile(icp.id, icp.slug, icp.current_version, load_definition(session, icp))
    now = utcnow()
    had_fits = bool(connection.scalar(select(exists().where(FITS.c.icp_id == icp.id))))
    if had_fits:
        _remember_grades(connection, icp.id)
    connection.execute(
        FITS.delete().where(
            FITS.c.icp_id == icp.id,
            FITS.c.contact_id.in_(
                select(CONTACTS.c.id).where(
                    CONTACTS.c.workspace_id == workspace_id, CONTACTS.c.merged_into_id.is_not(None)
                )
            ),
        )
    )
    if engine is not None and connection.dialect.name == "postgresql":
        written = _upsert_in_halves(engine, connection, workspace_id, profile, now)
    else:
        statement = grading_statement(profile.definition, connection.dialect.name)
        params = _params(workspace_id, profile, now)
        written = connection.execute(statement, params, execution_options=COUNTED).rowcount
    if written >= ANALYZE_FROM and connection.dialect.name == "postgresql":
        # Autovacuum would take a while to notice: until then the planner's row counts for
        # ``fits`` are those of before, and the statements that follow (copying the grades into
        # the queue, counting them, re-grading one contact) are planned for a table a fraction
        # of its size: nested loops over a million rows.
        connection.exec_driver_sql("ANALYZE fits")
    changed = _record_changes(connection, workspace_id, profile, now) if had_fits else 0
    halved = engine if connection.dialect.name == "postgresql" else None
    sync_all(connection, workspace_id, since=now, engine=halved)  # best fits into the queue, resurfacing
    counts = grade_counts(session, workspace_id, icp.id)
    return GradeRun(icp.slug, icp.current_version, sum(counts.values()), counts, changed)


def _upsert_in_halves(
    engine: Engine, connection: Connection, workspace_id: int, profile: Profile, now: Any
) -> int:
    statement = grading_statement(profile.definition, "postgresql", ranged=True)
    params = _params(workspace_id, profile, now)

    def grade(own: Connection, low: int, high: int) -> int:
        bounded = params | {"low": low, "high": high}
        return own.execute(statement, bounded, execution_options=COUNTED).rowcount

    return in_halves(engine, halves(connection, workspace_id), grade)


def _params(workspace_id: int, profile: Profile, now: Any) -> dict[str, Any]:
    return {"workspace_id": workspace_id, "icp_id": profile.id, "version": profile.version, "now": now}


def _remember_grades(connection: Connection, icp_id: int) -> None:
    """Copy the current grades aside (a temporary table of this connection) to compare afterwards."""
    key = "INTEGER" if connection.dialect.name == "sqlite" else "BIGINT"
    connection.execute(text("DROP TABLE IF EXISTS icp_previous"))
    connection.execute(
        text(
            f"CREATE TEMPORARY TABLE icp_previous "
            f"(contact_id {key} PRIMARY KEY, grade CHAR(1), version INTEGER)"
        )
    )
    connection.execute(
        text(
            "INSERT INTO icp_previous (contact_id, grade, version) "
            "SELECT contact_id, grade, version FROM fits WHERE icp_id = :icp"
        ),
        {"icp": icp_id},
    )


def _record_changes(connection: Connection, workspace_id: int, profile: Profile, now: Any) -> int:
    """One ``fit_changed`` event per contact whose grade differs from the remembered one."""
    old = table("icp_previous", column("contact_id"), column("grade"), column("version"))
    build = func.jsonb_build_object if connection.dialect.name == "postgresql" else func.json_object
    cause = case(
        (
            old.c.version != profile.version,
            sql_text(f"ICP {profile.slug} changed to version {profile.version}"),
        ),
        else_=sql_text("regraded"),
    )
    why = cause + sql_text(": now grade ") + FITS.c.grade + sql_text(" (was ") + old.c.grade + sql_text(")")
    pairs = {
        "icp": sql_text(profile.slug),
        "from_grade": old.c.grade,
        "to_grade": FITS.c.grade,
        "version": FITS.c.version,
        "score": FITS.c.score,
        "why": why,
    }
    properties = build(*(item for key, value in pairs.items() for item in (sql_text(key), value)))
    moment = literal(now, UTCDateTime())
    source = (
        select(
            literal(workspace_id, BigInteger()),
            FITS.c.contact_id,
            sql_text("fit_changed"),
            moment,
            moment,
            properties,
            sql_text("leadwell"),
        )
        .select_from(FITS.join(old, old.c.contact_id == FITS.c.contact_id))
        .where(FITS.c.icp_id == profile.id, FITS.c.grade != old.c.grade)
    )
    columns = ["workspace_id", "contact_id", "type", "occurred_at", "received_at", "properties", "source"]
    statement = insert(EVENTS).from_select(columns, source)
    result = connection.execute(statement.execution_options(preserve_rowcount=True))
    connection.execute(text("DROP TABLE IF EXISTS icp_previous"))
    return result.rowcount


def active_profiles(session: Session, workspace_id: int) -> list[Profile]:
    """Every profile of the workspace with its current definition, in one query (by slug)."""
    rows = session.execute(
        select(Icp.id, Icp.slug, Icp.current_version, IcpVersion.definition)
        .join(IcpVersion, and_(IcpVersion.icp_id == Icp.id, IcpVersion.version == Icp.current_version))
        .where(Icp.workspace_id == workspace_id)
        .order_by(Icp.slug)
    )
    return [Profile(row.id, row.slug, row.current_version, from_document(row.definition)) for row in rows]
