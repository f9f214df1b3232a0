"""``leadwell outreach sequences|segments|broadcasts`` end to end on a real database: listing with
numbers, showing a sequence's steps, enrolling a segment and addresses, stopping a contact, counting
a segment, scheduling and cancelling a newsletter, and the exit codes of bad input."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.models import Broadcast, Enrollment, Segment
from leadwell.db.session import Database
from tests import factories
from tests.conftest import Tenant
from tests.outreach.sequence_support import make_mailbox, make_sequence, make_template

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["outreach", *args])
    assert result.exit_code == code, (args, result.output)
    return result.output


def _seed(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        ws = tenant.workspace
        mailbox = make_mailbox(session, ws)
        template = make_template(session, ws)
        make_sequence(
            session, ws, [("email", template), ("wait", 2), ("task", "Ask about budget")], mailbox=mailbox
        )
        factories.make_contact(session, ws, email="ada@engines.example", stage="lead")
        factories.make_contact(session, ws, email="grace@navy.example", stage="lead")
        factories.make_contact(session, ws, email="alan@bletchley.example", stage="nurture")
        session.add(Segment(workspace_id=ws.id, slug="leads", name="Leads", filters={"stage": ["lead"]}))


def test_sequences_are_listed_shown_enrolled_and_stopped(db: Database, db_url: str, tenant: Tenant) -> None:
    _seed(db, tenant)
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    enrolled = run(
        "sequences", "enroll", "welcome", "--segment", "leads", "--contact", "alan@bletchley.example", *common
    )
    assert enrolled.strip() == "3 enrolled"
    again = run("sequences", "enroll", "welcome", "--contact", "ada@engines.example", *common)
    assert again.strip() == "0 enrolled; skipped: 1 already enrolled"
    listed = json.loads(run("sequences", "list", *common, "--format", "json"))
    assert [(row["slug"], row["status"], row["enrolled"], row["active"]) for row in listed] == [
        ("welcome", "active", 3, 3)
    ]
    shown = run("sequences", "show", "welcome", *common)
    assert "Welcome (welcome): active" in shown and "Wait 2 business days" in shown
    assert re.search(r"1\s+Email: Hello\s+3", shown) and "enrolled 3, active 3" in shown
    assert run("sequences", "stop", "welcome", "--contact", "ADA@engines.example", *common).startswith(
        "stopped"
    )
    refused = run("sequences", "stop", "welcome", "--contact", "ada@engines.example", *common, code=2)
    assert "is not active in welcome" in refused
    with db.session() as session:
        assert sorted(str(e.stop_reason) for e in session.scalars(select(Enrollment))) == [
            "None",
            "None",
            "manual",
        ]
    assert "say whom to enrol" in run("sequences", "enroll", "welcome", *common, code=2)
    assert "no contact with the address" in run(
        "sequences", "enroll", "welcome", "--contact", "x@y.example", *common, code=2
    )
    assert "no sequence 'nope'" in run("sequences", "show", "nope", *common, code=2)


def test_segments_are_counted_and_newsletters_scheduled_and_cancelled(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    _seed(db, tenant)
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert run("segments", "count", "leads", *common).strip() == "2"
    assert "leads  Leads  stage: lead  2" in run("segments", "list", *common)
    scheduled = run(
        "broadcasts", "schedule", "--name", "March news", "--template", "hello", "--segment", "leads",
        "--mailbox", "sales", "--at", "2099-01-01T09:00", *common, code=2,
    )  # fmt: skip
    assert "send_at: at most a year ahead" in scheduled
    draft = run(
        "broadcasts", "schedule", "--name", "March news", "--template", "hello", "--list", "newsletter",
        "--mailbox", "sales", "--draft", *common, code=2,
    )  # fmt: skip
    assert "list: no list 'newsletter'" in draft
    made = run(
        "broadcasts", "schedule", "--name", "March news", "--template", "hello", "--segment", "leads",
        "--mailbox", "sales", *common,
    )  # fmt: skip
    public_id, when = made.split()
    assert public_id.startswith("bc_") and when.endswith("+00:00")
    listed = json.loads(run("broadcasts", "list", *common, "--format", "json"))
    assert [(row["id"], row["status"]) for row in listed] == [(public_id, "scheduled")]
    assert run("broadcasts", "cancel", public_id, *common).startswith("cancelled; 0 unsent")
    assert "cancelled already" in run("broadcasts", "cancel", public_id, *common, code=2)
    assert "not a newsletter id" in run("broadcasts", "cancel", "bc_nope", *common, code=2)
    with db.session() as session:
        assert session.scalars(select(Broadcast.status)).one() == "cancelled"
