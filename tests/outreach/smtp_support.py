"""A real SMTP server on loopback for the outreach tests (aiosmtpd in a thread of the test process).

It records every message it accepts — envelope and raw bytes, exactly as received — behind a lock,
and can be told how to answer: refuse some recipients (``550``/``450`` at RCPT), refuse messages at
the end of DATA, answer slowly, hold its answers until released (so a test can stop a worker while
it waits), require STARTTLS or speak TLS from the first byte (with a self-signed certificate made
for the test by the ``openssl`` command), and require AUTH.

Use the ``smtp_server`` fixture for a plain server, or ``start_smtp_server(...)`` for the others.
A client trusts the test certificate when ``SSL_CERT_FILE`` names ``server.certificate``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.test_serve import free_port

# aiosmtpd logs a deprecation notice of its own on every AUTH; the tests have nothing to do about it.
logging.getLogger("mail.log").setLevel(logging.ERROR)

# A reply the server gives instead of its usual one, e.g. "550 5.1.1 no such user"; None: accept.
RcptRule = Callable[[str], str | None]
DataRule = Callable[["Received"], str | None]


def _peer_name(peer: object) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # the message after the SMTP transparency (dot-stuffing) was undone
    peer: str  # "host:port" of the client connection

    @property
    def message(self) -> EmailMessage:
        parsed: EmailMessage = message_from_bytes(self.data, policy=policy.default)
        return parsed

    @property
    def message_id(self) -> str:
        """The Message-ID header without its angle brackets ('' when there is none)."""
        return str(self.message.get("Message-ID", "")).strip().strip("<>")


@dataclass
class _Handler:
    server: SmtpServer

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.server.auth_required and not session.authenticated:
            return "530 5.7.0 Authentication required"
        self.server._connected(session.peer)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.server.rcpt_rule(address) if self.server.rcpt_rule else None
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        peer = session.peer
        received = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            peer=_peer_name(peer),
        )
        refusal = self.server.data_rule(received) if self.server.data_rule else None
        self.server._record(received, refused=refusal is not None)
        if refusal:
            return refusal
        # The end of the data has arrived: from here the message is the server's, whatever
        # happens to the client while it waits for the answer.
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        while self.server._holding(received):
            await asyncio.sleep(0.01)
        return f"250 2.0.0 OK queued as {len(self.server.accepted)}"


@dataclass
class SmtpServer:
    """A running loopback SMTP server and everything it received."""

    port: int = 0
    rcpt_rule: RcptRule | None = None
    data_rule: DataRule | None = None
    delay: float = 0.0
    certificate: Path | None = None
    accepted: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    auth_required: bool = False
    hold_from: int | None = None  # hold the answer to the n-th accepted message and later ones
    peers: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    host = "127.0.0.1"

    def _record(self, received: Received, refused: bool) -> None:
        with self._lock:
            (self.refused if refused else self.accepted).append(received)

    def _connected(self, peer: object) -> None:
        with self._lock:
            self.peers.add(_peer_name(peer))

    def _holding(self, received: Received) -> bool:
        if self.hold_from is None or self._released.is_set():
            return False
        with self._lock:
            position = next(i for i, item in enumerate(self.accepted) if item is received) + 1
        return position >= self.hold_from

    def hold(self, from_message: int) -> None:
        """Hold the answers to the ``from_message``-th accepted message and every later one."""
        self._released.clear()
        self.hold_from = from_message

    def release(self) -> None:
        """Answer every held message, and stop holding."""
        self._released.set()

    def messages(self) -> list[Received]:
        """A copy of the accepted messages, in arrival order."""
        with self._lock:
            return list(self.accepted)

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID was accepted."""
        return Counter(item.message_id for item in self.messages())

    def connections(self) -> int:
        """Distinct client connections that began a message (MAIL FROM), finished or not."""
        with self._lock:
            return len(self.peers)

    def wait_for(self, count: int, seconds: float = 30.0) -> list[Received]:
        """Wait until at least ``count`` messages were accepted; fails the test after ``seconds``."""
        deadline = time.monotonic() + seconds
        while len(self.accepted) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"the SMTP server accepted {len(self.accepted)} messages, not {count}")
            time.sleep(0.01)
        return self.messages()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (and its key), made by openssl."""
    certificate, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(certificate), "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


def _authenticator(username: str, password: str) -> Callable[..., AuthResult]:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def start_smtp_server(
    tmp_path: Path | None = None,
    *,
    security: str = "none",
    username: str | None = None,
    password: str | None = None,
    rcpt_rule: RcptRule | None = None,
    data_rule: DataRule | None = None,
    delay: float = 0.0,
) -> Iterator[SmtpServer]:
    """Run a loopback SMTP server for the block. ``security``: ``none``, ``starttls`` (required
    before MAIL) or ``tls`` (TLS from the first byte); both need ``tmp_path`` for the certificate.
    ``username``/``password`` make AUTH required (over TLS)."""
    server = SmtpServer(port=free_port(), rcpt_rule=rcpt_rule, data_rule=data_rule, delay=delay)
    options: dict[str, Any] = {"hostname": server.host, "port": server.port, "ready_timeout": 10}
    if security != "none":
        assert tmp_path is not None, "TLS needs a directory for the certificate"
        certificate, key = make_certificate(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        server.certificate = certificate
        if security == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options.update(ssl_context=context)
    if username is not None:
        # aiosmtpd cannot tell a TLS-from-the-start connection is secure, so it would not offer
        # AUTH there: offer it everywhere and refuse MAIL before AUTH in the handler instead.
        options.update(authenticator=_authenticator(username, password or ""), auth_require_tls=False)
        server.auth_required = True
    controller = Controller(_Handler(server), **options)
    controller.start()
    try:
        yield server
    finally:
        server.release()
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain (no TLS, no AUTH) SMTP server on a free loopback port that accepts everything."""
    with start_smtp_server() as server:
        yield server
