"""Talking to a mailbox's SMTP server (smtplib), in the two halves the exactly-once protocol needs.

:meth:`SmtpSession.transmit` sends MAIL FROM, RCPT TO, DATA and the whole message *except* the
final ``CRLF.CRLF``; then it asks its caller whether to go on (the caller commits the row as
``releasing``); only then does it send the terminator and read the server's answer. Until the
terminator arrives, an SMTP server holds nothing: a connection that drops before it (the process
killed, the caller saying no) leaves no message behind. See :mod:`leadwell.outreach.outbox`.

Security is ``starttls`` (upgrade a plain connection, certificate checked), ``tls`` (TLS from the
first byte, usually port 465) or ``none`` (a relay on a trusted network); AUTH when a username is
set. Certificates are checked against the system's trust store (``SSL_CERT_FILE`` may point at
another bundle).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from leadwell.db.models import Mailbox
from leadwell.outreach.compose import Envelope

TIMEOUT_SECONDS = 60.0
_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class ServerSettings:
    """Where and how to reach a mailbox's SMTP server."""

    host: str
    port: int
    security: str
    username: str | None
    password: str | None

    @classmethod
    def of(cls, mailbox: Mailbox) -> ServerSettings:
        return cls(
            mailbox.smtp_host,
            mailbox.smtp_port,
            mailbox.smtp_security,
            mailbox.smtp_username,
            mailbox.smtp_password,
        )


class SmtpFailure(Exception):
    """The server refused, or could not be reached or understood.

    ``stage`` says where: ``connect`` (connection, TLS, AUTH), ``mail``, ``rcpt``, ``data`` (before
    the message was released) or ``end`` (the server's answer to the end of the data: it saw the
    whole message and refused it). ``permanent`` is true for a 5xx answer.
    """

    def __init__(self, detail: str, stage: str, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.stage = stage
        self.permanent = permanent
        self.code = code


class Withheld(Exception):
    """The caller declined to release the message; the connection was dropped before its end."""


class Unanswered(Exception):
    """The end of the data went out (or may have) but no answer came back: the server may hold
    the message. The exactly-once protocol counts it as delivered."""


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}"[:500]


def _refused(code: int, text: bytes | str, stage: str) -> SmtpFailure:
    return SmtpFailure(_reply(code, text), stage, permanent=500 <= code < 600, code=code)


def wire_data(data: bytes) -> bytes:
    """The message as it goes after DATA: CRLF line ends, leading dots doubled (RFC 5321
    4.5.2), ending with CRLF; the terminating ``.CRLF`` is *not* included."""
    stuffed = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", data))
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


class SmtpSession:
    """One connection to one server, reused for several messages."""

    def __init__(self, settings: ServerSettings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect, secure and log in; :class:`SmtpFailure` (stage ``connect``) when that fails."""
        settings = self.settings
        try:
            if settings.security == "tls":
                context = ssl.create_default_context()
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=self.timeout)
            self.client = client
            if client.sock is not None:
                # The end of the data is a small write right after a large one: without this, Nagle's
                # algorithm holds it until the server's delayed ACK, some 40 ms per message.
                client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.ehlo_or_helo_if_needed()
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.username:
                client.login(settings.username, settings.password or "")
        except smtplib.SMTPResponseException as error:
            self.abort()
            raise _refused(error.smtp_code, error.smtp_error, "connect") from None
        except (smtplib.SMTPException, OSError) as error:
            self.abort()
            raise SmtpFailure(
                f"{settings.host}:{settings.port}: {error or type(error).__name__}", "connect"
            ) from None

    def _command(self, stage: str, call: Callable[[], tuple[int, bytes]], expected: int) -> None:
        try:
            code, text = call()
        except (smtplib.SMTPException, OSError) as error:
            self.abort()
            raise SmtpFailure(f"connection lost at {stage}: {error or type(error).__name__}", stage) from None
        if code != expected:
            self._reset()
            raise _refused(code, text, stage)

    def _reset(self) -> None:
        # After a refusal the connection is still good for the next message once reset.
        try:
            if self.client is not None:
                self.client.rset()
        except (smtplib.SMTPException, OSError):
            self.abort()

    def transmit(self, envelope: Envelope, release: Callable[[], bool]) -> str:
        """Send one message; ``release()`` is called once the server has everything but the end of
        the data, and must return True for the message to be completed. Returns the server's
        answer to the end of the data (a 250). Raises :class:`SmtpFailure`, :class:`Withheld`, or
        :class:`Unanswered` (after the release, when the answer did not arrive)."""
        if self.client is None:
            self.open()
        client = self.client
        assert client is not None
        self._command("mail", lambda: client.mail(envelope.sender), 250)
        self._command("rcpt", lambda: client.rcpt(envelope.recipient), 250)
        self._command("data", lambda: client.docmd("DATA"), 354)
        try:
            client.send(wire_data(envelope.data))
        except (smtplib.SMTPException, OSError) as error:
            self.abort()
            raise SmtpFailure(
                f"connection lost during the data: {error or type(error).__name__}", "data"
            ) from None
        if not release():
            self.abort()
            raise Withheld
        return self._finish(client)

    def _finish(self, client: smtplib.SMTP) -> str:
        try:
            client.send(b".\r\n")
            code, text = client.getreply()
        except (smtplib.SMTPException, OSError) as error:
            self.abort()
            raise Unanswered(f"no answer to the end of the data: {error or type(error).__name__}") from None
        if code != 250:
            raise _refused(code, text, "end")
        return _reply(code, text)

    def abort(self) -> None:
        """Drop the connection at once, without QUIT: mid-DATA, the server discards the message."""
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def close(self) -> None:
        """Say QUIT and close."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
