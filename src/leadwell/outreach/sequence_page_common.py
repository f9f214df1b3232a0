"""What the sequence, segment and broadcast pages share: who may change things (owners and
marketers; salespeople read lists and numbers), rendering an editor again with the refused field
marked, the people behind a number, and small readers of posted values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from leadwell.contacts.service import get_contact
from leadwell.db.models import Contact, ContactEmail
from leadwell.errors import InvalidInput, LeadwellError, NotFound
from leadwell.ids import BadId
from leadwell.pagination import decode_cursor, encode_cursor
from leadwell.scoring.stages import STAGE_LABELS
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

ACTIVE = "outreach_overview"
PEOPLE_PAGE = 50


def can_edit(scope: PageScope) -> bool:
    """Owners and marketers change outreach; salespeople read it."""
    return scope.can_edit


def require_editor(scope: PageScope) -> None:
    """A 403 page for salespeople posting a change."""
    scope.require_editor("Outreach changes are for owners and marketers")


@contextmanager
def not_found_as_404(what: str) -> Iterator[None]:
    """The service's NotFound as a 404 page ("No such sequence in this workspace.")."""
    try:
        yield
    except NotFound:
        raise HTTPException(404, f"No such {what} in this workspace.") from None


def page(
    request: Request, template: str, scope: PageScope, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render an outreach page (the Outreach area marked in the navigation)."""
    return render(
        request, template, status_code=status, scope=scope, active=ACTIVE, editor=can_edit(scope), **context
    )


def refused(
    request: Request, template: str, scope: PageScope, error: LeadwellError, **context: Any
) -> HTMLResponse:
    """The page again with the refusal shown and its field marked (422, or 409 for a clash)."""
    status = 409 if error.status == 409 else 422
    return page(
        request, template, scope, status, error=error.detail, error_field=error.field or "", **context
    )


def contact_by_public_id(session: Session, scope: PageScope, public_id: str) -> Contact:
    """The contact behind a public id in this workspace, else a 404 page."""
    try:
        number = scope.codec.decode("contact", public_id)
        return get_contact(session, scope.workspace_id, number)
    except (BadId, NotFound):
        raise HTTPException(404, "No such contact in this workspace.") from None


def contact_by_email(session: Session, workspace_id: int, email: str, field: str = "contact") -> int:
    """The id of the workspace's contact holding ``email`` (any of its addresses)."""
    found = session.scalar(
        select(ContactEmail.contact_id).where(
            ContactEmail.workspace_id == workspace_id, ContactEmail.email == email.strip().lower()
        )
    )
    if found is None:
        raise InvalidInput(f"{field}: no contact with the address {email.strip()[:120]!r}", field=field)
    return found


@dataclass(frozen=True)
class Person:
    """One contact behind a number, as a list shows it."""

    contact_id: str
    name: str
    email: str | None
    stage: str
    stage_label: str


@dataclass(frozen=True)
class People:
    """A page of the contacts behind a number: how many in all, these, and the next page's cursor."""

    total: int
    people: list[Person]
    more: str | None


def display_name(contact: Contact) -> str:
    """First and last name, else the address."""
    return f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"


def people_page(session: Session, scope: PageScope, ids: Select[Any], after: str) -> People:
    """Newest contacts first among ``ids`` (a SELECT of contact ids), 50 a page (keyset by id)."""
    query = select(Contact).where(Contact.workspace_id == scope.workspace_id, Contact.id.in_(ids))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if after:
        try:
            query = query.where(Contact.id < decode_cursor(after))
        except InvalidInput:
            raise HTTPException(400, "This page link is broken; start again from the first page.") from None
    rows = list(session.scalars(query.order_by(Contact.id.desc()).limit(PEOPLE_PAGE + 1)))
    shown = [
        Person(
            scope.codec.encode("contact", c.id),
            display_name(c),
            c.email,
            c.stage,
            STAGE_LABELS.get(c.stage, c.stage),
        )
        for c in rows[:PEOPLE_PAGE]
    ]
    more = encode_cursor(rows[PEOPLE_PAGE - 1].id) if len(rows) > PEOPLE_PAGE else None
    return People(total, shown, more)


def numbers_list(text: str) -> list[int]:
    """Whole numbers posted as repeated fields or one comma-separated text (weekdays)."""
    try:
        return [int(part) for part in text.replace(",", " ").split()]
    except ValueError:
        raise InvalidInput("weekdays: numbers 1 (Monday) to 7 (Sunday)", field="weekdays") from None
