"""``leadwell queue`` end to end on a real database: table, CSV and JSON, the owner filter, bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from tests.conftest import TEST_SECRET, Tenant
from tests.factories import make_event, make_organization, make_user
from tests.sales.queue_data import make_lead

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"LEADWELL_SECRET_KEY": TEST_SECRET})
    assert result.exit_code == code, (args, result.output)
    return result.output


def seed(db: Database, tenant: Tenant) -> tuple[int, int, str]:
    now = utcnow()
    with db.session() as session:
        ws = tenant.workspace
        org = make_organization(session, ws, name="Analytical Engines")
        seller = make_user(session, ws, role="sales", email="seller@example.com")
        ada = make_lead(
            session, ws, grade="A", score=50, scored_at=now, first_name="Ada", last_name="Lovelace",
            organization_id=org.id,
        )  # fmt: skip
        make_event(session, ada, "asset_downloaded", now - timedelta(days=1), {"asset": "ROI guide"})
        alan = make_lead(session, ws, grade="D", first_name="Alan", last_name="Turing", owner_id=seller.id)
        return ada.id, alan.id, ws.slug


def test_queue_prints_the_leads_to_call(db: Database, tenant: Tenant, db_url: str, codec: IdCodec) -> None:
    ada, alan, slug = seed(db, tenant)
    table = run("queue", "--database-url", db_url, "-w", slug)
    lines = table.splitlines()
    assert lines[0].split() == ["rank", "name", "organization", "grade", "ev", "why", "now", "ask"]
    assert lines[1].startswith("1     Ada Lovelace  Analytical Engines  A      USD ")
    assert "downloaded 'ROI guide' yesterday; grade A" in lines[1]
    assert lines[2].startswith("2     Alan Turing")
    rows = list(
        csv.DictReader(io.StringIO(run("queue", "--database-url", db_url, "-w", slug, "--format", "csv")))
    )
    assert [row["contact_id"] for row in rows] == [
        codec.encode("contact", ada),
        codec.encode("contact", alan),
    ]
    assert rows[0]["why_now"] == "downloaded 'ROI guide' yesterday; grade A"
    data = json.loads(run("queue", "--database-url", db_url, "-w", slug, "--format", "json", "--limit", "1"))
    assert len(data) == 1 and data[0]["name"] == "Ada Lovelace" and data[0]["why_now"][-1] == "grade A"
    mine = json.loads(
        run(
            "queue", "--database-url", db_url, "-w", slug, "--format", "json", "--owner", "Seller@example.com"
        )
    )
    assert [row["name"] for row in mine] == ["Alan Turing"]


def test_bad_input_exits_2_and_an_empty_queue_says_so(
    db: Database, tenant: Tenant, other_tenant: Tenant, db_url: str
) -> None:
    _, _, slug = seed(db, tenant)
    assert "not a member" in run("queue", "--database-url", db_url, "-w", slug, "--owner", "x@y.z", code=2)
    run("queue", "--database-url", db_url, "-w", slug, "--limit", "0", code=2)
    assert "workspace" in run("queue", "--database-url", db_url, "-w", "nope", code=2)
    assert run("queue", "--database-url", db_url, "-w", other_tenant.workspace.slug) == "(none)\n"
