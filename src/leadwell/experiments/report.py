"""The shape of an experiment's report: what the page shows and ``leadwell experiment report --json``
prints. ``ExperimentReport.as_dict()`` is that JSON: keys are stable, numbers are raw floats (the
page and the CLI round them when they display them), times are ISO 8601 strings, and undefined
numbers (an interval without data, an effect too large to detect) are ``null``, never NaN.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from typing import Any

from leadwell.experiments.bayes import Bayesian
from leadwell.experiments.frequentist import Frequentist
from leadwell.experiments.sample_ratio import SampleRatio
from leadwell.experiments.sequential import Sequential
from leadwell.experiments.verdict import Verdict


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses and mappings as dicts, tuples as lists, times as
    ISO strings, non-finite floats as ``None``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclasses.dataclass(frozen=True)
class VariantRow:
    """One variant on the primary metric: its split, its units and its rate (mean per unit for
    revenue) with a 95 % interval (Wilson for rates)."""

    key: str
    name: str
    is_control: bool
    weight: float
    share: float | None  # the bandit's current share of new units; None with a fixed split
    assigned: int
    exposed: int
    conversions: int | None  # conversion metrics
    total: float | None  # revenue
    rate: float
    rate_low: float | None
    rate_high: float | None


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One variant against the control on the primary metric, by all three statistics."""

    variant: str
    control: str
    frequentist: Frequentist
    bayesian: Bayesian
    sequential: Sequential
    p_value: float | None  # the deciding statistic's own (None for bayesian)
    adjusted_p_value: float | None  # Holm-adjusted over the variants (None for bayesian)
    verdict: Verdict


@dataclasses.dataclass(frozen=True)
class GuardrailRow:
    """A guardrail metric for one variant against the control: the deciding statistic's interval
    of the difference and whether it lies wholly beyond the tolerated worsening (``margin``)."""

    metric: str
    label: str
    higher_is_better: bool
    tolerance: float
    variant: str
    control_rate: float
    variant_rate: float
    difference: float
    difference_low: float | None
    difference_high: float | None
    margin: float  # tolerance × the control's rate, in the metric's units
    breached: bool


@dataclasses.dataclass(frozen=True)
class Plan:
    """How far the experiment is from telling the lift it was sized for."""

    baseline: float | None
    baseline_source: str  # "set" (the experiment's baseline_rate) | "observed" (the control's) | "none"
    minimum_effect: float | None
    units_needed: int | None  # per variant
    smallest_arm: int  # exposed units of the smallest variant
    progress: float | None  # smallest_arm ÷ units_needed, at most 1
    detectable_effect: float | None  # relative lift detectable now with the smallest arm


@dataclasses.dataclass(frozen=True)
class SeriesRow:
    """One variant at the end of one day, cumulative (the chart's points)."""

    date: date
    variant: str
    exposed: int
    conversions: int | None
    total: float | None
    rate: float


@dataclasses.dataclass(frozen=True)
class CheckRow:
    """A decision or reading of the worker (newest first in the report)."""

    checked_at: datetime
    kind: str
    rate: float | None
    low: float | None
    high: float | None
    units: int
    alert: bool
    message: str


@dataclasses.dataclass(frozen=True)
class ExperimentReport:
    """Everything known about an experiment at ``generated_at``."""

    experiment: dict[str, Any]
    variants: list[VariantRow]
    comparisons: list[Comparison]
    guardrails: list[GuardrailRow]
    sample_ratio: SampleRatio | None  # None when it does not apply (see sample_ratio_note)
    sample_ratio_note: str | None
    plan: Plan | None
    series: list[SeriesRow]
    outcome: str  # a verdict outcome: variant_wins, control_wins, no_difference, too_early, mismatch
    decision: str  # "B beats A", "no difference yet", "too early"…
    verdict: str  # one sentence
    winner: str | None  # the key of the better variant when there is one
    warnings: list[str]
    checks: list[CheckRow]
    generated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (see the module's description)."""
        result: dict[str, Any] = plain(self)
        return result
