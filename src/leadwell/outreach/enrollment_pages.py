"""Enrolling from the pages and the contacts in a sequence: enrol a segment or addresses from the
sequence page, "Add to sequence" on a contact's page, hold, resume or stop one contact by hand,
the enrolled contacts with their status and next step, and the contacts behind every number."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Many
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import PostedForm
from leadwell.capture.values import split_lines
from leadwell.db.models import Contact, ContactEmail, Enrollment, Sequence, SequenceStep
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, LeadwellError
from leadwell.outreach import enroll as service
from leadwell.outreach import enrollment_holds as holds
from leadwell.outreach.numbers import METRIC_LABELS, sequence_people
from leadwell.outreach.segments import get_segment
from leadwell.outreach.sequence_page_common import (
    contact_by_public_id,
    display_name,
    not_found_as_404,
    page,
    people_page,
    require_editor,
)
from leadwell.outreach.sequences import describe_step, get_sequence, list_sequences
from leadwell.outreach.stops import stop_enrollments
from leadwell.pagination import decode_cursor, encode_cursor
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
ENROLLED_PAGE = 50
STATES = ("active", "paused", "completed", "stopped")
MAX_ADDRESSES = 1000


@dataclass(frozen=True)
class EnrolledRow:
    """One enrolled contact as the sequence page lists it."""

    contact_id: str
    name: str
    email: str | None
    state: str
    next_step: str
    next_at: datetime | None
    stop_reason: str | None
    source: str
    enrolled_at: datetime


@dataclass(frozen=True)
class Enrolled:
    """A page of the enrolled contacts, filtered by state."""

    rows: list[EnrolledRow]
    state: str
    more: str | None
    continued: bool


def _next_step(state: str, position: int, steps: Many[SequenceStep], names: dict[int, str]) -> str:
    if state not in ("active", "paused"):
        return "—"
    if position >= len(steps):
        return "finishing: its last messages are going out"
    return f"{position + 1}. {describe_step(steps[position], names)}"


def enrollment_rows(
    session: Session,
    scope: PageScope,
    sequence: Sequence,
    steps: Many[SequenceStep],
    names: dict[int, str],
    params: Mapping[str, str],
) -> Enrolled:
    """The newest enrollments first, 50 a page, in the state asked for (``?state=``)."""
    state = params.get("state", "")
    state = state if state in STATES else ""
    query = (
        select(Enrollment, Contact)
        .join(Contact, Contact.id == Enrollment.contact_id)
        .where(Enrollment.workspace_id == scope.workspace_id, Enrollment.sequence_id == sequence.id)
    )
    if state == "paused":
        query = query.where(Enrollment.status == "active", Enrollment.next_at.is_(None))
    elif state == "active":
        query = query.where(Enrollment.status == "active", Enrollment.next_at.is_not(None))
    elif state:
        query = query.where(Enrollment.status == state)
    after = params.get("after", "")
    if after:
        try:
            query = query.where(Enrollment.id < decode_cursor(after))
        except InvalidInput:
            raise HTTPException(400, "This page link is broken; start again from the first page.") from None
    found = session.execute(query.order_by(Enrollment.id.desc()).limit(ENROLLED_PAGE + 1)).all()
    rows = []
    for enrollment, contact in found[:ENROLLED_PAGE]:
        shown = holds.enrollment_state(enrollment.status, enrollment.next_at)
        rows.append(
            EnrolledRow(
                scope.codec.encode("contact", contact.id),
                display_name(contact),
                contact.email,
                shown,
                _next_step(shown, enrollment.position, steps, names),
                enrollment.next_at,
                enrollment.stop_reason,
                enrollment.source,
                enrollment.enrolled_at,
            )
        )
    more = encode_cursor(found[ENROLLED_PAGE - 1][0].id) if len(found) > ENROLLED_PAGE else None
    return Enrolled(rows, state, more, bool(after))


def result_query(result: service.EnrollResult) -> str:
    """An enrolment's counts for the page that reports them (ids and numbers only in the URL)."""
    params = {"enrolled": result.enrolled, "again": result.restarted}
    params.update({f"skip_{reason}": count for reason, count in result.skipped.items() if count})
    return urlencode(params)


def result_notice(params: Mapping[str, str]) -> str | None:
    """ "3 enrolled; skipped: 1 opted out" from :func:`result_query`'s parameters."""
    if "enrolled" not in params:
        return None

    def number(name: str) -> int:
        text = params.get(name, "0")
        return int(text) if text.isdigit() else 0

    skipped = {reason: number(f"skip_{reason}") for reason in service.SKIP_REASONS}
    restarted = number("again")
    return service.EnrollResult(number("enrolled") - restarted, restarted, skipped).words()


def _contact_ids(session: Session, workspace_id: int, text: str) -> tuple[list[int], int]:
    """The contacts holding the addresses given (one per line or comma-separated), and how many
    addresses matched nobody."""
    addresses = sorted({address.lower() for address in split_lines(text)})
    if len(addresses) > MAX_ADDRESSES:
        raise InvalidInput(
            f"emails: at most {MAX_ADDRESSES:,} addresses at once; use a segment", field="emails"
        )
    if not addresses:
        return [], 0
    found = session.execute(
        select(ContactEmail.email, ContactEmail.contact_id).where(
            ContactEmail.workspace_id == workspace_id, ContactEmail.email.in_(addresses)
        )
    ).all()
    return sorted({contact_id for _email, contact_id in found}), len(addresses) - len({e for e, _ in found})


def _redirect(request: Request, route: str, query: str, anchor: str = "", **params: str) -> RedirectResponse:
    path = request.app.url_path_for(route, **params)
    return RedirectResponse(f"{path}?{query}{anchor}", status_code=303)


@router.post("/outreach/sequences/{slug}/enroll", name="outreach_sequence_enroll", response_model=None)
def sequence_enroll(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Enrol a segment and/or contacts by address; back to the sequence page with the counts."""
    from leadwell.outreach.sequence_pages import render_sequence

    require_editor(scope)
    now, again = utcnow(), posted.checked("again")
    try:
        with scope.db.session() as session, not_found_as_404("sequence"):
            sequence = get_sequence(session, scope.workspace_id, slug)
            segment_slug, emails = posted.get("segment").strip(), posted.get("emails")
            if not segment_slug and not emails.strip():
                raise InvalidInput("segment: choose a segment or give addresses", field="segment")
            result = service.EnrollResult(0, 0, {})
            if segment_slug:
                segment = get_segment(session, scope.workspace_id, segment_slug)
                ids = (scope.workspace_id, sequence.id)
                result = service.enroll_segment(
                    session, *ids, segment, by_user_id=scope.user.id, now=now, again=again
                )
            contact_ids, unknown = _contact_ids(session, scope.workspace_id, emails)
            if contact_ids or unknown:
                listed = service.enroll(
                    session,
                    scope.workspace_id,
                    sequence.id,
                    contact_ids,
                    source="manual",
                    by_user_id=scope.user.id,
                    now=now,
                    again=again,
                )
                result = result.plus(listed).plus(service.EnrollResult(0, 0, {"not_found": unknown}))
    except LeadwellError as error:
        return render_sequence(request, scope, slug, error=error)
    return _redirect(request, "outreach_sequence", result_query(result), "#enrolled", slug=slug)


def _one(scope: PageScope, session: Session, slug: str, contact_id: str) -> tuple[Sequence, Contact]:
    with not_found_as_404("sequence"):
        sequence = get_sequence(session, scope.workspace_id, slug)
    return sequence, contact_by_public_id(session, scope, contact_id)


@router.post(
    "/outreach/sequences/{slug}/contacts/{contact_id}/{action}",
    name="outreach_enrollment_action",
    response_model=None,
)
def enrollment_action(
    request: Request, scope: Page, posted: PostedForm, slug: str, contact_id: str, action: str
) -> Response:
    """Hold, resume or stop one contact in the sequence by hand."""
    from leadwell.outreach.sequence_pages import render_sequence

    require_editor(scope)
    outcomes = {"pause": "held", "resume": "resumed", "stop": "stopped"}
    if action not in outcomes:
        raise HTTPException(404, "No such action.")
    now = utcnow()
    try:
        with scope.db.session() as session:
            sequence, contact = _one(scope, session, slug, contact_id)
            ids = (scope.workspace_id, sequence.id, contact.id)
            if action == "pause":
                holds.pause_enrollment(session, *ids)
            elif action == "resume":
                holds.resume_enrollment(session, *ids, now)
            elif not stop_enrollments(
                session, scope.workspace_id, contact.id, "manual", now, sequence_id=sequence.id
            ):
                raise InvalidInput("contact: not active in this sequence", field="contact")
    except LeadwellError as error:
        return render_sequence(request, scope, slug, error=error)
    return _redirect(request, "outreach_sequence", f"done={outcomes[action]}", "#enrolled", slug=slug)


@router.get("/outreach/sequences/{slug}/people", name="outreach_sequence_people")
def sequence_people_page(
    request: Request, scope: Page, slug: str, metric: str = "enrolled", step: int = 0, after: str = ""
) -> HTMLResponse:
    """The contacts behind one of the sequence's numbers (``?step=`` for one step's)."""
    with scope.db.session() as session:
        with not_found_as_404("sequence"):
            sequence = get_sequence(session, scope.workspace_id, slug)
        try:
            ids = sequence_people(scope.workspace_id, sequence.id, metric, step - 1 if step > 0 else None)
        except InvalidInput as error:
            raise HTTPException(400, error.detail) from None
        listing = people_page(session, scope, ids, after)
        name = sequence.name
    label = METRIC_LABELS[metric] + (f" at step {step}" if step > 0 else "")
    query = urlencode({key: value for key, value in request.query_params.items() if key != "after"})
    return page(
        request,
        "outreach/people.html",
        scope,
        title=f"{label}: {name}",
        listing=listing,
        continued=bool(after),
        back=(request.app.url_path_for("outreach_sequence", slug=slug), name),
        section=None,
        query=query,
    )


def _panel_context(session: Session, scope: PageScope, contact: Contact) -> dict[str, Any]:
    rows = session.execute(
        select(Enrollment, Sequence.slug, Sequence.name, Sequence.status)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Enrollment.workspace_id == scope.workspace_id, Enrollment.contact_id == contact.id)
        .order_by(Enrollment.enrolled_at.desc())
    ).all()
    enrolled = [
        (slug, name, status, holds.enrollment_state(e.status, e.next_at), e.stop_reason, e.enrolled_at)
        for e, slug, name, status in rows
    ]
    offered = [
        (s.slug, s.name) for s in list_sequences(session, scope.workspace_id) if s.status != "archived"
    ]
    count = session.scalar(
        select(func.count()).select_from(Enrollment).where(Enrollment.contact_id == contact.id)
    )
    return {"enrollments": enrolled, "offered": offered, "contact": contact, "total": count or 0}


@router.get("/outreach/contacts/{contact_id}/sequences", name="outreach_contact_sequences")
def contact_sequences(request: Request, scope: Page, contact_id: str) -> HTMLResponse:
    """A contact's sequences and "Add to sequence": the panel of the contact page (loaded by htmx),
    or a page of its own without JavaScript."""
    with scope.db.session() as session:
        contact = contact_by_public_id(session, scope, contact_id)
        context = _panel_context(session, scope, contact)
        session.expunge_all()
    template = (
        "outreach/_contact_panel.html"
        if request.headers.get("HX-Request")
        else "outreach/contact_sequences.html"
    )
    notice = result_notice(request.query_params)
    return page(
        request, template, scope, public_id=contact_id, name=display_name(contact), notice=notice, **context
    )


@router.post("/outreach/contacts/{contact_id}/enroll", name="outreach_contact_enroll", response_model=None)
def contact_enroll(request: Request, scope: Page, posted: PostedForm, contact_id: str) -> Response:
    """Add the contact to a sequence (again, when it finished it, only with the box ticked)."""
    require_editor(scope)
    try:
        with scope.db.session() as session:
            contact = contact_by_public_id(session, scope, contact_id)
            sequence = get_sequence(session, scope.workspace_id, posted.get("sequence").strip())
            result = service.enroll(
                session,
                scope.workspace_id,
                sequence.id,
                [contact.id],
                source="manual",
                by_user_id=scope.user.id,
                now=utcnow(),
                again=posted.checked("again"),
            )
    except LeadwellError as error:
        raise HTTPException(error.status, error.detail) from None
    return _redirect(request, "contact_detail", result_query(result), "#sequences", contact_id=contact_id)
