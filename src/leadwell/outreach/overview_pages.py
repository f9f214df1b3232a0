"""The Outreach section's front page (``/outreach``): the sequences with their numbers, the
newsletters scheduled and sent, and the way to templates, mailboxes, the outbox and segments.

Its router also carries the sequence, segment and broadcast pages, so the application mounts the
section's pages with one line."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadwell.outreach import broadcast_pages, enrollment_pages, segment_pages, sequence_pages
from leadwell.outreach.broadcasts import STATUS_LABELS as BROADCAST_STATUS
from leadwell.outreach.broadcasts import list_broadcasts
from leadwell.outreach.numbers import METRIC_LABELS, broadcast_numbers, sequence_numbers
from leadwell.outreach.sequence_page_common import page
from leadwell.outreach.sequences import STATUS_LABELS, list_sequences
from leadwell.web.deps import Page

router = APIRouter(include_in_schema=False)
RECENT_BROADCASTS = 10


@router.get("/outreach", name="outreach_overview")
def overview(request: Request, scope: Page, archived: bool = False) -> HTMLResponse:
    """Sequences (archived ones on request) with their numbers, and the latest newsletters."""
    with scope.db.session() as session:
        sequences = list_sequences(session, scope.workspace_id, archived=archived)
        numbers = sequence_numbers(session, scope.workspace_id, [s.id for s in sequences])
        broadcasts = list_broadcasts(session, scope.workspace_id)[:RECENT_BROADCASTS]
        sent = broadcast_numbers(session, scope.workspace_id, [b.id for b in broadcasts])
        session.expunge_all()
    shown = [(scope.codec.encode("broadcast", b.id), b, sent[b.id]) for b in broadcasts]
    return page(
        request,
        "outreach/overview.html",
        scope,
        sequences=sequences,
        numbers=numbers,
        overview_broadcasts=shown,
        status_labels=STATUS_LABELS,
        broadcast_status=BROADCAST_STATUS,
        labels=METRIC_LABELS,
        archived=archived,
    )


for _pages in (sequence_pages, enrollment_pages, segment_pages, broadcast_pages):
    router.include_router(_pages.router)
