"""A metric per variant day by day, cumulative: the report's chart and the sequential test's looks.

Day ``d``'s numbers are what a look at the end of that UTC day would have seen: the units first
exposed by then, and the conversions (or revenue) that had happened by then. A unit's conversion
is dated by its first converting event; its revenue grows with each won deal. The database groups
units by (variant, exposure day, conversion day), and revenue by (unit, day) of the few units with
won deals, so the work in Python is one pass over days, never over events.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Experiment, ExperimentAssignment
from leadwell.experiments.arms import Arm, Counts, Sums
from leadwell.experiments.metrics import (
    Bounds,
    UnitQueries,
    day_of,
    get_metric,
    variant_ids,
)


@dataclass(frozen=True)
class DailySeries:
    """``days`` (UTC, oldest first) and, per variant id, the cumulative arm at the end of each."""

    days: tuple[date, ...]
    arms: dict[int, tuple[Arm, ...]]

    def looks(self, control_id: int, variant_id: int) -> list[tuple[Arm, Arm]]:
        """The cumulative (control, variant) after each day: the sequential test's looks."""
        return list(zip(self.arms[control_id], self.arms[variant_id], strict=True))


def first_day(session: Session, experiment: Experiment) -> date | None:
    """The series' first day: the start, or the first exposure of an experiment never started."""
    if experiment.started_at is not None:
        return experiment.started_at.date()
    first: datetime | None = session.scalar(
        select(func.min(ExperimentAssignment.first_exposed_at)).where(
            ExperimentAssignment.experiment_id == experiment.id
        )
    )
    return first.date() if first is not None else None


def daily_series(
    session: Session,
    experiment: Experiment,
    metric_key: str,
    until: datetime,
    *,
    exposed_until: datetime | None = None,
) -> DailySeries:
    """The metric per variant at the end of each day from the start to ``until`` (the last day
    ends at ``until``); units first exposed after ``exposed_until`` are left out."""
    metric = get_metric(metric_key, "metric")
    ids = variant_ids(session, experiment)
    start = first_day(session, experiment)
    if start is None or until.date() < start:
        return DailySeries((), {number: () for number in ids})
    days = tuple(start + timedelta(days=offset) for offset in range((until.date() - start).days + 1))
    queries = UnitQueries(session, experiment, metric, Bounds(until, exposed_until=exposed_until))
    exposed = {number: np.zeros(len(days), dtype=np.int64) for number in ids}
    if metric.kind == "revenue":
        _count_exposures(session, queries, start, exposed)
        totals = _revenue(session, queries, start, len(days), ids)
        arms: dict[int, tuple[Arm, ...]] = {
            number: tuple(
                Sums(int(n), float(total), float(square))
                for n, (total, square) in zip(np.cumsum(exposed[number]), totals[number], strict=True)
            )
            for number in ids
        }
        return DailySeries(days, arms)
    converted = {number: np.zeros(len(days), dtype=np.int64) for number in ids}
    _count_conversions(session, queries, start, exposed, converted)
    counts: dict[int, tuple[Arm, ...]] = {
        number: tuple(
            Counts(int(n), int(x))
            for n, x in zip(np.cumsum(exposed[number]), np.cumsum(converted[number]), strict=True)
        )
        for number in ids
    }
    return DailySeries(days, counts)


def _index(day: str | None, start: date, length: int) -> int:
    """Position of a ``YYYY-MM-DD`` day in the series, clamped to it (an exposure before the start
    counts on the first day)."""
    assert day is not None
    return min(max((date.fromisoformat(day) - start).days, 0), length - 1)


def _count_conversions(
    session: Session,
    queries: UnitQueries,
    start: date,
    exposed: dict[int, np.typing.NDArray[np.int64]],
    converted: dict[int, np.typing.NDArray[np.int64]],
) -> None:
    units = queries.per_unit().subquery()
    dated = select(
        units.c.variant_id,
        day_of(units.c.exposed_at, queries.dialect).label("exposed_day"),
        day_of(units.c.converted_at, queries.dialect).label("converted_day"),
    ).subquery()
    rows = session.execute(
        select(dated.c.variant_id, dated.c.exposed_day, dated.c.converted_day, func.count()).group_by(
            dated.c.variant_id, dated.c.exposed_day, dated.c.converted_day
        )
    )
    length = len(next(iter(exposed.values())))
    for variant_id, exposed_day, converted_day, count in rows:
        exposed[variant_id][_index(exposed_day, start, length)] += count
        if converted_day is not None:
            converted[variant_id][_index(converted_day, start, length)] += count


def _count_exposures(
    session: Session, queries: UnitQueries, start: date, exposed: dict[int, np.typing.NDArray[np.int64]]
) -> None:
    unit = queries.unit
    dated = (
        select(unit.variant_id, day_of(unit.first_exposed_at, queries.dialect).label("exposed_day"))
        .where(*queries.units_where())
        .subquery()
    )
    rows = session.execute(
        select(dated.c.variant_id, dated.c.exposed_day, func.count()).group_by(
            dated.c.variant_id, dated.c.exposed_day
        )
    )
    length = len(next(iter(exposed.values())))
    for variant_id, exposed_day, count in rows:
        exposed[variant_id][_index(exposed_day, start, length)] += count


def _revenue(
    session: Session, queries: UnitQueries, start: date, length: int, ids: list[int]
) -> dict[int, list[tuple[float, float]]]:
    """Variant id → cumulative (total, total of squares) after each day. Only units with revenue
    come back from the database; each new deal moves its unit's value from v to v + w, which adds
    w to the total and (v + w)² − v² to the squares."""
    found = queries.converting_events().subquery()
    dated = select(
        found.c.unit_id,
        found.c.variant_id,
        day_of(found.c.occurred_at, queries.dialect).label("day"),
        found.c.amount,
    ).subquery()
    rows = session.execute(
        select(dated.c.unit_id, dated.c.variant_id, dated.c.day, func.sum(dated.c.amount))
        .group_by(dated.c.unit_id, dated.c.variant_id, dated.c.day)
        .order_by(dated.c.day)
    )
    added_total = {number: np.zeros(length) for number in ids}
    added_square = {number: np.zeros(length) for number in ids}
    running: dict[int, float] = defaultdict(float)
    for unit_id, variant_id, day, total in rows:
        before, gained = running[unit_id], float(total or 0)
        running[unit_id] = before + gained
        index = _index(day, start, length)
        added_total[variant_id][index] += gained
        added_square[variant_id][index] += (before + gained) ** 2 - before**2
    return {
        number: list(zip(np.cumsum(added_total[number]), np.cumsum(added_square[number]), strict=True))
        for number in ids
    }
