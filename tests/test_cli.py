"""The CLI end to end on a real database: verbs, formats and exit codes (0 done, 1 failed, 2 bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.config import Settings
from leadwell.db.migrate import head_revision
from leadwell.db.models import InstanceSetting
from leadwell.db.session import Database
from leadwell.web.app import create_app

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_init_creates_schema_and_secret_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert f"revision {head_revision(Database(url))}" in run("init", "--database-url", url)
    run("init", "--database-url", url, "--workspace", "acme")
    db = Database(url)
    with db.session() as session:
        secrets = session.scalars(select(InstanceSetting.value)).all()
    assert len(secrets) == 1 and len(secrets[0]) >= 40
    assert "acme" in run("workspace", "list", "--database-url", url)
    db.dispose()


def test_commands_refuse_an_uninitialised_database(tmp_path: Path) -> None:
    output = run("workspace", "list", "--database-url", f"sqlite:///{tmp_path / 'none.db'}", code=1)
    assert "leadwell init" in output


def test_workspace_user_token_flow(db_url: str, db: Database) -> None:
    run("workspace", "add", "Acme Consulting", "--database-url", db_url)
    listed = json.loads(run("workspace", "list", "--database-url", db_url, "--format", "json"))
    assert [w["slug"] for w in listed] == ["acme-consulting"]
    run(
        "user",
        "add",
        "Owner@Example.com",
        "--database-url",
        db_url,
        "-w",
        "acme-consulting",
        "--password",
        "long enough pw",
        "--role",
        "owner",
    )
    run(
        "user",
        "add",
        "seller@example.com",
        "--database-url",
        db_url,
        "-w",
        "acme-consulting",
        "--password",
        "long enough pw",
        "--role",
        "sales",
    )
    csv_out = run("user", "list", "--database-url", db_url, "-w", "acme-consulting", "--format", "csv")
    assert csv_out.splitlines() == [
        "email,name,role",
        "owner@example.com,,owner",
        "seller@example.com,,sales",
    ]
    secret = run(
        "token", "create", "--database-url", db_url, "-w", "acme-consulting", "--name", "zapier"
    ).strip()
    assert secret.startswith("lw_")
    settings = Settings(database_url=db_url, secret_key="cli-test")
    with TestClient(create_app(settings, db)) as client:
        response = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200
        table = run("token", "list", "--database-url", db_url, "-w", "acme-consulting")
        token_id = table.splitlines()[1].split()[0]
        run("token", "revoke", token_id, "--database-url", db_url, "-w", "acme-consulting")
        assert (
            client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
        )


def test_user_add_without_a_terminal_generates_a_password(db_url: str) -> None:
    run("workspace", "add", "Solo", "--database-url", db_url)
    output = run("user", "add", "solo@example.com", "--database-url", db_url, "-w", "solo")
    assert "generated password (shown once): " in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "add", "not-an-email", "--password", "long enough pw"), "email"),
        (("user", "add", "a@example.com", "--password", "short"), "password"),
        (("user", "add", "a@example.com", "--password", "long enough pw", "-w", "missing"), "workspace"),
        (
            ("user", "add", "b@example.com", "--password", "long enough pw", "-w", "dup", "--role", "boss"),
            "role",
        ),
        (("workspace", "add", "Dup"), "slug"),
        (("workspace", "add", "Bad", "--slug", "Not A Slug"), "slug"),
        (("token", "create"), "--workspace"),
        (("token", "create", "-w", "dup", "--scope", "admin"), "scope"),
        (("token", "revoke", "999", "-w", "dup"), "token"),
    ],
)
def test_bad_input_exits_2_naming_the_culprit(db_url: str, args: tuple[str, ...], message: str) -> None:
    run("workspace", "add", "Dup", "--database-url", db_url)
    output = run(*args, "--database-url", db_url, code=2)
    assert message in output


def test_demo_builds_once_and_prints_the_login(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = run("demo", "--database-url", url, "--contacts", "40")
    assert "40 contacts" in first and "demo@leadwell.example / leadwell-demo" in first
    again = run("demo", "--database-url", url, "--contacts", "40")
    assert "already exists" in again and "demo@leadwell.example" in again
    listed = json.loads(run("workspace", "list", "--database-url", url, "--format", "json"))
    assert [w["slug"] for w in listed] == ["demo"]
