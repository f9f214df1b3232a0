"""Mailboxes: settings checked field by field, passwords and keys kept unless replaced, the DKIM
record derived from the key, archiving."""

from __future__ import annotations

from dataclasses import replace

import pytest

from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput
from leadwell.outreach import dkim
from leadwell.outreach.mailboxes import (
    MailboxInput,
    archive_mailbox,
    create_mailbox,
    default_mailbox,
    list_mailboxes,
    restore_mailbox,
    update_mailbox,
)
from tests import factories

GOOD = MailboxInput(
    from_name="Zoë at Acme",
    from_email="Zoe@Acme.example",
    smtp_host="smtp.acme.example",
    smtp_username="zoe",
    smtp_password="s3cret",
)


def test_a_mailbox_is_stored_with_clean_values(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        mailbox = create_mailbox(session, workspace.id, GOOD)
        assert (mailbox.slug, mailbox.from_email, mailbox.smtp_port, mailbox.smtp_security) == (
            "zoe",
            "zoe@acme.example",
            587,
            "starttls",
        )
        assert mailbox.smtp_password == "s3cret" and mailbox.daily_cap == 500
        assert default_mailbox(session, workspace.id) is mailbox


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from_email": "not an address"}, "from_email"),
        ({"from_email": f"zoe@{'a' * 90}.example"}, "from_email"),
        ({"reply_to": "nope@"}, "reply_to"),
        ({"smtp_host": "not a host!"}, "smtp_host"),
        ({"smtp_port": "70000"}, "smtp_port"),
        ({"smtp_security": "ssl"}, "smtp_security"),
        ({"daily_cap": "0"}, "daily_cap"),
        ({"warmup_start": "0"}, "warmup_start"),
        ({"warmup_started_on": "next tuesday"}, "warmup_started_on"),
        ({"per_domain_per_minute": "0"}, "per_domain_per_minute"),
        ({"dkim_domain": "acme.example"}, "dkim_selector"),
        ({"dkim_domain": "acme.example", "dkim_selector": "s1"}, "dkim_private_key"),
        (
            {"dkim_domain": "acme.example", "dkim_selector": "s1", "dkim_private_key": "hello"},
            "dkim_private_key",
        ),
        ({"dkim_domain": "acme.example", "dkim_selector": "a b", "dkim_private_key": "x"}, "dkim_selector"),
        ({"imap_host": "imap..example"}, "imap_host"),
        ({"slug": "Not A Slug"}, "slug"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(db: Database, change: dict[str, str], field: str) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        with pytest.raises(InvalidInput) as caught:
            create_mailbox(session, workspace.id, replace(GOOD, **change))
    assert caught.value.field == field, caught.value.detail


def test_an_encrypted_key_is_refused_with_a_reason(db: Database) -> None:
    encrypted = (
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n"
        "-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    with pytest.raises(InvalidInput) as caught:
        dkim.load_key(encrypted)
    assert caught.value.field == "dkim_private_key" and "PEM private key" in caught.value.detail


def test_slugs_are_unique_per_workspace(db: Database) -> None:
    with db.session() as session:
        workspace, other = factories.make_workspace(session), factories.make_workspace(session)
        create_mailbox(session, workspace.id, GOOD)
        create_mailbox(session, other.id, GOOD)
        with pytest.raises(Conflict):
            create_mailbox(session, workspace.id, GOOD)


def test_blank_secrets_keep_the_stored_ones_and_no_username_means_no_password(db: Database) -> None:
    key = dkim.generate_key()
    with db.session() as session:
        workspace = factories.make_workspace(session)
        signed = replace(GOOD, dkim_domain="acme.example", dkim_selector="s1", dkim_private_key=key)
        mailbox = create_mailbox(session, workspace.id, signed)
        edited = replace(MailboxInput.of(mailbox), daily_cap="900")
        assert edited.smtp_password == "" and edited.dkim_private_key == ""
        update_mailbox(session, workspace.id, mailbox.id, edited)
        assert (mailbox.daily_cap, mailbox.smtp_password, mailbox.dkim_private_key) == (
            900,
            "s3cret",
            key.strip(),
        )
        update_mailbox(
            session,
            workspace.id,
            mailbox.id,
            replace(edited, smtp_username="", dkim_domain="", dkim_selector=""),
        )
        assert (mailbox.smtp_username, mailbox.smtp_password, mailbox.dkim_private_key) == (None, None, None)


def test_the_dns_record_carries_the_public_half_of_the_key() -> None:
    key = dkim.load_key(dkim.generate_key())
    assert key.kind == "rsa" and key.dns_record() == f"v=DKIM1; k=rsa; p={key.public}"
    assert dkim.record_name("s1", "acme.example") == "s1._domainkey.acme.example"


def test_archived_mailboxes_leave_the_list_until_restored(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        mailbox = create_mailbox(session, workspace.id, GOOD)
        archive_mailbox(session, workspace.id, mailbox.id)
        assert list_mailboxes(session, workspace.id) == [] and default_mailbox(session, workspace.id) is None
        assert list_mailboxes(session, workspace.id, archived=True) == [mailbox]
        restore_mailbox(session, workspace.id, mailbox.id)
        assert list_mailboxes(session, workspace.id) == [mailbox]
