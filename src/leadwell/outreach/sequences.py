"""Sequences and their ordered steps: what to send, wait for and ask a salesperson to do.

A sequence has a name and slug, the mailbox it sends from, a time zone, a daily sending window
and business weekdays (see :mod:`leadwell.outreach.window`), optionally a form or lead magnet that
enrols whoever submits or gets it, and a status: ``draft`` (being built), ``active`` (running),
``paused`` (nobody advances until it is active again) or ``archived``. Its steps are an ordered
list of ``email`` (a template), ``wait`` (N business days) and ``task`` (a call, with a note).

Enrolled contacts walk the steps by position, so changing the list keeps everyone's place: a
removed step moves those past it back by one; a step moved in front of a contact's place is not
run for that contact (nobody repeats a step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from leadwell.capture.values import clean_int, clean_text
from leadwell.db.models import (
    SEQUENCE_STATUSES,
    STEP_KINDS,
    Asset,
    EmailTemplate,
    Enrollment,
    Form,
    Mailbox,
    Sequence,
    SequenceStep,
    TemplateVariant,
)
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.outreach.render import check_variant
from leadwell.outreach.slugs import checked_slug
from leadwell.outreach.window import Calendar, check_weekdays, make_calendar, zone_named

MAX_STEPS = 50
MAX_WAIT_DAYS = 365
MAX_NOTE = 2000
STATUS_LABELS = {"draft": "Draft", "active": "Active", "paused": "Paused", "archived": "Archived"}
KIND_LABELS = {"email": "Email", "wait": "Wait", "task": "Call task"}


@dataclass
class SequenceInput:
    """A sequence's settings as an editor or the command line gives them (texts, slugs)."""

    name: str
    slug: str = ""
    mailbox: str = ""
    timezone: str = "UTC"
    window_start: str = "09:00"
    window_end: str = "17:00"
    weekdays: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    trigger_form: str = ""
    trigger_asset: str = ""


@dataclass
class StepInput:
    """One step as given: ``kind`` with a template slug, a number of days, or a note."""

    kind: str
    template: str = ""
    wait_days: str | int = ""
    note: str = ""


def describe_step(step: SequenceStep, template_names: dict[int, str]) -> str:
    """A step in plain words: "Email: Welcome", "Wait 2 business days", "Call task: ask about budget"."""
    if step.kind == "email":
        return f"Email: {template_names.get(step.template_id or 0, 'a template removed since')}"
    if step.kind == "wait":
        return f"Wait {step.wait_days} business day{'s' if step.wait_days != 1 else ''}"
    return f"Call task: {step.note}"


def get_sequence(session: Session, workspace_id: int, slug: str) -> Sequence:
    """The workspace's sequence with ``slug``, else :class:`NotFound`."""
    found = session.scalar(
        select(Sequence).where(Sequence.workspace_id == workspace_id, Sequence.slug == slug)
    )
    if found is None:
        raise NotFound(f"sequence: no sequence {slug[:64]!r} in this workspace", field="sequence")
    return found


def list_sequences(session: Session, workspace_id: int, archived: bool = False) -> list[Sequence]:
    """The workspace's sequences by name; archived ones only when asked."""
    query = select(Sequence).where(Sequence.workspace_id == workspace_id)
    if not archived:
        query = query.where(Sequence.status != "archived")
    return list(session.scalars(query.order_by(func.lower(Sequence.name), Sequence.id)))


def steps_of(session: Session, sequence_id: int) -> list[SequenceStep]:
    """The sequence's steps in order."""
    query = select(SequenceStep).where(SequenceStep.sequence_id == sequence_id)
    return list(session.scalars(query.order_by(SequenceStep.position)))


def calendar_of(sequence: Sequence, contact_timezone: str | None = None) -> Calendar:
    """Where and when the sequence sends to a contact: the contact's time zone when it has a valid
    one, else the sequence's."""
    zone = sequence.timezone
    if contact_timezone:
        try:
            zone_named(contact_timezone)
            zone = contact_timezone
        except InvalidInput:
            pass  # a time zone stored before it was checked: the sequence's serves
    return make_calendar(zone, sequence.window_start, sequence.window_end, sequence.weekdays)


def _mailbox_id(session: Session, workspace_id: int, slug: str) -> int | None:
    if not slug.strip():
        return None
    found = session.scalar(
        select(Mailbox.id).where(
            Mailbox.workspace_id == workspace_id, Mailbox.slug == slug.strip(), Mailbox.archived_at.is_(None)
        )
    )
    if found is None:
        raise InvalidInput(f"mailbox: no mailbox {slug[:64]!r} in this workspace", field="mailbox")
    return found


def _trigger_ids(session: Session, workspace_id: int, data: SequenceInput) -> tuple[int | None, int | None]:
    form_id = asset_id = None
    if data.trigger_form.strip():
        form_id = session.scalar(
            select(Form.id).where(Form.workspace_id == workspace_id, Form.slug == data.trigger_form.strip())
        )
        if form_id is None:
            raise InvalidInput(
                f"trigger_form: no form {data.trigger_form[:80]!r} in this workspace", "trigger_form"
            )
    if data.trigger_asset.strip():
        asset_id = session.scalar(
            select(Asset.id).where(
                Asset.workspace_id == workspace_id, Asset.slug == data.trigger_asset.strip()
            )
        )
        if asset_id is None:
            message = f"trigger_asset: no lead magnet {data.trigger_asset[:80]!r} in this workspace"
            raise InvalidInput(message, "trigger_asset")
    return form_id, asset_id


def _apply(session: Session, workspace_id: int, sequence: Sequence, data: SequenceInput) -> None:
    sequence.name = clean_text(data.name, "name", 200, required=True)
    zone = data.timezone.strip() or "UTC"
    make_calendar(zone, data.window_start, data.window_end, data.weekdays)  # checks every part
    sequence.timezone = zone
    sequence.window_start, sequence.window_end = data.window_start.strip(), data.window_end.strip()
    sequence.weekdays = check_weekdays(data.weekdays)
    sequence.mailbox_id = _mailbox_id(session, workspace_id, data.mailbox)
    sequence.trigger_form_id, sequence.trigger_asset_id = _trigger_ids(session, workspace_id, data)


def create_sequence(session: Session, workspace_id: int, data: SequenceInput) -> Sequence:
    """A new sequence, as a draft; the slug defaults to one made from the name."""
    slug = checked_slug(data.slug, data.name or "sequence")
    taken = select(Sequence.id).where(Sequence.workspace_id == workspace_id, Sequence.slug == slug)
    if session.scalar(taken) is not None:
        raise Conflict(f"slug: {slug!r} is already taken; choose another", field="slug")
    sequence = Sequence(workspace_id=workspace_id, slug=slug, name="", status="draft")
    _apply(session, workspace_id, sequence, data)
    session.add(sequence)
    session.flush()
    return sequence


def update_sequence(session: Session, workspace_id: int, slug: str, data: SequenceInput) -> Sequence:
    """Change a sequence's settings (its slug stays: events name it); an active sequence must keep
    its mailbox."""
    sequence = get_sequence(session, workspace_id, slug)
    _apply(session, workspace_id, sequence, data)
    if sequence.status == "active":
        check_runnable(session, sequence)
    session.flush()
    return sequence


def check_runnable(session: Session, sequence: Sequence) -> None:
    """What an active sequence needs: a mailbox, and at least one email or call task step, every
    email step with a valid template."""
    if sequence.mailbox_id is None:
        raise InvalidInput("mailbox: an active sequence needs a mailbox to send from", field="mailbox")
    steps = steps_of(session, sequence.id)
    if not any(step.kind in ("email", "task") for step in steps):
        raise InvalidInput(
            "steps: an active sequence needs at least one email or call task step", field="steps"
        )
    for step in steps:
        if step.kind == "email":
            where = f"steps[{step.position + 1}].template"
            check_template_variants(session, sequence.workspace_id, step.template_id, where)


def set_status(session: Session, workspace_id: int, slug: str, status: str) -> Sequence:
    """Activate, pause, archive or return a sequence to draft; activating checks it can run."""
    if status not in SEQUENCE_STATUSES:
        raise InvalidInput(f"status: one of {', '.join(SEQUENCE_STATUSES)}", field="status")
    sequence = get_sequence(session, workspace_id, slug)
    if status == "active":
        check_runnable(session, sequence)
    sequence.status = status
    session.flush()
    return sequence


def _template_id(session: Session, workspace_id: int, slug: str, where: str) -> int:
    found = session.scalar(
        select(EmailTemplate.id).where(
            EmailTemplate.workspace_id == workspace_id,
            EmailTemplate.slug == slug.strip(),
            EmailTemplate.archived_at.is_(None),
        )
    )
    if found is None:
        raise InvalidInput(
            f"{where}.template: no template {slug[:64]!r} in this workspace", f"{where}.template"
        )
    return found


def check_template_variants(session: Session, workspace_id: int, template_id: int | None, field: str) -> None:
    """A template to send must exist and every variant of it must render without problems; the
    first problem is reported on ``field`` with its variant, part and line."""
    template = session.get(EmailTemplate, template_id) if template_id is not None else None
    if template is None or template.workspace_id != workspace_id:
        raise InvalidInput(f"{field}: choose a template", field=field)
    query = select(TemplateVariant).where(TemplateVariant.template_id == template.id)
    variants = session.scalars(query.order_by(TemplateVariant.key)).all()
    if not variants:
        raise InvalidInput(f"{field}: {template.slug!r} has no content yet", field=field)
    for variant in variants:
        problems = check_variant(variant.subject, variant.html, variant.text)
        if problems:
            first = problems[0]
            where = f"variant {variant.key}, {first.part} line {first.line}"
            raise InvalidInput(f"{field}: {template.slug!r} {where}: {first.message}", field=field)


def _step_values(session: Session, workspace_id: int, data: StepInput, where: str) -> dict[str, object]:
    """The columns of a step, checked; ``where`` names it in messages (``steps[2]``)."""
    if data.kind not in STEP_KINDS:
        raise InvalidInput(f"{where}.kind: one of {', '.join(STEP_KINDS)}", field=f"{where}.kind")
    values: dict[str, object] = {"kind": data.kind, "template_id": None, "wait_days": 0, "note": ""}
    if data.kind == "email":
        if not data.template.strip():
            raise InvalidInput(f"{where}.template: an email step needs a template", field=f"{where}.template")
        template_id = _template_id(session, workspace_id, data.template, where)
        check_template_variants(session, workspace_id, template_id, f"{where}.template")
        values["template_id"] = template_id
    elif data.kind == "wait":
        values["wait_days"] = clean_int(data.wait_days, f"{where}.wait_days", 1, MAX_WAIT_DAYS)
    else:
        values["note"] = clean_text(data.note, f"{where}.note", MAX_NOTE, required=True)
    return values


def add_step(session: Session, workspace_id: int, slug: str, data: StepInput) -> SequenceStep:
    """Add a step at the end of the sequence."""
    sequence = get_sequence(session, workspace_id, slug)
    steps = steps_of(session, sequence.id)
    if len(steps) >= MAX_STEPS:
        raise InvalidInput(f"steps: at most {MAX_STEPS} steps", field="steps")
    values = _step_values(session, workspace_id, data, f"steps[{len(steps) + 1}]")
    step = SequenceStep(sequence_id=sequence.id, position=len(steps), **values)
    session.add(step)
    session.flush()
    return step


def _step_at(session: Session, sequence: Sequence, number: int) -> SequenceStep:
    """The step shown as ``number`` (1-based)."""
    step = session.scalar(
        select(SequenceStep).where(
            SequenceStep.sequence_id == sequence.id, SequenceStep.position == number - 1
        )
    )
    if step is None:
        raise NotFound(f"step: the sequence has no step {number}", field="step")
    return step


def update_step(session: Session, workspace_id: int, slug: str, number: int, data: StepInput) -> SequenceStep:
    """Change step ``number`` (1-based) in place; contacts keep their place."""
    sequence = get_sequence(session, workspace_id, slug)
    step = _step_at(session, sequence, number)
    for name, value in _step_values(session, workspace_id, data, f"steps[{number}]").items():
        setattr(step, name, value)
    session.flush()
    if sequence.status == "active":
        check_runnable(session, sequence)
    return step


def remove_step(session: Session, workspace_id: int, slug: str, number: int) -> None:
    """Remove step ``number`` (1-based); later steps move up, and so do contacts past it."""
    sequence = get_sequence(session, workspace_id, slug)
    step = _step_at(session, sequence, number)
    session.delete(step)
    session.flush()
    # One at a time, upwards: the unique (sequence, position) index holds after every statement.
    for later in steps_of(session, sequence.id):
        if later.position > step.position:
            later.position -= 1
            session.flush()
    session.execute(
        update(Enrollment)
        .where(Enrollment.sequence_id == sequence.id, Enrollment.position > step.position)
        .values(position=Enrollment.position - 1)
    )
    if sequence.status == "active":
        check_runnable(session, sequence)


def move_step(session: Session, workspace_id: int, slug: str, number: int, direction: str) -> None:
    """Swap step ``number`` (1-based) with the one above (``up``) or below (``down``). Contacts
    between the two (the upper one done, the lower not) skip the step that moved above them."""
    if direction not in ("up", "down"):
        raise InvalidInput("direction: up or down", field="direction")
    sequence = get_sequence(session, workspace_id, slug)
    upper_number = number - 1 if direction == "up" else number
    upper = _step_at(session, sequence, upper_number)
    lower = _step_at(session, sequence, upper_number + 1)
    top = upper.position
    upper.position = -1
    session.flush()
    lower.position = top
    session.flush()
    upper.position = top + 1
    session.flush()
    session.execute(
        update(Enrollment)
        .where(Enrollment.sequence_id == sequence.id, Enrollment.position == top + 1)
        .values(position=top + 2)
    )
