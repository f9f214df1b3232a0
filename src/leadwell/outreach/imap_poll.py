"""Reading replies and bounces from each mailbox's IMAP folder.

Every minute at most, for each active mailbox with an IMAP host: connect (TLS, STARTTLS or plain,
as the mailbox says), log in, open the folder read-only (EXAMINE), and read the messages whose UID
is above the last one read, with ``BODY.PEEK[]`` so nothing is marked as seen. Mail is never
deleted, moved or flagged: the mailbox stays the person's own.

Each message is handled (:func:`leadwell.outreach.inbound.handle_inbound`) in its own transaction
together with the advance of ``imap_last_uid``, so a crash re-reads at most the message it was on
(and reading a message twice does nothing). When the folder's UIDVALIDITY changes (the folder was
rebuilt), its UIDs mean something else: reading starts again from the first message, and the
Message-IDs already stored keep that harmless.

Several workers share the work through the database: a mailbox is claimed by moving its
``imap_polled_at`` forward in one conditional UPDATE, so only one of them reads it each minute. A
server that cannot be reached, refuses the login or lacks the folder is recorded in
``imap_error`` (shown on the mailbox's page) and tried again a minute later; it never stops the
worker.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from leadwell.db.models import Mailbox
from leadwell.db.session import Database, with_retries
from leadwell.db.types import utcnow
from leadwell.outreach.inbound import handle_inbound

log = logging.getLogger(__name__)

POLL_INTERVAL = timedelta(minutes=1)
BATCH = 25  # messages per FETCH
MAX_PER_POLL = 500  # messages read per mailbox per poll; the rest wait for the next one
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # of each message: the text and the report come first
# A server that does not answer holds the worker this long per try (once a minute at most).
TIMEOUT_SECONDS = 20.0
MAX_ERROR = 1000
UID_IN_FETCH = re.compile(rb"\bUID (\d+)")


class ImapProblem(Exception):
    """The server answered, but not as hoped (login refused, no such folder…)."""


@dataclass(frozen=True)
class ImapAccount:
    """What connecting to one mailbox's folder takes, read before the connection is opened (no
    transaction is held open while the network is slow)."""

    mailbox_id: int
    workspace_id: int
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str
    uidvalidity: int | None
    last_uid: int


@dataclass(frozen=True)
class PollResult:
    """One mailbox's poll: messages read, how many were new, and the error if it failed."""

    mailbox_id: int
    read: int
    new: int
    error: str | None = None
    more: bool = False  # messages were left for the next poll


def poll_mailboxes(db: Database, now: datetime | None = None) -> int:
    """Poll every mailbox due (IMAP configured, last poll a minute ago or more) that this process
    can claim; returns how many messages were read."""
    moment = now or utcnow()
    read = 0
    for mailbox_id in due_mailboxes(db, moment):
        if claim(db, mailbox_id, moment):
            read += poll_mailbox(db, mailbox_id, moment).read
    return read


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(Mailbox.imap_polled_at.is_(None), Mailbox.imap_polled_at <= now - POLL_INTERVAL)


def due_mailboxes(db: Database, now: datetime) -> list[int]:
    """Active mailboxes with an IMAP host whose last poll is a minute old or more."""
    with db.session() as session:
        return list(
            session.scalars(
                select(Mailbox.id)
                .where(
                    Mailbox.archived_at.is_(None),
                    Mailbox.imap_host.is_not(None),
                    Mailbox.imap_host != "",
                    _due(now),
                )
                .order_by(Mailbox.id)
            )
        )


def claim(db: Database, mailbox_id: int, now: datetime) -> bool:
    """Take this minute's poll of the mailbox; False when another worker has it."""
    with db.session() as session:
        result = session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id, _due(now))
            .values(imap_polled_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def poll_mailbox(db: Database, mailbox_id: int, now: datetime | None = None) -> PollResult:
    """Read one mailbox's new messages now, whether due or not; failures are recorded on the
    mailbox and returned, never raised (database errors excepted)."""
    moment = now or utcnow()
    account = _account(db, mailbox_id)
    if account is None:
        return PollResult(mailbox_id, 0, 0, "no IMAP settings")
    try:
        result = _read_new(db, account, moment)
    except (imaplib.IMAP4.error, ImapProblem, OSError, ValueError, EOFError) as error:
        message = describe(error, account)
        log.warning("mailbox %s: %s", mailbox_id, message)
        _finish(db, mailbox_id, moment, message)
        return PollResult(mailbox_id, 0, 0, message)
    _finish(db, mailbox_id, moment, None, more=result.more)
    return result


def _account(db: Database, mailbox_id: int) -> ImapAccount | None:
    with db.session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None or not mailbox.imap_host:
            return None
        return ImapAccount(
            mailbox.id,
            mailbox.workspace_id,
            mailbox.imap_host,
            mailbox.imap_port,
            mailbox.imap_security,
            mailbox.imap_username or mailbox.from_email,
            mailbox.imap_password or "",
            mailbox.imap_folder or "INBOX",
            mailbox.imap_uidvalidity,
            mailbox.imap_last_uid or 0,
        )


def describe(error: BaseException, account: ImapAccount) -> str:
    """An error in words for the mailbox page."""
    where = f"{account.host}:{account.port}"
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        said = f"TLS with {where} failed: {error}"
    elif isinstance(error, OSError):
        said = f"could not reach {where}: {error.strerror or error}"
    elif isinstance(error, ImapProblem):
        said = str(error)
    else:
        said = f"IMAP error from {where}: {error}"
    return said[:MAX_ERROR]


def connect(account: ImapAccount) -> imaplib.IMAP4:
    """A logged-in connection (server certificates are verified for TLS and STARTTLS)."""
    context = ssl.create_default_context()
    client: imaplib.IMAP4
    if account.security == "tls":
        client = imaplib.IMAP4_SSL(account.host, account.port, ssl_context=context, timeout=TIMEOUT_SECONDS)
    else:
        client = imaplib.IMAP4(account.host, account.port, timeout=TIMEOUT_SECONDS)
    try:
        if account.security == "starttls":
            client.starttls(ssl_context=context)
        try:
            client.login(account.username, account.password)
        except imaplib.IMAP4.error as error:
            said = f"{account.host} refused the login for {account.username}: {_said(error)}"
            raise ImapProblem(said) from None
    except BaseException:
        _close(client)
        raise
    return client


def _said(error: BaseException) -> str:
    text = str(error)
    return text[2:-1] if text.startswith("b'") and text.endswith("'") else text


def _close(client: imaplib.IMAP4) -> None:
    # The connection is going away either way.
    with contextlib.suppress(imaplib.IMAP4.error, OSError, EOFError):
        client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_folder(client: imaplib.IMAP4, folder: str) -> int | None:
    """Open ``folder`` read-only; its UIDVALIDITY (None when the server gave none)."""
    status, data = client.select(_quoted(folder), readonly=True)
    if status != "OK":
        said = b" ".join(item for item in data if isinstance(item, bytes)).decode("utf-8", "replace")
        raise ImapProblem(f"folder {folder!r} cannot be opened: {said or status}")
    _name, values = client.response("UIDVALIDITY")
    first = values[0] if values else None
    return int(first) if isinstance(first, bytes) and first.isdigit() else None


def new_uids(client: imaplib.IMAP4, last_uid: int) -> list[int]:
    """UIDs above ``last_uid``, ascending. (``n:*`` always includes the highest UID, even when it
    is below n: it is filtered out here.)"""
    status, data = client.uid("SEARCH", f"UID {last_uid + 1}:*")
    if status != "OK":
        raise ImapProblem(f"searching the folder failed: {data!r}"[:MAX_ERROR])
    words = b" ".join(item for item in data if isinstance(item, bytes)).split()
    return sorted({int(word) for word in words if word.isdigit() and int(word) > last_uid})


def fetch(client: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    """The raw messages (their first :data:`MAX_MESSAGE_BYTES`) of ``uids``, by UID."""
    wanted = set(uids)
    spec = f"(UID BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)"
    status, data = client.uid("FETCH", f"{uids[0]}:{uids[-1]}", spec)
    if status != "OK":
        raise ImapProblem(f"fetching messages failed: {data!r}"[:MAX_ERROR])
    found: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        meta, literal = item[0], item[1]
        uid = UID_IN_FETCH.search(meta)
        after = data[index + 1] if index + 1 < len(data) else None
        if uid is None and isinstance(after, bytes):  # some servers put UID after the body
            uid = UID_IN_FETCH.search(after)
        if uid is not None and int(uid.group(1)) in wanted and isinstance(literal, bytes):
            found[int(uid.group(1))] = literal
    return sorted(found.items())


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _read_new(db: Database, account: ImapAccount, now: datetime) -> PollResult:
    client = connect(account)
    try:
        uidvalidity = open_folder(client, account.folder)
        last_uid = account.last_uid
        if uidvalidity != account.uidvalidity:
            last_uid = 0
            _restart(db, account.mailbox_id, uidvalidity)
        uids = new_uids(client, last_uid)
        todo = uids[:MAX_PER_POLL]
        read = new = 0
        for chunk in _chunks(todo, BATCH):
            for uid, raw in fetch(client, chunk):
                new += _handle(db, account, uid, raw, now)
                read += 1
        return PollResult(account.mailbox_id, read, new, None, more=len(uids) > len(todo))
    finally:
        _close(client)


def _restart(db: Database, mailbox_id: int, uidvalidity: int | None) -> None:
    """A new UIDVALIDITY: the folder's UIDs start over, so does reading."""
    with db.session() as session:
        session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id)
            .values(imap_uidvalidity=uidvalidity, imap_last_uid=0)
            .execution_options(synchronize_session=False)
        )


def _advance(session: Session, mailbox_id: int, uid: int) -> None:
    session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.imap_last_uid < uid)
        .values(imap_last_uid=uid)
        .execution_options(synchronize_session=False)
    )


def _handle(db: Database, account: ImapAccount, uid: int, raw: bytes, now: datetime) -> int:
    """Handle one message and record it as read, in one transaction; 1 when it was new."""

    def work(session: Session) -> int:
        stored = handle_inbound(session, account.workspace_id, account.mailbox_id, raw, now)
        _advance(session, account.mailbox_id, uid)
        return 0 if stored is None else 1

    try:
        return with_retries(db, work)
    except DBAPIError:
        raise  # the database is in trouble: stop here, this message is read again next time
    except Exception:
        # A message that breaks the code must not block every message behind it: it is
        # skipped (and logged), the rest are read.
        log.exception("mailbox %s: message UID %s could not be handled; skipped", account.mailbox_id, uid)
        with db.session() as session:
            _advance(session, account.mailbox_id, uid)
        return 0


def _finish(db: Database, mailbox_id: int, now: datetime, error: str | None, more: bool = False) -> None:
    """Record the poll's end: its error (or none), and when it is due again (at once when
    messages were left)."""
    polled = now - POLL_INTERVAL if more else now
    with db.session() as session:
        session.execute(
            update(Mailbox)
            .where(Mailbox.id == mailbox_id)
            .values(imap_polled_at=polled, imap_error=error)
            .execution_options(synchronize_session=False)
        )
