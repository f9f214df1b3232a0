"""``leadwell outreach mailboxes list|add|show``, ``leadwell outreach outbox`` and
``leadwell outreach send-test``. Exit codes: 0 done, 1 failed (the test message did not go), 2 bad
input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from leadwell.cli_common import (
    ArchivedOpt,
    DatabaseUrl,
    Failure,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    opened,
    reporting,
    settings_for,
    workspace_id_of,
)
from leadwell.db.models import MESSAGE_STATES, Mailbox, OutboxMessage
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.outreach import dkim
from leadwell.outreach import mailboxes as service
from leadwell.outreach.outbox import cancel_message, default_links, queue_test_message, send_one, stop_worker

mailboxes_app = typer.Typer(help="Sending mailboxes: list, add, show.", no_args_is_help=True)
MAX_LIST = 1000


def _summary(mailbox: Mailbox, used: int) -> dict[str, Any]:
    today = utcnow().date()
    return {
        "slug": mailbox.slug,
        "from": f"{mailbox.from_name} <{mailbox.from_email}>".strip(),
        "smtp": f"{mailbox.smtp_host}:{mailbox.smtp_port} {mailbox.smtp_security}",
        "today": f"{used}/{service.daily_limit(mailbox, today)}",
        "dkim": f"{mailbox.dkim_selector}._domainkey.{mailbox.dkim_domain}"
        if mailbox.dkim_private_key
        else "",
        "imap": mailbox.imap_host or "",
        "archived": bool(mailbox.archived_at),
    }


@mailboxes_app.command("list")
def mailboxes_list(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    archived: ArchivedOpt = False,
    output: FormatOpt = Format.table,
) -> None:
    """The workspace's mailboxes with today's use against today's limit (UTC day)."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        now = utcnow()
        with db.session() as session:
            found = service.list_mailboxes(session, workspace_id, archived=archived)
            rows = []
            for mailbox in found:
                used = service.usage(session, mailbox.id, now)
                rows.append(_summary(mailbox, used.sent_today + used.in_flight))
        emit(rows, output)


def _key_text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"--dkim-key: cannot read {path}: {error}", field="dkim_key") from None


@mailboxes_app.command("add")
def mailboxes_add(
    from_email: Annotated[str, typer.Argument(help="The address to send from.")],
    smtp_host: Annotated[str, typer.Option("--smtp-host", help="SMTP server host name.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    slug: Annotated[str, typer.Option(help="Short name; from the address when empty.")] = "",
    from_name: Annotated[str, typer.Option("--from-name", help="The name shown with the address.")] = "",
    reply_to: Annotated[str, typer.Option("--reply-to", help="Where replies go, if not the address.")] = "",
    smtp_port: Annotated[int, typer.Option("--smtp-port", help="SMTP port.")] = 587,
    security: Annotated[str, typer.Option(help="starttls, tls or none.")] = "starttls",
    username: Annotated[str, typer.Option(help="SMTP login; empty: no AUTH.")] = "",
    password: Annotated[
        str, typer.Option(envvar="LEADWELL_MAILBOX_PASSWORD", help="SMTP password.", show_envvar=True)
    ] = "",
    daily_cap: Annotated[int, typer.Option("--daily-cap", help="Messages per UTC day at most.")] = 500,
    warmup_from: Annotated[str, typer.Option("--warmup-from", help="Warm-up start date (YYYY-MM-DD).")] = "",
    warmup_start: Annotated[int, typer.Option("--warmup-start", help="Messages on the first day.")] = 20,
    warmup_increment: Annotated[int, typer.Option("--warmup-increment", help="More each day.")] = 10,
    per_domain: Annotated[
        int, typer.Option("--per-domain", help="Messages per recipient domain per minute.")
    ] = 20,
    dkim_domain: Annotated[str, typer.Option("--dkim-domain", help="DKIM signing domain (d=).")] = "",
    dkim_selector: Annotated[str, typer.Option("--dkim-selector", help="DKIM selector (s=).")] = "",
    dkim_key: Annotated[Path | None, typer.Option("--dkim-key", help="PEM private key file.")] = None,
    new_dkim_key: Annotated[
        bool, typer.Option("--new-dkim-key", help="Make a new RSA key (needs --dkim-domain/--dkim-selector).")
    ] = False,
) -> None:
    """Add a sending mailbox; prints its slug, and the DNS record to publish when it signs."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        key = dkim.generate_key() if new_dkim_key else _key_text(dkim_key)
        given = service.MailboxInput(
            slug=slug,
            from_name=from_name,
            from_email=from_email,
            reply_to=reply_to,
            smtp_host=smtp_host,
            smtp_port=str(smtp_port),
            smtp_security=security,
            smtp_username=username,
            smtp_password=password,
            daily_cap=str(daily_cap),
            warmup_started_on=warmup_from,
            warmup_start=str(warmup_start),
            warmup_increment=str(warmup_increment),
            per_domain_per_minute=str(per_domain),
            dkim_domain=dkim_domain,
            dkim_selector=dkim_selector,
            dkim_private_key=key,
        )
        with db.session() as session:
            mailbox = service.create_mailbox(session, workspace_id, given)
        typer.echo(f"mailbox {mailbox.slug} ({mailbox.from_email})")
        if mailbox.dkim_private_key and mailbox.dkim_selector and mailbox.dkim_domain:
            record = dkim.load_key(mailbox.dkim_private_key).dns_record()
            typer.echo(
                f"publish TXT {dkim.record_name(mailbox.dkim_selector, mailbox.dkim_domain)}  {record}"
            )


@mailboxes_app.command("show")
def mailboxes_show(
    slug: str,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """One mailbox: its settings (never its passwords or key), limits and DKIM DNS record."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        now = utcnow()
        with db.session() as session:
            mailbox = service.mailbox_by_slug(session, workspace_id, slug)
            used = service.usage(session, mailbox.id, now)
        row = _summary(mailbox, used.sent_today + used.in_flight)
        row.update(
            reply_to=mailbox.reply_to or "",
            daily_cap=mailbox.daily_cap,
            warmup=f"from {mailbox.warmup_started_on}: {mailbox.warmup_start} +{mailbox.warmup_increment}/day"
            if mailbox.warmup_started_on
            else "",
            per_domain_per_minute=mailbox.per_domain_per_minute,
            dkim_record=dkim.load_key(mailbox.dkim_private_key).dns_record()
            if mailbox.dkim_private_key
            else "",
        )
        if output is Format.table:
            for name, value in row.items():
                typer.echo(f"{name:>22}  {value}")
            return
        emit([row], output)


def outbox(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    state: Annotated[
        str | None, typer.Option(help="Only this state (queued, claimed, releasing, sent, failed…).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIST, help="Newest first, at most this many.")] = 50,
    output: FormatOpt = Format.table,
) -> None:
    """The outbox of --workspace: messages with their state, attempts, due time and last error."""
    with reporting(), opened(database_url) as db:
        if state is not None and state not in MESSAGE_STATES:
            raise InvalidInput(f"--state: one of {', '.join(MESSAGE_STATES)}", field="state")
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            query = (
                select(OutboxMessage, Mailbox.slug)
                .join(Mailbox, Mailbox.id == OutboxMessage.mailbox_id)
                .where(OutboxMessage.workspace_id == workspace_id)
                .order_by(OutboxMessage.id.desc())
                .limit(limit)
            )
            if state is not None:
                query = query.where(OutboxMessage.state == state)
            rows = [
                {
                    "to": message.to_email,
                    "subject": message.subject,
                    "mailbox": slug,
                    "state": message.state,
                    "attempts": message.attempts,
                    "due": message.due_at.isoformat(timespec="seconds"),
                    "sent": message.sent_at.isoformat(timespec="seconds") if message.sent_at else "",
                    "error": message.last_error or "",
                }
                for message, slug in session.execute(query)
            ]
        emit(rows, output)


def send_test(
    mailbox: Annotated[str, typer.Option("--mailbox", help="The mailbox's slug.")],
    to: Annotated[str, typer.Option("--to", help="Where the test message goes.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Send a test message from --mailbox to --to now (whatever the mailbox's limits) and print the
    SMTP server's answer; exit 1 when it was not accepted."""
    from leadwell.worker import worker_name

    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            found = service.mailbox_by_slug(session, workspace_id, mailbox)
            message = queue_test_message(session, workspace_id, found.id, to, "leadwell outreach send-test")
        name = worker_name()
        try:
            final = send_one(db, name, message.id, links=default_links(db, settings_for(database_url)))
        finally:
            stop_worker(db, name)
        if final.state == "queued":  # a test that failed is not tried again behind the user's back
            with db.session() as session:
                cancel_message(session, workspace_id, final.id)
        if final.state != "sent":
            raise Failure(f"not sent: {final.last_error or 'no answer'}")
        typer.echo(f"sent to {final.to_email}: {final.smtp_response}")
