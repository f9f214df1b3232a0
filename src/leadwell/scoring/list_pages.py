"""Contact lists: the workspace's lists with their sizes, one list's members (newest contacts first,
keyset-paged), and a CSV export of a list. Nurture contacts join the Newsletter list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from leadwell.contacts.pages import spreadsheet_safe
from leadwell.db.models import Contact, ContactList, ListMember
from leadwell.errors import InvalidInput
from leadwell.pagination import decode_cursor, encode_cursor
from leadwell.scoring.stages import STAGE_LABELS
from leadwell.web.deps import Page, PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class Member:
    """One contact on a list, as the list page shows it."""

    contact_id: str
    name: str
    email: str | None
    stage: str
    stage_label: str
    added_at: datetime


def _list(session: Session, workspace_id: int, slug: str) -> ContactList:
    found = session.scalar(
        select(ContactList).where(ContactList.workspace_id == workspace_id, ContactList.slug == slug)
    )
    if found is None:
        raise HTTPException(404, "No such list in this workspace.")
    return found


def _members(list_id: int) -> Select[Contact, datetime]:
    """A list's live contacts, newest contacts first (the order of the list's primary key)."""
    return (
        select(Contact, ListMember.added_at)
        .join(ListMember, ListMember.contact_id == Contact.id)
        .where(ListMember.list_id == list_id, Contact.merged_into_id.is_(None))
        .order_by(ListMember.contact_id.desc())
    )


def _member(scope: PageScope, contact: Contact, added_at: datetime) -> Member:
    name = f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"
    return Member(
        scope.codec.encode("contact", contact.id),
        name,
        contact.email,
        contact.stage,
        STAGE_LABELS.get(contact.stage, contact.stage),
        added_at,
    )


@router.get("/lists", name="lists")
def lists(request: Request, scope: Page) -> HTMLResponse:
    """The workspace's contact lists with how many live contacts each holds."""
    with scope.db.session() as session:
        rows = session.execute(
            select(ContactList, func.count(Contact.id))
            .outerjoin(ListMember, ListMember.list_id == ContactList.id)
            .outerjoin(Contact, (Contact.id == ListMember.contact_id) & Contact.merged_into_id.is_(None))
            .where(ContactList.workspace_id == scope.workspace_id)
            .group_by(ContactList.id)
            .order_by(ContactList.name)
        ).all()
    return render(request, "lists/index.html", scope=scope, active="contacts_list", lists=rows)


@router.get("/lists/{slug}", name="list_detail")
def list_detail(request: Request, scope: Page, slug: str, after: str = "") -> HTMLResponse:
    """One list's members, a page at a time (``after`` continues from a page's last contact)."""
    with scope.db.session() as session:
        found = _list(session, scope.workspace_id, slug)
        query = _members(found.id)
        if after:
            try:
                query = query.where(ListMember.contact_id < decode_cursor(after))
            except InvalidInput:
                raise HTTPException(
                    400, "This page link is broken; start again from the list's first page."
                ) from None
        rows = session.execute(query.limit(PAGE_SIZE + 1)).all()
        total = session.scalar(select(func.count()).select_from(_members(found.id).order_by(None).subquery()))
        members = [_member(scope, contact, added) for contact, added in rows[:PAGE_SIZE]]
        more = encode_cursor(rows[PAGE_SIZE - 1][0].id) if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "lists/detail.html",
        scope=scope,
        active="contacts_list",
        contact_list=found,
        members=members,
        total=total,
        more=more,
        continued=bool(after),
    )


def _lines(scope: PageScope, list_id: int) -> Iterator[str]:
    """The list as CSV, read in batches by key so a large list never sits in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "first_name", "last_name", "email", "stage", "added_at"])
    last: int | None = None
    while True:
        with scope.db.session() as session:
            query = _members(list_id)
            if last is not None:
                query = query.where(ListMember.contact_id < last)
            rows = session.execute(query.limit(EXPORT_BATCH)).all()
        for contact, added in rows:
            writer.writerow(
                [
                    scope.codec.encode("contact", contact.id),
                    spreadsheet_safe(contact.first_name),
                    spreadsheet_safe(contact.last_name),
                    spreadsheet_safe(contact.email),
                    contact.stage,
                    added.isoformat(),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < EXPORT_BATCH:
            return
        last = rows[-1][0].id


@router.get("/lists/{slug}/export.csv", name="list_export")
def list_export(scope: Page, slug: str) -> StreamingResponse:
    """The list's live contacts as CSV."""
    with scope.db.session() as session:
        found = _list(session, scope.workspace_id, slug)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="{found.slug}-{stamp}.csv"'}
    return StreamingResponse(_lines(scope, found.id), media_type="text/csv; charset=utf-8", headers=headers)
