"""The import summary: what an import read and did, its rejected and doubtful rows a page at a time,
and all of them as a CSV file to fix in a spreadsheet and import again.

These pages read an import once it has run; they live apart from :mod:`leadwell.contacts.import_pages`
(the wizard that uploads, previews and runs a file) so that each module stays small. Like the wizard's,
their paths start with literal segments under ``/contacts/``, so the app includes this router before
the contact pages and their ``/contacts/{contact_id}`` (see ``_page_modules`` in ``leadwell.web.app``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import func, select, tuple_

from leadwell.contacts.pages import spreadsheet_safe
from leadwell.db.models import Import, ImportIssue
from leadwell.web.deps import Page, PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
ISSUES_PER_PAGE = 100


def _record(scope: PageScope, import_id: str) -> Import:
    """The import ``import_id`` if it belongs to this workspace; else a 404 page."""
    missing = HTTPException(404, "No such import in this workspace.")
    if not import_id.isdigit() or len(import_id) > 18:
        raise missing
    with scope.db.session() as session:
        record = session.scalar(
            select(Import).where(Import.id == int(import_id), Import.workspace_id == scope.workspace_id)
        )
    if record is None:
        raise missing
    return record


def _issues(scope: PageScope, import_id: int, after: str, size: int) -> tuple[list[ImportIssue], str]:
    """A page of an import's issues in line order, after the ``<line>-<id>`` cursor ``after``, and the
    cursor of the next page ("" at the end). Keyset paging: the last page costs what the first does."""
    query = select(ImportIssue).where(ImportIssue.import_id == import_id)
    if after:
        line, _, number = after.partition("-")
        if not (line.isdigit() and number.isdigit()):
            raise HTTPException(400, "This page link is broken; start again from the first page.")
        query = query.where(tuple_(ImportIssue.line, ImportIssue.id) > tuple_(int(line), int(number)))
    with scope.db.session() as session:
        items = list(session.scalars(query.order_by(ImportIssue.line, ImportIssue.id).limit(size + 1)))
    if len(items) <= size:
        return items, ""
    last = items[size - 1]
    return items[:size], f"{last.line}-{last.id}"


@router.get("/contacts/imports/{import_id}", name="import_summary")
def import_summary(request: Request, scope: Page, import_id: str, after: str = "") -> HTMLResponse:
    """What an import read and did, and its rejected and doubtful rows, a hundred at a time."""
    record = _record(scope, import_id)
    issues, more = _issues(scope, record.id, after, ISSUES_PER_PAGE)
    with scope.db.session() as session:
        total = session.scalar(
            select(func.count()).select_from(ImportIssue).where(ImportIssue.import_id == record.id)
        )
    path = request.app.url_path_for("import_summary", import_id=str(record.id))
    source = urlencode({"source": record.list_name})
    links: dict[str, Any] = {
        "next_url": f"{path}?{urlencode({'after': more})}#issues" if more else None,
        "first_url": f"{path}#issues" if after else None,
        "csv_url": request.app.url_path_for("import_issues_csv", import_id=str(record.id)),
        "contacts_url": f"{request.app.url_path_for('contacts_list')}?{source}",
        # The duplicates review is its own page; it only needs a link when this import queued some.
        "duplicates_url": "/contacts/duplicates" if record.summary.get("duplicate_candidates") else None,
    }
    context: dict[str, Any] = {"record": record, "issues": issues, "total_issues": total or 0}
    return render(request, "imports/summary.html", scope=scope, active="contacts_list", **context, **links)


def _issue_lines(scope: PageScope, import_id: int) -> Iterator[str]:
    """The issues as CSV text, a batch per short transaction, with formula-like cells defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "column", "severity", "reason", "value"])
    after = ""
    while True:
        issues, after = _issues(scope, import_id, after, 1000)
        for i in issues:
            cells = (i.column, i.severity, i.reason, i.value)
            writer.writerow([i.line, *(spreadsheet_safe(cell) for cell in cells)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if not after:
            return


@router.get("/contacts/imports/{import_id}/issues.csv", name="import_issues_csv")
def import_issues_csv(scope: Page, import_id: str) -> StreamingResponse:
    """Every rejected or doubtful row of an import, to fix in a spreadsheet and import again."""
    record = _record(scope, import_id)
    headers = {"Content-Disposition": f'attachment; filename="import-{record.id}-issues.csv"'}
    return StreamingResponse(
        _issue_lines(scope, record.id), media_type="text/csv; charset=utf-8", headers=headers
    )
