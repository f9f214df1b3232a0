"""An experiment as a user describes it, before it is checked and stored (see ``definitions``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class VariantSpec:
    """One arm: a key (``A``, ``B``…), a name, its traffic weight, and what it changes — a template
    variant (``email_template``), a template (``sequence_step``), a lead magnet (``magnet``) or
    ``overrides`` of a page or form (or a channel offer's free description)."""

    key: str
    name: str
    weight: float = 1.0
    is_control: bool = False
    template_variant_key: str | None = None
    template_id: int | None = None
    asset_id: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExperimentSpec:
    """Everything ``create_experiment`` needs; ``subject_id`` is the template, step, page or form
    the kind tests (``None`` for a channel offer)."""

    slug: str
    name: str
    kind: str
    subject_id: int | None
    primary_metric: str
    variants: list[VariantSpec]
    hypothesis: str = ""
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    statistic: str = "sequential"
    alpha: float = 0.05
    power: float = 0.8
    minimum_effect: float | None = None
    baseline_rate: float | None = None
    allocation: str = "fixed"
    window_days: int = 30
    max_days: int | None = None
