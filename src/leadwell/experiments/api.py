"""JSON API for experiments under /api/v1: list them, read one with its report, and — for channel
and offer experiments, which the user's own systems carry out — ask a contact's variant and record
that the contact met it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.contacts.api import path_id
from leadwell.db.models import (
    Asset,
    EmailTemplate,
    Experiment,
    ExperimentVariant,
    Form,
    LandingPage,
    SequenceStep,
)
from leadwell.db.models import Sequence as OutreachSequence
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.experiments import definitions
from leadwell.experiments.assignment import SUBJECTS
from leadwell.experiments.offers import Offer, check_offer, offer_for, offer_made
from leadwell.experiments.results import experiment_report
from leadwell.ids import IdCodec
from leadwell.inputs import Input
from leadwell.pagination import DEFAULT_LIMIT, MAX_LIMIT, newest_first, page_of
from leadwell.web.deps import Api
from leadwell.web.idempotency import create_once
from leadwell.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["experiments"], responses=PROBLEM_RESPONSES)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
MAX_SLUG = 120


class VariantOut(BaseModel):
    key: str = Field(description="A, B, C…")
    name: str
    is_control: bool
    weight: float = Field(description="Share of new units under the fixed split (relative to the others).")
    share: float | None = Field(description="The bandit's current share of new units; null: not computed.")
    template_variant_key: str | None = Field(description="Email template experiments: the variant sent.")
    template: str | None = Field(description="Sequence step experiments: the slug of the template sent.")
    asset: str | None = Field(description="Magnet experiments: the slug of the lead magnet delivered.")
    overrides: dict[str, Any] = Field(
        description="Landing pages: title, body_markdown; forms: submit_label, thank_you, hide_fields; "
        "channel and offer experiments: whatever your systems read."
    )


class ExperimentOut(BaseModel):
    slug: str
    name: str
    hypothesis: str
    kind: str = Field(
        description="email_template, sequence_step, landing_page, form, magnet or channel_offer."
    )
    subject: str | None = Field(
        description="What is tested: a template, landing page or form slug, `<sequence>#<step number>` "
        "for a sequence step; null for channel and offer experiments."
    )
    state: str = Field(description="draft, running, stopped or scaled.")
    allocation: str = Field(description="fixed (the weights) or bandit (shares moved toward the better).")
    statistic: str = Field(description="sequential, frequentist or bayesian: which one decides the verdict.")
    primary_metric: str
    guardrails: list[dict[str, Any]]
    alpha: float
    power: float
    minimum_effect: float | None
    baseline_rate: float | None
    window_days: int
    max_days: int | None
    started_at: datetime | None
    stopped_at: datetime | None
    scaled_at: datetime | None
    winner_key: str | None
    created_at: datetime
    variants: list[VariantOut]


class ExperimentPage(BaseModel):
    items: list[ExperimentOut]
    next_cursor: str | None


class ExperimentDetail(ExperimentOut):
    report: dict[str, Any] | None = Field(
        description="The experiment's report: variants with their units and rates, comparisons, "
        "guardrails, sample ratio, plan, series, verdict, checks and warnings."
    )


class UnitIn(Input):
    """The contact whose variant is asked for, or who met it."""

    contact_id: str = Field(min_length=1, max_length=100, description="A contact's public id (ct_…).")


class VariantShown(BaseModel):
    key: str
    name: str
    is_control: bool
    overrides: dict[str, Any]


class AssignmentOut(BaseModel):
    experiment: str = Field(description="The experiment's slug.")
    contact_id: str = Field(description="The contact assigned (the surviving one when the id was merged).")
    variant: VariantShown
    assigned_at: datetime
    first_exposed_at: datetime | None
    last_exposed_at: datetime | None
    exposures: int


def _slugs(
    session: Session, model: type[EmailTemplate | LandingPage | Form | Asset], ids: set[int]
) -> dict[int, str]:
    if not ids:
        return {}
    return {
        number: slug
        for number, slug in session.execute(select(model.id, model.slug).where(model.id.in_(ids)))
    }


def _steps(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(SequenceStep.id, OutreachSequence.slug, SequenceStep.position)
        .join(OutreachSequence, OutreachSequence.id == SequenceStep.sequence_id)
        .where(SequenceStep.id.in_(ids))
    )
    return {number: f"{slug}#{position + 1}" for number, slug, position in rows}


def _subjects(session: Session, experiments: Sequence[Experiment]) -> dict[int, str | None]:
    """Each experiment's subject as a slug (four queries at most, whatever the number)."""
    templates = _slugs(session, EmailTemplate, {e.template_id for e in experiments if e.template_id})
    pages = _slugs(session, LandingPage, {e.landing_page_id for e in experiments if e.landing_page_id})
    forms = _slugs(session, Form, {e.form_id for e in experiments if e.form_id})
    steps = _steps(session, {e.sequence_step_id for e in experiments if e.sequence_step_id})
    names = {"email_template": templates, "sequence_step": steps, "landing_page": pages, "form": forms}
    names["magnet"] = forms
    subjects: dict[int, str | None] = {}
    for experiment in experiments:
        column = SUBJECTS.get(experiment.kind)
        number = getattr(experiment, column.key) if column is not None else None
        subjects[experiment.id] = names[experiment.kind].get(number) if number is not None else None
    return subjects


def _variants(session: Session, experiments: Sequence[Experiment]) -> dict[int, list[VariantOut]]:
    """Each experiment's variants in key order (one query, and one per kind of slug they name)."""
    rows = list(
        session.scalars(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id.in_([e.id for e in experiments]))
            .order_by(ExperimentVariant.experiment_id, ExperimentVariant.key)
        )
    )
    templates = _slugs(session, EmailTemplate, {v.template_id for v in rows if v.template_id})
    assets = _slugs(session, Asset, {v.asset_id for v in rows if v.asset_id})
    variants: dict[int, list[VariantOut]] = defaultdict(list)
    for v in rows:
        variants[v.experiment_id].append(
            VariantOut(
                key=v.key,
                name=v.name,
                is_control=v.is_control,
                weight=v.weight,
                share=v.share,
                template_variant_key=v.template_variant_key,
                template=templates.get(v.template_id) if v.template_id else None,
                asset=assets.get(v.asset_id) if v.asset_id else None,
                overrides=dict(v.overrides or {}),
            )
        )
    return variants


def experiments_out(session: Session, experiments: Sequence[Experiment]) -> list[ExperimentOut]:
    """Experiments as the API answers them, their subjects and variants read in a few queries."""
    subjects, variants = _subjects(session, experiments), _variants(session, experiments)
    return [
        ExperimentOut(
            slug=e.slug,
            name=e.name,
            hypothesis=e.hypothesis,
            kind=e.kind,
            subject=subjects.get(e.id),
            state=e.state,
            allocation=e.allocation,
            statistic=e.statistic,
            primary_metric=e.primary_metric,
            guardrails=list(e.guardrails or []),
            alpha=e.alpha,
            power=e.power,
            minimum_effect=e.minimum_effect,
            baseline_rate=e.baseline_rate,
            window_days=e.window_days,
            max_days=e.max_days,
            started_at=e.started_at,
            stopped_at=e.stopped_at,
            scaled_at=e.scaled_at,
            winner_key=e.winner_key,
            created_at=e.created_at,
            variants=variants.get(e.id, []),
        )
        for e in experiments
    ]


def experiment_by_slug(session: Session, workspace_id: int, slug: str) -> Experiment:
    """The workspace's experiment ``slug``; :class:`NotFound` otherwise (a slug no experiment could
    have is not even looked up)."""
    if len(slug) > MAX_SLUG or "\x00" in slug:
        raise NotFound(f"experiment: no experiment {slug[:MAX_SLUG]!r} in this workspace", field="experiment")
    return definitions.get_experiment(session, workspace_id, slug)


def _contact_number(codec: IdCodec, public_id: str) -> int:
    try:
        return path_id(codec, "contact", public_id)
    except NotFound:
        raise InvalidInput("contact_id: no such contact in this workspace", field="contact_id") from None


def assignment_out(codec: IdCodec, experiment: Experiment, offer: Offer) -> AssignmentOut:
    """A contact's assignment as the API answers it (public ids)."""
    row, variant = offer.assignment, offer.variant
    assert row.contact_id is not None  # channel and offer experiments assign contacts only
    return AssignmentOut(
        experiment=experiment.slug,
        contact_id=codec.encode("contact", row.contact_id),
        variant=VariantShown(
            key=variant.key,
            name=variant.name,
            is_control=variant.is_control,
            overrides=dict(variant.overrides or {}),
        ),
        assigned_at=row.assigned_at,
        first_exposed_at=row.first_exposed_at,
        last_exposed_at=row.last_exposed_at,
        exposures=row.exposures,
    )


@router.get("/experiments", response_model=ExperimentPage, summary="List experiments, newest first")
def list_experiments(
    api: Api,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ExperimentPage:
    """The workspace's experiments with their variants, newest first."""
    with api.db.session() as session:
        query = select(Experiment).where(Experiment.workspace_id == api.workspace_id)
        rows = list(session.scalars(newest_first(query, Experiment.id, cursor, limit)))
        page = page_of(rows, limit, lambda experiment: experiment.id)
        return ExperimentPage(items=experiments_out(session, page.items), next_cursor=page.next_cursor)


@router.get(
    "/experiments/{slug}",
    response_model=ExperimentDetail,
    summary="An experiment: its definition and its report (the numbers the page shows)",
)
def read_experiment(api: Api, slug: str) -> ExperimentDetail:
    """The experiment's definition, variants and report."""
    with api.db.session() as session:
        experiment = experiment_by_slug(session, api.workspace_id, slug)
        (out,) = experiments_out(session, [experiment])
        report = experiment_report(session, experiment, utcnow()).as_dict()
        return ExperimentDetail(**out.model_dump(), report=report)


@router.post(
    "/experiments/{slug}/assignments",
    status_code=201,
    response_model=AssignmentOut,
    responses={
        200: {"model": AssignmentOut, "description": "The contact was assigned before: the same variant."}
    },
    summary="A contact's variant of a channel or offer experiment (assigned once, then always the same)",
)
def assign_contact(
    request: Request, api: Api, slug: str, body: UnitIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """The variant a contact gets in a running channel/offer experiment: ``201`` when assigned by
    this request, ``200`` when it was before. Other kinds assign their units themselves (``409``)."""

    def create(session: Session) -> tuple[int, Any]:
        experiment = experiment_by_slug(session, api.workspace_id, slug)
        check_offer(experiment)  # the experiment's kind and state first, then the contact
        offer = offer_for(session, experiment, _contact_number(api.codec, body.contact_id), utcnow())
        return (201 if offer.created else 200), jsonable_encoder(assignment_out(api.codec, experiment, offer))

    return create_once(request, api, idempotency_key, body, create)


@router.post(
    "/experiments/{slug}/exposures",
    status_code=201,
    response_model=AssignmentOut,
    summary="Record that a contact met its variant of a channel or offer experiment",
)
def record_exposure(
    request: Request, api: Api, slug: str, body: UnitIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """The contact met its variant (assigned first if it had none): only exposed contacts count in
    the statistics, from their first exposure on."""

    def create(session: Session) -> tuple[int, Any]:
        experiment = experiment_by_slug(session, api.workspace_id, slug)
        check_offer(experiment)  # the experiment's kind and state first, then the contact
        offer = offer_made(session, experiment, _contact_number(api.codec, body.contact_id), utcnow())
        return 201, jsonable_encoder(assignment_out(api.codec, experiment, offer))

    return create_once(request, api, idempotency_key, body, create)
