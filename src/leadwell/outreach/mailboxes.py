"""Sending mailboxes: their settings, checked, and how much each may send right now.

A mailbox is an address of the workspace with its SMTP server. Its limits:

- **daily cap** with a **warm-up ramp**: on the day warm-up starts it may send ``warmup_start``
  messages, each later day ``warmup_increment`` more, never more than ``daily_cap``. Days are UTC
  days: the count starts again at 00:00 UTC.
- **per recipient domain**: at most ``per_domain_per_minute`` messages to one domain (gmail.com,
  one company's server) in any 60 seconds, so no receiving server sees a burst from us.

Messages being handed over (claimed by a worker, not yet answered by the server) count as sent for
both limits: several workers never overshoot them together.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.capture.values import clean_host, clean_int, clean_slug, clean_text
from leadwell.db.models import SMTP_SECURITY, Mailbox, OutboxMessage
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.outreach import dkim
from leadwell.outreach.addresses import checked_address, domain_of

IN_FLIGHT = ("claimed", "releasing")
SECRETS = ("smtp_password", "imap_password", "dkim_private_key")
MAX_CAP = 1_000_000
# The random part of a Message-ID takes 25 characters of the 120 a tracking token carries.
MAX_SENDER_DOMAIN = 95


@dataclass
class MailboxInput:
    """A mailbox as an editor or the CLI gives it: text values, checked by :func:`checked_fields`.
    A blank password or DKIM key keeps the stored one (forms never show them back); blank DKIM
    domain and selector remove the key."""

    slug: str = ""
    from_name: str = ""
    from_email: str = ""
    reply_to: str = ""
    smtp_host: str = ""
    smtp_port: str = "587"
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    daily_cap: str = "500"
    warmup_started_on: str = ""
    warmup_start: str = "20"
    warmup_increment: str = "10"
    per_domain_per_minute: str = "20"
    dkim_domain: str = ""
    dkim_selector: str = ""
    dkim_private_key: str = ""
    imap_host: str = ""
    imap_port: str = "993"
    imap_security: str = "tls"
    imap_username: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"

    @classmethod
    def of(cls, mailbox: Mailbox) -> MailboxInput:
        """The stored mailbox as editor values (passwords and the private key left blank)."""
        values = {item.name: getattr(mailbox, item.name) for item in fields(cls) if item.name not in SECRETS}
        text = {name: "" if value is None else str(value) for name, value in values.items()}
        return cls(**text)


def _security(value: str, field: str) -> str:
    security = value.strip().lower()
    if security not in SMTP_SECURITY:
        raise InvalidInput(f"{field}: one of {', '.join(SMTP_SECURITY)}", field=field)
    return security


def _optional_address(value: str, field: str) -> str | None:
    return checked_address(value, field) if value.strip() else None


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field}: a date like 2026-03-01", field=field) from None


def _sending_fields(given: MailboxInput) -> dict[str, object]:
    from_email = checked_address(given.from_email, "from_email")
    if len(domain_of(from_email)) > MAX_SENDER_DOMAIN:
        raise InvalidInput(
            f"from_email: the domain may have at most {MAX_SENDER_DOMAIN} characters", field="from_email"
        )
    return {
        "from_name": clean_text(given.from_name, "from_name", 200).replace("\n", " "),
        "from_email": from_email,
        "reply_to": _optional_address(given.reply_to, "reply_to"),
        "smtp_host": clean_host(given.smtp_host, "smtp_host"),
        "smtp_port": clean_int(given.smtp_port, "smtp_port", 1, 65535),
        "smtp_security": _security(given.smtp_security, "smtp_security"),
        "smtp_username": clean_text(given.smtp_username, "smtp_username", 320) or None,
    }


def _limit_fields(given: MailboxInput) -> dict[str, object]:
    return {
        "daily_cap": clean_int(given.daily_cap, "daily_cap", 1, MAX_CAP),
        "warmup_started_on": _day(given.warmup_started_on, "warmup_started_on"),
        "warmup_start": clean_int(given.warmup_start, "warmup_start", 1, MAX_CAP),
        "warmup_increment": clean_int(given.warmup_increment, "warmup_increment", 0, MAX_CAP),
        "per_domain_per_minute": clean_int(given.per_domain_per_minute, "per_domain_per_minute", 1, 10_000),
    }


def _dkim_fields(given: MailboxInput) -> dict[str, object]:
    domain = given.dkim_domain.strip()
    selector = given.dkim_selector.strip().lower()
    key = given.dkim_private_key.strip()
    if not (domain or selector or key):
        return {"dkim_domain": None, "dkim_selector": None, "dkim_private_key": None}
    for name, value in (("dkim_domain", domain), ("dkim_selector", selector), ("dkim_private_key", key)):
        if not value:
            raise InvalidInput(
                f"{name}: DKIM needs the domain, the selector and the key together", field=name
            )
    if not all(part.isalnum() or part == "-" for part in selector.replace(".", "-")) or len(selector) > 63:
        raise InvalidInput(
            "dkim_selector: letters, digits, '-' and '.' only (like s1)", field="dkim_selector"
        )
    dkim.load_key(key)
    return {
        "dkim_domain": clean_host(domain, "dkim_domain"),
        "dkim_selector": selector,
        "dkim_private_key": key,
    }


def _imap_fields(given: MailboxInput) -> dict[str, object]:
    host = given.imap_host.strip()
    return {
        "imap_host": clean_host(host, "imap_host") if host else None,
        "imap_port": clean_int(given.imap_port, "imap_port", 1, 65535, default=993),
        "imap_security": _security(given.imap_security or "tls", "imap_security"),
        "imap_username": clean_text(given.imap_username, "imap_username", 320) or None,
        "imap_folder": clean_text(given.imap_folder, "imap_folder", 200) or "INBOX",
    }


def checked_fields(given: MailboxInput) -> dict[str, object]:
    """Every column value of a mailbox from ``given``, checked; :class:`InvalidInput` names the field."""
    values = {
        "slug": clean_slug(given.slug, given.from_email.partition("@")[0] or "mailbox"),
        **_sending_fields(given),
        **_limit_fields(given),
        **_dkim_fields(given),
        **_imap_fields(given),
    }
    for name in ("smtp_password", "imap_password"):
        secret = getattr(given, name)
        if len(secret) > 500:
            raise InvalidInput(f"{name}: at most 500 characters", field=name)
    return values


def _apply(mailbox: Mailbox, given: MailboxInput, values: dict[str, object]) -> None:
    for name, value in values.items():
        setattr(mailbox, name, value)
    # A blank password keeps the stored one; no username means no AUTH, so no password either.
    if given.smtp_password:
        mailbox.smtp_password = given.smtp_password
    if mailbox.smtp_username is None:
        mailbox.smtp_password = None
    if given.imap_password:
        mailbox.imap_password = given.imap_password
    if mailbox.imap_username is None:
        mailbox.imap_password = None


def _slug_taken(session: Session, workspace_id: int, slug: str, mailbox_id: int | None) -> None:
    query = select(Mailbox.id).where(Mailbox.workspace_id == workspace_id, Mailbox.slug == slug)
    found = session.scalar(query)
    if found is not None and found != mailbox_id:
        raise Conflict(f"slug: the workspace already has a mailbox {slug!r}", field="slug")


def create_mailbox(session: Session, workspace_id: int, given: MailboxInput) -> Mailbox:
    """A new mailbox from checked values."""
    values = checked_fields(given)
    _slug_taken(session, workspace_id, str(values["slug"]), None)
    mailbox = Mailbox(workspace_id=workspace_id)
    _apply(mailbox, given, values)
    session.add(mailbox)
    session.flush()
    return mailbox


def update_mailbox(session: Session, workspace_id: int, mailbox_id: int, given: MailboxInput) -> Mailbox:
    """Change a mailbox; a blank password keeps the stored one."""
    mailbox = mailbox_by_id(session, workspace_id, mailbox_id)
    keeps_key = not given.dkim_private_key.strip() and (
        given.dkim_domain.strip() or given.dkim_selector.strip()
    )
    if keeps_key and mailbox.dkim_private_key:
        given = replace(given, dkim_private_key=mailbox.dkim_private_key)
    values = checked_fields(given)
    _slug_taken(session, workspace_id, str(values["slug"]), mailbox.id)
    _apply(mailbox, given, values)
    session.flush()
    return mailbox


def archive_mailbox(
    session: Session, workspace_id: int, mailbox_id: int, now: datetime | None = None
) -> Mailbox:
    """Stop using a mailbox: nothing more is sent from it (its queued messages wait) and it is no
    longer offered for new sequences. Its history stays."""
    mailbox = mailbox_by_id(session, workspace_id, mailbox_id)
    mailbox.archived_at = mailbox.archived_at or now or utcnow()
    return mailbox


def restore_mailbox(session: Session, workspace_id: int, mailbox_id: int) -> Mailbox:
    """Use an archived mailbox again."""
    mailbox = mailbox_by_id(session, workspace_id, mailbox_id)
    mailbox.archived_at = None
    return mailbox


def mailbox_by_id(session: Session, workspace_id: int, mailbox_id: int) -> Mailbox:
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None or mailbox.workspace_id != workspace_id:
        raise NotFound("mailbox: no such mailbox in this workspace", field="mailbox")
    return mailbox


def mailbox_by_slug(session: Session, workspace_id: int, slug: str) -> Mailbox:
    mailbox = session.scalar(
        select(Mailbox).where(Mailbox.workspace_id == workspace_id, Mailbox.slug == slug)
    )
    if mailbox is None:
        raise NotFound(f"mailbox: no mailbox {slug!r} in this workspace", field="mailbox")
    return mailbox


def list_mailboxes(session: Session, workspace_id: int, archived: bool = False) -> list[Mailbox]:
    """The workspace's mailboxes by slug; archived ones only when asked."""
    query = select(Mailbox).where(Mailbox.workspace_id == workspace_id).order_by(Mailbox.slug)
    if not archived:
        query = query.where(Mailbox.archived_at.is_(None))
    return list(session.scalars(query))


def default_mailbox(session: Session, workspace_id: int) -> Mailbox | None:
    """The mailbox used when none is named: the oldest one in use."""
    query = select(Mailbox).where(Mailbox.workspace_id == workspace_id, Mailbox.archived_at.is_(None))
    return session.scalar(query.order_by(Mailbox.id).limit(1))


def daily_limit(mailbox: Mailbox, today: date) -> int:
    """Messages the mailbox may send on ``today`` (UTC): the cap, or less while warming up."""
    started = mailbox.warmup_started_on
    if started is None:
        return mailbox.daily_cap
    days = max((today - started).days, 0)
    return min(mailbox.daily_cap, mailbox.warmup_start + mailbox.warmup_increment * days)


def day_start(now: datetime) -> datetime:
    """00:00 UTC of ``now``'s day."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    """What a mailbox has used of its limits: sent today, in flight, and per domain this minute."""

    sent_today: int
    in_flight: int
    domain_minute: Counter[str]

    def allowance(self, limit: int) -> int:
        return max(limit - self.sent_today - self.in_flight, 0)


def usage(session: Session, mailbox_id: int, now: datetime) -> Usage:
    """Count the mailbox's sent and in-flight messages (indexed reads: ``mailbox_id, sent_at``)."""
    Row = OutboxMessage
    sent_today = session.scalar(
        select(func.count()).where(Row.mailbox_id == mailbox_id, Row.sent_at >= day_start(now))
    )
    flying = session.scalars(
        select(Row.recipient_domain).where(
            Row.mailbox_id == mailbox_id, Row.sent_at.is_(None), Row.state.in_(IN_FLIGHT)
        )
    ).all()
    recent = session.execute(
        select(Row.recipient_domain, func.count())
        .where(Row.mailbox_id == mailbox_id, Row.sent_at > now - timedelta(seconds=60))
        .group_by(Row.recipient_domain)
    ).all()
    per_domain: Counter[str] = Counter(flying)
    for domain, count in recent:
        per_domain[domain] += count
    return Usage(sent_today or 0, len(flying), per_domain)


def allowance_now(session: Session, mailbox: Mailbox, now: datetime | None = None) -> int:
    """How many more messages the mailbox may send today (UTC)."""
    moment = now or utcnow()
    return usage(session, mailbox.id, moment).allowance(daily_limit(mailbox, moment.date()))
