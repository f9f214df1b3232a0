"""The words of a report: the experiment's summary, how the metric reads in a verdict, which
comparison's verdict speaks for the experiment, and the warnings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Deal, Experiment, ExperimentVariant
from leadwell.experiments.arms import Arm
from leadwell.experiments.metrics import METRICS, Metric
from leadwell.experiments.report import Comparison, GuardrailRow
from leadwell.experiments.sample_ratio import SampleRatio
from leadwell.experiments.subjects import subject_id_of, subject_label
from leadwell.experiments.verdict import Verdict, Wording, chance_better

# Who a unit is, per kind: emails reach recipients, pages and forms are seen by visitors.
UNITS = {
    "email_template": ("recipient", "recipients"),
    "sequence_step": ("recipient", "recipients"),
    "landing_page": ("visitor", "visitors"),
    "form": ("visitor", "visitors"),
    "magnet": ("visitor", "visitors"),
    "channel_offer": ("lead", "leads"),
}
# When no comparison has a winner, which outcome speaks for the experiment, first to last.
PRECEDENCE = ("mismatch", "variant_wins", "no_difference", "control_wins", "too_early")
OPENS_WARNING = (
    "Opens are unreliable: mail privacy proxies open every email they receive, so an open says little "
    "about a person; judge on clicks or replies."
)


def wording_for(session: Session, experiment: Experiment, metric: Metric) -> Wording:
    """How the metric and the units read in the verdict sentence."""
    unit, units = UNITS[experiment.kind]
    currency = ""
    if metric.kind == "revenue":
        # Revenue adds up won deals as recorded: the workspace's usual currency names the sum.
        currency = (
            session.scalar(
                select(Deal.currency)
                .where(Deal.workspace_id == experiment.workspace_id)
                .group_by(Deal.currency)
                .order_by(func.count().desc(), Deal.currency)
                .limit(1)
            )
            or ""
        )
    return Wording(
        noun=metric.noun,
        kind=metric.kind,
        unit=unit,
        units=units,
        currency=currency,
        higher_is_better=metric.higher_is_better,
    )


def choose_verdict(comparisons: list[Comparison], metric: Metric) -> Verdict:
    """The experiment's verdict: a split mismatch first; else the best winning variant; else the
    undecided variant most likely to be better; else the control beating a variant; else too early."""
    for outcome in PRECEDENCE:
        found = [comparison for comparison in comparisons if comparison.verdict.outcome == outcome]
        if not found:
            continue
        if outcome == "variant_wins":
            sign = 1 if metric.higher_is_better else -1
            return max(found, key=lambda comparison: sign * comparison.frequentist.variant_rate).verdict
        if outcome == "no_difference":
            return max(
                found, key=lambda comparison: chance_better(comparison.bayesian, metric.higher_is_better)
            ).verdict
        return found[0].verdict
    raise ValueError("an experiment has at least one comparison")


def experiment_summary(session: Session, experiment: Experiment, metric: Metric) -> dict[str, Any]:
    """The experiment's definition and state as the report's ``experiment`` object."""
    return {
        "slug": experiment.slug,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "kind": experiment.kind,
        "subject": subject_label(session, experiment),
        "subject_id": subject_id_of(experiment),
        "state": experiment.state,
        "allocation": experiment.allocation,
        "statistic": experiment.statistic,
        "alpha": experiment.alpha,
        "power": experiment.power,
        "minimum_effect": experiment.minimum_effect,
        "baseline_rate": experiment.baseline_rate,
        "primary_metric": {
            "key": metric.key,
            "label": metric.label,
            "noun": metric.noun,
            "kind": metric.kind,
            "higher_is_better": metric.higher_is_better,
            "unreliable": metric.unreliable,
        },
        "guardrails": [dict(guard) for guard in experiment.guardrails],
        "window_days": experiment.window_days,
        "max_days": experiment.max_days,
        "started_at": experiment.started_at,
        "stopped_at": experiment.stopped_at,
        "scaled_at": experiment.scaled_at,
        "winner_key": experiment.winner_key,
        "tested_rate": experiment.tested_rate,
        "tested_low": experiment.tested_low,
    }


def warnings_for(
    experiment: Experiment,
    metric: Metric,
    variants: list[ExperimentVariant],
    arms: dict[int, Arm],
    ratio: SampleRatio | None,
    guardrails: list[GuardrailRow],
    waiting: int,
    minimum_units: int,
) -> list[str]:
    """What a reader must know before trusting the numbers, most serious first."""
    warnings: list[str] = []
    if ratio is not None and ratio.mismatch:
        counts = ", ".join(f"{variant.key} {arms[variant.id].n:,}" for variant in variants)
        warnings.append(
            f"Split mismatch: the exposed units ({counts}) do not follow the weights "
            f"(p = {ratio.p_value:.2g}); find the cause before trusting any number."
        )
    for row in guardrails:
        if row.breached:
            label = METRICS[row.metric].noun
            warnings.append(
                f"Guardrail breached: {row.variant} is worse than the control on {label} "
                f"beyond the {row.tolerance:.0%} tolerated."
            )
    if metric.unreliable or any(METRICS[guard["metric"]].unreliable for guard in experiment.guardrails):
        warnings.append(OPENS_WARNING)
    short = [variant for variant in variants if arms[variant.id].n < minimum_units and variant.weight > 0]
    if short and experiment.state != "draft":
        listed = ", ".join(f"{variant.key} ({arms[variant.id].n:,})" for variant in short)
        warnings.append(f"Too early: fewer than {minimum_units:,} exposed units on {listed}.")
    if waiting:
        warnings.append(
            f"Conversions still coming in: {waiting:,} units were exposed less than {experiment.window_days} "
            "days ago, so their window is open and the rates may still rise."
        )
    return warnings
