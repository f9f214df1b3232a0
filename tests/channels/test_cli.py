"""``leadwell channel …`` and ``leadwell spend …`` through the main app: exit 0 when done, 2 for bad
input with a message naming the line, column or option."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from leadwell.cli import app as cli
from leadwell.db.models import Spend
from leadwell.db.session import Database
from tests.channels.test_spend_import import GOOGLE, META
from tests.conftest import Tenant
from tests.factories import make_contact

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def _common(db_url: str, tenant: Tenant) -> tuple[str, ...]:
    return ("--database-url", db_url, "-w", tenant.workspace.slug)


def test_channel_commands(db: Database, db_url: str, tenant: Tenant) -> None:
    common = _common(db_url, tenant)
    with db.session() as session:
        make_contact(session, tenant.workspace, source="Podcast")
        make_contact(session, tenant.workspace, source="podcast")
    listed = json.loads(run("channel", "list", *common, "--format", "json"))
    assert len(listed) == 10 and listed[4] == {
        "name": "Facebook",
        "kind": "paid_social",
        "sources": "facebook facebook.com fb m.facebook.com meta",
        "campaigns": "",
    }
    assert json.loads(run("channel", "unmapped", *common, "--format", "json")) == [
        {"key": "podcast", "contacts": 2}
    ]
    assert "channel Podcast ads (paid_social)" in run(
        "channel", "add", "Podcast ads", "--kind", "paid_social", "--source", "pod", *common
    )
    assert "podcast → Podcast ads" in run("channel", "map", "PODCAST", "podcast ads", *common)
    assert run("channel", "unmapped", *common) == "(none)\n"
    refused = run("channel", "map", "fb", "Podcast ads", *common, code=2)
    assert "key: source key 'fb' already maps to channel 'Facebook'" in refused
    assert "kind: 'tv' is not one of" in run("channel", "add", "TV", "--kind", "tv", *common, code=2)
    assert "channel: no channel named 'Radio'" in run("channel", "map", "radio", "Radio", *common, code=2)


def test_spend_commands(db: Database, db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    common = _common(db_url, tenant)
    export = tmp_path / "google.tsv"
    export.write_bytes(GOOGLE.encode("utf-16"))
    dry = run("spend", "import", str(export), "--dry-run", *common)
    assert "google export: would store 3 rows, replaced 0, skipped 1" in dry
    first = run("spend", "import", str(export), *common)
    assert "google export: stored 3 rows, replaced 0, skipped 1 (blank, zero or total)" in first
    assert "total USD 1,107.50" in first
    again = run("spend", "import", str(export), "--platform", "google", *common)
    assert "stored 0 rows, replaced 3" in again
    meta = tmp_path / "meta.csv"
    meta.write_text(META.replace("980.10", "9x"))
    assert "line 3, Amount spent (EUR): '9x' is not an amount" in run(
        "spend", "import", str(meta), *common, code=2
    )
    added = run(
        "spend",
        "add",
        "--channel",
        "events & speaking",
        "--amount",
        "1,500",
        "--from",
        "2026-03-05",
        "--campaign",
        "Leeds seminar",
        "--description",
        "speaking fee",
        *common,
    )
    assert "Events & speaking USD 1,500.00 2026-03-05–2026-03-05" in added  # "1,500": fifteen hundred
    run(
        "spend",
        "add",
        "--channel",
        "Events & speaking",
        "--amount",
        "1500",
        "--currency",
        "gbp",
        "--from",
        "2026-03-06",
        *common,
    )
    assert "--amount: 'lots' is not an amount" in run(
        "spend", "add", "--channel", "Google", "--amount", "lots", "--from", "2026-03-01", *common, code=2
    )
    assert "--from: '3 March' is not a date" in run(
        "spend", "add", "--channel", "Google", "--amount", "5", "--from", "3 March", *common, code=2
    )
    rows = json.loads(
        run("spend", "list", "--from", "2026-03-02", "--to", "2026-03-06", "--format", "json", *common)
    )
    # Google 2026-03-02 (Brand 12.40, ROI 1,050.00), the two typed-in rows of 03-05 and 03-06.
    assert [(r["channel"], r["from"], r["amount"], r["currency"]) for r in rows] == [
        ("Google", "2026-03-02", "12.40", "USD"),
        ("Google", "2026-03-02", "1050.00", "USD"),
        ("Events & speaking", "2026-03-05", "1500.00", "USD"),
        ("Events & speaking", "2026-03-06", "1500.00", "GBP"),
    ]
    with db.session() as session:
        usd = session.scalar(select(func.sum(Spend.amount)).where(Spend.currency == "USD"))
        assert usd == Decimal("2607.50")  # Google 45.10 + 1,050.00 + 12.40, once; the fee 1,500.00
