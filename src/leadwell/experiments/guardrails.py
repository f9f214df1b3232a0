"""Guardrails: metrics a variant must not make worse (unsubscribes, bounces, meetings…) while it
wins on the primary one.

A guardrail with tolerance ``t`` allows a variant to be worse than the control by ``t`` times the
control's rate (the *margin*; 0 by default). It is **breached** when the deciding statistic is
confident the variant is worse by more than the margin: the interval of the difference
(variant − control) lies wholly beyond it — below −margin for a metric where higher is better,
above +margin for one where lower is better (unsubscribes, bounces). The interval is the
statistic's own: the frequentist 1 − alpha confidence interval, the sequential test's confidence
sequence (valid however often the report is looked at), or the Bayesian 95 % credible interval.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadwell.db.models import Experiment, ExperimentVariant
from leadwell.experiments.arms import Arm, moments
from leadwell.experiments.bayes import bayesian
from leadwell.experiments.frequentist import frequentist
from leadwell.experiments.metrics import METRICS, Metric, metric_arms
from leadwell.experiments.report import GuardrailRow
from leadwell.experiments.sequential import sequential
from leadwell.experiments.series import DailySeries, daily_series


def guardrail_rows(
    session: Session,
    experiment: Experiment,
    variants: list[ExperimentVariant],
    control: ExperimentVariant,
    now: datetime,
    planned_units: int | None,
) -> list[GuardrailRow]:
    """Every guardrail for every variant but the control, in the order they were defined."""
    rows: list[GuardrailRow] = []
    for guard in experiment.guardrails:
        metric = METRICS[guard["metric"]]
        arms = metric_arms(session, experiment, metric.key, now, exposed_until=experiment.scaled_at)
        series = None
        if experiment.statistic == "sequential":
            series = daily_series(session, experiment, metric.key, now, exposed_until=experiment.scaled_at)
        for variant in variants:
            if variant.id == control.id:
                continue
            interval = _interval(
                experiment,
                arms[control.id],
                arms[variant.id],
                series,
                (control.id, variant.id),
                planned_units,
            )
            rows.append(
                _row(
                    metric,
                    float(guard.get("tolerance", 0.0)),
                    variant.key,
                    arms[control.id],
                    arms[variant.id],
                    interval,
                )
            )
    return rows


def _interval(
    experiment: Experiment,
    control: Arm,
    variant: Arm,
    series: DailySeries | None,
    ids: tuple[int, int],
    planned_units: int | None,
) -> tuple[float | None, float | None]:
    """The deciding statistic's interval of variant − control."""
    if experiment.statistic == "bayesian":
        found = bayesian(control, variant)
        return found.difference_low, found.difference_high
    if experiment.statistic == "sequential" and series is not None:
        looks = series.looks(*ids) or [(control, variant)]
        tested = sequential(looks, experiment.alpha, planned_units=planned_units)
        return tested.difference_low, tested.difference_high
    fixed = frequentist(control, variant, experiment.alpha)
    return fixed.difference_low, fixed.difference_high


def _row(
    metric: Metric,
    tolerance: float,
    key: str,
    control: Arm,
    variant: Arm,
    interval: tuple[float | None, float | None],
) -> GuardrailRow:
    control_rate, variant_rate = moments(control)[0], moments(variant)[0]
    margin = tolerance * abs(control_rate)
    low, high = interval
    if metric.higher_is_better:
        breached = high is not None and high < -margin
    else:
        breached = low is not None and low > margin
    return GuardrailRow(
        metric=metric.key,
        label=metric.label,
        higher_is_better=metric.higher_is_better,
        tolerance=tolerance,
        variant=key,
        control_rate=control_rate,
        variant_rate=variant_rate,
        difference=variant_rate - control_rate,
        difference_low=low,
        difference_high=high,
        margin=margin,
        breached=breached,
    )
