"""Mailbox pages: the list (everyone), a new mailbox and a mailbox's editor (owners and marketers):
SMTP and IMAP settings, daily cap and warm-up, per-domain throttle, the DKIM key with the DNS record
to publish, the inbound webhook address, and a button that queues a test message to oneself."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import Posted, PostedForm, done
from leadwell.db.models import SMTP_SECURITY, Mailbox
from leadwell.db.types import utcnow
from leadwell.errors import LeadwellError
from leadwell.outreach import dkim
from leadwell.outreach import mailboxes as service
from leadwell.outreach.inbound_api import inbound_url
from leadwell.outreach.outbox import queue_test_message
from leadwell.outreach.sequence_page_common import not_found_as_404, page, refused, require_editor
from leadwell.web.deps import Page, PageScope, get_app

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Mailbox added.",
    "saved": "Saved.",
    "archived": "Archived: nothing more is sent from it; its queued messages wait.",
    "restored": "In use again.",
    "key": "A new DKIM key was made: publish the DNS record below before sending.",
}
DEFAULT_SELECTOR = "leadwell"


def draft_of(posted: Posted) -> service.MailboxInput:
    """The mailbox as the editor posted it (text values; blank passwords keep the stored ones)."""
    values = {item.name: posted.get(item.name, "") for item in fields(service.MailboxInput)}
    return service.MailboxInput(**values)


def _dkim_view(mailbox: Mailbox) -> dict[str, str] | None:
    if not (mailbox.dkim_private_key and mailbox.dkim_domain and mailbox.dkim_selector):
        return None
    try:
        key = dkim.load_key(mailbox.dkim_private_key)
    except LeadwellError:
        return None
    return {
        "name": dkim.record_name(mailbox.dkim_selector, mailbox.dkim_domain),
        "value": key.dns_record(),
        "kind": key.kind,
    }


def _editor(
    request: Request, scope: PageScope, mailbox: Mailbox | None, draft: service.MailboxInput, **context: Any
) -> dict[str, Any]:
    app = get_app(request)
    extra: dict[str, Any] = {
        "dkim_record": None,
        "inbound_url": None,
        "limit_today": None,
        "used_today": None,
    }
    if mailbox is not None:
        now = utcnow()
        with scope.db.session() as session:
            used = service.usage(session, mailbox.id, now)
        extra.update(
            dkim_record=_dkim_view(mailbox),
            inbound_url=inbound_url(app.signer, app.settings.public_url, mailbox),
            limit_today=service.daily_limit(mailbox, now.date()),
            used_today=used.sent_today + used.in_flight,
        )
    return {"mailbox": mailbox, "draft": draft, "securities": SMTP_SECURITY, **extra, **context}


def _load(session: Session, scope: PageScope, slug: str) -> Mailbox:
    with not_found_as_404("mailbox"):
        return service.mailbox_by_slug(session, scope.workspace_id, slug)


@router.get("/outreach/mailboxes", name="outreach_mailboxes")
def mailbox_list(request: Request, scope: Page, archived: bool = False, done: str = "") -> HTMLResponse:
    """Every mailbox with today's limit and use (read-only for salespeople)."""
    now = utcnow()
    with scope.db.session() as session:
        found = service.list_mailboxes(session, scope.workspace_id, archived=archived)
        usage = {mailbox.id: service.usage(session, mailbox.id, now) for mailbox in found}
    rows = [
        {
            "mailbox": mailbox,
            "limit": service.daily_limit(mailbox, now.date()),
            "used": usage[mailbox.id].sent_today + usage[mailbox.id].in_flight,
        }
        for mailbox in found
    ]
    return page(
        request, "outreach/mailboxes.html", scope, rows=rows, archived=archived, notice=NOTICES.get(done)
    )


@router.get("/outreach/mailboxes/new", name="outreach_mailbox_new")
def mailbox_new(request: Request, scope: Page) -> HTMLResponse:
    require_editor(scope)
    return page(
        request, "outreach/mailbox.html", scope, **_editor(request, scope, None, service.MailboxInput())
    )


@router.post("/outreach/mailboxes/new", name="outreach_mailbox_create", response_model=None)
def mailbox_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    require_editor(scope)
    draft = draft_of(posted)
    try:
        with scope.db.session() as session:
            mailbox = service.create_mailbox(session, scope.workspace_id, draft)
    except LeadwellError as error:
        return refused(request, "outreach/mailbox.html", scope, error, **_editor(request, scope, None, draft))
    return done(request, "created", "outreach_mailbox", slug=mailbox.slug)


@router.get("/outreach/mailboxes/{slug}", name="outreach_mailbox")
def mailbox_page(request: Request, scope: Page, slug: str, done: str = "") -> HTMLResponse:
    """The editor (owners and marketers)."""
    require_editor(scope)
    with scope.db.session() as session:
        mailbox = _load(session, scope, slug)
    context = _editor(request, scope, mailbox, service.MailboxInput.of(mailbox), notice=NOTICES.get(done))
    return page(request, "outreach/mailbox.html", scope, **context)


@router.post("/outreach/mailboxes/{slug}", name="outreach_mailbox_save", response_model=None)
def mailbox_save(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    require_editor(scope)
    draft = draft_of(posted)
    try:
        with scope.db.session() as session:
            mailbox = _load(session, scope, slug)
            saved = service.update_mailbox(session, scope.workspace_id, mailbox.id, draft)
    except LeadwellError as error:
        with scope.db.session() as session:
            stored = _load(session, scope, slug)
        return refused(
            request, "outreach/mailbox.html", scope, error, **_editor(request, scope, stored, draft)
        )
    return done(request, "saved", "outreach_mailbox", slug=saved.slug)


@router.post("/outreach/mailboxes/{slug}/key", name="outreach_mailbox_key")
def mailbox_new_key(request: Request, scope: Page, posted: PostedForm, slug: str) -> RedirectResponse:
    """Make a new 2048-bit RSA DKIM key (domain: the sender's, selector: as set or ``leadwell``)."""
    require_editor(scope)
    with scope.db.session() as session:
        mailbox = _load(session, scope, slug)
        mailbox.dkim_private_key = dkim.generate_key()
        mailbox.dkim_domain = mailbox.dkim_domain or mailbox.from_email.rpartition("@")[2]
        mailbox.dkim_selector = mailbox.dkim_selector or DEFAULT_SELECTOR
    return done(request, "key", "outreach_mailbox", slug=slug)


@router.post("/outreach/mailboxes/{slug}/archive", name="outreach_mailbox_archive")
def mailbox_archive(request: Request, scope: Page, posted: PostedForm, slug: str) -> RedirectResponse:
    require_editor(scope)
    with scope.db.session() as session:
        mailbox = _load(session, scope, slug)
        restoring = mailbox.archived_at is not None
        if restoring:
            service.restore_mailbox(session, scope.workspace_id, mailbox.id)
        else:
            service.archive_mailbox(session, scope.workspace_id, mailbox.id)
    return done(request, "restored" if restoring else "archived", "outreach_mailbox", slug=slug)


@router.post("/outreach/mailboxes/{slug}/test", name="outreach_mailbox_test")
def mailbox_test(request: Request, scope: Page, posted: PostedForm, slug: str) -> RedirectResponse:
    """Queue a test message from this mailbox to the logged-in user; the outbox shows how it went."""
    require_editor(scope)
    with scope.db.session() as session:
        mailbox = _load(session, scope, slug)
        queue_test_message(session, scope.workspace_id, mailbox.id, scope.user.email, scope.user.email)
    url = request.app.url_path_for("outreach_outbox")
    return RedirectResponse(f"{url}?mailbox={slug}&done=test", status_code=303)
