"""Emailing channel alerts to a workspace's owners, once, through its outreach mailbox.

The alerts go out over the same SMTP connection code the outbox uses
(:class:`leadwell.outreach.smtp.SmtpSession`), from the workspace's first active mailbox, signed with
its DKIM key when it has one: one message per owner listing the week's new alerts. They are marked
``emailed_at`` once every owner's message was handed over, so a failure (server down) leaves them
to the next pass and a success never repeats. No mailbox, or no owner: nothing is sent and the
alerts stay on the dashboard.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import ChannelCheck, Mailbox, Membership, User, Workspace
from leadwell.outreach import dkim
from leadwell.outreach.compose import MAIL_POLICY, Envelope, one_line
from leadwell.outreach.smtp import ServerSettings, SmtpFailure, SmtpSession, Unanswered

log = logging.getLogger(__name__)


def pending_alerts(session: Session, workspace_id: int, week: date) -> list[ChannelCheck]:
    """The week's alerts not yet emailed nor dismissed, oldest first."""
    return list(
        session.scalars(
            select(ChannelCheck)
            .where(
                ChannelCheck.workspace_id == workspace_id,
                ChannelCheck.week_start == week,
                ChannelCheck.alert.is_(True),
                ChannelCheck.emailed_at.is_(None),
                ChannelCheck.dismissed_at.is_(None),
            )
            .order_by(ChannelCheck.id)
        )
    )


def alert_mailbox(session: Session, workspace_id: int) -> Mailbox | None:
    """The mailbox alerts are sent from: the workspace's first one not archived."""
    return session.scalars(
        select(Mailbox)
        .where(Mailbox.workspace_id == workspace_id, Mailbox.archived_at.is_(None))
        .order_by(Mailbox.id)
        .limit(1)
    ).first()


def owners(session: Session, workspace_id: int) -> list[tuple[str, str]]:
    """(name, address) of the workspace's owners, by address."""
    rows = session.execute(
        select(User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
        .order_by(User.email)
    )
    return [(name or "", email) for name, email in rows]


def _address(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def alert_envelope(
    mailbox: Mailbox, owner: tuple[str, str], workspace: Workspace, alerts: list[ChannelCheck], now: datetime
) -> Envelope:
    """The message telling ``owner`` about ``alerts`` (plain text), DKIM-signed when the mailbox has a key."""
    week = alerts[0].week_start
    count = "1 channel alert" if len(alerts) == 1 else f"{len(alerts)} channel alerts"
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = _address(mailbox.from_name, mailbox.from_email)
    message["To"] = _address(*owner)
    message["Subject"] = one_line(f"{workspace.name}: {count} for the week of {week:%-d %b %Y}")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("channel-alert", mailbox.from_email.rpartition("@")[2])
    lines = [f"The weekly channel check of {workspace.name} found:", ""]
    lines += [f"- {alert.message}" for alert in alerts]
    lines += ["", "Open the dashboard to see them and dismiss those you have dealt with.", ""]
    message.set_content("\n".join(lines), charset="utf-8")
    data = message.as_bytes(policy=MAIL_POLICY)
    if mailbox.dkim_private_key and mailbox.dkim_domain and mailbox.dkim_selector:
        data = dkim.sign(
            data, dkim.load_key(mailbox.dkim_private_key), mailbox.dkim_domain, mailbox.dkim_selector
        )
    return Envelope(mailbox.from_email, owner[1], data)


def email_alerts(session: Session, workspace_id: int, week: date, now: datetime) -> int | None:
    """Email the week's new alerts to the owners; how many messages went out (0: nothing to send
    or nowhere to send it), or None when the server failed (the alerts stay unsent, for later)."""
    alerts = pending_alerts(session, workspace_id, week)
    mailbox = alert_mailbox(session, workspace_id) if alerts else None
    recipients = owners(session, workspace_id) if mailbox is not None else []
    workspace = session.get(Workspace, workspace_id)
    if mailbox is None or not recipients or workspace is None:
        return 0
    smtp = SmtpSession(ServerSettings.of(mailbox))
    try:
        for owner in recipients:
            envelope = alert_envelope(mailbox, owner, workspace, alerts, now)
            # Unanswered: the end of the data went out, so the server most likely has it; never twice.
            with suppress(Unanswered):
                smtp.transmit(envelope, lambda: True)
    except SmtpFailure as error:
        log.warning("channel alerts of workspace %s not sent: %s", workspace_id, error.detail)
        return None
    finally:
        smtp.close()
    for alert in alerts:
        alert.emailed_at = now
    session.flush()
    return len(recipients)
