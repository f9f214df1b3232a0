"""What an experiment tests: its subject (a template, a sequence step, a page, a form) per kind,
found in the workspace and checked to fit, and a label to show it by."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    EXPERIMENT_KINDS,
    Asset,
    EmailTemplate,
    Experiment,
    Form,
    LandingPage,
    Sequence,
    SequenceStep,
    TemplateVariant,
)
from leadwell.errors import InvalidInput

# The column on ``experiments`` that holds each kind's subject (channel offers have none).
SUBJECT_COLUMNS: dict[str, str | None] = {
    "email_template": "template_id",
    "sequence_step": "sequence_step_id",
    "landing_page": "landing_page_id",
    "form": "form_id",
    "magnet": "form_id",
    "channel_offer": None,
}
Subject = EmailTemplate | SequenceStep | LandingPage | Form


def check_kind(kind: str) -> str:
    if kind not in EXPERIMENT_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(EXPERIMENT_KINDS)} (got {kind[:40]!r})", field="kind")
    return kind


def subject_id_of(experiment: Experiment) -> int | None:
    """The id of what the experiment tests, from the column its kind uses."""
    column = SUBJECT_COLUMNS[experiment.kind]
    value: int | None = getattr(experiment, column) if column else None
    return value


def template_variant_keys(session: Session, template_id: int) -> list[str]:
    """A template's variant keys ("a", "b"…) in order."""
    return list(
        session.scalars(
            select(TemplateVariant.key)
            .where(TemplateVariant.template_id == template_id)
            .order_by(TemplateVariant.key)
        )
    )


def find_template(session: Session, workspace_id: int, template_id: int | None, field: str) -> EmailTemplate:
    """A live template of the workspace."""
    template = None if template_id is None else session.get(EmailTemplate, template_id)
    if template is None or template.workspace_id != workspace_id or template.archived_at is not None:
        raise InvalidInput(f"{field}: no such email template in this workspace", field=field)
    return template


def find_asset(session: Session, workspace_id: int, asset_id: int | None, field: str) -> Asset:
    """A live lead magnet of the workspace."""
    asset = None if asset_id is None else session.get(Asset, asset_id)
    if asset is None or asset.workspace_id != workspace_id or asset.archived_at is not None:
        raise InvalidInput(f"{field}: no such lead magnet in this workspace", field=field)
    return asset


def find_step(session: Session, workspace_id: int, step_id: int) -> SequenceStep | None:
    """A sequence step of the workspace (steps belong to it through their sequence)."""
    return session.scalar(
        select(SequenceStep)
        .join(Sequence, Sequence.id == SequenceStep.sequence_id)
        .where(SequenceStep.id == step_id, Sequence.workspace_id == workspace_id)
    )


def load_subject(session: Session, workspace_id: int, kind: str, subject_id: int | None) -> Subject | None:
    """The subject of an experiment of ``kind``, checked to exist in the workspace and to fit:
    a template with two variants or more, an email step, a landing page, a form. Channel offers
    have none. Errors name ``subject``."""
    check_kind(kind)
    if kind == "channel_offer":
        if subject_id is not None:
            raise InvalidInput(
                "subject: a channel offer tests no page, form or email: leave it empty", field="subject"
            )
        return None
    if subject_id is None:
        raise InvalidInput(f"subject: choose the {kind.replace('_', ' ')} to test", field="subject")
    if kind == "email_template":
        template = find_template(session, workspace_id, subject_id, "subject")
        if len(template_variant_keys(session, template.id)) < 2:
            raise InvalidInput(
                f"subject: template {template.slug!r} has one variant; add another to test them",
                field="subject",
            )
        return template
    if kind == "sequence_step":
        step = find_step(session, workspace_id, subject_id)
        if step is None:
            raise InvalidInput("subject: no such sequence step in this workspace", field="subject")
        if step.kind != "email":
            raise InvalidInput(
                f"subject: the step is a {step.kind} step; only email steps can be tested", field="subject"
            )
        return step
    found: LandingPage | Form | None
    found = session.get(LandingPage, subject_id) if kind == "landing_page" else session.get(Form, subject_id)
    if found is None or found.workspace_id != workspace_id:
        noun = "landing page" if kind == "landing_page" else "form"
        raise InvalidInput(f"subject: no such {noun} in this workspace", field="subject")
    return found


def subject_label(session: Session, experiment: Experiment) -> str:
    """How the subject reads on a page: "Template welcome", "Sequence onboarding, step 2"…"""
    subject_id = subject_id_of(experiment)
    if subject_id is None:
        return "Channel offer" if experiment.kind == "channel_offer" else "(deleted)"
    if experiment.kind == "email_template":
        template = session.get(EmailTemplate, subject_id)
        return f"Template {template.slug}" if template else "(deleted)"
    if experiment.kind == "sequence_step":
        found = session.execute(
            select(Sequence.slug, SequenceStep.position)
            .join(SequenceStep, SequenceStep.sequence_id == Sequence.id)
            .where(SequenceStep.id == subject_id)
        ).first()
        return f"Sequence {found[0]}, step {found[1] + 1}" if found else "(deleted)"
    if experiment.kind == "landing_page":
        page = session.get(LandingPage, subject_id)
        return f"Landing page /p/{page.slug}" if page else "(deleted)"
    form = session.get(Form, subject_id)
    prefix = "Magnet of form" if experiment.kind == "magnet" else "Form"
    return f"{prefix} {form.slug}" if form else "(deleted)"
