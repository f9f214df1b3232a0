"""Experiments as records: create (checked whole before anything is written), read, start, stop,
switch between a fixed split and the bandit, and promote the winner (:mod:`.promote`).

Life of an experiment: ``draft`` (editable) → ``running`` (units are assigned and exposed) →
``stopped`` (no new units; conversions of exposed units still come in) or ``scaled`` (the winner
became the subject's default; new units all get it and the worker watches its rate). At most one
experiment runs (or is scaled) per subject at a time; forms and magnets share the form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    EXPERIMENT_ALLOCATIONS,
    EmailTemplate,
    Experiment,
    ExperimentVariant,
    Form,
    LandingPage,
    SequenceStep,
)
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.experiments.promote import promote
from leadwell.experiments.specs import ExperimentSpec, VariantSpec
from leadwell.experiments.subjects import (
    SUBJECT_COLUMNS,
    check_kind,
    load_subject,
    subject_id_of,
    template_variant_keys,
)
from leadwell.experiments.validation import check_metrics, check_settings, check_slug_free, check_variants
from leadwell.outreach.slugs import checked_slug

__all__ = [
    "ExperimentSpec",
    "VariantSpec",
    "control_of",
    "create_experiment",
    "default_variants",
    "get_experiment",
    "list_experiments",
    "promote",
    "set_allocation",
    "start",
    "stop",
    "update_draft",
    "variants_of",
]


Checked = tuple[str, list[dict[str, Any]], list[VariantSpec]]


def _checked(session: Session, workspace_id: int, spec: ExperimentSpec, experiment_id: int | None) -> Checked:
    """Every check of the spec, in the order a form reads: slug, name and settings, subject,
    metrics, variants. Returns the slug, the guardrails and the variants as they will be stored."""
    slug = checked_slug(spec.slug, spec.name, "slug")
    check_slug_free(session, workspace_id, slug, experiment_id)
    check_settings(spec)
    subject = load_subject(session, workspace_id, check_kind(spec.kind), spec.subject_id)
    guardrails = check_metrics(spec.kind, spec.primary_metric, spec.guardrails)
    variants = check_variants(session, workspace_id, spec.kind, subject, spec.variants)
    return slug, guardrails, variants


def _write(experiment: Experiment, spec: ExperimentSpec, slug: str, guardrails: list[dict[str, Any]]) -> None:
    experiment.slug, experiment.name, experiment.hypothesis = slug, spec.name.strip(), spec.hypothesis.strip()
    experiment.kind, experiment.primary_metric, experiment.guardrails = (
        spec.kind,
        spec.primary_metric,
        guardrails,
    )
    for name in {name for name in SUBJECT_COLUMNS.values() if name}:
        setattr(experiment, name, None)
    subject_column = SUBJECT_COLUMNS[spec.kind]
    if subject_column:
        setattr(experiment, subject_column, spec.subject_id)
    experiment.statistic, experiment.alpha, experiment.power = (
        spec.statistic,
        float(spec.alpha),
        float(spec.power),
    )
    experiment.minimum_effect, experiment.baseline_rate = spec.minimum_effect, spec.baseline_rate
    experiment.allocation, experiment.window_days, experiment.max_days = (
        spec.allocation,
        spec.window_days,
        spec.max_days,
    )


def _add_variants(session: Session, experiment: Experiment, variants: list[VariantSpec]) -> None:
    total = sum(variant.weight for variant in variants)
    for variant in variants:
        session.add(
            ExperimentVariant(
                experiment_id=experiment.id,
                key=variant.key,
                name=variant.name,
                is_control=variant.is_control,
                weight=variant.weight,
                share=variant.weight / total if experiment.allocation == "bandit" else None,
                template_variant_key=variant.template_variant_key,
                template_id=variant.template_id,
                asset_id=variant.asset_id,
                overrides=variant.overrides,
            )
        )
    session.flush()


def create_experiment(
    session: Session, workspace_id: int, spec: ExperimentSpec, created_by_id: int | None
) -> Experiment:
    """A new draft experiment, after checking everything (:class:`InvalidInput` naming the field
    at fault: ``slug``, ``subject``, ``primary_metric``, ``variants[1].weight``…); nothing is
    written when a check fails."""
    slug, guardrails, variants = _checked(session, workspace_id, spec, None)
    experiment = Experiment(workspace_id=workspace_id, state="draft", created_by_id=created_by_id)
    _write(experiment, spec, slug, guardrails)
    session.add(experiment)
    session.flush()
    _add_variants(session, experiment, variants)
    return experiment


def update_draft(session: Session, experiment: Experiment, spec: ExperimentSpec) -> Experiment:
    """Replace a draft's definition (name, hypothesis, subject, metrics, variants and weights)
    with ``spec``, checked as on creation. Started experiments cannot change: their numbers would
    mix two definitions."""
    if experiment.state != "draft":
        raise Conflict(
            f"state: experiment {experiment.slug!r} has started; only drafts can be edited", field="state"
        )
    slug, guardrails, variants = _checked(session, experiment.workspace_id, spec, experiment.id)
    _write(experiment, spec, slug, guardrails)
    session.execute(delete(ExperimentVariant).where(ExperimentVariant.experiment_id == experiment.id))
    session.flush()
    _add_variants(session, experiment, variants)
    return experiment


def get_experiment(session: Session, workspace_id: int, slug: str) -> Experiment:
    """The workspace's experiment called ``slug``; :class:`NotFound` naming it otherwise."""
    found = session.scalar(
        select(Experiment).where(Experiment.workspace_id == workspace_id, Experiment.slug == slug)
    )
    if found is None:
        raise NotFound(f"experiment: no experiment {slug[:120]!r} in this workspace", field="experiment")
    return found


def list_experiments(session: Session, workspace_id: int) -> list[Experiment]:
    """The workspace's experiments, newest first."""
    return list(
        session.scalars(
            select(Experiment)
            .where(Experiment.workspace_id == workspace_id)
            .order_by(Experiment.created_at.desc(), Experiment.id.desc())
        )
    )


def variants_of(session: Session, experiment: Experiment) -> list[ExperimentVariant]:
    """The experiment's variants in key order."""
    return list(
        session.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment.id)
            .order_by(ExperimentVariant.key)
        )
    )


def control_of(variants: list[ExperimentVariant]) -> ExperimentVariant:
    """The control among ``variants`` (the first one when, against the rules, none is marked)."""
    return next((variant for variant in variants if variant.is_control), variants[0])


def _busy_subject(session: Session, experiment: Experiment) -> Experiment | None:
    """Another experiment running or scaled on the same subject."""
    column_name = SUBJECT_COLUMNS[experiment.kind]
    if column_name is None:
        return None
    column = getattr(Experiment, column_name)
    return session.scalar(
        select(Experiment).where(
            Experiment.workspace_id == experiment.workspace_id,
            Experiment.id != experiment.id,
            Experiment.state.in_(("running", "scaled")),
            column == subject_id_of(experiment),
        )
    )


def start(session: Session, experiment: Experiment, now: datetime) -> Experiment:
    """Start a draft: units are assigned from now on. Refused when the subject is gone or another
    experiment runs on it (stop that one first)."""
    if experiment.state != "draft":
        raise Conflict(
            f"state: experiment {experiment.slug!r} is {experiment.state}; only a draft can start "
            "(a stopped experiment stays stopped: copy it into a new one)",
            field="state",
        )
    load_subject(session, experiment.workspace_id, experiment.kind, subject_id_of(experiment))
    busy = _busy_subject(session, experiment)
    if busy is not None:
        raise Conflict(
            f"subject: experiment {busy.slug!r} is {busy.state} on the same subject; stop it first",
            field="subject",
        )
    experiment.state, experiment.started_at = "running", now
    if experiment.allocation == "bandit":
        _even_shares(session, experiment)
    session.flush()
    return experiment


def stop(session: Session, experiment: Experiment, now: datetime) -> Experiment:
    """Stop assigning new units (a scaled experiment also stops being watched). Conversions of the
    units already exposed keep counting within their window. Stopping twice changes nothing."""
    if experiment.state == "draft":
        raise Conflict(f"state: experiment {experiment.slug!r} has not started", field="state")
    if experiment.state in ("running", "scaled"):
        experiment.state = "stopped"
        experiment.stopped_at = experiment.stopped_at or now
        session.flush()
    return experiment


def set_allocation(session: Session, experiment: Experiment, allocation: str) -> Experiment:
    """``fixed`` (the weights split the units) or ``bandit`` (the worker moves shares towards the
    better arms; they start from the weights)."""
    if allocation not in EXPERIMENT_ALLOCATIONS:
        raise InvalidInput(f"allocation: one of {', '.join(EXPERIMENT_ALLOCATIONS)}", field="allocation")
    if experiment.state not in ("draft", "running"):
        raise Conflict(f"state: experiment {experiment.slug!r} is {experiment.state}", field="state")
    if allocation == experiment.allocation:
        return experiment
    experiment.allocation = allocation
    if allocation == "bandit":
        _even_shares(session, experiment)
    else:
        for variant in variants_of(session, experiment):
            variant.share = None
    session.flush()
    return experiment


def _even_shares(session: Session, experiment: Experiment) -> None:
    """The bandit's first shares: the weights, normalised."""
    variants = variants_of(session, experiment)
    total = sum(variant.weight for variant in variants) or 1.0
    for variant in variants:
        variant.share = variant.weight / total


def default_variants(
    session: Session, workspace_id: int, kind: str, subject_id: int | None
) -> list[VariantSpec]:
    """A starting point for the new-experiment form: an ``email_template`` experiment gets one
    variant per template variant; the others the subject as it is (``A``, the control) and a ``B``
    to edit (a copy of the page's title and body, of the form's labels; no template or magnet yet)."""
    subject = load_subject(session, workspace_id, kind, subject_id)
    if isinstance(subject, EmailTemplate):
        keys = template_variant_keys(session, subject.id)
        return [
            VariantSpec(key=chr(ord("A") + index), name=f"Template variant {key}", is_control=index == 0,
                        template_variant_key=key)
            for index, key in enumerate(keys[:6])
        ]  # fmt: skip
    control = VariantSpec(key="A", name="Current", is_control=True)
    challenger = VariantSpec(key="B", name="Challenger")
    if isinstance(subject, SequenceStep):
        control.template_id = subject.template_id
    elif isinstance(subject, LandingPage):
        challenger.overrides = {"title": subject.title, "body_markdown": subject.body_markdown}
    elif isinstance(subject, Form) and kind == "form":
        challenger.overrides = {"submit_label": subject.submit_label, "thank_you": subject.thank_you}
    elif isinstance(subject, Form):
        control.asset_id = subject.asset_id
    else:
        control.name, challenger.name = "Current offer", "New offer"
    return [control, challenger]
