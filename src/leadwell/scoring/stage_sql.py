"""Stage moves for many contacts at once, in SQL: the set-based twin of
:func:`leadwell.scoring.stage_rules.apply_stage_rules` and of
:func:`leadwell.scoring.stages.move_stage`.

Moves are first collected in a temporary table (``lw_moves``: contact, from, to, why, rule), then
written in four statements whatever their number: the stage history rows, the ``stage_changed``
events, the contacts' stage, and their place in the call queue. Rules run in passes: the first over
the workspace (or the contacts in ``lw_scope``), each next one over the contacts the last pass
moved, until a pass moves nobody, so a contact may go lead → MQL → SQL in one run exactly as the
per-contact path takes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Double,
    MetaData,
    Numeric,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    select,
    update,
)

from leadwell.db.models import Base
from leadwell.db.types import UTCDateTime
from leadwell.scoring.decay import days
from leadwell.scoring.rows import CLOSED_STAGES, PARKED_STAGES
from leadwell.scoring.settings import Settings, StageRule
from leadwell.scoring.stage_rules import figure, movable_from, score_places
from leadwell.scoring.stages import FUNNEL

CONTACTS = Base.metadata.tables["contacts"]
ENGAGEMENTS = Base.metadata.tables["engagements"]
STAGE_CHANGES = Base.metadata.tables["stage_changes"]
EVENTS = Base.metadata.tables["events"]
TEMPORARY_TABLES = MetaData()


def contact_key() -> Column[int]:
    """A temporary table's ``contact_id`` primary key. Not autoincrement: on PostgreSQL a BIGINT
    key would otherwise become BIGSERIAL, a sequence created with the table on every connection."""
    return Column("contact_id", BigInteger, primary_key=True, autoincrement=False)


MOVES = Table(
    "lw_moves",
    TEMPORARY_TABLES,
    contact_key(),
    Column("from_stage", String(16)),
    Column("to_stage", String(16)),
    Column("why", Text),
    Column("rule", String(64)),
    prefixes=["TEMPORARY"],
)
ANALYZE_FROM = 1_000  # rows in a temporary table worth fresh statistics
SCOPE = Table("lw_scope", TEMPORARY_TABLES, contact_key(), prefixes=["TEMPORARY"])


@contextmanager
def temporary(connection: Connection, *tables: Table) -> Iterator[None]:
    """These temporary tables, empty, for the length of the block. They stay on the connection
    (created once per connection, emptied before and after each use): creating and dropping them
    on every small re-grade would churn PostgreSQL's catalog."""
    for table in tables:
        table.create(connection, checkfirst=True)
        connection.execute(delete(table))
    try:
        yield
    finally:
        for table in tables:
            connection.execute(delete(table))


def analyze(connection: Connection, table: Table, rows: int) -> None:
    """Fresh statistics for a temporary table just filled with many rows, on PostgreSQL: its
    autovacuum never visits temporary tables, and a planner that believes one empty picks nested
    loops over hundreds of thousands of rows."""
    if rows > ANALYZE_FROM and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {table.name}")


def days_sql(connection: Connection, moment: ColumnElement[Any]) -> ColumnElement[Any]:
    """A stored moment as days since the Unix epoch, as :func:`leadwell.scoring.decay.days`."""
    if connection.dialect.name == "sqlite":
        return func.julianday(moment, type_=Double) - 2440587.5
    return cast(func.extract("epoch", moment), Double) / 86400.0


def score_now_sql(connection: Connection, rate: float, now: datetime) -> ColumnElement[float]:
    """The engagement score at ``now``, as :func:`leadwell.scoring.decay.current` computes it."""
    score, scored_at = ENGAGEMENTS.c.score, ENGAGEMENTS.c.scored_at
    elapsed = literal(days(now), Double) - days_sql(connection, scored_at)
    return case(
        (scored_at.is_(None), score),
        (elapsed <= 0, score),
        else_=score * func.exp(-rate * elapsed),
    )


def _shown_sql(connection: Connection, score: ColumnElement[float], places: int) -> ColumnElement[str]:
    """:func:`leadwell.scoring.stage_rules.shown_score` in SQL."""
    floored = func.floor(score * 10**places)
    if places == 0:
        return cast(cast(floored, BigInteger), String)
    if connection.dialect.name == "sqlite":
        return func.printf(f"%.{places}f", floored / 10**places)
    return cast(func.round(cast(floored, Numeric) / 10**places, places), String)


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


def _why_sql(
    connection: Connection, rule: StageRule, grade: ColumnElement[Any], score: ColumnElement[float]
) -> ColumnElement[str]:
    """:func:`leadwell.scoring.stage_rules.move_reason` in SQL."""
    parts: list[ColumnElement[str]] = []
    if rule.grades is not None:
        parts.append(_text("grade ") + func.coalesce(grade, _text("")))
    bounds = []
    if rule.min_engagement is not None:
        bounds.append(f"≥ {figure(rule.min_engagement)}")
    if rule.max_engagement is not None:
        bounds.append(f"≤ {figure(rule.max_engagement)}")
    if bounds:
        shown = _shown_sql(connection, score, score_places(rule))
        parts.append(_text("engagement ") + shown + _text(" " + " and ".join(bounds)))
    why = _text(f"{rule.label}: ")
    for position, part in enumerate(parts):
        why = why + (_text(", ") if position else _text("")) + part
    return why


def _condition(rule: StageRule, score: ColumnElement[float]) -> ColumnElement[bool] | None:
    """The rule's test in SQL; None when it can move nobody."""
    stages = movable_from(rule)
    if not stages:
        return None
    tests: list[ColumnElement[bool]] = [CONTACTS.c.stage.in_(sorted(stages))]
    if rule.grades is not None:
        tests.append(ENGAGEMENTS.c.grade.in_(sorted(rule.grades)))
    if rule.min_engagement is not None:
        tests.append(score >= rule.min_engagement)
    if rule.max_engagement is not None:
        tests.append(score <= rule.max_engagement)
    return and_(*tests)


def collect_rule_moves(
    connection: Connection, workspace_id: int, settings: Settings, now: datetime, scoped: bool
) -> int:
    """Put in ``lw_moves`` each contact's first due rule (of the contacts in ``lw_scope`` when
    ``scoped``); returns how many."""
    score = score_now_sql(connection, settings.decay_rate, now)
    rules = [(rule, _condition(rule, score)) for rule in settings.stage_rules]
    live = [(index, rule, test) for index, (rule, test) in enumerate(rules) if test is not None]
    if not live:
        return 0
    pick = case(*((test, index) for index, _rule, test in live), else_=null())
    stages = sorted({stage for _i, rule, _t in live for stage in movable_from(rule)})
    candidates = (
        select(
            CONTACTS.c.id.label("contact_id"),
            CONTACTS.c.stage.label("stage"),
            pick.label("pick"),
            *(
                _why_sql(connection, rule, ENGAGEMENTS.c.grade, score).label(f"why{i}")
                for i, rule, _t in live
            ),
        )
        .select_from(CONTACTS.join(ENGAGEMENTS, ENGAGEMENTS.c.contact_id == CONTACTS.c.id))
        .where(
            CONTACTS.c.workspace_id == workspace_id,
            CONTACTS.c.merged_into_id.is_(None),
            CONTACTS.c.stage.in_(stages),
        )
    )
    if scoped:
        candidates = candidates.where(CONTACTS.c.id.in_(select(SCOPE.c.contact_id)))
    found = candidates.subquery("found")
    chosen = select(
        found.c.contact_id,
        found.c.stage,
        case(*((found.c.pick == i, _text(rule.to)) for i, rule, _t in live)),
        case(*((found.c.pick == i, found.c[f"why{i}"]) for i, _r, _t in live)),
        case(*((found.c.pick == i, _text(rule.key)) for i, rule, _t in live)),
    ).where(found.c.pick.is_not(None))
    columns = ["contact_id", "from_stage", "to_stage", "why", "rule"]
    result = connection.execute(
        insert(MOVES).from_select(columns, chosen).execution_options(preserve_rowcount=True)
    )
    return max(result.rowcount, 0)


def write_moves(connection: Connection, workspace_id: int, now: datetime) -> None:
    """Make the moves in ``lw_moves``: history rows, ``stage_changed`` events, the contacts' stage
    and their queue state, as :func:`leadwell.scoring.stages.move_stage` does one by one. Moves
    into nurture (which also join the newsletter list) are not made here."""
    moment = literal(now, UTCDateTime())
    if connection.scalar(select(exists().where(MOVES.c.to_stage.in_(sorted(PARKED_STAGES))))):
        raise ValueError("moves into nurture go through move_stage, which joins the newsletter list")
    history = select(
        literal(workspace_id, BigInteger()), MOVES.c.contact_id, MOVES.c.from_stage, MOVES.c.to_stage,
        MOVES.c.why, MOVES.c.rule, null(), moment,
    ).order_by(MOVES.c.contact_id)  # fmt: skip
    connection.execute(
        insert(STAGE_CHANGES).from_select(
            [
                "workspace_id",
                "contact_id",
                "from_stage",
                "to_stage",
                "why",
                "rule",
                "changed_by_id",
                "changed_at",
            ],
            history,
        )
    )
    build = func.jsonb_build_object if connection.dialect.name == "postgresql" else func.json_object
    properties = build(
        _text("from"), MOVES.c.from_stage, _text("to"), MOVES.c.to_stage, _text("why"), MOVES.c.why
    )
    events = select(
        literal(workspace_id, BigInteger()), MOVES.c.contact_id, _text("stage_changed"), moment, moment,
        properties, _text("leadwell"),
    ).order_by(MOVES.c.contact_id)  # fmt: skip
    connection.execute(
        insert(EVENTS).from_select(
            ["workspace_id", "contact_id", "type", "occurred_at", "received_at", "properties", "source"],
            events,
        )
    )
    _update_rows(connection, now)


def _update_rows(connection: Connection, now: datetime) -> None:
    moved = CONTACTS.c.id == MOVES.c.contact_id
    connection.execute(update(CONTACTS).where(moved).values(stage=MOVES.c.to_stage, updated_at=now))
    state = case((MOVES.c.to_stage.in_(sorted(CLOSED_STAGES)), _text("closed")), else_=_text("open"))
    connection.execute(
        update(ENGAGEMENTS)
        .where(ENGAGEMENTS.c.contact_id == MOVES.c.contact_id)
        .values(queue_state=state, parked_score=None, resurfaced_why=None, resurfaced_at=None, updated_at=now)
    )


def apply_rules_sql(
    connection: Connection,
    workspace_id: int,
    settings: Settings,
    now: datetime,
    scope: Select[int] | None = None,
) -> int:
    """Make every due automatic move in the workspace (or among the contacts ``scope`` selects),
    in passes until none is due; returns the number of moves."""
    if not settings.stage_rules:
        return 0
    made = 0
    with temporary(connection, MOVES, SCOPE):
        if scope is not None:
            connection.execute(insert(SCOPE).from_select(["contact_id"], scope.distinct()))
        scoped = scope is not None
        for _ in range(len(FUNNEL) + 1):
            found = collect_rule_moves(connection, workspace_id, settings, now, scoped)
            if not found:
                break
            analyze(connection, MOVES, found)
            write_moves(connection, workspace_id, now)
            made += found
            connection.execute(delete(SCOPE))
            connection.execute(insert(SCOPE).from_select(["contact_id"], select(MOVES.c.contact_id)))
            connection.execute(delete(MOVES))
            scoped = True
    return made
