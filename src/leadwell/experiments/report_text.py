"""An experiment's report as people read it: every figure formatted once, here, for both the page
and ``leadwell experiment report`` — so the two always print the same numbers.

Rates read as percentages with one decimal, differences of rates in points ("+1.2 pts"), revenue
per unit with two decimals, p-values with two significant digits, intervals in brackets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from leadwell.experiments.report import Comparison, ExperimentReport, GuardrailRow, VariantRow

DASH = "–"
STATISTIC_LABELS = {
    "sequential": "the sequential test (always-valid p-value)",
    "frequentist": "the fixed-horizon test (p-value)",
    "bayesian": "the Bayesian chance to beat the control",
}
STATE_LABELS = {"draft": "Draft", "running": "Running", "stopped": "Stopped", "scaled": "Scaled"}
CHECK_LABELS = {"allocation": "Bandit re-allocation", "stop": "Stop rule", "monitor": "Monitor"}


def percent(value: float | None, digits: int = 1) -> str:
    """0.0423 → "4.2%"."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def signed_percent(value: float | None, digits: int = 1) -> str:
    """A relative change: 0.2 → "+20.0%"."""
    return DASH if value is None else f"{value * 100:+.{digits}f}%"


def rate(value: float | None, kind: str) -> str:
    """A rate (conversions) or a mean per unit (revenue)."""
    if value is None:
        return DASH
    return f"{value:,.2f}" if kind == "revenue" else percent(value)


def difference(value: float | None, kind: str) -> str:
    """A difference of rates in percentage points, or of means per unit."""
    if value is None:
        return DASH
    return f"{value:+,.2f}" if kind == "revenue" else f"{value * 100:+.1f} pts"


def interval(low: float | None, high: float | None, formatter: Any) -> str:
    """ "[low, high]" with ``formatter``; a dash without bounds."""
    if low is None or high is None:
        return DASH
    return f"[{formatter(low)}, {formatter(high)}]"


def p_value(value: float | None) -> str:
    """0.0312 → "0.031"; below 0.001 → "<0.001"."""
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.2g}" if value < 0.1 else f"{value:.2f}"


def chance(value: float | None) -> str:
    """A probability as people read it: "97%", ">99%" and "<1%" at the ends (never a flat 100%)."""
    if value is None:
        return DASH
    if value > 0.99:
        return ">99%"
    if value < 0.01:
        return "<1%"
    return f"{value * 100:.0f}%"


def when(moment: Any) -> str:
    """A stored time as "2025-03-14 09:30 UTC"; a dash for none."""
    if moment is None:
        return DASH
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return str(moment.strftime("%Y-%m-%d %H:%M UTC"))


@dataclass(frozen=True)
class VariantLine:
    """One row of the variants table, formatted."""

    key: str
    name: str
    control: bool
    split: str  # "weight 1" or "bandit 62.0%"
    assigned: str
    exposed: str
    outcome: str  # conversions, or revenue's total
    rate: str
    rate_interval: str


@dataclass(frozen=True)
class ComparisonLine:
    """One non-control variant against the control, formatted."""

    variant: str
    control: str
    difference: str
    difference_interval: str
    relative: str
    relative_interval: str
    p_value: str
    chance_to_beat: str
    expected_loss: str
    always_valid_p: str
    deciding: str  # "p_value", "chance_to_beat" or "always_valid_p": the column that decides
    verdict: str


def variant_line(row: VariantRow, kind: str, allocation: str) -> VariantLine:
    split = (
        f"bandit {percent(row.share)}"
        if allocation == "bandit" and row.share is not None
        else f"weight {row.weight:g}"
    )
    outcome = f"{row.total:,.2f}" if kind == "revenue" else f"{row.conversions or 0:,}"
    return VariantLine(
        key=row.key,
        name=row.name,
        control=row.is_control,
        split=split,
        assigned=f"{row.assigned:,}",
        exposed=f"{row.exposed:,}",
        outcome=outcome,
        rate=rate(row.rate, kind),
        rate_interval=interval(row.rate_low, row.rate_high, lambda value: rate(value, kind)),
    )


def _loss(value: float | None, kind: str) -> str:
    """An expected loss: revenue per unit, or rate points (tiny losses as "<0.01")."""
    if value is None:
        return DASH
    scaled, unit = (value, "") if kind == "revenue" else (value * 100, " pts")
    return f"<0.01{unit}" if 0 < scaled < 0.005 else f"{scaled:,.2f}{unit}"


def comparison_line(comparison: Comparison, kind: str, statistic: str) -> ComparisonLine:
    """The deciding statistic gives the difference's interval (the sequential test's confidence
    sequence, the Bayesian credible interval or the fixed confidence interval) and its p-value
    Holm-adjusted over the variants; the other statistics' own figures sit beside it."""
    fixed, posterior, seq = comparison.frequentist, comparison.bayesian, comparison.sequential
    bounds = {
        "sequential": (seq.difference_low, seq.difference_high),
        "bayesian": (posterior.difference_low, posterior.difference_high),
    }.get(statistic, (fixed.difference_low, fixed.difference_high))
    relative = (
        (posterior.relative_low, posterior.relative_high)
        if statistic == "bayesian"
        else (fixed.relative_low, fixed.relative_high)
    )
    adjusted = comparison.adjusted_p_value
    return ComparisonLine(
        variant=comparison.variant,
        control=comparison.control,
        difference=difference(fixed.difference, kind),
        difference_interval=interval(*bounds, lambda value: difference(value, kind)),
        relative=signed_percent(fixed.relative),
        relative_interval=interval(*relative, signed_percent),
        p_value=p_value(adjusted if statistic == "frequentist" else fixed.p_value),
        chance_to_beat=chance(posterior.chance_to_beat),
        expected_loss=_loss(posterior.expected_loss, kind),
        always_valid_p=p_value(adjusted if statistic == "sequential" else seq.p_value),
        deciding={"frequentist": "p_value", "bayesian": "chance_to_beat"}.get(statistic, "always_valid_p"),
        verdict=comparison.verdict.sentence,
    )


@dataclass(frozen=True)
class GuardrailLine:
    label: str
    variant: str
    control_rate: str
    variant_rate: str
    difference: str
    difference_interval: str
    tolerance: str
    breached: bool


def guardrail_line(row: GuardrailRow) -> GuardrailLine:
    kind = "conversion"
    return GuardrailLine(
        label=row.label,
        variant=row.variant,
        control_rate=rate(row.control_rate, kind),
        variant_rate=rate(row.variant_rate, kind),
        difference=difference(row.difference, kind),
        difference_interval=interval(row.difference_low, row.difference_high, lambda v: difference(v, kind)),
        tolerance=percent(row.tolerance, 0),
        breached=row.breached,
    )


@dataclass(frozen=True)
class PlanLine:
    baseline: str
    minimum_effect: str
    units_needed: str  # per variant
    smallest_arm: str
    progress: str
    progress_share: float | None
    detectable_effect: str


def plan_line(report: ExperimentReport) -> PlanLine | None:
    plan = report.plan
    if plan is None:
        return None
    source = {"set": " (set)", "observed": " (the control's so far)"}.get(plan.baseline_source, "")
    return PlanLine(
        baseline=percent(plan.baseline, 2) + (source if plan.baseline is not None else ""),
        minimum_effect=signed_percent(plan.minimum_effect, 0),
        units_needed=DASH if plan.units_needed is None else f"{plan.units_needed:,}",
        smallest_arm=f"{plan.smallest_arm:,}",
        progress=percent(plan.progress, 0),
        progress_share=plan.progress,
        detectable_effect=signed_percent(plan.detectable_effect, 0),
    )


@dataclass(frozen=True)
class ReportText:
    """Everything the page and the CLI print, formatted."""

    variants: list[VariantLine]
    comparisons: list[ComparisonLine]
    guardrails: list[GuardrailLine]
    plan: PlanLine | None
    sample_ratio: str


def report_text(report: ExperimentReport) -> ReportText:
    """The report's figures as text."""
    summary = report.experiment
    kind = summary["primary_metric"]["kind"]
    statistic = summary["statistic"]
    if report.sample_ratio is None:
        ratio = report.sample_ratio_note or DASH
    else:
        verdict = "mismatch" if report.sample_ratio.mismatch else "as the weights expect"
        ratio = f"p = {p_value(report.sample_ratio.p_value)} ({verdict})"
    return ReportText(
        variants=[variant_line(row, kind, summary["allocation"]) for row in report.variants],
        comparisons=[comparison_line(row, kind, statistic) for row in report.comparisons],
        guardrails=[guardrail_line(row) for row in report.guardrails],
        plan=plan_line(report),
        sample_ratio=ratio,
    )


def as_rows(lines: list[Any]) -> list[dict[str, Any]]:
    """Formatted lines as dicts (for a table)."""
    return [asdict(line) for line in lines]
