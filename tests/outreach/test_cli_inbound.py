"""``leadwell outreach inbound``: poll the mailboxes now, list what came back, import one message
from a file — with their exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.models import Mailbox
from leadwell.db.session import Database
from tests import factories
from tests.conftest import Tenant
from tests.outreach.imap_support import PASSWORD, ImapMailbox, imap_mailbox, imap_server
from tests.outreach.mail_support import ADA, MAIL, make_mailbox, make_sent, sample
from tests.test_serve import free_port

__all__ = ["imap_mailbox", "imap_server"]

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["outreach", "inbound", *args])
    assert result.exit_code == code, (args, result.output)
    return result.output


def _mailbox(db: Database, tenant: Tenant, **fields: object) -> int:
    with db.session() as session:
        contact = factories.make_contact(
            session, tenant.workspace, email=ADA, first_name="Ada", last_name="L"
        )
        mailbox = make_mailbox(session, tenant.workspace, **fields)
        make_sent(session, contact, mailbox)
        return mailbox.id


def test_import_then_list_in_every_format(db: Database, db_url: str, tenant: Tenant) -> None:
    _mailbox(db, tenant)
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    said = run("import", str(MAIL / "reply_outlook.eml"), "--mailbox", "sales", *common)
    assert said.strip().startswith(f"reply_outlook.eml: reply from {ADA}, contact ")
    assert "handled before; nothing done" in run(
        "import", str(MAIL / "reply_outlook.eml"), "--mailbox", "sales", *common
    )
    assert "bounce (hard)" in run("import", str(MAIL / "dsn_outlook_hard.eml"), "--mailbox", "sales", *common)
    table = run("list", *common)
    assert table.splitlines()[0].split() == [
        "received_at",
        "kind",
        "mailbox",
        "from",
        "contact",
        "subject",
        "said",
    ]
    rows = list(csv.DictReader(io.StringIO(run("list", *common, "--format", "csv"))))
    assert [row["kind"] for row in rows] == ["bounce (hard)", "reply"]
    assert rows[1]["said"].startswith("Thanks Grace - we'd like to see a proposal.")
    assert rows[1]["contact"] == "Ada L" and rows[1]["mailbox"] == "sales"
    data = json.loads(run("list", *common, "--kind", "bounce", "--format", "json"))
    assert [item["said"][:10] for item in data] == ["550 5.1.10"]


def test_bad_input_exits_2(db: Database, db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    _mailbox(db, tenant)
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert "does not exist" in run(
        "import", str(tmp_path / "missing.eml"), "--mailbox", "sales", *common, code=2
    )
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    assert "FILE: empty" in run("import", str(empty), "--mailbox", "sales", *common, code=2)
    assert "no mailbox 'support'" in run(
        "import", str(MAIL / "reply_gmail.eml"), "--mailbox", "support", *common, code=2
    )
    assert "--kind: one of" in run("list", *common, "--kind", "spam", code=2)
    assert "--limit: between" in run("list", *common, "--limit", "0", code=2)
    assert "--workspace" in run("list", "--database-url", db_url, code=2)
    assert "no active mailbox 'sales' with IMAP" in run("poll", "--mailbox", "sales", *common, code=2)


def test_poll_reads_the_mailbox_and_fails_when_one_cannot_be_read(
    db: Database, db_url: str, tenant: Tenant, imap_mailbox: ImapMailbox
) -> None:
    server = imap_mailbox.server
    imap = {"imap_host": server.host, "imap_security": "none", "imap_username": imap_mailbox.user}
    _mailbox(db, tenant, imap_port=server.port, imap_password=PASSWORD, **imap)
    imap_mailbox.deliver(sample("reply_gmail.eml"))
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    rows = json.loads(run("poll", *common, "--format", "json"))
    assert rows == [{"mailbox": "sales", "read": 1, "new": 1, "error": ""}]
    with db.session() as session:
        session.add(
            Mailbox(
                workspace_id=tenant.workspace.id,
                slug="broken",
                from_email="b@acme.example",
                smtp_host="x",
                imap_port=free_port(),
                **imap,
            )
        )
    failed = run("poll", *common, code=1)
    assert "could not reach 127.0.0.1" in failed
    assert "1 of 2 mailboxes could not be read" in failed
    assert json.loads(run("poll", "--mailbox", "sales", *common, "--format", "json"))[0]["new"] == 0
