"""Reading one raw inbound message: what kind it is and what it says.

Kinds, checked in this order:

1. ``complaint`` — an RFC 5965 feedback report (see :mod:`leadwell.outreach.dsn`);
2. ``bounce`` — a delivery status notification or a plain-text bounce (a report that every
   recipient was reached counts as an automatic message: ``auto_reply``);
3. ``auto_reply`` — marked automatic (RFC 3834 ``Auto-Submitted`` other than ``no``,
   ``X-Autoreply``/``X-Autorespond``, ``Precedence: auto_reply|bulk|junk``) or titled like an
   out-of-office ("Automatic reply:", "Out of Office", "Abwesenheitsnotiz"…);
4. ``reply`` — anything else a person sent;

and ``unparseable`` for bytes that are not a message at all (no From, Message-ID or Subject).
Reading never raises: arbitrary bytes come back as ``unparseable`` at worst.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

from leadwell.outreach.dsn import Report, read_report
from leadwell.outreach.mail_text import (
    addresses,
    header_text,
    html_to_text,
    message_ids,
    part_text,
    plain_address,
)

KINDS = ("reply", "auto_reply", "bounce", "complaint", "unparseable")
MAX_DEPTH = 12
AUTOMATIC_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
OUT_OF_OFFICE = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response|antwort)|autoreply|"
    r"out of (?:the )?office|away from (?:the )?office|on vacation|abwesenheit|"
    r"réponse automatique|absence du bureau|respuesta automática|fuera de la oficina|"
    r"risposta automatica|fuori ufficio|automatisch antwoord|afwezig|resposta automática|"
    r"frånvaro|automatisk svar)"
    r"|\bout of (?:the )?office\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InboundMail:
    """What one raw message is and says."""

    kind: str  # one of KINDS
    message_id: str | None  # its own Message-ID, without angle brackets
    sender: str | None  # the From address, lower-cased
    recipients: tuple[str, ...]  # To and Cc addresses
    subject: str
    written_at: datetime | None  # its Date header, in UTC
    references: tuple[str, ...]  # In-Reply-To first, then References newest first
    text: str  # the body as text (quoted history included)
    report: Report | None  # for bounces and complaints

    @property
    def matched_ids(self) -> tuple[str, ...]:
        """The Message-IDs of our mail this message answers or returns, most telling first."""
        returned = self.report.original_message_ids if self.report else ()
        return tuple(dict.fromkeys((*returned, *self.references)))


UNPARSEABLE = InboundMail("unparseable", None, None, (), "", None, (), "", None)


def fingerprint(raw: bytes) -> str:
    """A stable stand-in for a missing Message-ID: the same bytes give the same value."""
    return f"sha256-{hashlib.sha256(raw).hexdigest()[:48]}@leadwell.invalid"


def read_mail(raw: bytes) -> InboundMail:
    """Classify and read ``raw`` (RFC 5322 bytes); never raises."""
    try:
        message = BytesParser(policy=compat32).parsebytes(raw)
        return _read(message)
    except Exception:  # hostile input may trip any corner of the email package: it is unparseable
        return UNPARSEABLE


def _read(message: Message) -> InboundMail:
    if not any(message.get(name) is not None for name in ("From", "Message-ID", "Subject")):
        return UNPARSEABLE
    report = read_report(message)
    if report is not None:
        kind = "auto_reply" if report.kind == "delivered" else report.kind
    else:
        kind = "auto_reply" if is_automatic(message) else "reply"
    own_ids = message_ids(message.get("Message-ID"))
    return InboundMail(
        kind=kind,
        message_id=own_ids[0] if own_ids else None,
        sender=plain_address(header_text(message.get("From"))),
        recipients=tuple(
            dict.fromkeys(
                address
                for name in ("To", "Cc", "Delivered-To")
                for value in message.get_all(name) or []
                for address in addresses(header_text(value))
            )
        ),
        subject=header_text(message.get("Subject")),
        written_at=_date(message.get("Date")),
        references=_references(message),
        text=body_text(message),
        report=report,
    )


def is_automatic(message: Message) -> bool:
    """An auto-reply (RFC 3834 and the common non-standard marks) or an out-of-office by its title."""
    submitted = header_text(message.get("Auto-Submitted")).lower()
    if submitted and submitted != "no":
        return True
    if any(message.get(name) is not None for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    precedence = header_text(message.get("Precedence") or message.get("X-Precedence")).lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return True
    return bool(OUT_OF_OFFICE.search(header_text(message.get("Subject"))))


def _references(message: Message) -> tuple[str, ...]:
    replied = message_ids(message.get("In-Reply-To"))
    earlier = tuple(reversed(message_ids(message.get("References"))))
    return tuple(dict.fromkeys((*replied, *earlier)))


def _date(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        moment = parsedate_to_datetime(header_text(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def body_text(message: Message) -> str:
    """The message's own text: its first plain-text part, else its first HTML part as text.
    Attachments and returned messages (message/rfc822) are not read."""
    plain, html = _first_texts(message, 0)
    if plain is not None:
        return plain
    return html_to_text(html) if html is not None else ""


def _first_texts(part: Message, depth: int) -> tuple[str | None, str | None]:
    if depth > MAX_DEPTH:
        return None, None
    if part.is_multipart():
        plain: str | None = None
        html: str | None = None
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if not isinstance(child, Message) or child.get_content_maintype() == "message":
                continue
            found_plain, found_html = _first_texts(child, depth + 1)
            plain = plain if plain is not None else found_plain
            html = html if html is not None else found_html
            if plain is not None:
                break
        return plain, html
    if "attachment" in header_text(part.get("Content-Disposition")).lower():
        return None, None
    kind = part.get_content_type()
    if kind == "text/plain":
        return part_text(part), None
    if kind == "text/html":
        return None, part_text(part)
    return None, None
