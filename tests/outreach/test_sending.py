"""Sending through a real SMTP server on loopback: headers, MIME structure, DKIM, TLS and AUTH,
one connection per batch, and the ``email_sent`` event."""

from __future__ import annotations

import base64
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from leadwell.db.session import Database
from leadwell.outreach import dkim
from leadwell.outreach.outbox import send_due
from leadwell.outreach.unsubscribe import read_token
from tests import factories
from tests.outreach.sending_support import (
    LINKS,
    PUBLIC_URL,
    SIGNER,
    events,
    make_outbox,
    make_template,
    queue,
    rows,
    worker,
)
from tests.outreach.smtp_support import SmtpServer, smtp_server, start_smtp_server

__all__ = ["smtp_server", "worker"]


def _send_one(db: Database, server: SmtpServer, worker: str, **mailbox: object) -> tuple[EmailMessage, bytes]:
    box = make_outbox(db, server, **mailbox)
    with db.session() as session:
        contact = factories.make_contact(
            session, box.workspace, first_name="Ada", email="ada@engines.example"
        )
        queue(session, contact, box.template, box.mailbox)
    assert send_due(db, worker, links=LINKS) == 1
    received = server.wait_for(1)[0]
    assert received.mail_from == "zoe@acme.example" and received.rcpt_tos == ("ada@engines.example",)
    return received.message, received.data


def test_the_message_has_the_headers_and_structure_mail_clients_expect(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    message, _raw = _send_one(db, smtp_server, worker, reply_to="replies@acme.example")
    row = rows(db)[0]
    assert str(message["From"]) == "Zoë at Acme <zoe@acme.example>"
    assert message["To"].addresses[0].addr_spec == "ada@engines.example"
    assert str(message["Reply-To"]) == "Zoë at Acme <replies@acme.example>"
    assert str(message["Subject"]) == "A guide for you"
    assert message["Message-ID"] == f"<{row.message_id}>"
    assert message["Date"].datetime is not None
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith(f"<{PUBLIC_URL}/u/") and unsubscribe.endswith(">")
    token = unsubscribe[1:-1].rsplit("/", 1)[1]
    assert read_token(SIGNER, token)["m"] == row.message_id
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().startswith("Hello Ada,")
    assert f"{PUBLIC_URL}/t/o/" in parts[1].get_content()
    assert row.state == "sent" and row.sent_at is not None and row.smtp_response is not None
    assert row.smtp_response.startswith("250")


def test_non_ascii_subjects_are_encoded_words_and_bodies_stay_seven_bit(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    box = make_outbox(db, smtp_server)
    with db.session() as session:
        contact = factories.make_contact(session, box.workspace, first_name="Zoë", email="zoe@example.org")
        template = make_template(session, box.workspace, subject="Für {{ first_name }} — ein Grüß", html="")
        queue(session, contact, template, box.mailbox)
    send_due(db, worker, links=LINKS)
    received = smtp_server.wait_for(1)[0]
    assert all(byte < 128 for byte in received.data)
    assert b"=?utf-8?" in received.data.split(b"\r\n\r\n")[0]
    assert str(received.message["Subject"]) == "Für Zoë — ein Grüß"
    assert received.message.get_content_type() == "text/plain"  # no HTML part: plain text alone


def test_the_email_sent_event_names_the_message_template_and_variant(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    _send_one(db, smtp_server, worker)
    row = rows(db)[0]
    [sent] = events(db, "email_sent")
    assert sent.contact_id == row.contact_id and sent.source == "outreach"
    assert sent.properties["message"] == row.message_id
    assert sent.properties["subject"] == row.subject
    assert sent.properties["variant"] == "a" and sent.properties["template"].startswith("welcome-")
    assert sent.occurred_at == row.sent_at


def _rsa_pem() -> str:
    return dkim.generate_key()


def _ed25519_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.mark.parametrize("make_key", [_rsa_pem, _ed25519_pem], ids=["rsa", "ed25519"])
def test_a_mailbox_with_a_key_signs_and_dkimpy_verifies_the_signature(
    db: Database, smtp_server: SmtpServer, worker: str, make_key: Callable[[], str]
) -> None:
    pem = make_key()
    record = dkim.load_key(pem).dns_record()
    message, raw = _send_one(
        db, smtp_server, worker, dkim_domain="acme.example", dkim_selector="s2026", dkim_private_key=pem
    )
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        looked_up.append(name)
        return record.encode()

    assert dkimpy.verify(raw, dnsfunc=dns)
    assert looked_up == [b"s2026._domainkey.acme.example."]
    signature = str(message["DKIM-Signature"]).replace("\r\n", "").replace(" ", "")
    assert "d=acme.example" in signature and "s=s2026" in signature
    signed = signature.split("h=")[1].split(";")[0].split(":")
    for header in (
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ):
        assert header in signed
    # Changing one character of the body breaks it.
    tampered = raw.replace(b"Hello Ada", b"Hello Eve")
    assert tampered != raw and not dkimpy.verify(tampered, dnsfunc=dns)


def test_a_wrong_public_key_fails_verification(db: Database, smtp_server: SmtpServer, worker: str) -> None:
    _message, raw = _send_one(
        db, smtp_server, worker, dkim_domain="acme.example", dkim_selector="s1", dkim_private_key=_rsa_pem()
    )
    other = dkim.load_key(_rsa_pem()).dns_record().encode()
    assert not dkimpy.verify(raw, dnsfunc=lambda name, timeout=5: other)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_tls_with_auth(
    db: Database, tmp_path: Path, worker: str, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    with start_smtp_server(tmp_path, security=security, username="zoe", password="s3cret") as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))
        _send_one(
            db,
            server,
            worker,
            smtp_host="localhost",
            smtp_security=security,
            smtp_username="zoe",
            smtp_password="s3cret",
        )
    assert rows(db)[0].state == "sent"


def test_a_wrong_password_is_retried_later_and_nothing_is_sent(
    db: Database, tmp_path: Path, worker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_smtp_server(tmp_path, security="starttls", username="zoe", password="s3cret") as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))
        box = make_outbox(
            db,
            server,
            smtp_host="localhost",
            smtp_security="starttls",
            smtp_username="zoe",
            smtp_password="wrong",
        )
        with db.session() as session:
            contact = factories.make_contact(session, box.workspace)
            queue(session, contact, box.template, box.mailbox)
        assert send_due(db, worker, links=LINKS) == 1
        assert server.messages() == []
    [row] = rows(db)
    assert row.state == "queued" and row.attempts == 1 and row.last_error is not None
    assert row.last_error.startswith("535")


def test_an_untrusted_certificate_is_refused(db: Database, tmp_path: Path, worker: str) -> None:
    with start_smtp_server(tmp_path, security="tls") as server:
        box = make_outbox(db, server, smtp_host="localhost", smtp_security="tls")
        with db.session() as session:
            queue(session, factories.make_contact(session, box.workspace), box.template, box.mailbox)
        send_due(db, worker, links=LINKS)
        assert server.messages() == []
    [row] = rows(db)
    assert (
        row.state == "queued" and row.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    )


def test_one_connection_carries_a_whole_batch(db: Database, smtp_server: SmtpServer, worker: str) -> None:
    box = make_outbox(db, smtp_server)
    with db.session() as session:
        for number in range(7):
            contact = factories.make_contact(
                session, box.workspace, email=f"p{number}@domain{number % 3}.example"
            )
            queue(session, contact, box.template, box.mailbox)
    assert send_due(db, worker, links=LINKS) == 7
    assert len(smtp_server.wait_for(7)) == 7 and smtp_server.connections() == 1
    assert {row.state for row in rows(db)} == {"sent"}
    # Nothing is due any more: another call does nothing.
    assert send_due(db, worker, links=LINKS) == 0


def test_dots_at_the_start_of_a_line_survive(db: Database, smtp_server: SmtpServer, worker: str) -> None:
    box = make_outbox(db, smtp_server)
    with db.session() as session:
        template = make_template(session, box.workspace, html="", text="Line one\n.\n..two dots\n.end\n")
        queue(session, factories.make_contact(session, box.workspace), template, box.mailbox)
    send_due(db, worker, links=LINKS)
    body = smtp_server.wait_for(1)[0].message.get_content()
    assert body.replace("\r\n", "\n") == "Line one\n.\n..two dots\n.end\n"


def test_base64_of_the_test_key_is_what_dns_publishes() -> None:
    key = dkim.load_key(_ed25519_pem())
    assert len(base64.b64decode(key.public)) == 32 and key.dns_record().startswith("v=DKIM1; k=ed25519; p=")
