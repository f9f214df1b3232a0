"""``leadwell outreach inbound …``: read the mailboxes now, list what came back, handle one message
from a file. Exit codes: 0 done, 1 failed (a mailbox could not be read), 2 bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.auth.accounts import find_workspace
from leadwell.cli_common import (
    DatabaseUrl,
    Failure,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    opened,
    reporting,
    require_workspace,
    workspace_id_of,
)
from leadwell.db.models import INBOUND_KINDS, Contact, InboundMessage, Mailbox
from leadwell.db.session import Database, with_retries
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.outreach.imap_poll import PollResult, poll_mailbox
from leadwell.outreach.inbound import handle_inbound
from leadwell.outreach.inbound_api import MAX_INBOUND_BYTES

inbound_app = typer.Typer(help="Replies, bounces and complaints: read, list, import.", no_args_is_help=True)
MailboxOpt = Annotated[str | None, typer.Option("--mailbox", help="The mailbox's slug.")]
MAX_LIST = 1000


def _mailbox_ids(db: Database, workspace: str | None, slug: str | None) -> list[int]:
    """The mailboxes to read: one by slug, a workspace's, or every one with IMAP settings."""
    with db.session() as session:
        query = select(Mailbox.id).where(
            Mailbox.archived_at.is_(None), Mailbox.imap_host.is_not(None), Mailbox.imap_host != ""
        )
        if workspace or slug:
            query = query.where(
                Mailbox.workspace_id == find_workspace(session, require_workspace(workspace)).id
            )
        if slug:
            query = query.where(Mailbox.slug == slug)
        found = list(session.scalars(query.order_by(Mailbox.id)))
    if slug and not found:
        raise InvalidInput(f"--mailbox: no active mailbox {slug!r} with IMAP settings", field="mailbox")
    return found


def _poll_row(db: Database, result: PollResult) -> dict[str, Any]:
    with db.session() as session:
        mailbox = session.get(Mailbox, result.mailbox_id)
        slug = mailbox.slug if mailbox else str(result.mailbox_id)
    return {"mailbox": slug, "read": result.read, "new": result.new, "error": result.error or ""}


@inbound_app.command("poll")
def poll(
    mailbox: MailboxOpt = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """Read new replies and bounces from the mailboxes' IMAP folders now.

    Every mailbox with IMAP settings, a workspace's with -w, or one with --mailbox."""
    with reporting(), opened(database_url) as db:
        now = utcnow()
        results = [poll_mailbox(db, mailbox_id, now) for mailbox_id in _mailbox_ids(db, workspace, mailbox)]
        emit([_poll_row(db, result) for result in results], output)
        failed = [result for result in results if result.error]
        if failed:
            raise Failure(f"{len(failed)} of {len(results)} mailboxes could not be read")


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _list_row(message: InboundMessage, contact: Contact | None, mailbox: str | None) -> dict[str, Any]:
    name = f"{contact.first_name} {contact.last_name}".strip() if contact else ""
    return {
        "received_at": _when(message.received_at),
        "kind": message.kind + (f" ({message.bounce_kind})" if message.bounce_kind else ""),
        "mailbox": mailbox or "",
        "from": message.from_email or "",
        "contact": name or (contact.email if contact else "") or "",
        "subject": message.subject or "",
        "said": message.snippet or message.diagnostic or "",
    }


@inbound_app.command("list")
def list_inbound(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind: " + ", ".join(INBOUND_KINDS))
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help=f"How many, newest first (1–{MAX_LIST}).")] = 50,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """What came back, newest first: replies, auto-replies, bounces, complaints, unmatched mail."""
    with reporting(), opened(database_url) as db:
        if kind is not None and kind not in INBOUND_KINDS:
            raise InvalidInput(f"--kind: one of {', '.join(INBOUND_KINDS)}", field="kind")
        if not 1 <= limit <= MAX_LIST:
            raise InvalidInput(f"--limit: between 1 and {MAX_LIST}", field="limit")
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            query = (
                select(InboundMessage, Contact, Mailbox.slug)
                .outerjoin(Contact, Contact.id == InboundMessage.contact_id)
                .outerjoin(Mailbox, Mailbox.id == InboundMessage.mailbox_id)
                .where(InboundMessage.workspace_id == workspace_id)
            )
            if kind is not None:
                query = query.where(InboundMessage.kind == kind)
            query = query.order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit)
            rows = [_list_row(message, contact, slug) for message, contact, slug in session.execute(query)]
    emit(rows, output)


def _mailbox_id(db: Database, workspace_id: int, slug: str) -> int:
    with db.session() as session:
        found = session.scalar(
            select(Mailbox.id).where(Mailbox.workspace_id == workspace_id, Mailbox.slug == slug)
        )
    if found is None:
        raise InvalidInput(f"--mailbox: no mailbox {slug!r} in this workspace", field="mailbox")
    return found


def _read(file: Path) -> bytes:
    if not file.is_file():
        raise InvalidInput(f"FILE: {file} does not exist or is not a file", field="file")
    if file.stat().st_size > MAX_INBOUND_BYTES:
        raise InvalidInput(f"FILE: larger than {MAX_INBOUND_BYTES} bytes", field="file")
    content = file.read_bytes()
    if not content.strip():
        raise InvalidInput("FILE: empty", field="file")
    return content


@inbound_app.command("import")
def import_message(
    file: Annotated[Path, typer.Argument(help="One raw message (.eml) as received.")],
    mailbox: Annotated[str, typer.Option("--mailbox", help="The mailbox it arrived at (slug).")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Handle one message saved as a file, as if it had been read from the mailbox."""
    with reporting(), opened(database_url) as db:
        raw = _read(file)
        workspace_id = workspace_id_of(db, workspace)
        mailbox_id = _mailbox_id(db, workspace_id, mailbox)

        def work(session: Session) -> str:
            stored = handle_inbound(session, workspace_id, mailbox_id, raw, utcnow())
            if stored is None:
                return f"{file.name}: handled before; nothing done"
            bounce = f" ({stored.bounce_kind})" if stored.bounce_kind else ""
            who = f", contact {stored.contact_id}" if stored.contact_id else ""
            return f"{file.name}: {stored.kind}{bounce} from {stored.from_email or 'unknown sender'}{who}"

        typer.echo(with_retries(db, work))
