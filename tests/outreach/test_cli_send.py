"""``leadwell outreach mailboxes|outbox|send-test``: adding and showing mailboxes, listing the
outbox, and a test message handed to a real SMTP server — with their exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.session import Database
from leadwell.outreach import dkim
from tests.conftest import TEST_SECRET, Tenant
from tests.outreach.smtp_support import SmtpServer, smtp_server
from tests.test_serve import free_port

__all__ = ["smtp_server"]
runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["outreach", *args], env={"LEADWELL_SECRET_KEY": TEST_SECRET})
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_add_list_show_and_send_a_test_message(
    db: Database, db_url: str, tenant: Tenant, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    key = tmp_path / "dkim.pem"
    key.write_text(dkim.generate_key())
    said = run(
        "mailboxes", "add", "zoe@acme.example", "--smtp-host", "127.0.0.1",
        "--smtp-port", str(smtp_server.port), "--security", "none", "--from-name", "Zoë",
        "--daily-cap", "100", "--dkim-domain", "acme.example", "--dkim-selector", "s1",
        "--dkim-key", str(key), *common,
    )  # fmt: skip
    assert said.startswith("mailbox zoe (zoe@acme.example)")
    assert "publish TXT s1._domainkey.acme.example  v=DKIM1; k=rsa; p=" in said
    listed = json.loads(run("mailboxes", "list", "--format", "json", *common))
    assert [(row["slug"], row["today"], row["dkim"]) for row in listed] == [
        ("zoe", "0/100", "s1._domainkey.acme.example")
    ]
    shown = run("mailboxes", "show", "zoe", *common)
    assert "daily_cap  100" in shown and "PRIVATE" not in shown

    sent = run("send-test", "--mailbox", "zoe", "--to", "me@example.org", *common)
    assert sent.startswith("sent to me@example.org: 250")
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ("me@example.org",) and "DKIM-Signature" in received.message
    outbox = json.loads(run("outbox", "--state", "sent", "--format", "json", *common))
    assert [(row["to"], row["state"], row["mailbox"]) for row in outbox] == [
        ("me@example.org", "sent", "zoe")
    ]


def test_bad_input_exits_2_and_a_refused_test_message_exits_1(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    said = run("mailboxes", "add", "not an address", "--smtp-host", "smtp.acme.example", *common, code=2)
    assert "from_email:" in said
    run(
        "mailboxes",
        "add",
        "zoe@acme.example",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(free_port()),
        *common,
    )
    assert "no mailbox 'nope'" in run("mailboxes", "show", "nope", *common, code=2)
    assert "--state: one of" in run("outbox", "--state", "lost", *common, code=2)
    assert "to:" in run("send-test", "--mailbox", "zoe", "--to", "bad@", *common, code=2)
    failed = run("send-test", "--mailbox", "zoe", "--to", "me@example.org", *common, code=1)
    assert "not sent: " in failed and "Connection refused" in failed
    assert "cancelled" in run("outbox", *common)


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_the_outbox_lists_in_every_format(db: Database, db_url: str, tenant: Tenant, fmt: str) -> None:
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert run("outbox", "--format", fmt, *common).strip() in ("(none)", "")
