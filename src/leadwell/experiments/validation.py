"""Checks of an :class:`ExperimentSpec` before anything is written; each error names its field
(``variants[1].weight``, ``guardrails[0].metric``, ``subject``…).

What a variant may change depends on the kind: a template variant key (``email_template``), a
template (``sequence_step``), a lead magnet (``magnet``), the page's ``title``/``body_markdown``
(``landing_page``), the form's ``submit_label``/``thank_you``/``hide_fields`` (``form``), or free
keys the user's own systems read (``channel_offer``). Anything else set on a variant is refused
rather than silently ignored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import EXPERIMENT_ALLOCATIONS, EXPERIMENT_STATISTICS, EmailTemplate, Experiment, Form
from leadwell.errors import InvalidInput
from leadwell.experiments.metrics import METRICS, Metric, get_metric, metric_fits
from leadwell.experiments.specs import ExperimentSpec, VariantSpec
from leadwell.experiments.subjects import Subject, find_asset, find_template, template_variant_keys

MIN_VARIANTS, MAX_VARIANTS = 2, 6
KEY = re.compile(r"[A-Z][A-Z0-9]{0,15}")
MAX_WINDOW_DAYS = 365
MAX_RUNNING_DAYS = 3650
MAX_TOLERANCE = 10.0  # a guardrail's relative worsening tolerated (10 = 1,000 %)
MAX_OFFER_JSON = 4000
PAGE_OVERRIDES = ("title", "body_markdown")
FORM_OVERRIDES = ("submit_label", "thank_you", "hide_fields")


def _fail(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field=field)


def check_settings(spec: ExperimentSpec) -> None:
    """The experiment's own numbers and choices."""
    if not spec.name.strip() or len(spec.name.strip()) > 200:
        raise _fail("name", "give the experiment a name (at most 200 characters)")
    if len(spec.hypothesis) > 5000:
        raise _fail("hypothesis", "at most 5,000 characters")
    if spec.statistic not in EXPERIMENT_STATISTICS:
        raise _fail("statistic", f"one of {', '.join(EXPERIMENT_STATISTICS)} (got {spec.statistic[:40]!r})")
    if spec.allocation not in EXPERIMENT_ALLOCATIONS:
        raise _fail(
            "allocation", f"one of {', '.join(EXPERIMENT_ALLOCATIONS)} (got {spec.allocation[:40]!r})"
        )
    if not _number(spec.alpha) or not 0 < spec.alpha < 0.5:
        raise _fail("alpha", f"a significance level between 0 and 0.5, such as 0.05 (got {spec.alpha})")
    if not _number(spec.power) or not 0.5 < spec.power < 1:
        raise _fail("power", f"between 0.5 and 1, such as 0.8 (got {spec.power})")
    if spec.minimum_effect is not None and (
        not _number(spec.minimum_effect) or not 0 < spec.minimum_effect <= 10
    ):
        raise _fail(
            "minimum_effect", f"a relative lift above 0, such as 0.2 for +20% (got {spec.minimum_effect})"
        )
    if spec.baseline_rate is not None and (not _number(spec.baseline_rate) or not 0 < spec.baseline_rate < 1):
        raise _fail("baseline_rate", f"a rate between 0 and 1, such as 0.04 (got {spec.baseline_rate})")
    if not _whole(spec.window_days) or not 1 <= spec.window_days <= MAX_WINDOW_DAYS:
        raise _fail("window_days", f"whole days from 1 to {MAX_WINDOW_DAYS} (got {spec.window_days})")
    if spec.max_days is not None and (
        not _whole(spec.max_days) or not 1 <= spec.max_days <= MAX_RUNNING_DAYS
    ):
        raise _fail("max_days", f"whole days from 1 to {MAX_RUNNING_DAYS}, or none (got {spec.max_days})")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_metrics(kind: str, primary: str, guardrails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The primary metric and the guardrails, as stored: ``[{"metric", "tolerance"}]``."""
    metric = get_metric(primary, "primary_metric")
    _fits(metric, kind, "primary_metric")
    if not isinstance(guardrails, list) or len(guardrails) > len(METRICS):
        raise _fail("guardrails", f"a list of at most {len(METRICS)} guardrails")
    checked: list[dict[str, Any]] = []
    for index, guardrail in enumerate(guardrails):
        where = f"guardrails[{index}]"
        if not isinstance(guardrail, dict) or set(guardrail) - {"metric", "tolerance"}:
            raise _fail(where, 'a guardrail is {"metric": key, "tolerance": relative worsening tolerated}')
        guard = get_metric(str(guardrail.get("metric", "")), f"{where}.metric")
        _fits(guard, kind, f"{where}.metric")
        if guard.key == metric.key:
            raise _fail(f"{where}.metric", "the primary metric cannot be its own guardrail")
        if guard.key in (seen["metric"] for seen in checked):
            raise _fail(f"{where}.metric", f"{guard.key!r} is listed twice")
        tolerance = guardrail.get("tolerance", 0.0)
        if not _number(tolerance) or not 0 <= tolerance <= MAX_TOLERANCE:
            raise _fail(
                f"{where}.tolerance", f"a relative worsening from 0 to {MAX_TOLERANCE:g}, such as 0.1"
            )
        checked.append({"metric": guard.key, "tolerance": float(tolerance)})
    return checked


def _fits(metric: Metric, kind: str, field: str) -> None:
    if not metric_fits(metric, kind):
        raise _fail(
            field, f"{metric.key!r} is an email metric; a {kind.replace('_', ' ')} experiment sends no email"
        )


def check_variants(
    session: Session, workspace_id: int, kind: str, subject: Subject | None, variants: list[VariantSpec]
) -> list[VariantSpec]:
    """The variants cleaned (keys upper-cased, names filled in, the control marked), or the first
    fault named."""
    if not isinstance(variants, list) or not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise _fail("variants", f"from {MIN_VARIANTS} to {MAX_VARIANTS} variants")
    cleaned = [_clean(variant, index) for index, variant in enumerate(variants)]
    keys = [variant.key for variant in cleaned]
    for index, key in enumerate(keys):
        if key in keys[:index]:
            raise _fail(f"variants[{index}].key", f"{key!r} is used twice")
    cleaned = _with_control(cleaned)
    if not any(variant.weight > 0 for variant in cleaned):
        raise _fail("variants[0].weight", "at least one variant needs a weight above 0")
    control = next(index for index, variant in enumerate(cleaned) if variant.is_control)
    if cleaned[control].weight <= 0:
        raise _fail(
            f"variants[{control}].weight",
            "the control needs a weight above 0: it is what the others are compared with",
        )
    for index, variant in enumerate(cleaned):
        _check_content(session, workspace_id, kind, subject, variant, f"variants[{index}]")
    return cleaned


def _clean(variant: VariantSpec, index: int) -> VariantSpec:
    where = f"variants[{index}]"
    if not isinstance(variant, VariantSpec):
        raise _fail(where, "a variant has a key, a name and a weight")
    key = (variant.key or "").strip().upper()
    if not KEY.fullmatch(key):
        raise _fail(f"{where}.key", "a capital letter, then up to 15 letters or digits (A, B, C…)")
    name = (variant.name or "").strip() or f"Variant {key}"
    if len(name) > 200:
        raise _fail(f"{where}.name", "at most 200 characters")
    if not _number(variant.weight) or variant.weight < 0:
        raise _fail(f"{where}.weight", f"a number ≥ 0 (got {variant.weight})")
    if not isinstance(variant.overrides, dict):
        raise _fail(f"{where}.overrides", "a set of names and values")
    return replace(
        variant, key=key, name=name, weight=float(variant.weight), overrides=dict(variant.overrides)
    )


def _with_control(variants: list[VariantSpec]) -> list[VariantSpec]:
    """Exactly one control: the one marked, else ``A``."""
    marked = [index for index, variant in enumerate(variants) if variant.is_control]
    if len(marked) > 1:
        raise _fail(f"variants[{marked[1]}].is_control", "only one variant can be the control")
    if marked:
        return variants
    for index, variant in enumerate(variants):
        if variant.key == "A":
            variants[index] = replace(variant, is_control=True)
            return variants
    raise _fail("variants", "mark one variant as the control (or call it A)")


def _check_content(
    session: Session, workspace_id: int, kind: str, subject: Subject | None, variant: VariantSpec, where: str
) -> None:
    """What the variant changes fits the kind, and what it names exists in the workspace."""
    allowed = {
        "email_template": "template_variant_key",
        "sequence_step": "template_id",
        "magnet": "asset_id",
    }.get(kind)
    for name in ("template_variant_key", "template_id", "asset_id"):
        if name != allowed and getattr(variant, name) is not None:
            raise _fail(f"{where}.{name}", f"a {kind.replace('_', ' ')} experiment does not use it")
    if kind == "email_template":
        assert isinstance(subject, EmailTemplate)
        keys = template_variant_keys(session, subject.id)
        if variant.template_variant_key not in keys:
            raise _fail(f"{where}.template_variant_key", f"one of the template's variants: {', '.join(keys)}")
    elif kind == "sequence_step":
        template = find_template(session, workspace_id, variant.template_id, f"{where}.template_id")
        if not template_variant_keys(session, template.id):
            raise _fail(f"{where}.template_id", f"template {template.slug!r} has no content yet")
    elif kind == "magnet":
        find_asset(session, workspace_id, variant.asset_id, f"{where}.asset_id")
    _check_overrides(kind, subject, variant.overrides, f"{where}.overrides")


def _check_overrides(kind: str, subject: Subject | None, overrides: dict[str, Any], where: str) -> None:
    if kind == "channel_offer":
        _check_offer(overrides, where)
        return
    allowed = {"landing_page": PAGE_OVERRIDES, "form": FORM_OVERRIDES}.get(kind, ())
    for key in overrides:
        if key not in allowed:
            hint = f"one of {', '.join(allowed)}" if allowed else "nothing to override in this kind"
            raise _fail(f"{where}.{key}", hint)
    limits = {"title": 200, "body_markdown": 100_000, "submit_label": 80, "thank_you": 5000}
    for key, limit in limits.items():
        if key in overrides:
            value = overrides[key]
            if not isinstance(value, str) or len(value) > limit or (key != "thank_you" and not value.strip()):
                raise _fail(f"{where}.{key}", f"text of at most {limit:,} characters")
    if "hide_fields" in overrides:
        assert isinstance(subject, Form)
        _check_hidden(subject, overrides["hide_fields"], f"{where}.hide_fields")


def _check_hidden(form: Form, hidden: Any, where: str) -> None:
    """Only optional fields of the form can be hidden: a required one would make it unsendable."""
    optional = [field["key"] for field in form.fields if not field.get("required")]
    if not isinstance(hidden, list) or len(set(map(str, hidden))) != len(hidden):
        raise _fail(where, "a list of field keys, each once")
    for index, key in enumerate(hidden):
        if key not in optional:
            raise _fail(
                f"{where}[{index}]",
                f"not an optional field of the form; one of {', '.join(optional) or '(none)'}",
            )


def _check_offer(overrides: dict[str, Any], where: str) -> None:
    for key in overrides:
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            raise _fail(where, "names of at most 64 characters")
    try:
        size = len(json.dumps(overrides))
    except (TypeError, ValueError):
        raise _fail(where, "plain values only: text, numbers, true/false, lists") from None
    if size > MAX_OFFER_JSON:
        raise _fail(where, f"at most {MAX_OFFER_JSON:,} characters as JSON")


def check_slug_free(session: Session, workspace_id: int, slug: str, experiment_id: int | None) -> None:
    """No other experiment of the workspace has ``slug``."""
    taken = session.scalar(
        select(Experiment.id).where(Experiment.workspace_id == workspace_id, Experiment.slug == slug)
    )
    if taken is not None and taken != experiment_id:
        raise _fail("slug", f"experiment {slug!r} exists already; choose another")
