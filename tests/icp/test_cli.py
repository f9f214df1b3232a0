"""``leadwell icp`` end to end on a real database, and the fit columns of ``leadwell export contacts``."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.contacts.export import export_contacts
from leadwell.db.session import Database
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import Tenant

runner = CliRunner()
PROFILE = """
slug = "consulting"
name = "Complex consulting projects"
[[must]]
field = "organization.employees"
op = "gte"
value = 100
[[must]]
field = "custom.roi_months"
op = "lte"
value = "3 months"
[[nice]]
field = "contact.title"
op = "matches"
value = "(?i)cto|chief technology"
weight = 30
[[nice]]
field = "contact.country"
op = "in"
value = ["DE"]
[avatar]
roles = ["CTO"]
"""


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def seed(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        ws = tenant.workspace
        big = factories.make_organization(session, ws, employees=150)
        straddling = factories.make_organization(session, ws, employees_min=50, employees_max=250)
        factories.make_contact(
            session, ws, organization_id=big.id, title="CTO", country="DE", custom={"roi_months": 2}
        )
        factories.make_contact(session, ws, organization_id=straddling.id, custom={"roi_months": "1 year"})
        factories.make_contact(session, ws, organization_id=straddling.id, title="Chief Technology Officer")


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "consulting.toml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


def test_apply_grades_and_versions(db_url: str, db: Database, tenant: Tenant, profile: Path) -> None:
    seed(db, tenant)
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    first = run("icp", "apply", str(profile), *base)
    assert "consulting: version 1 (created)" in first
    assert "graded 3 contacts" in first and "A 1, B 1, C 0, D 0, E 0, F 1" in first
    assert "consulting: version 1 (unchanged)" in run("icp", "apply", str(profile), *base)
    profile.write_text(PROFILE.replace("value = 100", "value = 200"), encoding="utf-8")
    second = run("icp", "apply", str(profile), *base)
    assert "version 2 (new version)" in second and "(1 changed grade)" in second
    listed = json.loads(run("icp", "list", *base, "--format", "json"))
    assert listed == [
        {"slug": "consulting", "name": "Complex consulting projects", "version": 2}
        | {"A": 0, "B": 1, "C": 0, "D": 0, "E": 0, "F": 2}
    ]
    table = run("icp", "list", *base)
    assert table.splitlines()[0].split() == ["slug", "name", "version", "A", "B", "C", "D", "E", "F"]
    assert run("icp", "list", *base, "--format", "csv").splitlines()[1].startswith("consulting,")


def test_show_prints_each_version(db_url: str, tenant: Tenant, profile: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    run("icp", "apply", str(profile), *base)
    profile.write_text(PROFILE.replace('["DE"]', '["DE", "AT"]'), encoding="utf-8")
    run("icp", "apply", str(profile), *base)
    shown = tomllib.loads(run("icp", "show", "consulting", *base))
    assert shown["nice"][1]["value"] == ["DE", "AT"] and shown["grades"]["A"] == 80
    assert shown["avatar"] == {"roles": ["CTO"]}
    old = json.loads(run("icp", "show", "consulting", "--version", "1", "--format", "json", *base))
    assert old["nice"][1]["value"] == ["DE"]
    assert "version" in run("icp", "show", "consulting", "--version", "9", *base, code=2)


def test_grade_one_or_every_profile(db_url: str, db: Database, tenant: Tenant, profile: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert "no profiles" in run("icp", "grade", *base)
    run("icp", "apply", str(profile), *base)
    seed(db, tenant)
    graded = run("icp", "grade", "consulting", *base)
    assert "consulting (version 1): graded 3 contacts in " in graded and "A 1" in graded
    assert "consulting (version 1)" in run("icp", "grade", *base)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PROFILE.replace('op = "gte"', 'op = "bigger"'), "must[0].op: unknown operator 'bigger'"),
        (PROFILE.replace('field = "contact.title"', 'field = "contact.hat"'), "nice[0].field: unknown field"),
        (PROFILE.replace('value = "3 months"', 'value = "soon"'), "must[1].value: 'soon' is not a number"),
        (PROFILE.replace("(?i)cto", "(?m)cto"), "nice[0].value: only (?: ) groups and one leading (?i)"),
        (PROFILE.replace("[avatar]", "[avatar]\nhobbies = []"), "avatar.hobbies: unknown key 'hobbies'"),
        ("slug = ", "file: not valid TOML"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    db_url: str, tenant: Tenant, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    output = run("icp", "apply", str(path), "--database-url", db_url, "-w", tenant.workspace.slug, code=2)
    assert message in output


def test_other_bad_input_exits_2(db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    assert "FILE" in run("icp", "apply", str(tmp_path / "missing.toml"), *base, code=2)
    assert "slug" in run("icp", "show", "nope", *base, code=2)
    assert "slug" in run("icp", "grade", "nope", *base, code=2)
    assert "--workspace" in run("icp", "list", "--database-url", db_url, code=2)


def test_an_uninitialised_database_fails_with_1(tmp_path: Path, profile: Path) -> None:
    output = run("icp", "apply", str(profile), "--database-url", f"sqlite:///{tmp_path / 'x.db'}", code=1)
    assert "leadwell init" in output


def test_export_has_the_fit_columns(
    db_url: str, db: Database, tenant: Tenant, profile: Path, codec: IdCodec, tmp_path: Path
) -> None:
    seed(db, tenant)
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    run("icp", "apply", str(profile), *base)
    out = io.StringIO()
    with db.session() as session:
        export_contacts(session.connection(), codec, tenant.workspace.id, out)
    rows = {row["title"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    best = rows["CTO"]
    assert (best["grade"], best["fit_score"], best["qualified_out"]) == ("A", "100", "false")
    assert best["fit_reasons"] == (
        "employees ≥ 100: met; roi_months ≤ 90 days: met; "
        "title matches (?i)cto|chief technology: met; country in DE: met"
    )
    out_of_it = rows[""]
    assert (out_of_it["grade"], out_of_it["qualified_out"]) == ("F", "true")
    assert out_of_it["fit_reasons"].startswith("employees ≥ 100: unknown (range 50–250 straddles 100); ")
    path = tmp_path / "all.csv"
    assert "3 contacts" in run("export", "contacts", "--out", str(path), "--icp", "consulting", *base)
    assert "grade" in path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "--icp" in run("export", "contacts", "--out", str(path), "--icp", "nope", *base, code=2)


def test_export_without_a_profile_leaves_the_fit_columns_empty(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    seed(db, tenant)
    out = io.StringIO()
    with db.session() as session:
        export_contacts(session.connection(), codec, tenant.workspace.id, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 3 and all(row["grade"] == row["fit_reasons"] == "" for row in rows)
