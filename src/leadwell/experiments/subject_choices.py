"""What an experiment can be run on, as the new-experiment page and ``leadwell experiment create``
name it: a template, a sequence's email step, a landing page or a form, each by its slug (a step as
``SEQUENCE/N``, its position counting from 1), and the variant choices each subject offers (a
template's variant keys, a form's optional fields, the workspace's templates and lead magnets).

References travel as slugs because people read and type them; ids stay inside."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Asset,
    EmailTemplate,
    Experiment,
    Form,
    LandingPage,
    Sequence,
    SequenceStep,
)
from leadwell.errors import InvalidInput

KIND_LABELS = {
    "email_template": "Email template (its variants)",
    "sequence_step": "Sequence email step (another template)",
    "landing_page": "Landing page (title and text)",
    "form": "Form (button, thank-you text, optional fields)",
    "magnet": "Lead magnet (what a form delivers)",
    "channel_offer": "Channel offer (your own systems read it)",
}
SUBJECT_NOUNS = {
    "email_template": "template",
    "sequence_step": "sequence step",
    "landing_page": "landing page",
    "form": "form",
    "magnet": "form",
}


@dataclass(frozen=True)
class Choice:
    """One option of a select: the value posted (a slug) and what the person reads."""

    value: str
    label: str


def _templates(session: Session, workspace_id: int) -> list[Choice]:
    rows = session.execute(
        select(EmailTemplate.slug, EmailTemplate.name)
        .where(EmailTemplate.workspace_id == workspace_id, EmailTemplate.archived_at.is_(None))
        .order_by(EmailTemplate.name, EmailTemplate.slug)
    )
    return [Choice(slug, f"{name} ({slug})") for slug, name in rows]


def _steps(session: Session, workspace_id: int) -> list[Choice]:
    rows = session.execute(
        select(Sequence.slug, Sequence.name, SequenceStep.position, EmailTemplate.name)
        .join(SequenceStep, SequenceStep.sequence_id == Sequence.id)
        .join(EmailTemplate, EmailTemplate.id == SequenceStep.template_id)
        .where(
            Sequence.workspace_id == workspace_id, SequenceStep.kind == "email", Sequence.status != "archived"
        )
        .order_by(Sequence.name, SequenceStep.position)
    )
    return [
        Choice(f"{slug}/{position + 1}", f"{name}, step {position + 1}: {template}")
        for slug, name, position, template in rows
    ]


def _pages(session: Session, workspace_id: int) -> list[Choice]:
    rows = session.execute(
        select(LandingPage.slug, LandingPage.title)
        .where(LandingPage.workspace_id == workspace_id)
        .order_by(LandingPage.title, LandingPage.slug)
    )
    return [Choice(slug, f"{title} (/p/{slug})") for slug, title in rows]


def _forms(session: Session, workspace_id: int, with_magnet: bool = False) -> list[Choice]:
    query = select(Form.slug, Form.name).where(Form.workspace_id == workspace_id, Form.archived_at.is_(None))
    if with_magnet:
        query = query.where(Form.asset_id.is_not(None))
    return [Choice(slug, f"{name} ({slug})") for slug, name in session.execute(query.order_by(Form.name))]


def subject_choices(session: Session, workspace_id: int, kind: str) -> list[Choice]:
    """The subjects an experiment of ``kind`` may run on (none for a channel offer)."""
    if kind == "email_template":
        return _templates(session, workspace_id)
    if kind == "sequence_step":
        return _steps(session, workspace_id)
    if kind == "landing_page":
        return _pages(session, workspace_id)
    if kind in ("form", "magnet"):
        return _forms(session, workspace_id, with_magnet=kind == "magnet")
    return []


def _missing(kind: str, reference: str) -> InvalidInput:
    noun = SUBJECT_NOUNS.get(kind, "subject")
    return InvalidInput(f"subject: no {noun} {reference[:120]!r} in this workspace", field="subject")


def _step_id(session: Session, workspace_id: int, reference: str) -> int | None:
    slug, _, number = reference.rpartition("/")
    if not slug or not number.isdigit():
        raise InvalidInput(
            f"subject: a step reads SEQUENCE/N, e.g. welcome/1 (got {reference[:120]!r})", field="subject"
        )
    return session.scalar(
        select(SequenceStep.id)
        .join(Sequence, Sequence.id == SequenceStep.sequence_id)
        .where(
            Sequence.workspace_id == workspace_id,
            Sequence.slug == slug,
            SequenceStep.position == int(number) - 1,
        )
    )


def subject_id(session: Session, workspace_id: int, kind: str, reference: str) -> int | None:
    """The id behind ``reference`` (a slug, or ``SEQUENCE/N`` for a step); None for a channel offer
    or an empty reference, which the experiment's own checks then refuse when a subject is needed."""
    reference = reference.strip()
    if kind == "channel_offer" or not reference:
        return None
    found: int | None
    if kind == "email_template":
        found = _id_by_slug(session, EmailTemplate, workspace_id, reference)
    elif kind == "sequence_step":
        found = _step_id(session, workspace_id, reference)
    elif kind == "landing_page":
        found = _id_by_slug(session, LandingPage, workspace_id, reference)
    elif kind in ("form", "magnet"):
        found = _id_by_slug(session, Form, workspace_id, reference)
    else:
        return None
    if found is None:
        raise _missing(kind, reference)
    return found


def _id_by_slug(session: Session, model: Any, workspace_id: int, slug: str) -> int | None:
    found: int | None = session.scalar(
        select(model.id).where(model.workspace_id == workspace_id, model.slug == slug)
    )
    return found


def subject_reference(session: Session, experiment: Experiment) -> str:
    """The experiment's subject as a reference (slug, or ``SEQUENCE/N``); "" when it has none."""
    if experiment.kind == "email_template" and experiment.template_id:
        return str(
            session.scalar(select(EmailTemplate.slug).where(EmailTemplate.id == experiment.template_id))
        )
    if experiment.kind == "sequence_step" and experiment.sequence_step_id:
        row = session.execute(
            select(Sequence.slug, SequenceStep.position)
            .join(SequenceStep, SequenceStep.sequence_id == Sequence.id)
            .where(SequenceStep.id == experiment.sequence_step_id)
        ).first()
        return f"{row[0]}/{row[1] + 1}" if row else ""
    if experiment.kind == "landing_page" and experiment.landing_page_id:
        return str(
            session.scalar(select(LandingPage.slug).where(LandingPage.id == experiment.landing_page_id))
        )
    if experiment.kind in ("form", "magnet") and experiment.form_id:
        return str(session.scalar(select(Form.slug).where(Form.id == experiment.form_id)))
    return ""


def optional_fields(session: Session, workspace_id: int, form_slug: str) -> list[Choice]:
    """A form's optional fields (the ones a variant may hide), by key."""
    fields = session.scalar(
        select(Form.fields).where(Form.workspace_id == workspace_id, Form.slug == form_slug)
    )
    return [
        Choice(str(item["key"]), str(item.get("label") or item["key"]))
        for item in fields or []
        if not item.get("required") and item.get("maps_to") != "email"
    ]


def magnets(session: Session, workspace_id: int) -> list[Choice]:
    """The workspace's lead magnets, for a magnet experiment's variants."""
    rows = session.execute(
        select(Asset.slug, Asset.title)
        .where(Asset.workspace_id == workspace_id, Asset.archived_at.is_(None))
        .order_by(Asset.title)
    )
    return [Choice(slug, title) for slug, title in rows]


def templates(session: Session, workspace_id: int) -> list[Choice]:
    """The workspace's templates, for a sequence-step experiment's variants."""
    return _templates(session, workspace_id)


def slug_to_id(session: Session, model: Any, workspace_id: int, slug: str, field: str) -> int | None:
    """The id of the workspace's ``model`` row with ``slug`` (None for an empty one), else an error
    naming ``field``."""
    if not slug.strip():
        return None
    found = _id_by_slug(session, model, workspace_id, slug.strip())
    if found is None:
        raise InvalidInput(f"{field}: nothing called {slug.strip()[:120]!r} in this workspace", field=field)
    return found


def id_to_slug(session: Session, model: Any, row_id: int | None) -> str:
    """The slug of ``model`` row ``row_id`` ("" for none)."""
    if row_id is None:
        return ""
    return str(session.scalar(select(model.slug).where(model.id == row_id)) or "")
