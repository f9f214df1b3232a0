"""The people behind a magnet's number: one step over one period, a page at a time (newest
contacts first, keyset-paged), and the same list as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import Select, func, select

from leadwell.capture.admin_assets import period_of
from leadwell.capture.admin_common import ACTIVE, Editor, missing_as_404
from leadwell.capture.assets import get_asset
from leadwell.capture.stats import PERIOD_LABELS, STEP_LABELS, STEPS_BY_KIND, since_of, step_contacts
from leadwell.contacts.pages import spreadsheet_safe
from leadwell.db.models import Asset, Contact
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.pagination import decode_cursor, encode_cursor
from leadwell.scoring.stages import STAGE_LABELS
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class Person:
    """One contact behind a number, as the list shows it."""

    contact_id: str
    name: str
    email: str | None
    stage: str
    stage_label: str
    source: str | None


@dataclass(frozen=True)
class Asked:
    """Which magnet, step and period the list is of."""

    asset: Asset
    step: str
    period: str


def _asked(scope: PageScope, request: Request, slug: str) -> Asked:
    with scope.db.session() as session:
        with missing_as_404("magnet"):
            asset = get_asset(session, scope.workspace_id, slug)
        session.expunge(asset)
    step = request.query_params.get("step", "")
    if step not in STEPS_BY_KIND[asset.kind]:
        steps = ", ".join(STEPS_BY_KIND[asset.kind])
        raise HTTPException(400, f"step: one of {steps} for this magnet.")
    return Asked(asset, step, period_of(request))


def _people(scope: PageScope, asked: Asked) -> Select[Contact]:
    ids = step_contacts(asked.step, scope.workspace_id, asked.asset.id, since_of(asked.period, utcnow()))
    return select(Contact).where(Contact.id.in_(ids.scalar_subquery())).order_by(Contact.id.desc())


def _person(scope: PageScope, contact: Contact) -> Person:
    name = f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)"
    label = STAGE_LABELS.get(contact.stage, contact.stage)
    return Person(
        scope.codec.encode("contact", contact.id), name, contact.email, contact.stage, label, contact.source
    )


@router.get("/capture/assets/{slug}/people", name="capture_people")
def people(request: Request, scope: Editor, slug: str, after: str = "") -> HTMLResponse:
    """The people who reached ``?step=`` for the magnet within ``?period=``."""
    asked = _asked(scope, request, slug)
    query = _people(scope, asked)
    with scope.db.session() as session:
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        if after:
            try:
                query = query.where(Contact.id < decode_cursor(after))
            except InvalidInput:
                raise HTTPException(
                    400, "This page link is broken; start again from the first page."
                ) from None
        rows = list(session.scalars(query.limit(PAGE_SIZE + 1)))
        shown = [_person(scope, contact) for contact in rows[:PAGE_SIZE]]
    more = encode_cursor(rows[PAGE_SIZE - 1].id) if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "capture/people.html",
        scope=scope,
        active=ACTIVE,
        asset=asked.asset,
        step=asked.step,
        step_label=STEP_LABELS[asked.step],
        period=asked.period,
        period_label=PERIOD_LABELS[asked.period],
        steps=[(key, STEP_LABELS[key]) for key in STEPS_BY_KIND[asked.asset.kind]],
        people=shown,
        total=total,
        more=more,
        continued=bool(after),
    )


def _lines(scope: PageScope, asked: Asked) -> Iterator[str]:
    """The list as CSV, read in batches by id so a long one never sits in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "first_name", "last_name", "email", "stage", "source", "magnet", "step"])
    last: int | None = None
    while True:
        query = _people(scope, asked)
        if last is not None:
            query = query.where(Contact.id < last)
        with scope.db.session() as session:
            batch = list(session.scalars(query.limit(EXPORT_BATCH)))
        for c in batch:
            cells = [c.first_name, c.last_name, c.email, c.stage, c.source, asked.asset.slug, asked.step]
            writer.writerow(
                [scope.codec.encode("contact", c.id), *(spreadsheet_safe(cell) for cell in cells)]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1].id


@router.get("/capture/assets/{slug}/people.csv", name="capture_people_export")
def people_export(request: Request, scope: Editor, slug: str) -> StreamingResponse:
    """The same people as CSV."""
    asked = _asked(scope, request, slug)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    name = f"{asked.asset.slug}-{asked.step}-{asked.period}-{stamp}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(_lines(scope, asked), media_type="text/csv; charset=utf-8", headers=headers)
