"""``leadwell score`` end to end on a real database: recompute, apply, show, explain; bad input exits 2
naming the field."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.models import Engagement
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.scoring.points import window_of
from leadwell.scoring.settings import default_settings
from leadwell.scoring.toml_text import to_toml
from tests import factories
from tests.conftest import TEST_SECRET, Tenant

runner = CliRunner()
SETTINGS = """
half_life_days = 10

[[rules]]
key = "guide"
label = "Downloaded the guide"
event = "asset_downloaded"
points = 20
cap = { points = 20, days = 30, per = "asset" }

[[rules]]
key = "replied"
event = "email_replied"
points = 40
"""


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"LEADWELL_SECRET_KEY": TEST_SECRET})
    assert result.exit_code == code, (args, result.output)
    return result.output


def _downloads_hours_ago(now: datetime) -> int:
    """How many hours ago the first of two downloads an hour apart can be, from 50 up, with both in
    the same cap window of the default rule (365 days) and of :data:`SETTINGS`' (30 days): windows
    are fixed periods, and on one hour of every 30 days a boundary falls between 50 and 49 hours ago."""
    hours = 50
    while any(
        window_of(now - timedelta(hours=hours), days) != window_of(now - timedelta(hours=hours - 1), days)
        for days in (30, 365)
    ):
        hours += 1
    return hours


def seed(db: Database, tenant: Tenant) -> tuple[int, str]:
    """Ada: the guide twice (the cap grants the second nothing) and a reply; Bob: nothing."""
    now = utcnow()
    first = _downloads_hours_ago(now)
    with db.session() as session:
        ada = factories.make_contact(session, tenant.workspace, email="ada@example.com")
        factories.make_contact(session, tenant.workspace)
        for hours, kind, properties in [
            (first, "asset_downloaded", {"asset": "Guide"}),
            (first - 1, "asset_downloaded", {"asset": "Guide"}),
            (2, "email_replied", {}),
            (1, "email_sent", {}),
        ]:
            factories.make_event(session, ada, kind, now - timedelta(hours=hours), properties)
        return ada.id, ada.email or ""


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "scoring.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return path


def test_recompute_apply_and_rescore(db_url: str, db: Database, tenant: Tenant, settings_file: Path) -> None:
    ada, _ = seed(db, tenant)
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    rebuilt = run("score", "--recompute", *base)
    assert re.fullmatch(
        r"rescored 2 contacts with settings version 0: 3 events scored in [0-9.]+ s\n", rebuilt
    ), rebuilt
    with db.session() as session:
        row = session.get(Engagement, ada)
        assert row is not None and 49 < row.score <= 50  # 40 for the reply, 10 for the guide, decayed
    applied = run("score", "apply", str(settings_file), *base)
    assert applied.startswith(
        "scoring settings: version 1 (new version)\nrescored 2 contacts with settings version 1"
    )
    with db.session() as session:
        row = session.get(Engagement, ada)
        assert row is not None and row.version == 1 and 57 < row.score < 58  # the guide now worth 20
    again = run("score", "apply", str(settings_file), *base)
    assert again == "scoring settings: version 1 (unchanged)\nscores stay as they are\n"


def test_show_prints_each_version_as_toml_or_json(db_url: str, tenant: Tenant, settings_file: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert run("score", "show", *base) == to_toml(default_settings().document)
    run("score", "apply", str(settings_file), *base)
    shown = tomllib.loads(run("score", "show", *base))
    assert shown["half_life_days"] == 10 and [rule["key"] for rule in shown["rules"]] == ["guide", "replied"]
    old = json.loads(run("score", "show", "--version", "0", "--format", "json", *base))
    assert old == default_settings().document
    json_file = settings_file.with_suffix(".json")
    json_file.write_text(json.dumps(old), encoding="utf-8")
    assert "version 2 (new version)" in run("score", "apply", str(json_file), *base)
    assert "version: there is no version 9" in run("score", "show", "--version", "9", *base, code=2)


def test_explain_a_contact_in_words(db_url: str, db: Database, tenant: Tenant) -> None:
    ada, email = seed(db, tenant)
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    run("score", "--recompute", *base)
    for who in (email, IdCodec(TEST_SECRET).encode("contact", ada)):
        lines = run("score", "explain", who, *base).splitlines()
        assert re.fullmatch(
            r"engagement 49\.\d now \(settings version 0; points lose half .* every 30 days\)", lines[0]
        )
        assert lines[1] == "3 scored events, oldest first:"
        assert re.search(r"Downloaded — Downloaded a lead magnet: \+10, worth \d+\.\d now$", lines[2])
        assert lines[3].endswith(
            "Downloaded — Downloaded a lead magnet: 0 (cap reached: at most 10 per 365 days per asset)"
        )
        assert re.search(r"Replied to an email — Replied to an email: \+40, worth 39\.\d now$", lines[4])
    assert "CONTACT: not a contact id" in run("score", "explain", "ct_nope", *base, code=2)
    assert "CONTACT: no such contact" in run("score", "explain", "nobody@example.com", *base, code=2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            SETTINGS.replace('event = "email_replied"', 'event = "email_read"'),
            "rules[1].event: unknown event type",
        ),
        (
            SETTINGS.replace('per = "asset"', 'per = "colour"'),
            "rules[0].cap.per: asset_downloaded has no property 'colour'",
        ),
        (SETTINGS.replace("half_life_days = 10", "half_life_days = 0"), "half_life_days:"),
        (SETTINGS + "\n[queue]\nfancy = 1\n", "queue.fancy: unknown key 'fancy'"),
        ("half_life_days = ", "settings: not valid TOML"),
    ],
)
def test_bad_settings_exit_2_naming_the_field(
    db_url: str, tenant: Tenant, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    output = run("score", "apply", str(path), "--database-url", db_url, "-w", tenant.workspace.slug, code=2)
    assert message in output


def test_other_bad_input_exits_2(db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert "FILE" in run("score", "apply", str(tmp_path / "missing.toml"), *base, code=2)
    assert "--workspace" in run("score", "--recompute", "--database-url", db_url, code=2)
    assert "Usage" in run("score", *base, code=2)
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    assert "a JSON object is needed" in run("score", "apply", str(tmp_path / "list.json"), *base, code=2)
