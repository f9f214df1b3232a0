"""The statements of a recompute: every (event, rule) grant, and per contact their decayed sum.

1. ``lw_rules``: the rules in force, one row each (number, event type, points, cap, cap days).
2. ``lw_grants``: the log read once, each event joined to the rules of its type and kept where the
   rule's conditions hold (one ``CASE`` on the rule number); then one window pass in (contact, rule,
   window, per value, event id) order numbering each scope's events, from which the points each is
   granted and, for a capped rule, the scope's total after it follow. On SQLite the table is keyed
   in exactly that order (``WITHOUT ROWID``), so the window's output is appended, and grouping it by
   scope or by contact afterwards reads it in order instead of sorting again.
3. ``engagement_caps``: each scope's final total.
4. ``lw_scores``: per contact, the last moment points were granted, ``x = Σ g·e^(−λ(R − t))`` and
   how many events matched.
5. ``lw_far``: contacts whose last points are too old for ``R``, summed against their own moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)

from leadwell.db.models import Base
from leadwell.scoring.engine import ZERO_SCORE
from leadwell.scoring.points import SCOPE_LENGTH, CompiledRule, rules_by_type
from leadwell.scoring.settings import Settings
from leadwell.scoring.sql import EVENTS, EventSql, Expr, integer, text
from leadwell.scoring.stage_sql import contact_key

CAPS: Table = Base.metadata.tables["engagement_caps"]
MICROS_PER_DAY = 86_400_000_000.0
# Decay exponents are floored here: e^-600 times any sane number of points is still a normal double
# (PostgreSQL refuses a product that underflows to zero), and far below any term that matters.
FLOOR_EXPONENT = -600.0
# A contact whose last points are this many e-folds older than R is summed against its own last time.
FAR_EXPONENT = 500.0

Bounds = tuple[int, int] | None
Ranked = tuple[int, CompiledRule, list[CompiledRule]]  # (rule number, rule, earlier rules of its type)


@dataclass(frozen=True)
class Plan:
    """One recompute's fixed inputs, shared by every part of the work."""

    workspace_id: int
    version: int
    settings: Settings
    reference: int  # R, microseconds since the epoch
    now: datetime

    @property
    def per_micro(self) -> float:
        """λ per microsecond."""
        return self.settings.decay_rate / MICROS_PER_DAY

    def rules(self) -> list[Ranked]:
        """Every rule with its number and the earlier rules of its event type."""
        found: list[Ranked] = []
        for compiled_rules in rules_by_type(self.settings).values():
            for position, compiled in enumerate(compiled_rules):
                found.append((len(found), compiled, list(compiled_rules[:position])))
        return found


@dataclass(frozen=True)
class Temp:
    """The temporary tables of one connection's run."""

    rules: Table
    grants: Table
    scores: Table
    far: Table

    def all(self) -> tuple[Table, ...]:
        return (self.far, self.scores, self.grants, self.rules)


def temp_tables(dialect: str) -> Temp:
    """The run's temporary tables. ``lw_rules`` is keyed by event type for SQLite's nested loop
    (PostgreSQL hashes it)."""
    sqlite = dialect == "sqlite"
    meta = MetaData()
    rules = Table(
        "lw_rules", meta,
        Column("type", String, primary_key=sqlite), Column("n", Integer, primary_key=True),
        prefixes=["TEMPORARY"], sqlite_with_rowid=not sqlite,
    )  # fmt: skip
    # On SQLite keyed in the window pass's order, so its rows are appended as the pass emits them
    # and both groupings afterwards (per scope, per contact) read them in order instead of sorting.
    grants = Table(
        "lw_grants", meta,
        Column("contact_id", BigInteger, primary_key=sqlite, autoincrement=False),
        Column("n", Integer, primary_key=sqlite, autoincrement=False),
        Column("win", BigInteger, primary_key=sqlite, autoincrement=False),
        Column("per", String, primary_key=sqlite),
        Column("k", Integer, primary_key=sqlite, autoincrement=False),
        Column("us", BigInteger), Column("first", Integer), Column("g", Float),
        Column("total", Float), Column("last", Boolean), prefixes=["TEMPORARY"], sqlite_with_rowid=not sqlite,
    )  # fmt: skip
    scores = Table(
        "lw_scores", meta,
        contact_key(), Column("us", BigInteger),
        Column("x", Float), Column("n", Integer), Column("ref", BigInteger), Column("score", Float),
        prefixes=["TEMPORARY"],
    )  # fmt: skip
    far = Table(
        "lw_far", meta,
        contact_key(), Column("us", BigInteger), Column("x", Float),
        prefixes=["TEMPORARY"],
    )  # fmt: skip
    return Temp(rules, grants, scores, far)


def fill_rules(connection: Connection, plan: Plan, temp: Temp) -> None:
    rows = [{"n": number, "type": compiled.rule.event} for number, compiled, _ in plan.rules()]
    if rows:
        connection.execute(insert(temp.rules), rows)


def _by_rule(number: Expr, values: Mapping[int, Expr], otherwise: Expr) -> Expr:
    """One expression per rule number (``CASE n WHEN …``), ``otherwise`` for the rest."""
    if not values:
        return otherwise
    return case(values, value=number, else_=otherwise)


def matched(sql: EventSql, plan: Plan, bounds: Bounds, temp: Temp) -> Select[Any]:
    """Every (event, rule) pair where the rule's conditions hold, with what the window pass sorts
    by: contact, rule, the cap's window and ``per`` value, event id; and the moment and whether the
    event counts as scored. Kept narrow: the sort is most of a recompute's time on SQLite."""
    number, ranked = temp.rules.c.n, plan.rules()
    conditions = {n: sql.holds(c) for n, c, _ in ranked if c.rule.when}
    windows = {n: sql.window(c.rule.cap.days) for n, c, _ in ranked if c.rule.cap is not None}
    per = {n: sql.per(c.per) for n, c, _ in ranked if c.per is not None}
    # An event that an earlier rule of its type also scores is counted once, under that rule.
    later = {
        n: case((or_(*(sql.holds(e) for e in earlier)), 0), else_=1) for n, _, earlier in ranked if earlier
    }
    query = (
        select(
            EVENTS.c.id,
            sql.contact().label("contact_id"),
            sql.micros().label("us"),
            number,
            _by_rule(number, windows, integer(0)).label("win"),
            _by_rule(number, per, text("")).label("per"),
            _by_rule(number, later, integer(1)).label("first"),
        )
        .select_from(EVENTS.join(temp.rules, temp.rules.c.type == sql.type_key()))
        .where(sql.in_workspace(plan.workspace_id), sql.contact().is_not(None))
        .where(_by_rule(number, conditions, true()))
    )
    if bounds is not None:
        query = query.where(sql.contact().between(*bounds))  # on SQLite not through an index
    return query


def _clamp(value: Expr, limit: Expr, pg: bool) -> Expr:
    low, high = (func.greatest, func.least) if pg else (func.max, func.min)
    return low(-limit, high(limit, value))


def fill_grants(connection: Connection, sql: EventSql, plan: Plan, bounds: Bounds, temp: Temp) -> None:
    """Every grant, numbered ``k`` = 1, 2, … per contact, rule and scope in event-id order. A rule's
    points ``p`` never change, so the scope's running total before the k-th event is (k − 1)·p: a
    capped rule grants ``clamp(k·p) − clamp((k − 1)·p)``, any other its points. Numbering rows is
    the cheapest window there is (a running sum over a frame costs far more per row on SQLite)."""
    ranked = plan.rules()
    if not ranked:
        return
    rows = matched(sql, plan, bounds, temp).subquery("matched")
    pg = connection.dialect.name == "postgresql"
    per = rows.c.per.collate("C") if pg else rows.c.per  # any order will do: the fastest
    window = {"partition_by": [rows.c.contact_id, rows.c.n, rows.c.win, per], "order_by": rows.c.id}
    number = func.row_number().over(**window)  # type: ignore[arg-type]
    # PostgreSQL marks each scope's last row in the same window node; SQLite groups afterwards
    # instead, reading the rows in key order, where a second window function would cost a pass.
    last = func.lead(rows.c.id).over(**window).is_(None) if pg else null()  # type: ignore[arg-type]
    running = select(rows, number.label("k"), last.label("last")).subquery("running")
    c = running.c
    granted: dict[int, Expr] = {}
    totals: dict[int, Expr] = {}
    for n, compiled, _ in ranked:
        rule = compiled.rule
        if rule.cap is None:
            granted[n] = literal(rule.points, Float())
            continue
        limit, points = literal(rule.cap.points, Float()), literal(rule.points, Float())
        totals[n] = _clamp(c.k * points, limit, pg)
        granted[n] = totals[n] - _clamp((c.k - 1) * points, limit, pg)
    given, total = _by_rule(c.n, granted, null()), _by_rule(c.n, totals, null())
    source = select(c.contact_id, c.n, c.win, c.per, c.k, c.us, c.first, given, total, c.last)
    columns = ["contact_id", "n", "win", "per", "k", "us", "first", "g", "total", "last"]
    connection.execute(insert(temp.grants).from_select(columns, source))


def save_caps(connection: Connection, plan: Plan, temp: Temp, into: Table = CAPS) -> None:
    """Each scope's total so far into ``engagement_caps`` (or ``into``, a table of the same columns):
    the largest running total of a rule that gives points, the smallest of one that takes them (on
    PostgreSQL: the total of its last row)."""
    grants, ranked = temp.grants, [r for r in plan.rules() if r[1].rule.cap is not None]
    if not ranked:
        return
    key = case({n: literal(c.rule.key) for n, c, _ in ranked}, value=grants.c.n)
    window = cast(grants.c.win, String)
    per_rules = [n for n, c, _ in ranked if c.per is not None]
    scope: Expr = window
    if per_rules:
        joined = window.op("||")(text("|")).op("||")(grants.c.per)
        scope = case((grants.c.n.in_(per_rules), func.substr(joined, 1, SCOPE_LENGTH)), else_=window)
    if connection.dialect.name == "postgresql":
        source = select(grants.c.contact_id, key, scope, grants.c.total).where(
            grants.c.total.is_not(None), grants.c.last
        )
    else:
        taking = [n for n, c, _ in ranked if c.rule.points < 0]
        total: Expr = func.max(grants.c.total)
        if taking:
            total = case((grants.c.n.in_(taking), func.min(grants.c.total)), else_=func.max(grants.c.total))
        source = (
            select(grants.c.contact_id, key, scope, total)
            .where(grants.c.total.is_not(None))
            .group_by(grants.c.contact_id, grants.c.n, grants.c.win, grants.c.per)
        )
    connection.execute(insert(into).from_select(["contact_id", "rule", "scope", "awarded"], source))


def _decayed(grants: Any, reference: Expr, plan: Plan, pg: bool) -> Expr:
    exponent = (grants.c.us - reference) * literal(plan.per_micro, Float())
    floored = (func.greatest if pg else func.max)(exponent, literal(FLOOR_EXPONENT, Float()))
    decayed: Expr = grants.c.g * func.exp(floored)
    return decayed


def score_at_t0(x: Expr, reference: Expr, last: Expr, plan: Plan) -> Expr:
    """S at t0 = t_last from x = Σ g·e^(−λ(ref − t)): x·e^(λ(ref − t_last)); zero when it is mere
    rounding (as the incremental path snaps it) or when nothing was granted. Left at zero for a
    contact too far behind ``ref`` (its e^… would overflow): :func:`sum_far_contacts` redoes it."""
    exponent = (reference - last) * literal(plan.per_micro, Float())
    at_t0 = x * func.exp(exponent)
    return case(
        (last.is_(None), 0.0),
        (exponent > FAR_EXPONENT, 0.0),
        (func.abs(at_t0) < ZERO_SCORE, 0.0),
        else_=at_t0,
    )


def fill_scores(connection: Connection, plan: Plan, temp: Temp) -> None:
    """Per contact: the last moment with points, x = Σ g·e^(−λ(R − t)), events counted, R, and the
    score at that last moment."""
    pg = connection.dialect.name == "postgresql"
    grants = temp.grants
    earning = grants.c.g != 0
    reference = literal(plan.reference, BigInteger())
    sums = (
        select(
            grants.c.contact_id,
            func.max(case((earning, grants.c.us))).label("us"),
            func.sum(case((earning, _decayed(grants, reference, plan, pg)), else_=0.0)).label("x"),
            func.sum(grants.c.first).label("n"),
        )
        .group_by(grants.c.contact_id)
        .subquery("sums")
    )
    score = score_at_t0(sums.c.x, reference, sums.c.us, plan)
    source = select(sums.c.contact_id, sums.c.us, sums.c.x, sums.c.n, reference, score)
    columns = ["contact_id", "us", "x", "n", "ref", "score"]
    connection.execute(insert(temp.scores).from_select(columns, source))


def sum_far_contacts(connection: Connection, plan: Plan, temp: Temp) -> None:
    """Contacts whose last points are too old for R: x summed again against their own last moment."""
    scores, far, grants = temp.scores, temp.far, temp.grants
    distance = (literal(plan.reference, BigInteger()) - scores.c.us) * literal(plan.per_micro, Float())
    chosen = select(scores.c.contact_id, scores.c.us).where(distance > FAR_EXPONENT)
    added = connection.execute(insert(far).from_select(["contact_id", "us"], chosen))
    if not added.rowcount:
        return
    pg = connection.dialect.name == "postgresql"
    sums = (
        select(far.c.contact_id, func.sum(_decayed(grants, far.c.us, plan, pg)).label("x"))
        .select_from(far.join(grants, grants.c.contact_id == far.c.contact_id))
        .where(grants.c.g != 0)
        .group_by(far.c.contact_id)
        .subquery("sums")
    )
    own = select(sums.c.x).where(sums.c.contact_id == far.c.contact_id).scalar_subquery()
    connection.execute(update(far).values(x=own))
    again = select(far.c.x).where(far.c.contact_id == scores.c.contact_id).scalar_subquery()
    connection.execute(
        update(scores)
        .values(x=again, ref=scores.c.us, score=score_at_t0(again, scores.c.us, scores.c.us, plan))
        .where(scores.c.contact_id.in_(select(far.c.contact_id)))
    )
