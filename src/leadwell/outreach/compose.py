"""Building the RFC 5322 message for an outbox row, with the standard library's ``email`` package.

- ``From`` (the mailbox's name and address), ``To`` (the contact's name and address), ``Reply-To``
  when the mailbox has one, ``Subject`` (non-ASCII as encoded words), ``Date`` (when it is handed
  over), ``Message-ID`` (``<OutboxMessage.message_id>``).
- ``List-Unsubscribe: <https://…/u/TOKEN>`` with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
  (RFC 8058): mail clients show an unsubscribe button that POSTs to the signed address. No
  ``mailto:`` form is offered: a request by mail would land in an inbox where nothing acts on it,
  while the web address suppresses the address at once.
- ``multipart/alternative`` with the plain text first and the HTML second (a message without HTML
  is plain ``text/plain``); bodies are 7-bit clean (quoted-printable or base64 as needed), so any
  SMTP server takes them without 8BITMIME.
- A ``DKIM-Signature`` in front when the mailbox has a key (see :mod:`leadwell.outreach.dkim`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from leadwell.db.models import Mailbox, OutboxMessage
from leadwell.outreach import dkim

# SMTP line ends (CRLF), and only 7-bit content transfer encodings.
MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Envelope:
    """What goes over SMTP: MAIL FROM, RCPT TO and the message itself (CRLF line ends)."""

    sender: str
    recipient: str
    data: bytes


def one_line(value: str) -> str:
    """A header value on one line: line breaks and runs of white space become one space."""
    return " ".join(value.split())


def _address(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)


def build_message(row: OutboxMessage, mailbox: Mailbox, now: datetime) -> EmailMessage:
    """The message for ``row`` sent from ``mailbox`` at ``now`` (not yet signed)."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = _address(mailbox.from_name, mailbox.from_email)
    message["To"] = _address(row.to_name, row.to_email)
    if mailbox.reply_to:
        message["Reply-To"] = _address(mailbox.from_name, mailbox.reply_to)
    message["Subject"] = one_line(row.subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{row.message_id}>"
    message.set_content(_text_of(row.text), charset="utf-8")
    if row.html.strip():
        message.add_alternative(row.html, subtype="html", charset="utf-8")
    return message


def _text_of(text: str) -> str:
    # A body ends with a line end; an empty one still needs a line for some clients.
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    return body if body.endswith("\n") else body + "\n"


def unsubscribe_headers(unsubscribe_url: str) -> bytes:
    """The RFC 8058 pair. Written as bytes because the ``email`` package would turn an address
    longer than a line into encoded words, which no mail client reads as a link."""
    if not unsubscribe_url.isascii() or any(char.isspace() for char in unsubscribe_url):
        raise ValueError("unsubscribe_url: an ASCII address without spaces")
    return (
        b"List-Unsubscribe: <" + unsubscribe_url.encode() + b">\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    )


def _add_headers(data: bytes, headers: bytes) -> bytes:
    head, separator, body = data.partition(b"\r\n\r\n")
    return head + b"\r\n" + headers.removesuffix(b"\r\n") + separator + body


def compose(row: OutboxMessage, mailbox: Mailbox, unsubscribe_url: str | None, now: datetime) -> Envelope:
    """The envelope and bytes for ``row``, DKIM-signed when the mailbox has a key."""
    data = build_message(row, mailbox, now).as_bytes(policy=MAIL_POLICY)
    if unsubscribe_url:
        data = _add_headers(data, unsubscribe_headers(unsubscribe_url))
    if mailbox.dkim_private_key and mailbox.dkim_domain and mailbox.dkim_selector:
        key = dkim.load_key(mailbox.dkim_private_key)
        data = dkim.sign(data, key, mailbox.dkim_domain, mailbox.dkim_selector)
    return Envelope(mailbox.from_email, row.to_email, data)
