"""Experiments for tests, with as many units, exposures and conversions as a test needs, quickly.

Everything goes through the real models; units are written in bulk (one INSERT per table), so a
test can plant thousands of them. The pieces:

- ``make_subject(session, workspace, kind)``: something of ``kind`` to test — a template with
  variants ``a`` and ``b``; a sequence with one email step; a landing page with its form; a form;
  a form delivering a magnet. Returns its id (``None`` for ``channel_offer``).
- ``make_experiment(session, workspace, kind, ...)``: an experiment on a fresh subject, created by
  ``create_experiment`` with two variants ``A`` (control) and ``B`` filled in for the kind, and
  started at ``started_at`` (``state="draft"`` leaves it a draft). Extra keyword arguments go to
  :class:`ExperimentSpec` (``statistic``, ``guardrails``, ``max_days``…).
- ``add_units(session, experiment, "B", 200, exposed_at=..., converting=30)``: 200 new contacts
  (or anonymous visitors with ``visitors=True``) assigned to ``B`` and exposed at ``exposed_at``;
  the first 30 convert on the metric (the primary one unless ``metric=`` says) ``converted_after``
  their exposure, with an event the metric counts (the right template, asset, stage…). Revenue
  metrics take ``value=`` per converting unit. Returns the contact (or visitor) ids.
- ``plant(session, experiment, {"A": (1000, 50), "B": (1000, 80)}, exposed_at=...)``: the same
  for several variants at once, as (exposed units, converting units).
- ``conversion(experiment, variant_key, metric)``: the (event type, properties) that count as a
  conversion of that variant on that metric, for tests writing events one by one.
- ``new_workspace(db)``: a bare workspace (no user or token to hash: faster than ``tenant``).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Asset,
    Contact,
    EmailTemplate,
    Event,
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    Form,
    LandingPage,
    Sequence,
    SequenceStep,
    TemplateVariant,
    Visitor,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.events.types import validate_properties
from leadwell.experiments.definitions import ExperimentSpec, VariantSpec, create_experiment, start
from leadwell.experiments.metrics import METRICS, metric_fits
from tests.factories import make_workspace

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(days=60)
_numbers = itertools.count(1)
OPTIONAL_FIELDS: list[dict[str, Any]] = [
    {"key": "email", "label": "Email", "type": "email", "maps_to": "email", "required": True},
    {"key": "company", "label": "Company", "type": "text", "maps_to": "organization", "required": False},
    {"key": "phone", "label": "Phone", "type": "tel", "maps_to": "phone", "required": False},
]


def new_workspace(db: Database) -> Workspace:
    """A workspace of its own, committed."""
    with db.session() as session:
        return make_workspace(session)


def make_template(session: Session, workspace: Workspace, keys: tuple[str, ...] = ("a",)) -> EmailTemplate:
    """A template with one variant per key."""
    number = next(_numbers)
    template = EmailTemplate(workspace_id=workspace.id, slug=f"note-{number}", name=f"Note {number}")
    session.add(template)
    session.flush()
    for key in keys:
        session.add(TemplateVariant(template_id=template.id, key=key, subject=f"Hello ({key})", text="Hi."))
    session.flush()
    return template


def make_asset(session: Session, workspace: Workspace) -> Asset:
    number = next(_numbers)
    asset = Asset(workspace_id=workspace.id, slug=f"guide-{number}", kind="pdf", title=f"Guide {number}")
    session.add(asset)
    session.flush()
    return asset


def make_form(session: Session, workspace: Workspace, asset: Asset | None = None) -> Form:
    number = next(_numbers)
    form = Form(
        workspace_id=workspace.id,
        slug=f"form-{number}",
        name=f"Form {number}",
        fields=OPTIONAL_FIELDS,
        asset_id=asset.id if asset else None,
        submit_label="Send",
        thank_you="Thanks!",
    )
    session.add(form)
    session.flush()
    return form


def make_subject(session: Session, workspace: Workspace, kind: str) -> int | None:
    """Something of ``kind`` to test (see the module's description)."""
    if kind == "email_template":
        return make_template(session, workspace, ("a", "b")).id
    if kind == "sequence_step":
        number = next(_numbers)
        sequence = Sequence(
            workspace_id=workspace.id, slug=f"welcome-{number}", name="Welcome", status="active"
        )
        session.add(sequence)
        session.flush()
        step = SequenceStep(
            sequence_id=sequence.id,
            position=0,
            kind="email",
            template_id=make_template(session, workspace).id,
        )
        session.add(step)
        session.flush()
        return step.id
    if kind == "landing_page":
        number = next(_numbers)
        form = make_form(session, workspace)
        page = LandingPage(
            workspace_id=workspace.id,
            slug=f"offer-{number}",
            title="The offer",
            body_markdown="Why.",
            form_id=form.id,
        )
        session.add(page)
        session.flush()
        return page.id
    if kind == "form":
        return make_form(session, workspace).id
    if kind == "magnet":
        return make_form(session, workspace, make_asset(session, workspace)).id
    return None


def two_variants(
    session: Session, workspace: Workspace, kind: str, subject_id: int | None
) -> list[VariantSpec]:
    """``A`` (the subject as it is, the control) and ``B`` (a change that fits the kind)."""
    control = VariantSpec(key="A", name="Current", is_control=True)
    challenger = VariantSpec(key="B", name="Challenger")
    if kind == "email_template":
        control.template_variant_key, challenger.template_variant_key = "a", "b"
    elif kind == "sequence_step":
        step = session.get(SequenceStep, subject_id)
        assert step is not None
        control.template_id = step.template_id
        challenger.template_id = make_template(session, workspace).id
    elif kind == "landing_page":
        challenger.overrides = {"title": "A sharper offer", "body_markdown": "Why, briefly."}
    elif kind == "form":
        challenger.overrides = {
            "submit_label": "Get it now",
            "thank_you": "On its way.",
            "hide_fields": ["phone"],
        }
    elif kind == "magnet":
        form = session.get(Form, subject_id)
        assert form is not None
        control.asset_id = form.asset_id
        challenger.asset_id = make_asset(session, workspace).id
    else:
        control.overrides, challenger.overrides = {"offer": "newsletter"}, {"offer": "free audit"}
    return [control, challenger]


def default_metric(kind: str) -> str:
    return "click" if kind in ("email_template", "sequence_step") else "form_submitted"


def make_experiment(
    session: Session,
    workspace: Workspace,
    kind: str = "email_template",
    *,
    primary_metric: str | None = None,
    state: str = "running",
    started_at: datetime = STARTED,
    variants: list[VariantSpec] | None = None,
    **fields: Any,
) -> Experiment:
    """An experiment on a fresh subject of ``kind`` (see the module's description)."""
    subject_id = make_subject(session, workspace, kind)
    spec = ExperimentSpec(
        slug=fields.pop("slug", f"test-{next(_numbers)}"),
        name=fields.pop("name", "A test"),
        kind=kind,
        subject_id=subject_id,
        primary_metric=primary_metric or default_metric(kind),
        variants=variants or two_variants(session, workspace, kind, subject_id),
        **fields,
    )
    experiment = create_experiment(session, workspace.id, spec, None)
    if state != "draft":
        start(session, experiment, started_at)
    return experiment


def variant(session: Session, experiment: Experiment, key: str) -> ExperimentVariant:
    found = session.scalar(
        select(ExperimentVariant).where(
            ExperimentVariant.experiment_id == experiment.id, ExperimentVariant.key == key
        )
    )
    assert found is not None, key
    return found


def conversion(
    session: Session, experiment: Experiment, key: str, metric_key: str
) -> tuple[str, dict[str, Any]]:
    """The event type and properties that convert a unit of variant ``key`` on ``metric_key``."""
    metric = METRICS[metric_key]
    assert metric_fits(metric, experiment.kind), (metric_key, experiment.kind)
    chosen = variant(session, experiment, key)
    properties: dict[str, Any] = {}
    if metric.email:
        template_id = experiment.template_id if experiment.kind == "email_template" else chosen.template_id
        template = session.get(EmailTemplate, template_id)
        assert template is not None
        properties["template"] = template.slug
        if metric_key == "click":
            properties["url"] = "https://example.com/offer"
    elif metric_key == "form_submitted":
        properties = {"form": "any-form"}
    elif metric_key == "read_50":
        asset = session.get(Asset, chosen.asset_id) if chosen.asset_id else None
        properties = {"asset": asset.slug if asset else "guide", "percent": 75}
    elif metric_key in ("mql", "sql"):
        properties = {"from": "lead", "to": metric_key}
    elif metric_key in ("deal_won", "revenue"):
        properties = {"deal": "Pilot", "value": 1000.0, "currency": "USD"}
    event_type = metric.events[0]
    return event_type, validate_properties(event_type, properties)


def _new_people(session: Session, workspace_id: int, count: int, visitors: bool, at: datetime) -> list[int]:
    """``count`` new contacts (or anonymous visitors), in one INSERT; their ids in order."""
    if visitors:
        rows: list[dict[str, Any]] = [
            {"workspace_id": workspace_id, "key": secrets.token_urlsafe(16), "first_seen_at": at}
            for _ in range(count)
        ]
        return list(
            session.scalars(insert(Visitor).returning(Visitor.id, sort_by_parameter_order=True), rows)
        )
    number = next(_numbers)
    rows = [
        {"workspace_id": workspace_id, "first_name": "Unit", "last_name": f"{number}-{index}"}
        for index in range(count)
    ]
    return list(session.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows))


def add_units(
    session: Session,
    experiment: Experiment,
    key: str,
    count: int,
    *,
    exposed_at: datetime,
    converting: int = 0,
    converted_after: timedelta = timedelta(days=1),
    metric: str | None = None,
    value: float | None = None,
    visitors: bool = False,
    exposed: bool = True,
) -> list[int]:
    """``count`` new units of variant ``key`` (see the module's description)."""
    assert 0 <= converting <= count
    ids = _new_people(session, experiment.workspace_id, count, visitors, exposed_at)
    who = "visitor_id" if visitors else "contact_id"
    seen = exposed_at if exposed else None
    common = {
        "workspace_id": experiment.workspace_id,
        "experiment_id": experiment.id,
        "assigned_at": exposed_at,
    }
    common |= {
        "variant_id": variant(session, experiment, key).id,
        "first_exposed_at": seen,
        "last_exposed_at": seen,
    }
    if ids:
        session.execute(
            insert(ExperimentAssignment), [{**common, who: unit, "exposures": int(exposed)} for unit in ids]
        )
    if converting:
        event_type, properties = conversion(session, experiment, key, metric or experiment.primary_metric)
        if value is not None:
            properties = {**properties, "value": value}
        at = exposed_at + converted_after
        event = {
            "workspace_id": experiment.workspace_id,
            "type": event_type,
            "occurred_at": at,
            "received_at": at,
        }
        rows = [{**event, who: unit, "properties": properties, "source": "test"} for unit in ids[:converting]]
        session.execute(insert(Event), rows)
    session.flush()
    return ids


def plant(
    session: Session,
    experiment: Experiment,
    counts: dict[str, tuple[int, int]],
    *,
    exposed_at: datetime,
    **options: Any,
) -> dict[str, list[int]]:
    """``add_units`` for several variants: key → (exposed units, converting units)."""
    return {
        key: add_units(session, experiment, key, n, exposed_at=exposed_at, converting=x, **options)
        for key, (n, x) in counts.items()
    }
