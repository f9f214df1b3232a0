"""The lead funnel of a period: lead → MQL → SQL → opportunity → won, as a cohort.

The cohort is the live (not merged) contacts who **entered the funnel** since the period began:
those created in any stage but subscriber (entering at creation), and subscribers whose first
move to any other stage happened in the period (entering then). Each is followed to the furthest
funnel stage it has reached **by now**, from its stage history (``stage_changes``), the stage it
was created in (the first move's ``from``) and its current stage. A contact counts as having
reached every funnel stage before its furthest one, so a lead moved straight to SQL by a booked
meeting counts as an MQL too; nurture and disqualified sit at the lead level (a lead that was not
ready, or not a fit). "Won" is reaching customer.

A contact reached a stage when it was created in that stage or beyond, else at its first move to
that stage or beyond. Days between two steps are measured between those moments, so a skipped
stage takes no time; the median is over the contacts that reached the later step.

Everything is set-based SQL, one statement: the counts and the medians (window functions) over a
CTE that reads the stage history of the period's candidates only (numbered per contact for the
creation stage, grouped by contact for the moments).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Select,
    Subquery,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, StageChange
from leadwell.db.types import UTCDateTime

FUNNEL_STEPS = ("lead", "mql", "sql", "opportunity", "customer")
STEP_LABELS = {"lead": "Lead", "mql": "MQL", "sql": "SQL", "opportunity": "Opportunity", "customer": "Won"}
# Where each lifecycle stage sits along the funnel; side stages sit at the lead level.
RANKS = {
    "subscriber": 0,
    "lead": 1,
    "mql": 2,
    "sql": 3,
    "opportunity": 4,
    "customer": 5,
    "nurture": 1,
    "disqualified": 1,
}
STEPS = range(1, len(FUNNEL_STEPS) + 1)


@dataclass(frozen=True)
class Step:
    """One funnel step: how many of the cohort reached it, the share of the previous step's
    contacts that did, and the median days it took them from the previous step."""

    stage: str
    label: str
    contacts: int
    rate: float | None
    median_days: float | None


def _rank(stage: Any) -> ColumnElement[int]:
    """A stage's place along the funnel (NULL for no stage: a contact without moves)."""
    return case(RANKS, value=stage)


def _since(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, UTCDateTime())


def _candidates(workspace_id: int, since: datetime) -> Subquery:
    """Ids of the contacts that may have entered since ``since`` (each once): created since, or
    moved past subscriber since. Both halves read an index range (``created_at``; ``to_stage`` and
    ``changed_at``), and the rest of the cohort is read from these ids only."""
    created = select(Contact.id).where(Contact.workspace_id == workspace_id, Contact.created_at >= since)
    moved = select(StageChange.contact_id).where(
        StageChange.workspace_id == workspace_id,
        StageChange.to_stage.in_([stage for stage, rank in RANKS.items() if rank >= 1]),
        StageChange.changed_at >= since,
    )
    return union(created, moved).subquery("candidates")


def won_candidates(workspace_id: int) -> Subquery:
    """Ids of the contacts that may ever have been won: moved to or from customer, or customers now
    (created as one). Three index reads instead of every contact of the workspace."""
    return union(
        select(Contact.id).where(Contact.workspace_id == workspace_id, Contact.stage == "customer"),
        select(StageChange.contact_id).where(
            StageChange.workspace_id == workspace_id, StageChange.to_stage == "customer"
        ),
        select(StageChange.contact_id).where(
            StageChange.workspace_id == workspace_id, StageChange.from_stage == "customer"
        ),
    ).subquery("candidates")


def cohort(workspace_id: int, since: datetime, candidates: Subquery | None = None) -> CTE:
    """The cohort of contacts entering since ``since``: ``id``, ``at_1`` … ``at_5`` (when it reached
    each step, NULL if unknown) and ``reached_1`` … ``reached_5`` (1 if it reached the step).
    ``candidates`` (ids) narrows whom to look at (default: whoever may have entered since ``since``).

    One pass: the candidates, their contact rows (by primary key) and their stage changes (by the
    per-contact index, in order, numbered), grouped by contact."""
    candidates = _candidates(workspace_id, since) if candidates is None else candidates
    order = (StageChange.changed_at, StageChange.id)
    history = (
        select(
            Contact.id,
            Contact.stage,
            Contact.created_at,
            StageChange.from_stage,
            StageChange.to_stage,
            StageChange.changed_at,
            func.row_number().over(partition_by=Contact.id, order_by=order).label("n"),
        )
        .select_from(candidates)
        .join(Contact, Contact.id == candidates.c.id)
        .outerjoin(StageChange, StageChange.contact_id == Contact.id)
        .where(Contact.merged_into_id.is_(None))
        .subquery()
    )
    moved_rank = _rank(history.c.to_stage)
    per_contact = (
        select(
            history.c.id,
            func.max(history.c.stage).label("stage"),
            func.max(history.c.created_at).label("created_at"),
            # The stage it was created in: where its first move started from (else where it is).
            func.max(case((history.c.n == 1, history.c.from_stage))).label("created_stage"),
            func.max(moved_rank).label("top"),
            *(func.min(case((moved_rank >= k, history.c.changed_at))).label(f"moved_{k}") for k in STEPS),
        )
        .group_by(history.c.id)
        .subquery()
    )
    created_rank = _rank(func.coalesce(per_contact.c.created_stage, per_contact.c.stage))
    current_rank = _rank(per_contact.c.stage)
    reached_at = {
        k: case((created_rank >= k, per_contact.c.created_at), else_=per_contact.c[f"moved_{k}"])
        for k in STEPS
    }
    reached = {
        k: case((or_(created_rank >= k, per_contact.c.top >= k, current_rank >= k), 1), else_=literal(0))
        for k in STEPS
    }
    return (
        select(
            per_contact.c.id,
            *(reached_at[k].label(f"at_{k}") for k in STEPS),
            *(reached[k].label(f"reached_{k}") for k in STEPS),
        )
        .where(reached_at[1] >= _since(since))
        .cte("cohort")
    )


def reached_ids(workspace_id: int, since: datetime, stage: str) -> Select[Any]:
    """Ids of the contacts that entered the funnel since ``since`` and reached ``stage`` by now
    (the contacts behind a funnel figure)."""
    step = FUNNEL_STEPS.index(stage) + 1
    entered = cohort(workspace_id, since)
    return select(entered.c.id).where(entered.c[f"reached_{step}"] == 1)


def _days(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """Days from ``start`` to ``end``, fractional (SQLite keeps times as text, PostgreSQL as timestamptz)."""
    if dialect == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return extract("epoch", end - start) / 86400.0


def _medians(dialect: str, entered: CTE) -> Select[Any]:
    """(step, median days from step k−1 to step k) over the contacts that reached k, per k ≥ 2."""
    durations = union_all(
        *(
            select(
                literal(k).label("step"),
                _days(dialect, entered.c[f"at_{k - 1}"], entered.c[f"at_{k}"]).label("days"),
            ).where(
                entered.c[f"reached_{k}"] == 1,
                entered.c[f"at_{k - 1}"].is_not(None),
                entered.c[f"at_{k}"].is_not(None),
            )
            for k in STEPS[1:]
        )
    ).subquery()
    ranked = select(
        durations.c.step,
        durations.c.days,
        func.row_number().over(partition_by=durations.c.step, order_by=durations.c.days).label("rn"),
        func.count().over(partition_by=durations.c.step).label("n"),
    ).subquery()
    # The middle row, or the two middle rows of an even count (integer division on both databases).
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    return (
        select(literal("median").label("kind"), ranked.c.step, cast(func.avg(ranked.c.days), Float))
        .where(middle)
        .group_by(ranked.c.step)
    )


def funnel(session: Session, workspace_id: int, since: datetime) -> list[Step]:
    """The funnel of the contacts that entered it since ``since``, each followed until now: the
    counts and the medians in one statement, so the cohort is computed once."""
    entered = cohort(workspace_id, since)
    counts = (
        select(
            literal("count").label("kind"),
            literal(k).label("step"),
            cast(func.coalesce(func.sum(entered.c[f"reached_{k}"]), 0), Float),
        )
        for k in STEPS
    )
    dialect = session.get_bind().dialect.name
    figures = {(kind, int(step)): value for kind, step, value in session.execute(
        union_all(*counts, _medians(dialect, entered))
    )}  # fmt: skip
    steps: list[Step] = []
    for k, stage in zip(STEPS, FUNNEL_STEPS, strict=True):
        contacts = int(figures[("count", k)])
        previous = steps[-1].contacts if steps else None
        rate = contacts / previous if previous else None
        median = figures.get(("median", k))
        steps.append(
            Step(stage, STEP_LABELS[stage], contacts, rate, None if median is None else float(median))
        )
    return steps
