"""Watching a promoted winner: does it still convert as well as it did when it was tested?

Once a day per scaled experiment the worker reads the winner's rate on the primary metric over its
most recent *complete* units: those first exposed since the promotion, in the last
``RECENT_DAYS`` days before the conversion window's length ago (a unit exposed later has not had
its whole window to convert, so its rate would read low for no reason). The reading is an
``ExperimentCheck`` of kind ``monitor`` with the rate and its 95 % interval; it alerts when the
interval's upper bound is below the lower bound the winner was tested at (``tested_low``): then
even the most favourable reading of the recent numbers is worse than the least favourable reading
of the test's, which rules out chance as the explanation ("Drifted: 3.1% now, 5.0% when tested").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Experiment, ExperimentCheck, ExperimentVariant
from leadwell.experiments.intervals import RateInterval, rate_interval
from leadwell.experiments.metrics import METRICS, Metric, metric_arms

RECENT_DAYS = 28


def last_check(session: Session, experiment: Experiment, kind: str) -> ExperimentCheck | None:
    """The experiment's newest check of ``kind``."""
    return session.scalars(
        select(ExperimentCheck)
        .where(ExperimentCheck.experiment_id == experiment.id, ExperimentCheck.kind == kind)
        .order_by(ExperimentCheck.checked_at.desc(), ExperimentCheck.id.desc())
        .limit(1)
    ).first()


def recent_span(experiment: Experiment, now: datetime) -> tuple[datetime, datetime]:
    """First exposures the monitor reads: since the promotion and the last ``RECENT_DAYS`` days
    whose units have had their whole window."""
    complete = now - timedelta(days=experiment.window_days)
    since = complete - timedelta(days=RECENT_DAYS)
    if experiment.scaled_at is not None:
        since = max(since, experiment.scaled_at)
    return since, complete


def monitor(session: Session, experiment: Experiment, now: datetime) -> int:
    """Record today's reading of a scaled experiment's winner (1), or nothing when today's is
    recorded already (0)."""
    latest = last_check(session, experiment, "monitor")
    if latest is not None and latest.checked_at.astimezone(UTC).date() == now.astimezone(UTC).date():
        return 0
    metric = METRICS[experiment.primary_metric]
    winner = session.scalar(
        select(ExperimentVariant).where(
            ExperimentVariant.experiment_id == experiment.id, ExperimentVariant.key == experiment.winner_key
        )
    )
    since, until = recent_span(experiment, now)
    check = ExperimentCheck(experiment_id=experiment.id, checked_at=now, kind="monitor")
    if winner is None or until <= since:
        days = experiment.window_days
        check.message = f"Waiting: no unit exposed since the promotion has had its {days}-day window yet."
    else:
        arm = metric_arms(session, experiment, metric.key, now, exposed_since=since, exposed_until=until)[
            winner.id
        ]
        reading = rate_interval(arm)
        check.units, check.rate, check.low, check.high = arm.n, reading.rate, reading.low, reading.high
        check.alert = (
            reading.high is not None
            and experiment.tested_low is not None
            and reading.high < experiment.tested_low
        )
        check.message = _message(experiment, metric, reading, arm.n, check.alert)
    session.add(check)
    session.flush()
    return 1


def _message(experiment: Experiment, metric: Metric, reading: RateInterval, units: int, alert: bool) -> str:
    if units == 0:
        return "Waiting: no unit of the winner has completed its window in the period read."
    tested = ""
    if experiment.tested_rate is not None:
        tested = f", {show(metric, experiment.tested_rate)} when tested"
        if experiment.tested_low is not None:
            tested += f" (at least {show(metric, experiment.tested_low)})"
    if alert:
        return f"Drifted: {show(metric, reading.rate)} now{tested}."
    bounds = ""
    if reading.low is not None and reading.high is not None:
        bounds = f" ({show(metric, reading.low)}–{show(metric, reading.high)}, {units:,} units)"
    return f"Holding: {show(metric, reading.rate)} now{bounds}{tested}."


def show(metric: Metric, value: float) -> str:
    """A rate as a percentage with one decimal, a revenue as an amount per unit."""
    if metric.kind == "revenue":
        return f"{value:,.2f} per unit"
    return f"{value * 100:.1f}%"
