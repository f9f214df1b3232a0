"""Reports that come back instead of a reply: bounces and complaints.

- **Delivery status notifications** (RFC 3464): a ``multipart/report; report-type=delivery-status``
  whose ``message/delivery-status`` part lists, per recipient, the Action (failed, delayed…), the
  Status (``5.1.1``: permanent, so a *hard* bounce; ``4.4.7``: temporary, a *soft* one) and the
  Diagnostic-Code, followed by the returned message or its headers, which name the original
  Message-ID. Gmail, Outlook/Exchange, Postfix and most servers send these.
- **Plain-text bounces** (older Exim and qmail, some appliances): recognised by their sender
  (MAILER-DAEMON, postmaster) or subject, read as best we can — SMTP codes and words like
  "permanent error" in the text, the recipient in the usual places, the original Message-ID in the
  quoted headers.
- **Complaints** (RFC 5965 feedback reports, ``report-type=feedback-report``): a recipient marked
  the message as spam at their provider.

Everything here reads a parsed message and never raises on odd input: what cannot be read is
simply absent from the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from leadwell.outreach.mail_text import clean, header_text, message_ids, part_text, plain_address

# Enhanced status codes (RFC 3463): class.subject.detail, e.g. 5.1.1 or Exchange's 5.1.10.
ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# A basic SMTP reply code at the start of a diagnostic or a line ("550 ", "452-").
SMTP_CODE = re.compile(r"(?:^|[\s;:])([45])\d\d[\s-]", re.MULTILINE)
# 5.2.2 is "mailbox full": permanent by the letter of RFC 3463, but it clears when the person
# tidies up, so it is treated as soft (the address is not suppressed).
SOFT_DESPITE_PERMANENT = frozenset({"5.2.2"})
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?fail|"
    r"mail delivery failed|failure notice|returned mail|returned to sender|"
    r"could not be delivered|delivery failure|non-delivery|nondeliverable",
    re.IGNORECASE,
)
PERMANENT_WORDS = re.compile(
    r"permanent(?:ly)? (?:error|failure|fatal)|this is a permanent error|user unknown|"
    r"no such user|does not exist|address (?:couldn't|could not|cannot|can't) be found|"
    r"mailbox unavailable|unknown recipient|recipient address rejected|"
    r"couldn't find any host|host or domain name not found",
    re.IGNORECASE,
)
TEMPORARY_WORDS = re.compile(
    r"temporar(?:y|ily)|delayed|will (?:keep|continue) trying|will retry|still trying|"
    r"has not yet been delivered|mailbox (?:is )?full|over quota|quota exceeded",
    re.IGNORECASE,
)
# Where a plain-text bounce names the failed recipient: Postfix/qmail "<ada@x>:", Exim's
# indented address on its own line, Gmail's "wasn't delivered to ada@x".
RECIPIENT_PATTERNS = (
    re.compile(r"^\s*<([^<>\s@]{1,64}@[^<>\s]{1,255})>:", re.MULTILINE),
    re.compile(r"^ {2,}([^<>\s@]{1,64}@[^<>\s]{1,255})\s*$", re.MULTILINE),
    re.compile(r"delivered to <?([^<>\s@]{1,64}@[^<>\s]{1,255}?)>?[\s.,]", re.IGNORECASE),
)
QUOTED_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*(<[^<>\r\n]{1,250}>)", re.IGNORECASE | re.MULTILINE)
# Where a plain bounce's returned copy starts (Exim, qmail, others).
COPY_MARKERS = ("------ This is a copy", "--- Below this line", "----- Original message", "Original message")
MAX_DIAGNOSTIC = 1000
MAX_SCAN = 200_000  # characters of a plain-text bounce searched: the verdict is in the first lines


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient's fate as a report tells it."""

    address: str | None  # the original recipient when given, else the final one
    action: str  # failed | delayed | delivered | relayed | expanded ("" when absent)
    status: str | None  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str | None

    @property
    def severity(self) -> str | None:
        """ "hard", "soft", or None when the recipient did not fail at all."""
        if self.action in ("delivered", "relayed", "expanded"):
            return None
        if self.action == "delayed":
            return "soft"
        return severity_of(self.status, self.diagnostic, self.action == "failed")


@dataclass(frozen=True)
class Report:
    """What a bounce or a complaint says. ``kind`` is ``bounce``, ``complaint`` or ``delivered`` (a
    report that every recipient was reached: nothing to do)."""

    kind: str
    bounce_kind: str | None  # hard | soft, for bounces
    recipients: tuple[RecipientStatus, ...]
    original_message_ids: tuple[str, ...]  # the returned message's Message-ID (no brackets)
    diagnostic: str | None
    feedback_type: str | None = None  # complaints: abuse, fraud, virus, other…

    @property
    def recipient(self) -> str | None:
        """The first recipient address the report names."""
        return next((item.address for item in self.recipients if item.address), None)


def severity_of(status: str | None, diagnostic: str | None, failed: bool) -> str | None:
    """Hard or soft from a status code, else from the diagnostic's codes and words; a ``failed``
    recipient with nothing to go on is soft (suppressing an address on a guess would lose it)."""
    code = status or _status_in(diagnostic or "")
    if code:
        if code in SOFT_DESPITE_PERMANENT:
            return "soft"
        return "hard" if code.startswith("5") else "soft" if code.startswith("4") else None
    words = diagnostic or ""
    basic = SMTP_CODE.search(words)
    if basic:
        return "hard" if basic.group(1) == "5" else "soft"
    if PERMANENT_WORDS.search(words):
        return "hard"
    return "soft" if failed or TEMPORARY_WORDS.search(words) else None


def _status_in(text: str) -> str | None:
    found = ENHANCED_STATUS.search(text)
    return ".".join(found.groups()) if found else None


def read_report(message: Message) -> Report | None:
    """The bounce or complaint ``message`` is, or None when it is neither."""
    feedback = _find_part(message, "message/feedback-report")
    if feedback is not None or _report_type(message) == "feedback-report":
        return _complaint(message, feedback)
    status = _find_part(message, "message/delivery-status") or _find_part(
        message, "message/global-delivery-status"
    )
    if status is not None or _report_type(message) == "delivery-status":
        return _delivery_report(message, status)
    if looks_like_bounce(message):
        return _plain_bounce(message)
    return None


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    return str(message.get_param("report-type", "") or "").lower()


def _parts(message: Message, depth: int = 0) -> Iterator[Message]:
    """Every part below ``message``, not descending into returned messages (their own reports
    are not this one's)."""
    if depth > 10 or not message.is_multipart():
        return
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if not isinstance(part, Message):
            continue
        yield part
        if part.get_content_maintype() != "message":
            yield from _parts(part, depth + 1)


def _find_part(message: Message, content_type: str) -> Message | None:
    return next((part for part in _parts(message) if part.get_content_type() == content_type), None)


def _fields_blocks(part: Message) -> list[dict[str, str]]:
    """The header-style blocks of a status or feedback part, field names lower-cased."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _text_blocks(part_text(part))
    # The email package parsed the blocks already: all of them for message/delivery-status; for
    # other types (message/global-delivery-status) the first, with the rest left as its body.
    blocks = []
    for block in payload:
        if isinstance(block, Message):
            blocks.append(_fields(block))
            rest = block.get_payload()
            if isinstance(rest, str) and rest.strip():
                blocks.extend(_text_blocks(rest))
    return blocks


def _text_blocks(text: str) -> list[dict[str, str]]:
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    return [_fields(HeaderParser().parsestr(block)) for block in blocks if block.strip()]


def _fields(block: Message) -> dict[str, str]:
    return {str(name).lower(): header_text(value) for name, value in block.items()}


def _typed_address(value: str | None) -> str | None:
    """``rfc822; ada@example.com`` → ``ada@example.com``."""
    if not value:
        return None
    _kind, _sep, address = value.rpartition(";")
    return plain_address(address.strip() or value)


def _recipient(fields: dict[str, str]) -> RecipientStatus:
    address = _typed_address(fields.get("original-recipient")) or _typed_address(
        fields.get("final-recipient")
    )
    diagnostic = clean(fields.get("diagnostic-code", ""))
    _kind, _sep, said = diagnostic.partition(";")
    status = _status_in(fields.get("status", ""))
    return RecipientStatus(
        address, fields.get("action", "").strip().lower(), status, (said or diagnostic).strip() or None
    )


def _original_ids(message: Message) -> tuple[str, ...]:
    """The Message-ID of the message a report returns (from its message/rfc822 or
    text/rfc822-headers part), else from headers quoted in the report's text."""
    for part in _parts(message):
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found = message_ids(inner.get("Message-ID"))
                if found:
                    return found
        if kind in ("text/rfc822-headers", "message/global-headers"):
            found = message_ids(HeaderParser().parsestr(part_text(part)).get("Message-ID"))
            if found:
                return found
    return _quoted_ids(_all_text(message))


def _quoted_ids(text: str) -> tuple[str, ...]:
    found = QUOTED_MESSAGE_ID.search(text[:MAX_SCAN])
    return message_ids(found.group(1)) if found else ()


def _all_text(message: Message) -> str:
    """The text parts of a report (not the returned message), one after the other."""
    parts = [message] if not message.is_multipart() else list(_parts(message))
    texts = [part_text(part) for part in parts if part.get_content_maintype() == "text"]
    return "\n".join(texts)[:MAX_SCAN]


def _verdict(recipients: tuple[RecipientStatus, ...]) -> str | None:
    """Hard when any recipient failed for good, else soft when any failed or is delayed."""
    severities = {item.severity for item in recipients}
    return "hard" if "hard" in severities else "soft" if "soft" in severities else None


def _delivery_report(message: Message, status_part: Message | None) -> Report:
    blocks = _fields_blocks(status_part) if status_part is not None else []
    recipients = tuple(
        _recipient(block) for block in blocks if "final-recipient" in block or "action" in block
    )
    if not recipients:  # a report without per-recipient fields: read it like a plain bounce
        return _plain_bounce(message)
    verdict = _verdict(recipients)
    failing = next((item for item in recipients if item.severity == verdict), recipients[0])
    return Report(
        "bounce" if verdict else "delivered",
        verdict,
        recipients,
        _original_ids(message),
        _diagnostic(failing),
    )


def _diagnostic(recipient: RecipientStatus) -> str | None:
    told = recipient.diagnostic or ""
    status = recipient.status if recipient.status and recipient.status not in told else None
    said = " ".join(part for part in (status, told) if part)
    return said[:MAX_DIAGNOSTIC] or None


def looks_like_bounce(message: Message) -> bool:
    """Sent by a mailer daemon or postmaster, or titled like a bounce and sent with no return
    path (``<>``) or marked automatic: a reply that happens to say "undeliverable" is not one."""
    sender = plain_address(header_text(message.get("From"))) or ""
    local = sender.partition("@")[0]
    name = header_text(message.get("From")).lower()
    if local in BOUNCE_SENDERS or "mail delivery" in name:
        return True
    if not BOUNCE_SUBJECT.search(header_text(message.get("Subject"))):
        return False
    null_path = header_text(message.get("Return-Path")).strip() in ("<>", "")
    automatic = header_text(message.get("Auto-Submitted")).strip().lower() not in ("", "no")
    return (null_path and message.get("Return-Path") is not None) or automatic


def _plain_bounce(message: Message) -> Report:
    text = _all_text(message)
    verdict = _verdict_text(text)
    status = _status_in(verdict)
    kind = severity_of(status, verdict, failed=True) or "soft"
    address = None
    for pattern in RECIPIENT_PATTERNS:
        found = pattern.search(text)
        if found:
            address = plain_address(found.group(1))
            if address:
                break
    diagnostic = _plain_diagnostic(text)
    recipient = RecipientStatus(address, "failed" if kind == "hard" else "delayed", status, diagnostic)
    return Report("bounce", kind, (recipient,), _original_ids(message), diagnostic)


def _verdict_text(text: str) -> str:
    """The part of a plain bounce that explains itself: before the returned copy starts."""
    for marker in COPY_MARKERS:
        head, found, _rest = text.partition(marker)
        if found:
            return head
    return text


def _plain_diagnostic(text: str) -> str | None:
    """The line that says why: the first with an SMTP code, else the first with a telling word."""
    lines = [line.strip() for line in _verdict_text(text).splitlines() if line.strip()]
    for pattern in (ENHANCED_STATUS, SMTP_CODE, PERMANENT_WORDS, TEMPORARY_WORDS):
        line = next((line for line in lines if pattern.search(f" {line} ")), None)
        if line:
            return line[:MAX_DIAGNOSTIC]
    return None


def _complaint(message: Message, feedback: Message | None) -> Report:
    fields: dict[str, str] = {}
    for block in _fields_blocks(feedback) if feedback is not None else []:
        fields.update(block)
    address = (
        _typed_address(fields.get("original-rcpt-to"))
        or _typed_address(fields.get("removal-recipient"))
        or _returned_recipient(message)
    )
    feedback_type = (fields.get("feedback-type") or "abuse").strip().lower()[:40]
    recipient = RecipientStatus(address, "", None, None)
    return Report(
        "complaint",
        None,
        (recipient,),
        _original_ids(message),
        f"complaint ({feedback_type})",
        feedback_type,
    )


def _returned_recipient(message: Message) -> str | None:
    """The To address of the message a complaint returns (providers often redact it)."""
    returned = _find_part(message, "message/rfc822")
    payload = returned.get_payload() if returned is not None else None
    inner = payload[0] if isinstance(payload, list) and payload else None
    return plain_address(header_text(inner.get("To"))) if isinstance(inner, Message) else None
