"""Every engagement score of a workspace rebuilt from the event log, in SQL (:func:`recompute`).

The log is read once, each event joined to the rules of its type with their conditions in SQL
(:mod:`leadwell.scoring.sql`); one window pass keeps a running total per contact, rule and scope in
event-id order, granting a capped rule ``clamp(total + p) − clamp(total)`` as the incremental path
does (:mod:`leadwell.scoring.engine`). One grouped pass per contact then sums the grants decayed to
a common reference moment ``R``, the newest scored event of the workspace
(:mod:`leadwell.scoring.grants_sql`):

    x = Σ aᵢ·e^(−λ(R − tᵢ)),   S = x·e^(λ(R − t_last)) at t0 = t_last,   rank = ln x + λ·R

so no per-contact maximum is needed before summing. A contact whose last points are so much older
than ``R`` that e^(−λ(R − t)) would lose precision (hundreds of half-lives: a one-day half-life over
years of log) is summed again against its own last moment.

Only the score columns (score, scored_at, rank_key, version) and the caps table are written; queue
columns stay as they are. Live contacts without an engagement row get one.

On PostgreSQL a recompute holds the workspace's scoring lock (:func:`scoring_lock`) for its whole
transaction: event batches being scored meanwhile wait, then score on top of the rebuilt scores,
instead of being overwritten by them.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Float,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    select,
    update,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Base
from leadwell.db.types import utcnow
from leadwell.scoring.decay import EPOCH, NEGATIVE_RANK, ZERO_RANK
from leadwell.scoring.engine import scoring_lock
from leadwell.scoring.fit_sync import insert_missing
from leadwell.scoring.grants_sql import (
    Bounds,
    Plan,
    Temp,
    temp_tables,
)
from leadwell.scoring.points import rules_by_type
from leadwell.scoring.recompute_parts import (
    SCORE_COLUMNS,
    attach_parts,
    fill_part_apart,
    score_grants,
    temporary,
    tuned,
    usable,
)
from leadwell.scoring.requalify import after_recompute
from leadwell.scoring.settings import Settings
from leadwell.scoring.sql import EVENTS, EventSql, Expr, integer, op
from leadwell.scoring.store import current_settings

CONTACTS: Table = Base.metadata.tables["contacts"]
ENGAGEMENTS: Table = Base.metadata.tables["engagements"]
CAPS: Table = Base.metadata.tables["engagement_caps"]
MICROSECOND = timedelta(microseconds=1)
# Contact ids a SQLite workspace spans before its recompute is split over two processes: starting
# them (about a second each) is worth it only for a large log.
PARTS_FROM = 50_000


@dataclass(frozen=True)
class RecomputeRun:
    """What a recompute did: engagement rows rescored, events that matched a rule, seconds taken."""

    contacts: int
    events_scored: int
    seconds: float


def recompute(
    session: Session, workspace_id: int, engine: Engine | None = None, now: datetime | None = None
) -> RecomputeRun:
    """Rebuild every engagement score and cap total of the workspace from its event log.

    With ``engine``, on PostgreSQL, the work runs as two halves of the contact ids at once on
    connections of their own, each committing, so the server uses both cores. Only for settings
    already committed; scores are derived data, so a failure between the halves leaves scores the
    next recompute completes."""
    started = time.perf_counter()
    session.flush()
    connection = session.connection()
    scoring_lock(connection, workspace_id, exclusive=True)
    version, settings = current_settings(session, workspace_id)
    moment = now or utcnow()
    plan = Plan(workspace_id, version, settings, _reference(connection, workspace_id, settings), moment)
    if engine is not None and connection.dialect.name == "postgresql":
        contacts, scored = _in_halves(engine, connection, plan)
    elif engine is not None and usable(connection):
        contacts, scored = _in_parts(engine, connection, plan)
    else:
        contacts, scored = _run(connection, plan, None)
    after_recompute(session, workspace_id, settings, moment)
    return RecomputeRun(contacts, scored, time.perf_counter() - started)


def _reference(connection: Connection, workspace_id: int, settings: Settings) -> int:
    """R in microseconds: the newest moment of an event of a scored type (one index probe per type).
    Any fixed moment would do; the newest keeps recent contacts' terms near 1."""
    newest = None
    for event_type in rules_by_type(settings):
        found = connection.scalar(
            select(func.max(EVENTS.c.occurred_at)).where(
                EVENTS.c.workspace_id == workspace_id, EVENTS.c.type == event_type
            )
        )
        if found is not None and (newest is None or found > newest):
            newest = found
    return (newest - EPOCH) // MICROSECOND if newest is not None else 0


def _halves(connection: Connection, plan: Plan) -> list[tuple[int, int]]:
    """Two ranges of the workspace's contact ids (none when it has no contacts)."""
    low, high = connection.execute(
        select(func.min(CONTACTS.c.id), func.max(CONTACTS.c.id)).where(
            CONTACTS.c.workspace_id == plan.workspace_id
        )
    ).one()
    if low is None:
        return []
    middle = (low + high) // 2
    return [(low, middle), (middle + 1, high)]


def _in_halves(engine: Engine, connection: Connection, plan: Plan) -> tuple[int, int]:
    halves = _halves(connection, plan)
    if not halves:
        return _run(connection, plan, None)

    def part(bounds: tuple[int, int]) -> tuple[int, int]:
        with engine.begin() as own:
            return _run(own, plan, bounds)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(part, halves))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _in_parts(engine: Engine, connection: Connection, plan: Plan) -> tuple[int, int]:
    """SQLite: each half read, numbered and summed in a process of its own into a scratch file
    (:mod:`leadwell.scoring.recompute_parts`), then written here, in this connection's
    transaction."""
    halves = _halves(connection, plan)
    if not halves or halves[-1][1] - halves[0][0] < PARTS_FROM:
        return _run(connection, plan, None)
    # Beside the database: a directory SQLite can already write to, on a disk with room for it.
    beside = Path(str(connection.engine.url.database)).resolve().parent
    with tempfile.TemporaryDirectory(prefix=".leadwell-recompute-", dir=beside) as folder:
        paths = [Path(folder) / f"part{number}.db" for number in range(len(halves))]
        url = engine.url.render_as_string(hide_password=False)
        spawn = multiprocessing.get_context("spawn")  # never fork a process holding SQLite handles
        with ProcessPoolExecutor(max_workers=len(halves), mp_context=spawn) as pool:
            list(pool.map(fill_part_apart, [url] * len(halves), [plan] * len(halves), halves, paths))
        parts = attach_parts(connection, paths)
    temp = temp_tables("sqlite")
    with tuned(connection), temporary(connection, temp):
        insert_missing(connection, plan.workspace_id, now=plan.now)
        _clear_caps(connection, plan, None)
        for part in parts:
            connection.execute(insert(CAPS).from_select(list(part.caps.c.keys()), select(part.caps)))
            connection.execute(insert(temp.scores).from_select(SCORE_COLUMNS, select(part.scores)))
        scored = int(connection.scalar(select(func.coalesce(func.sum(temp.scores.c.n), 0))) or 0)
        contacts = _write_scores(connection, plan, None, temp)
    return contacts, scored


def _run(connection: Connection, plan: Plan, bounds: Bounds) -> tuple[int, int]:
    """The whole recompute for the workspace's contacts within ``bounds`` (all when None):
    (engagement rows, events scored)."""
    temp = temp_tables(connection.dialect.name)
    with tuned(connection), temporary(connection, temp):
        insert_missing(connection, plan.workspace_id, bounds=bounds, now=plan.now)
        _clear_caps(connection, plan, bounds)
        score_grants(connection, plan, bounds, temp, CAPS)
        scored = int(connection.scalar(select(func.coalesce(func.sum(temp.scores.c.n), 0))) or 0)
        contacts = _write_scores(connection, plan, bounds, temp)
    return contacts, scored


def _clear_caps(connection: Connection, plan: Plan, bounds: Bounds) -> None:
    """Delete the workspace's cap totals; when no other workspace has contacts (the usual embedded
    install), SQLite empties the table at once instead of visiting millions of rows."""
    if bounds is None and connection.dialect.name == "sqlite":
        others = select(CONTACTS.c.id).where(CONTACTS.c.workspace_id != plan.workspace_id).limit(1)
        if connection.scalar(others) is None:
            connection.execute(delete(CAPS))
            return
    connection.execute(delete(CAPS).where(CAPS.c.contact_id.in_(_contact_ids(plan, bounds))))


def _contact_ids(plan: Plan, bounds: Bounds) -> Any:
    query = select(CONTACTS.c.id).where(CONTACTS.c.workspace_id == plan.workspace_id)
    if bounds is not None:
        query = query.where(CONTACTS.c.id.between(*bounds))
    return query


def _write_scores(connection: Connection, plan: Plan, bounds: Bounds, temp: Temp) -> int:
    """Scores into the engagement rows; contacts without grants back to zero. Returns the rows."""
    scores = temp.scores
    rate = literal(plan.per_micro, Float())
    rank = case(
        (scores.c.score == 0, ZERO_RANK),
        (scores.c.score < 0, NEGATIVE_RANK),
        else_=func.ln(scores.c.x) + scores.c.ref * rate,
    )
    scored_at = case(
        (scores.c.us.is_(None), None), else_=EventSql(connection.dialect.name).moment(scores.c.us)
    )
    workspace: Expr = ENGAGEMENTS.c.workspace_id
    scored: Expr = scores.c.contact_id
    if connection.dialect.name == "sqlite":
        # Visit rows in storage order (the scores' or the table's), not through the queue index
        # these updates change: SQLite would first collect every row id, then look each up again.
        workspace, scored = op(workspace, "+", integer(0)), op(scored, "+", integer(0))
    mine = workspace == plan.workspace_id
    if bounds is not None:
        mine = and_(mine, ENGAGEMENTS.c.contact_id.between(*bounds))
    connection.execute(
        update(ENGAGEMENTS)
        .where(mine, ENGAGEMENTS.c.contact_id == scored)
        .values(
            score=scores.c.score,
            scored_at=scored_at,
            rank_key=rank,
            version=plan.version,
            updated_at=plan.now,
        )
    )
    already_zero = and_(
        ENGAGEMENTS.c.score == 0,
        ENGAGEMENTS.c.scored_at.is_(None),
        ENGAGEMENTS.c.rank_key == ZERO_RANK,
        ENGAGEMENTS.c.version == plan.version,
    )
    connection.execute(
        update(ENGAGEMENTS)
        .where(
            mine, not_(exists().where(scores.c.contact_id == ENGAGEMENTS.c.contact_id)), not_(already_zero)
        )
        .values(score=0.0, scored_at=None, rank_key=ZERO_RANK, version=plan.version, updated_at=plan.now)
    )
    counted = select(func.count()).where(ENGAGEMENTS.c.workspace_id == plan.workspace_id)
    if bounds is not None:
        counted = counted.where(ENGAGEMENTS.c.contact_id.between(*bounds))
    return int(connection.scalar(counted) or 0)
