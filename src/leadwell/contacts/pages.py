"""Contacts pages: a searchable, filterable, sortable list with CSV export, and one contact's record
with its deals and event timeline.

Lists page with keyset cursors (``WHERE key > last key``, never ``OFFSET``): page 200 of a large
workspace costs what page 1 costs, and a bookmarked page does not shift while contacts arrive.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.contact_capture import consents_of, submissions_of
from leadwell.capture.reader_panel import magnets_of
from leadwell.channels.contact_touches import contact_touches
from leadwell.channels.service import list_channels
from leadwell.contacts import service
from leadwell.contacts.listing import (
    BAD_CURSOR,
    SORTS,
    ListQuery,
    Query_,
    contacts_page,
    count_narrowed,
)
from leadwell.db.models import Contact, Event, Icp, User
from leadwell.db.types import utcnow
from leadwell.errors import LeadwellError, NotFound
from leadwell.events.service import EventFilters, list_events
from leadwell.events.types import EVENT_LABELS
from leadwell.icp.fit_view import FitShown, chosen_profile, contact_fits, fits_of
from leadwell.icp.reasons import reasons_text
from leadwell.icp.store import GRADES, list_icps
from leadwell.ids import BadId
from leadwell.reports.funnel import STEP_LABELS
from leadwell.sales.deals import list_deals
from leadwell.scoring.stage_pages import panel_context
from leadwell.web.deps import Page, PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
TIMELINE_SIZE = 20
EXPORT_BATCH = 500
# fmt: off
EXPORT_COLUMNS = ("id", "first_name", "last_name", "email", "phones", "title", "organization", "stage",
                  "source", "consent", "country", "created_at", "updated_at",
                  "grade", "fit_score", "qualified_out", "fit_reasons")
# fmt: on


def display_name(contact: Contact) -> str:
    return f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"


def _contact_url(request: Request, scope: PageScope, contact_id: int) -> str:
    return str(
        request.app.url_path_for("contact_detail", contact_id=scope.codec.encode("contact", contact_id))
    )


def _link(request: Request, route: str, params: Mapping[str, str | list[str]]) -> str:
    path = str(request.app.url_path_for(route))
    return f"{path}?{urlencode(params, doseq=True)}" if params else path


def _notes(request: Request, query: ListQuery, profile: Icp | None) -> list[tuple[str, str]]:
    """The drill-down filters in force, each with the link that removes it."""
    notes: list[tuple[str, dict[str, Any]]] = []
    if query.grades and profile is not None:
        grades = ", ".join(query.grades)
        notes.append((f"Grade {grades} for {profile.name}", {"grade": None}))
    if query.created_since:
        notes.append((f"Created since {query.created_since}", {"created_since": None}))
    if query.event or query.outcome:
        since = f" since {query.event_since}" if query.event_since else ""
        kind = query.event or "call_logged"
        outcome = f" ({query.outcome.replace('_', ' ')})" if query.outcome else ""
        label = EVENT_LABELS.get(kind, kind) + outcome
        notes.append((f"Did “{label}”{since}", {"event": None, "event_since": None, "outcome": None}))
    if query.entered_since:
        reached = STEP_LABELS[query.reached or "lead"]
        text = f"Entered the funnel since {query.entered_since}, reached {reached}"
        notes.append((text, {"entered_since": None, "reached": None}))
    if query.best_grades:
        notes.append((f"Best fit grade {', '.join(query.best_grades)}", {"best_grade": None}))
    if query.deal:
        since = f", closed since {query.deal_since}" if query.deal_since else ""
        notes.append((f"With a {query.deal} deal{since}", {"deal": None, "deal_since": None}))
    return [(text, _link(request, "contacts_list", query.params(**off))) for text, off in notes]


def _wants_fragment(request: Request, target: str) -> bool:
    """An htmx swap of ``target`` (not a history restore, which needs the whole page)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Target") == target
    )


def _profile(session: Session, scope: PageScope, query: ListQuery) -> Icp | None:
    """The profile whose fit the list shows: ``icp=<slug>``, else the first by slug."""
    try:
        return chosen_profile(session, scope.workspace_id, query.icp)
    except NotFound:
        raise HTTPException(404, "No such profile in this workspace.") from None


@router.get("/contacts", name="contacts_list")
def contacts_list(request: Request, scope: Page, query: Query_, cursor: str = "") -> HTMLResponse:
    """The contacts list; an htmx request for the results gets only the results table."""
    with scope.db.session() as session:
        profile = _profile(session, scope, query)
        contacts, more = contacts_page(session, scope.workspace_id, query, cursor or None)
        total = count_narrowed(session, scope.workspace_id, query)
        stages = service.contact_values(session, scope.workspace_id, "stage")
        sources = service.contact_values(session, scope.workspace_id, "source")
        profiles = list_icps(session, scope.workspace_id)
        fits = fits_of(session, profile, [contact.id for contact in contacts])
        rows = [(_contact_url(request, scope, contact.id), contact) for contact in contacts]
    params = query.params()
    context: dict[str, Any] = {
        "scope": scope,
        "active": "contacts_list",
        "query": query,
        "rows": rows,
        "total": total,
        "cursor": cursor,
        "next_url": _link(request, "contacts_list", {**params, "cursor": more}) if more else None,
        "first_url": _link(request, "contacts_list", params) if cursor else None,
        "export_url": _link(request, "contacts_export", params),
        "clear_search_url": _link(request, "contacts_list", query.params(q=None)),
        "all_url": _link(request, "contacts_list", {}),
        "notes": _notes(request, query, profile),
        "display_name": display_name,
        "profile": profile,
        "fits": fits,
    }
    if _wants_fragment(request, "contact-results"):
        response = render(request, "contacts/_results.html", workspaces=[], **context)
    else:
        extra: dict[str, Any] = {
            "stages": stages,
            "sources": sources,
            "sorts": SORTS,
            "profiles": profiles,
            "grades": GRADES,
        }
        response = render(request, "contacts/list.html", **context, **extra)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def spreadsheet_safe(value: object) -> str:
    """A cell as text, defused: spreadsheets run cells starting with = + - @ (or tab/CR) as formulas,
    so those get a leading quote (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _export_row(scope: PageScope, c: Contact, fit: FitShown | None) -> list[str]:
    organization = c.organization.name if c.organization else None
    values = [scope.codec.encode("contact", c.id), c.first_name, c.last_name, c.email, "; ".join(c.phones)]
    values += [c.title, organization, c.stage, c.source, c.consent, c.country]
    values += [c.created_at.isoformat(), c.updated_at.isoformat()]
    if fit is None:
        values += [None, None, None, None]
    else:
        out = "true" if fit.qualified_out else "false"
        values += [fit.grade, str(fit.score), out, reasons_text(fit.reasons)]
    return [spreadsheet_safe(value) for value in values]


def _export_lines(scope: PageScope, query: ListQuery, profile: Icp | None) -> Iterator[str]:
    """CSV text batch by batch, each batch in its own short transaction, so a slow download never
    holds a connection or a snapshot open. The fit columns are for the list's profile."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    cursor: str | None = None
    while True:
        with scope.db.session() as session:
            contacts, cursor = contacts_page(session, scope.workspace_id, query, cursor, EXPORT_BATCH)
            fits = fits_of(session, profile, [contact.id for contact in contacts])
            writer.writerows(_export_row(scope, contact, fits.get(contact.id)) for contact in contacts)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if cursor is None:
            return


@router.get("/contacts/export.csv", name="contacts_export")
def contacts_export(scope: Page, query: Query_) -> StreamingResponse:
    """Every contact of the list's filters as CSV, streamed, with the fit to the list's profile."""
    with scope.db.session() as session:
        profile = _profile(session, scope, query)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="contacts-{stamp}.csv"'}
    return StreamingResponse(
        _export_lines(scope, query, profile), media_type="text/csv; charset=utf-8", headers=headers
    )


@contextmanager
def _as_page_errors() -> Iterator[None]:
    """Service errors become HTML error pages (the app-wide handler answers them as API problems)."""
    try:
        yield
    except LeadwellError as error:
        raise HTTPException(error.status, BAD_CURSOR if error.field == "cursor" else error.detail) from None


def _contact_number(scope: PageScope, session: Session, public_id: str) -> int:
    """The row id behind a public id, if that contact is in this workspace; else a 404 page."""
    missing = HTTPException(404, "No such contact in this workspace.")
    try:
        number = scope.codec.decode("contact", public_id)
    except BadId:
        raise missing from None
    found = session.scalar(
        select(Contact.id).where(Contact.id == number, Contact.workspace_id == scope.workspace_id)
    )
    if found is None:
        raise missing
    return found


@dataclass(frozen=True)
class Timeline:
    """One page of a contact's events and, when older ones exist, where the next page is."""

    events: list[Event]
    continued: bool
    more_url: str | None = None
    more_fragment_url: str | None = None


def _timeline(
    request: Request,
    session: Session,
    scope: PageScope,
    contact: tuple[str, int],
    event_type: str,
    before: str,
) -> Timeline:
    """A page of the timeline of ``contact`` (its public and row ids), older than ``before``."""
    public_id, number = contact
    filters = EventFilters(contact_id=number, type=event_type or None)
    with _as_page_errors():
        page = list_events(session, scope.workspace_id, filters, before or None, TIMELINE_SIZE)
    if page.next_cursor is None:
        return Timeline(page.items, bool(before))
    params = urlencode(
        {"type": event_type, "before": page.next_cursor} if event_type else {"before": page.next_cursor}
    )
    path = request.app.url_path_for("contact_detail", contact_id=public_id)
    fragment = request.app.url_path_for("contact_timeline", contact_id=public_id)
    return Timeline(page.items, bool(before), f"{path}?{params}#timeline", f"{fragment}?{params}")


def _event_types(session: Session, workspace_id: int, contact_id: int) -> list[tuple[str, str]]:
    """The event types this contact has, as (type, label) for the timeline filter."""
    types = session.scalars(
        select(Event.type)
        .where(Event.workspace_id == workspace_id, Event.contact_id == contact_id)
        .distinct()
    )
    return sorted(((kind, EVENT_LABELS.get(kind, kind)) for kind in types), key=lambda pair: pair[1])


@router.get("/contacts/{contact_id}", name="contact_detail")
def contact_detail(
    request: Request,
    scope: Page,
    contact_id: str,
    event_type: Annotated[str, Query(alias="type")] = "",
    before: str = "",
) -> HTMLResponse:
    """A contact's record, deals and timeline (newest first; ``before`` continues an older page)."""
    with scope.db.session() as session:
        number = _contact_number(scope, session, contact_id)
        contact = service.get_contact(session, scope.workspace_id, number)
        owner = session.get(User, contact.owner_id) if contact.owner_id else None
        deals = list_deals(session, scope.workspace_id, None, number, None, 100).items
        types = _event_types(session, scope.workspace_id, number)
        timeline = _timeline(request, session, scope, (contact_id, number), event_type, before)
        profile_fits = contact_fits(session, scope.workspace_id, number)
        stages = panel_context(request, scope, session, contact)
        magnets = magnets_of(session, scope.workspace_id, number)
        submissions = submissions_of(session, scope.workspace_id, number)
        consents = consents_of(session, scope.workspace_id, number)
        touches = contact_touches(session, scope.workspace_id, number, utcnow())
        tag_channels = list_channels(session, scope.workspace_id) if scope.can_edit else []
    survivor = contact.merged_into_id
    return render(
        request,
        "contacts/detail.html",
        merged_into_url=_contact_url(request, scope, survivor) if survivor else None,
        scope=scope,
        active="contacts_list",
        contact=contact,
        name=display_name(contact),
        owner=owner,
        deals=deals,
        types=types,
        event_type=event_type,
        timeline=timeline,
        detail_path=request.app.url_path_for("contact_detail", contact_id=contact_id),
        profile_fits=profile_fits,
        magnets=magnets,
        submissions=submissions,
        consents=consents,
        touches=touches,
        tag_channels=tag_channels,
        tag_contact_id=contact_id,
        **stages,
    )


@router.get("/contacts/{contact_id}/timeline", name="contact_timeline")
def contact_timeline(
    request: Request,
    scope: Page,
    contact_id: str,
    event_type: Annotated[str, Query(alias="type")] = "",
    before: str = "",
) -> HTMLResponse:
    """The next timeline items and a fresh "Older events" button, for htmx to swap in place."""
    with scope.db.session() as session:
        number = _contact_number(scope, session, contact_id)
        timeline = _timeline(request, session, scope, (contact_id, number), event_type, before)
    return render(request, "contacts/_timeline_items.html", scope=scope, workspaces=[], timeline=timeline)
