"""An experiment's report: its variants' numbers on the primary metric, every variant against the
control by the three statistics, the guardrails, the split check, the plan, the series for the
chart, the verdict, the worker's checks and the warnings a reader must not miss.

The numbers come from :mod:`.metrics` (SQL) and go through the pure functions of :mod:`.stats`,
so the report is those functions applied to the workspace's counts, nothing more:

- each non-control variant against the control: ``frequentist``, ``bayesian`` and ``sequential``
  (one look per day since the start); the deciding statistic's p-values are Holm-adjusted over the
  variants (the Bayesian decision has no p-value: it asks for a chance to be better of 1 − alpha);
- the split: ``sample_ratio`` of the exposed units against the weights, with a fixed split only —
  a bandit moves the split on purpose, so the check does not apply once it has;
- the plan: ``plan_sample_size`` for the experiment's ``minimum_effect`` over its baseline (set, or
  the control's observed rate) and ``plan_minimum_effect`` with the smallest arm so far;
- the verdict: ``verdict`` per comparison; the experiment's is the best winning variant's, else the
  closest call.

A promoted (scaled) experiment keeps being reported on the units exposed until its promotion:
everyone after gets the winner, which would skew the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Experiment, ExperimentAssignment, ExperimentCheck, ExperimentVariant
from leadwell.errors import InvalidInput
from leadwell.experiments.arms import Arm, Counts, Sums, moments
from leadwell.experiments.definitions import control_of, variants_of
from leadwell.experiments.guardrails import guardrail_rows
from leadwell.experiments.intervals import rate_interval
from leadwell.experiments.metrics import METRICS, Metric, metric_arms
from leadwell.experiments.planning import plan_minimum_effect, plan_sample_size
from leadwell.experiments.report import CheckRow, Comparison, ExperimentReport, Plan, SeriesRow, VariantRow
from leadwell.experiments.sample_ratio import SampleRatio, sample_ratio
from leadwell.experiments.series import DailySeries, daily_series
from leadwell.experiments.stats import (
    Bayesian,
    Frequentist,
    Sequential,
    Verdict,
    Wording,
    bayesian,
    frequentist,
    holm,
    sequential,
    verdict,
)
from leadwell.experiments.summary import choose_verdict, experiment_summary, warnings_for, wording_for

Tested = tuple[Frequentist, Bayesian, Sequential]
MINIMUM_UNITS = 100  # fewer exposed per variant is "too early" whatever the numbers say
CHECKS_SHOWN = 10


def experiment_report(session: Session, experiment: Experiment, now: datetime) -> ExperimentReport:
    """Everything the page and ``leadwell experiment report`` show, computed as of ``now``."""
    variants = variants_of(session, experiment)
    control = control_of(variants)
    metric = METRICS[experiment.primary_metric]
    arms = metric_arms(session, experiment, metric.key, now, exposed_until=experiment.scaled_at)
    series = daily_series(session, experiment, metric.key, now, exposed_until=experiment.scaled_at)
    plan = _plan(experiment, metric, arms, control, variants)
    ratio, ratio_note = _sample_ratio(session, experiment, variants, arms)
    mismatch = ratio is not None and ratio.mismatch
    comparisons = _comparisons(session, experiment, metric, variants, control, arms, series, plan, mismatch)
    planned = plan.units_needed if plan is not None else None
    guardrails = guardrail_rows(session, experiment, variants, control, now, planned)
    chosen = choose_verdict(comparisons, metric)
    waiting = _within_window(session, experiment, now)
    return ExperimentReport(
        experiment=experiment_summary(session, experiment, metric),
        variants=_variant_rows(session, experiment, variants, arms),
        comparisons=comparisons,
        guardrails=guardrails,
        sample_ratio=ratio,
        sample_ratio_note=ratio_note,
        plan=plan,
        series=_series_rows(series, variants),
        outcome=chosen.outcome,
        decision=chosen.decision,
        verdict=chosen.sentence,
        winner=chosen.winner,
        warnings=warnings_for(experiment, metric, variants, arms, ratio, guardrails, waiting, MINIMUM_UNITS),
        checks=_checks(session, experiment),
        generated_at=now,
    )


def _variant_rows(
    session: Session, experiment: Experiment, variants: list[ExperimentVariant], arms: dict[int, Arm]
) -> list[VariantRow]:
    assigned: dict[int, int] = {
        variant_id: count
        for variant_id, count in session.execute(
            select(ExperimentAssignment.variant_id, func.count())
            .where(ExperimentAssignment.experiment_id == experiment.id)
            .group_by(ExperimentAssignment.variant_id)
        )
    }
    rows = []
    for variant in variants:
        arm = arms[variant.id]
        interval = rate_interval(arm)
        rows.append(
            VariantRow(
                key=variant.key,
                name=variant.name,
                is_control=variant.is_control,
                weight=variant.weight,
                share=variant.share,
                assigned=int(assigned.get(variant.id, 0)),
                exposed=arm.n,
                conversions=arm.x if isinstance(arm, Counts) else None,
                total=arm.total if isinstance(arm, Sums) else None,
                rate=interval.rate,
                rate_low=interval.low,
                rate_high=interval.high,
            )
        )
    return rows


def _plan(
    experiment: Experiment,
    metric: Metric,
    arms: dict[int, Arm],
    control: ExperimentVariant,
    variants: list[ExperimentVariant],
) -> Plan | None:
    """Units needed for the planned lift and the lift detectable now; conversion metrics only
    (the planner sizes tests of rates)."""
    if metric.kind != "conversion":
        return None
    smallest = min(arm.n for arm in arms.values())
    observed = moments(arms[control.id])[0] if arms[control.id].n else None
    baseline = experiment.baseline_rate if experiment.baseline_rate is not None else observed
    source = "set" if experiment.baseline_rate is not None else "observed" if observed is not None else "none"
    if baseline is None or not 0 < baseline < 1:
        return Plan(None, "none", experiment.minimum_effect, None, smallest, None, None)
    alpha, power, count = experiment.alpha, experiment.power, len(variants)
    by_sequential = experiment.statistic == "sequential"
    needed = None
    if experiment.minimum_effect is not None:
        try:
            needed = plan_sample_size(
                baseline,
                experiment.minimum_effect,
                alpha=alpha,
                power=power,
                variants=count,
                sequential=by_sequential,
            )
        except InvalidInput:  # a lift that would take the rate to 1 or beyond
            needed = None
    detectable = plan_minimum_effect(
        baseline, smallest, alpha=alpha, power=power, variants=count, sequential=by_sequential
    )
    progress = min(smallest / needed, 1.0) if needed else None
    return Plan(baseline, source, experiment.minimum_effect, needed, smallest, progress, detectable)


def _sample_ratio(
    session: Session, experiment: Experiment, variants: list[ExperimentVariant], arms: dict[int, Arm]
) -> tuple[SampleRatio | None, str | None]:
    """The split check, or why it does not apply."""
    reallocated = session.scalar(
        select(ExperimentCheck.id)
        .where(ExperimentCheck.experiment_id == experiment.id, ExperimentCheck.kind == "allocation")
        .limit(1)
    )
    if experiment.allocation == "bandit" or reallocated is not None:
        return None, "Not applicable: the bandit moves the split between variants on purpose."
    observed = [arms[variant.id].n for variant in variants]
    return sample_ratio(observed, [variant.weight for variant in variants]), None


@dataclass(frozen=True)
class _Judging:
    """What every comparison of one report shares."""

    experiment: Experiment
    wording: Wording
    control: ExperimentVariant
    arms: dict[int, Arm]
    planned: int | None
    mismatch: bool

    def tests(self, variant: ExperimentVariant, series: DailySeries) -> Tested:
        """The three statistics of ``variant`` against the control."""
        pair = (self.arms[self.control.id], self.arms[variant.id])
        looks = series.looks(self.control.id, variant.id) or [pair]
        alpha = self.experiment.alpha
        return (
            frequentist(*pair, alpha),
            bayesian(*pair),
            sequential(looks, alpha, planned_units=self.planned),
        )

    def verdict(self, variant: ExperimentVariant, tested: Tested, adjusted: float | None) -> Verdict:
        fixed, posterior, looked = tested
        return verdict(
            self.control.key,
            variant.key,
            self.wording,
            frequentist=fixed,
            bayesian=posterior,
            sequential=looked,
            statistic=self.experiment.statistic,
            alpha=self.experiment.alpha,
            p_value=adjusted,
            exposed=(self.arms[self.control.id].n, self.arms[variant.id].n),
            minimum_units=MINIMUM_UNITS,
            units_needed=self.planned,
            minimum_effect=self.experiment.minimum_effect,
            sample_ratio_mismatch=self.mismatch,
        )


def _comparisons(
    session: Session,
    experiment: Experiment,
    metric: Metric,
    variants: list[ExperimentVariant],
    control: ExperimentVariant,
    arms: dict[int, Arm],
    series: DailySeries,
    plan: Plan | None,
    mismatch: bool,
) -> list[Comparison]:
    """Each non-control variant against the control; the deciding p-values Holm-adjusted."""
    planned = plan.units_needed if plan is not None else None
    judging = _Judging(experiment, wording_for(session, experiment, metric), control, arms, planned, mismatch)
    others = [variant for variant in variants if variant.id != control.id]
    tests = [judging.tests(variant, series) for variant in others]
    deciding = experiment.statistic != "bayesian"
    own = [
        looked.p_value if experiment.statistic == "sequential" else fixed.p_value
        for fixed, _, looked in tests
    ]
    adjusted: list[float | None] = list(holm(own)) if deciding else [None] * len(own)
    return [
        Comparison(
            variant=variant.key,
            control=control.key,
            frequentist=tested[0],
            bayesian=tested[1],
            sequential=tested[2],
            p_value=p_value if deciding else None,
            adjusted_p_value=adjusted_p,
            verdict=judging.verdict(variant, tested, adjusted_p),
        )
        for variant, tested, p_value, adjusted_p in zip(others, tests, own, adjusted, strict=True)
    ]


def _series_rows(series: DailySeries, variants: list[ExperimentVariant]) -> list[SeriesRow]:
    rows = []
    for index, day in enumerate(series.days):
        for variant in variants:
            arm = series.arms[variant.id][index]
            rows.append(
                SeriesRow(
                    date=day,
                    variant=variant.key,
                    exposed=arm.n,
                    conversions=arm.x if isinstance(arm, Counts) else None,
                    total=arm.total if isinstance(arm, Sums) else None,
                    rate=moments(arm)[0],
                )
            )
    return rows


def _within_window(session: Session, experiment: Experiment, now: datetime) -> int:
    """Exposed units whose conversion window is still open: their numbers can still rise."""
    conditions = [
        ExperimentAssignment.experiment_id == experiment.id,
        ExperimentAssignment.first_exposed_at > now - timedelta(days=experiment.window_days),
        ExperimentAssignment.first_exposed_at <= (experiment.scaled_at or now),
    ]
    return int(session.scalar(select(func.count()).select_from(ExperimentAssignment).where(*conditions)) or 0)


def _checks(session: Session, experiment: Experiment) -> list[CheckRow]:
    rows = session.scalars(
        select(ExperimentCheck)
        .where(ExperimentCheck.experiment_id == experiment.id)
        .order_by(ExperimentCheck.checked_at.desc(), ExperimentCheck.id.desc())
        .limit(CHECKS_SHOWN)
    )
    return [
        CheckRow(row.checked_at, row.kind, row.rate, row.low, row.high, row.units, row.alert, row.message)
        for row in rows
    ]
