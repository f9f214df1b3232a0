"""Engagement rows kept in step with contacts and their fits.

Every live contact has one engagement row, carrying a copy of its best fit across the workspace's
profiles: the highest score not qualified out, or, when every profile qualifies it out, grade F of
the highest (ties go to the profile created first). The call queue reads grades from here, one index
scan per grade, instead of joining a million fits.

Grading calls :func:`sync_all` (one profile graded for everyone: set-based, in SQL) or
:func:`leadwell.scoring.fit_contacts.sync_contacts` (a few contacts re-graded). When a grade
improves for a contact in nurture ("organization employees changed from 80 to 120: now grade A
(was C)") the contact comes back to the call queue with that reason, as engaged nurture contacts
do (:mod:`leadwell.scoring.requalify`), and the stage rules run for the contacts whose fit
changed. A contact qualified out (F) while in the queue stays where it is: the queue skips grade
F, and a person decides its stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    String,
    Subquery,
    Table,
    Text,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Base
from leadwell.db.session import Database
from leadwell.db.types import UTCDateTime, utcnow
from leadwell.scoring.decay import ZERO_RANK
from leadwell.scoring.rows import CLOSED_STAGES, PARKED_STAGES
from leadwell.scoring.settings import Settings
from leadwell.scoring.stage_sql import (
    CONTACTS,
    ENGAGEMENTS,
    EVENTS,
    MOVES,
    TEMPORARY_TABLES,
    analyze,
    apply_rules_sql,
    contact_key,
    temporary,
    write_moves,
)
from leadwell.scoring.store import current_settings

FITS = Base.metadata.tables["fits"]
ICPS = Base.metadata.tables["icps"]
CHUNK = 5_000  # ids per statement: inside SQLite's parameter limit, and short transactions
DENSE = 2  # a chunk spanning under twice its length in ids is read as a range
REGRADED = Table(
    "lw_regraded",
    TEMPORARY_TABLES,
    contact_key(),
    prefixes=["TEMPORARY"],
)
BEST = Table(
    "lw_best_fits",
    TEMPORARY_TABLES,
    contact_key(),
    Column("grade", String(1)),
    Column("score", Integer),
    Column("icp_id", BigInteger),
    prefixes=["TEMPORARY"],
)
# Contacts whose copied fit differs from their best fit now: old grade, new values.
CHANGED = Table(
    "lw_fit_changes",
    TEMPORARY_TABLES,
    contact_key(),
    Column("old_grade", String(1)),
    Column("grade", String(1)),
    Column("score", Integer),
    Column("icp_id", BigInteger),
    prefixes=["TEMPORARY"],
)
COUNTED = {"preserve_rowcount": True}
MISSING = Table(
    "lw_missing_engagements",
    TEMPORARY_TABLES,
    contact_key(),
    prefixes=["TEMPORARY"],
)
RESURFACED = Table(
    "lw_resurfaced",
    TEMPORARY_TABLES,
    contact_key(),
    Column("why", Text),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class Synced:
    """What a sync did: copied fits that changed, contacts resurfaced, automatic stage moves."""

    changed: int
    resurfaced: int
    moved: int


def queue_state_sql() -> ColumnElement[str]:
    """:func:`leadwell.scoring.rows.queue_state_for` of ``contacts.stage``, in SQL."""
    return case(
        (CONTACTS.c.stage.in_(sorted(CLOSED_STAGES)), literal("closed", String)),
        (CONTACTS.c.stage.in_(sorted(PARKED_STAGES)), literal("parked", String)),
        else_=literal("open", String),
    )


def insert_missing(
    connection: Connection,
    workspace_id: int,
    ids: Sequence[int] | Select[Any] | None = None,
    span: bool = False,
    bounds: tuple[int, int] | None = None,
    now: datetime | None = None,
) -> int:
    """Create the engagement rows live contacts lack (of ``ids``, or the whole workspace, or the
    contact ids within ``bounds``) with a zero score and the queue state their stage implies;
    returns how many were created. With ``span``, every contact from the least to the greatest of
    ``ids`` is looked at: for the dense ranges of ids an import creates, a range scan costs a
    fraction of matching thousands of bound ids."""
    lacking = select(CONTACTS.c.id).where(
        CONTACTS.c.workspace_id == workspace_id,
        CONTACTS.c.merged_into_id.is_(None),
        ~select(ENGAGEMENTS.c.contact_id).where(ENGAGEMENTS.c.contact_id == CONTACTS.c.id).exists(),
    )
    if isinstance(ids, Sequence) and span:
        bounds = (min(ids), max(ids))
    if bounds is not None:
        lacking = lacking.where(CONTACTS.c.id.between(*bounds))
    elif ids is not None:
        lacking = lacking.where(CONTACTS.c.id.in_(ids))
    # Found first, inserted second: a PostgreSQL planner that believes ``engagements`` empty (a
    # new workspace's first grading) answers NOT EXISTS with a scan of it per contact, and inside
    # the INSERT that scan also reads every row the statement has written so far: quadratic.
    with temporary(connection, MISSING):
        found = connection.execute(
            insert(MISSING).from_select(["contact_id"], lacking).execution_options(preserve_rowcount=True)
        ).rowcount
        if not found:
            return 0
        analyze(connection, MISSING, found)
        written = literal(now or utcnow(), UTCDateTime())
        source = select(
            CONTACTS.c.id, CONTACTS.c.workspace_id, literal(0.0), literal(ZERO_RANK), literal(0),
            queue_state_sql(), written,
        ).where(CONTACTS.c.id == MISSING.c.contact_id)  # fmt: skip
        columns = ["contact_id", "workspace_id", "score", "rank_key", "version", "queue_state", "updated_at"]
        result = connection.execute(
            insert(ENGAGEMENTS).from_select(columns, source).execution_options(preserve_rowcount=True)
        )
    return max(result.rowcount, 0)


def ensure_engagement_rows(db: Database, workspace_id: int, ids: Iterable[int]) -> int:
    """Engagement rows for contacts just written in bulk (an import), in chunks of :data:`CHUNK`
    ids, each in its own short transaction; returns how many were created. A chunk whose ids are
    dense (new contacts, numbered in a row) is matched as a range of ids."""
    ordered = sorted(set(ids))
    created = 0
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        dense = chunk[-1] - chunk[0] < DENSE * len(chunk)
        with db.engine.begin() as connection:
            created += insert_missing(connection, workspace_id, chunk, span=dense)
    return created


def sync_all(
    connection: Connection,
    workspace_id: int,
    settings: Settings | None = None,
    now: datetime | None = None,
    since: datetime | None = None,
    engine: Engine | None = None,
) -> Synced:
    """Bring every live contact's engagement row in line with its fits (after a full grading).

    With ``since`` (the grading's start), only contacts with a fit graded from then on are looked
    at: grading writes only the fits it changes, so nobody else's best fit can have moved (and
    only they get a missing engagement row created). With ``engine`` too, on PostgreSQL with one
    profile, the fits are copied in two halves of the contact ids at once, on connections of their
    own, each committing (see :func:`halves`)."""
    if since is None:
        insert_missing(connection, workspace_id)
    return _sync(connection, workspace_id, settings, now, since, engine)


def halves(connection: Connection, workspace_id: int) -> list[tuple[int, int]]:
    """The workspace's contact ids as two ranges, for work run on both cores at once.

    Each half runs on a connection of its own and commits: only for derived data (fits, their
    copies in the queue), which the next grading completes if a failure stops the rest."""
    low, high = connection.execute(
        select(func.min(CONTACTS.c.id), func.max(CONTACTS.c.id)).where(
            CONTACTS.c.workspace_id == workspace_id
        )
    ).one()
    if low is None:
        return []
    middle = (low + high) // 2
    return [(low, middle), (middle + 1, high)]


def in_halves(
    engine: Engine, parts: list[tuple[int, int]], work: Callable[[Connection, int, int], int]
) -> int:
    """Run ``work(connection, low, high)`` for each part at once, each in its own transaction;
    returns the sum of what they return."""

    def run(bounds: tuple[int, int]) -> int:
        with engine.begin() as own:
            return work(own, *bounds)

    with ThreadPoolExecutor(max_workers=len(parts) or 1) as pool:
        return sum(pool.map(run, parts))


def best_fits(workspace_id: int, ids: Sequence[int] | Select[Any] | None = None) -> Subquery:
    """Each contact's best fit (of ``ids``, which must be the workspace's, or the whole workspace):
    not qualified out first, then the highest score, then the oldest profile (the order migration
    0005 copied grades in)."""
    order = (FITS.c.qualified_out, FITS.c.score.desc(), FITS.c.icp_id)
    place = func.row_number().over(partition_by=FITS.c.contact_id, order_by=order).label("place")
    ranked = select(FITS.c.contact_id, FITS.c.grade, FITS.c.score, FITS.c.icp_id, place)
    if ids is None:
        ranked = ranked.where(FITS.c.workspace_id == workspace_id)
    else:
        # The ids are the workspace's already; with the workspace named too, a PostgreSQL planner
        # whose statistics lag a big grading intersects the primary key with a scan of the whole
        # workspace's index (30 ms at a million fits instead of 0.05).
        ranked = ranked.where(FITS.c.contact_id.in_(ids))
    return ranked.subquery("ranked")


def _sync(
    connection: Connection,
    workspace_id: int,
    settings: Settings | None,
    now: datetime | None,
    since: datetime | None,
    engine: Engine | None = None,
) -> Synced:
    moment = now or utcnow()
    with temporary(connection, REGRADED, BEST, CHANGED, RESURFACED):
        pg = connection.dialect.name == "postgresql"
        if since is not None and pg and _profiles(connection, workspace_id) == 1:
            changed = _copy_own_fits(connection, workspace_id, since, moment, engine)
            if not changed:
                return Synced(0, 0, 0)
            resurfaced = _resurface(connection, workspace_id, moment)
        else:
            changed = _collect_changes(connection, workspace_id, since)
            if not changed:
                return Synced(0, 0, 0)
            resurfaced = _resurface(connection, workspace_id, moment)
            connection.execute(
                update(ENGAGEMENTS)
                .where(ENGAGEMENTS.c.contact_id == CHANGED.c.contact_id)
                .values(
                    grade=CHANGED.c.grade, fit_score=CHANGED.c.score, icp_id=CHANGED.c.icp_id,
                    updated_at=moment,
                )
            )  # fmt: skip
        if settings is None:
            with Session(bind=connection) as reader:
                settings = current_settings(reader, workspace_id)[1]
        # The whole workspace: one pass over it costs less than listing the changed contacts.
        moved = apply_rules_sql(connection, workspace_id, settings, moment)
        if resurfaced:
            connection.execute(
                update(ENGAGEMENTS)
                .where(ENGAGEMENTS.c.contact_id == RESURFACED.c.contact_id)
                .values(resurfaced_why=RESURFACED.c.why, resurfaced_at=moment, due_at=None)
            )
    return Synced(changed, resurfaced, moved)


def _profiles(connection: Connection, workspace_id: int) -> int:
    return int(connection.scalar(select(func.count()).where(ICPS.c.workspace_id == workspace_id)) or 0)


def _copy_own_fits(
    connection: Connection, workspace_id: int, since: datetime, moment: datetime, engine: Engine | None
) -> int:
    """With one profile, a contact's best fit is its fit: copy the fits graded from ``since`` on
    straight into the engagement rows (one UPDATE … FROM), and keep in ``lw_fit_changes`` only the
    contacts that may resurface (parked in nurture, grade improving), read before the copy
    overwrites their old grade. Returns how many rows changed.

    On PostgreSQL, ranking every fit into ``lw_best_fits`` and comparing every row into
    ``lw_fit_changes`` first cost as much again as the copy (a million contacts: 5.5 of 22 s).
    SQLite is better off with those keyed tables, filled in contact order: its UPDATE … FROM
    reads the fits through their workspace index, in score order (6.7 s instead of 5.7).

    With ``engine``, the copy runs in :func:`halves` (a million contacts: 8.3 s on one core), and
    only then are missing engagement rows created and filled here: the halves cannot see rows
    this connection has not committed."""
    fresh = and_(FITS.c.workspace_id == workspace_id, FITS.c.graded_at >= literal(since, UTCDateTime()))
    if engine is None:
        insert_missing(connection, workspace_id, select(FITS.c.contact_id).where(fresh))
    may_resurface = (
        select(ENGAGEMENTS.c.contact_id, ENGAGEMENTS.c.grade, FITS.c.grade, FITS.c.score, FITS.c.icp_id)
        .select_from(
            FITS.join(ENGAGEMENTS, ENGAGEMENTS.c.contact_id == FITS.c.contact_id).join(
                CONTACTS, CONTACTS.c.id == FITS.c.contact_id
            )
        )
        .where(
            fresh,
            ENGAGEMENTS.c.queue_state == "parked",
            CONTACTS.c.stage == "nurture",
            FITS.c.grade < ENGAGEMENTS.c.grade,  # A < B < … < F: a better grade sorts first
        )
    )
    columns = ["contact_id", "old_grade", "grade", "score", "icp_id"]
    connection.execute(insert(CHANGED).from_select(columns, may_resurface))
    differs = (
        ENGAGEMENTS.c.grade.is_distinct_from(FITS.c.grade)
        | ENGAGEMENTS.c.fit_score.is_distinct_from(FITS.c.score)
        | ENGAGEMENTS.c.icp_id.is_distinct_from(FITS.c.icp_id)
    )
    copy = (
        update(ENGAGEMENTS)
        .where(ENGAGEMENTS.c.contact_id == FITS.c.contact_id, fresh, differs)
        .values(grade=FITS.c.grade, fit_score=FITS.c.score, icp_id=FITS.c.icp_id, updated_at=moment)
    )
    if engine is None:
        return max(connection.execute(copy, execution_options=COUNTED).rowcount, 0)

    def copy_part(own: Connection, low: int, high: int) -> int:
        part = copy.where(FITS.c.contact_id.between(low, high))
        return max(own.execute(part, execution_options=COUNTED).rowcount, 0)

    copied = in_halves(engine, halves(connection, workspace_id), copy_part)
    if insert_missing(connection, workspace_id, select(FITS.c.contact_id).where(fresh)):
        copied += max(connection.execute(copy, execution_options=COUNTED).rowcount, 0)
    return copied


def _fill_best(connection: Connection, workspace_id: int, since: datetime | None) -> bool:
    """Put each contact's best fit in ``lw_best_fits`` (of the contacts with a fit graded from
    ``since`` on, when given); False when there is nothing to compare."""
    fresh = FITS.c.graded_at >= literal(since, UTCDateTime()) if since is not None else None
    profiles = _profiles(connection, workspace_id)
    columns = ["contact_id", "grade", "score", "icp_id"]
    if profiles == 1:  # one fit per contact: no ranking needed
        own = select(FITS.c.contact_id, FITS.c.grade, FITS.c.score, FITS.c.icp_id).where(
            FITS.c.workspace_id == workspace_id
        )
        filled = connection.execute(
            insert(BEST)
            .from_select(columns, own if fresh is None else own.where(fresh))
            .execution_options(preserve_rowcount=True)
        ).rowcount
        analyze(connection, BEST, filled)
        return since is None or bool(connection.scalar(select(exists().select_from(BEST))))
    regraded: Select[Any] | None = None
    if fresh is not None:
        recent = select(FITS.c.contact_id).where(FITS.c.workspace_id == workspace_id, fresh)
        connection.execute(insert(REGRADED).from_select(["contact_id"], recent.distinct()))
        if not connection.scalar(select(exists().select_from(REGRADED))):
            return False
        regraded = select(REGRADED.c.contact_id)
    best = best_fits(workspace_id, regraded)
    chosen = select(best.c.contact_id, best.c.grade, best.c.score, best.c.icp_id).where(best.c.place == 1)
    filled = connection.execute(
        insert(BEST).from_select(columns, chosen).execution_options(preserve_rowcount=True)
    ).rowcount
    analyze(connection, BEST, filled)
    return True


def _collect_changes(connection: Connection, workspace_id: int, since: datetime | None) -> int:
    """Fill ``lw_fit_changes`` with the live contacts whose copied fit is not their best one now.

    The best fits go to a keyed temporary table first: joined as a subquery, SQLite would scan it
    once per contact."""
    if not _fill_best(connection, workspace_id, since):
        return 0
    if since is not None:
        insert_missing(connection, workspace_id, select(BEST.c.contact_id))
    # Everyone: a contact without fits any more loses its copy. Since a moment: those regraded.
    joined = ENGAGEMENTS.join(CONTACTS, CONTACTS.c.id == ENGAGEMENTS.c.contact_id).join(
        BEST, BEST.c.contact_id == ENGAGEMENTS.c.contact_id, isouter=since is None
    )
    differs = (
        ENGAGEMENTS.c.grade.is_distinct_from(BEST.c.grade)
        | ENGAGEMENTS.c.fit_score.is_distinct_from(BEST.c.score)
        | ENGAGEMENTS.c.icp_id.is_distinct_from(BEST.c.icp_id)
    )
    source = (
        select(ENGAGEMENTS.c.contact_id, ENGAGEMENTS.c.grade, BEST.c.grade, BEST.c.score, BEST.c.icp_id)
        .select_from(joined)
        .where(ENGAGEMENTS.c.workspace_id == workspace_id, CONTACTS.c.merged_into_id.is_(None), differs)
    )
    columns = ["contact_id", "old_grade", "grade", "score", "icp_id"]
    result = connection.execute(
        insert(CHANGED).from_select(columns, source).execution_options(preserve_rowcount=True)
    )
    changed = max(result.rowcount, 0)
    analyze(connection, CHANGED, changed)
    return changed


def _resurface(connection: Connection, workspace_id: int, now: datetime) -> int:
    """Move nurture contacts whose grade improved back to lead, with the fit change's words."""
    latest_why = (
        select(EVENTS.c.properties["why"].as_string())
        .where(
            EVENTS.c.workspace_id == workspace_id,
            EVENTS.c.contact_id == CHANGED.c.contact_id,
            EVENTS.c.type == "fit_changed",
            EVENTS.c.properties["to_grade"].as_string() == CHANGED.c.grade,
        )
        .order_by(EVENTS.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    fallback = literal("fit improved: now grade ", String) + CHANGED.c.grade + literal(" (was ", String)
    why = func.coalesce(latest_why, fallback + CHANGED.c.old_grade + literal(")", String))
    improved = (
        select(CHANGED.c.contact_id, why)
        .select_from(
            CHANGED.join(ENGAGEMENTS, ENGAGEMENTS.c.contact_id == CHANGED.c.contact_id).join(
                CONTACTS, CONTACTS.c.id == CHANGED.c.contact_id
            )
        )
        .where(
            ENGAGEMENTS.c.queue_state == "parked",
            CONTACTS.c.stage == "nurture",
            CHANGED.c.old_grade.is_not(None),
            CHANGED.c.grade.is_not(None),
            CHANGED.c.grade < CHANGED.c.old_grade,  # A < B < … < F: a better grade sorts first
        )
    )
    result = connection.execute(
        insert(RESURFACED)
        .from_select(["contact_id", "why"], improved)
        .execution_options(preserve_rowcount=True)
    )
    if not result.rowcount:
        return 0
    with temporary(connection, MOVES):
        moves = select(
            RESURFACED.c.contact_id, literal("nurture", String), literal("lead", String),
            literal("resurfaced: ", String) + RESURFACED.c.why, literal(None, String),
        )  # fmt: skip
        connection.execute(
            insert(MOVES).from_select(["contact_id", "from_stage", "to_stage", "why", "rule"], moves)
        )
        write_moves(connection, workspace_id, now)
    return int(result.rowcount)
