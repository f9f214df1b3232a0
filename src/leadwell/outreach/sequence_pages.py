"""Sequence pages: a new sequence, and a sequence's page — its status, settings, ordered steps (add,
edit, remove, move up and down) with each step's numbers, and the sequence's numbers. Enrolling
and the enrolled contacts are in :mod:`leadwell.outreach.enrollment_pages`. Every form is plain
HTML; salespeople see the page without the forms."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import Posted, PostedForm, done
from leadwell.db.models import Asset, EmailTemplate, Form, Mailbox, Segment, Sequence
from leadwell.errors import LeadwellError
from leadwell.outreach import sequences as service
from leadwell.outreach.enrollment_pages import enrollment_rows, result_notice
from leadwell.outreach.numbers import METRIC_LABELS, sequence_numbers, step_numbers
from leadwell.outreach.sequence_page_common import (
    not_found_as_404,
    numbers_list,
    page,
    refused,
    require_editor,
)
from leadwell.outreach.window import WEEKDAY_NAMES
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Sequence created. Add its steps, then activate it.",
    "saved": "Saved.",
    "step-added": "Step added.",
    "step-saved": "Step saved.",
    "step-removed": "Step removed.",
    "step-moved": "Step moved.",
    "active": "The sequence is active: enrolled contacts move through its steps.",
    "paused": "Paused: nobody moves on until it is active again.",
    "archived": "Archived.",
    "draft": "Back to draft.",
    "stopped": "The contact left the sequence.",
    "held": "The contact is held at its step.",
    "resumed": "The contact goes on from its step.",
}
ZONES = sorted(available_timezones() - {"Factory", "localtime"})


def input_of(posted: Posted) -> service.SequenceInput:
    """The settings as posted (weekdays as repeated check boxes)."""
    return service.SequenceInput(
        name=posted.get("name"),
        slug=posted.get("slug"),
        mailbox=posted.get("mailbox"),
        timezone=posted.get("timezone") or "UTC",
        window_start=posted.get("window_start") or "09:00",
        window_end=posted.get("window_end") or "17:00",
        weekdays=numbers_list(" ".join(posted.lists.get("weekdays", []))),
        trigger_form=posted.get("trigger_form"),
        trigger_asset=posted.get("trigger_asset"),
    )


def step_input_of(posted: Posted) -> service.StepInput:
    return service.StepInput(
        kind=posted.get("kind"),
        template=posted.get("template"),
        wait_days=posted.get("wait_days"),
        note=posted.get("note"),
    )


def _slug_of(session: Session, model: Any, row_id: int | None) -> str:
    if row_id is None:
        return ""
    return str(session.scalar(select(model.slug).where(model.id == row_id)) or "")


def input_from(session: Session, sequence: Sequence) -> service.SequenceInput:
    """A stored sequence as editor values."""
    return service.SequenceInput(
        name=sequence.name,
        slug=sequence.slug,
        mailbox=_slug_of(session, Mailbox, sequence.mailbox_id),
        timezone=sequence.timezone,
        window_start=sequence.window_start,
        window_end=sequence.window_end,
        weekdays=list(sequence.weekdays),
        trigger_form=_slug_of(session, Form, sequence.trigger_form_id),
        trigger_asset=_slug_of(session, Asset, sequence.trigger_asset_id),
    )


def _choices(session: Session, workspace_id: int) -> dict[str, Any]:
    """What the settings and step forms offer."""

    def pairs(query: Any) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in session.execute(query)]

    return {
        "mailboxes": pairs(
            select(Mailbox.slug, Mailbox.from_email)
            .where(Mailbox.workspace_id == workspace_id, Mailbox.archived_at.is_(None))
            .order_by(Mailbox.slug)
        ),
        "forms": pairs(
            select(Form.slug, Form.name)
            .where(Form.workspace_id == workspace_id, Form.archived_at.is_(None))
            .order_by(Form.name)
        ),
        "magnets": pairs(
            select(Asset.slug, Asset.title)
            .where(Asset.workspace_id == workspace_id, Asset.archived_at.is_(None))
            .order_by(Asset.title)
        ),
        "templates": pairs(
            select(EmailTemplate.slug, EmailTemplate.name)
            .where(EmailTemplate.workspace_id == workspace_id, EmailTemplate.archived_at.is_(None))
            .order_by(EmailTemplate.name)
        ),
        "segments": pairs(
            select(Segment.slug, Segment.name)
            .where(Segment.workspace_id == workspace_id)
            .order_by(Segment.name)
        ),
        "zones": ZONES,
        "weekday_names": WEEKDAY_NAMES,
        "kinds": service.KIND_LABELS,
    }


def _new_page(request: Request, scope: PageScope, draft: service.SequenceInput, **extra: Any) -> HTMLResponse:
    with scope.db.session() as session:
        context = {"draft": draft, "sequence": None, **_choices(session, scope.workspace_id)}
    if "error" in extra:
        return refused(request, "outreach/sequence_new.html", scope, extra.pop("error"), **context)
    return page(request, "outreach/sequence_new.html", scope, **context)


@router.get("/outreach/sequences/new", name="outreach_sequence_new")
def sequence_new(request: Request, scope: Page) -> HTMLResponse:
    """The settings of a new sequence (Monday to Friday, 09:00–17:00, UTC to start with)."""
    require_editor(scope)
    return _new_page(request, scope, service.SequenceInput(""))


@router.post("/outreach/sequences/new", name="outreach_sequence_create", response_model=None)
def sequence_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Create the sequence as a draft, or show the form again with what is wrong."""
    require_editor(scope)
    try:
        draft = input_of(posted)
        with scope.db.session() as session:
            slug = service.create_sequence(session, scope.workspace_id, draft).slug
    except LeadwellError as error:
        return _new_page(
            request, scope, service.SequenceInput(posted.get("name"), posted.get("slug")), error=error
        )
    return done(request, "created", "outreach_sequence", slug=slug)


def _sequence_context(request: Request, scope: PageScope, slug: str) -> dict[str, Any]:
    """Everything the sequence page shows."""
    with scope.db.session() as session, not_found_as_404("sequence"):
        sequence = service.get_sequence(session, scope.workspace_id, slug)
        steps = service.steps_of(session, sequence.id)
        choices = _choices(session, scope.workspace_id)
        names = dict(
            session.execute(
                select(EmailTemplate.id, EmailTemplate.name).where(
                    EmailTemplate.workspace_id == scope.workspace_id
                )
            ).all()
        )
        per_step = step_numbers(session, scope.workspace_id, sequence.id)
        shown_steps = [
            (step.position + 1, step, service.describe_step(step, names), per_step.get(step.position))
            for step in steps
        ]
        context = {
            "sequence": sequence,
            "settings": input_from(session, sequence),
            "steps": shown_steps,
            "numbers": sequence_numbers(session, scope.workspace_id, [sequence.id])[sequence.id],
            "labels": METRIC_LABELS,
            "status_labels": service.STATUS_LABELS,
            "enrolled": enrollment_rows(session, scope, sequence, steps, names, request.query_params),
            **choices,
        }
        session.expunge_all()
    return context


def render_sequence(request: Request, scope: PageScope, slug: str, **extra: Any) -> HTMLResponse:
    context = _sequence_context(request, scope, slug)
    notice = NOTICES.get(request.query_params.get("done", "")) or result_notice(request.query_params)
    if "error" in extra:
        return refused(
            request, "outreach/sequence.html", scope, extra.pop("error"), notice=None, **context, **extra
        )
    return page(request, "outreach/sequence.html", scope, notice=notice, **context, **extra)


@router.get("/outreach/sequences/{slug}", name="outreach_sequence")
def sequence_page(request: Request, scope: Page, slug: str) -> HTMLResponse:
    """A sequence: status, numbers, steps, settings, enrolling and the enrolled contacts."""
    return render_sequence(request, scope, slug)


def _change(request: Request, scope: PageScope, slug: str, work: Any, outcome: str, **extra: Any) -> Response:
    """Run ``work(session)``; back to the sequence page with ``outcome``, or the page with the refusal."""
    require_editor(scope)
    try:
        with scope.db.session() as session, not_found_as_404("sequence"):
            work(session)
    except LeadwellError as error:
        return render_sequence(request, scope, slug, error=error, **extra)
    return done(request, outcome, "outreach_sequence", slug=slug)


@router.post("/outreach/sequences/{slug}", name="outreach_sequence_save", response_model=None)
def sequence_save(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Save the sequence's settings."""
    return _change(
        request,
        scope,
        slug,
        lambda s: service.update_sequence(s, scope.workspace_id, slug, input_of(posted)),
        "saved",
    )


@router.post("/outreach/sequences/{slug}/status", name="outreach_sequence_status", response_model=None)
def sequence_status(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Activate, pause, archive the sequence or take it back to draft."""
    status = posted.get("status")
    return _change(
        request,
        scope,
        slug,
        lambda s: service.set_status(s, scope.workspace_id, slug, status),
        status or "saved",
    )


@router.post("/outreach/sequences/{slug}/steps", name="outreach_step_add", response_model=None)
def step_add(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Add a step at the end."""
    data = step_input_of(posted)
    return _change(
        request,
        scope,
        slug,
        lambda s: service.add_step(s, scope.workspace_id, slug, data),
        "step-added",
        new_step=data,
    )


def _step_page(request: Request, scope: PageScope, slug: str, number: int, **extra: Any) -> HTMLResponse:
    with scope.db.session() as session, not_found_as_404("step"):
        sequence = service.get_sequence(session, scope.workspace_id, slug)
        step = next((s for s in service.steps_of(session, sequence.id) if s.position == number - 1), None)
        if step is None:
            raise HTTPException(404, "No such step in this sequence.")
        template = _slug_of(session, EmailTemplate, step.template_id)
        draft = extra.pop("draft", None) or service.StepInput(
            step.kind, template, str(step.wait_days), step.note
        )
        context = {
            "sequence": sequence,
            "number": number,
            "draft": draft,
            **_choices(session, scope.workspace_id),
        }
        session.expunge_all()
    if "error" in extra:
        return refused(request, "outreach/step.html", scope, extra.pop("error"), **context)
    return page(request, "outreach/step.html", scope, **context)


@router.get("/outreach/sequences/{slug}/steps/{number}", name="outreach_step")
def step_page(request: Request, scope: Page, slug: str, number: int) -> HTMLResponse:
    """One step's editor."""
    require_editor(scope)
    return _step_page(request, scope, slug, number)


@router.post("/outreach/sequences/{slug}/steps/{number}", name="outreach_step_save", response_model=None)
def step_save(request: Request, scope: Page, posted: PostedForm, slug: str, number: int) -> Response:
    """Save one step, or its editor again with what is wrong."""
    require_editor(scope)
    data = step_input_of(posted)
    try:
        with scope.db.session() as session, not_found_as_404("step"):
            service.update_step(session, scope.workspace_id, slug, number, data)
    except LeadwellError as error:
        return _step_page(request, scope, slug, number, draft=data, error=error)
    return done(request, "step-saved", "outreach_sequence", slug=slug)


@router.post(
    "/outreach/sequences/{slug}/steps/{number}/remove", name="outreach_step_remove", response_model=None
)
def step_remove(request: Request, scope: Page, posted: PostedForm, slug: str, number: int) -> Response:
    """Remove one step."""
    return _change(
        request,
        scope,
        slug,
        lambda s: service.remove_step(s, scope.workspace_id, slug, number),
        "step-removed",
    )


@router.post("/outreach/sequences/{slug}/steps/{number}/move", name="outreach_step_move", response_model=None)
def step_move(request: Request, scope: Page, posted: PostedForm, slug: str, number: int) -> Response:
    """Move one step up or down."""
    direction = posted.get("direction")
    return _change(
        request,
        scope,
        slug,
        lambda s: service.move_step(s, scope.workspace_id, slug, number, direction),
        "step-moved",
    )
