"""``leadwell export audience``: targeting spec, A-grade customer seed and exclusion list, hashed."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.session import Database
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
[avatar]
roles = ["CTO", "Head of IT"]
industries = ["Software"]
company_sizes = ["100-250"]
locations = ["US", "San Diego, US"]
age_min = 30
age_max = 55
interests = ["Cloud computing"]
"""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def seed_people(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        ws = tenant.workspace
        big = factories.make_organization(session, ws, name="Big Co", employees=150)
        small = factories.make_organization(session, ws, name="Small Co", employees=5)
        # An A-grade customer by stage, and one by a won deal: both seed, both excluded.
        factories.make_contact(
            session,
            ws,
            first_name="Ann",
            last_name="Won",
            email=" Ann.Won@BigCo.example ",
            phones=["+14155550100"],
            organization_id=big.id,
            stage="customer",
            city="San Diego",
            region="California",
            postal_code="92101-1234",
            country="US",
        )
        dealer = factories.make_contact(
            session, ws, first_name="Dee", last_name="Deal", organization_id=big.id
        )
        factories.make_deal(session, dealer, status="won")
        # A customer who does not fit: excluded, never a seed.
        factories.make_contact(
            session, ws, first_name="Cy", last_name="Small", organization_id=small.id, stage="customer"
        )
        # Qualified out, not a customer: excluded. A good lead: neither.
        factories.make_contact(session, ws, first_name="Out", last_name="Side", organization_id=small.id)
        factories.make_contact(session, ws, first_name="Lee", last_name="Lead", organization_id=big.id)


def test_meta_audience_files(db_url: str, db: Database, tenant: Tenant, tmp_path: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    seed_people(db, tenant)
    (tmp_path / "p.toml").write_text(PROFILE, encoding="utf-8")
    assert runner.invoke(app, ["icp", "apply", str(tmp_path / "p.toml"), *base]).exit_code == 0
    out = tmp_path / "aud"
    result = runner.invoke(app, ["export", "audience", "--platform", "meta", "--out", str(out), *base])
    assert result.exit_code == 0, result.output
    assert "(2 A-grade customers)" in result.output and "(4 customers and qualified out)" in result.output
    spec = json.loads((tmp_path / "aud-targeting.json").read_text(encoding="utf-8"))
    assert spec["platform"] == "meta" and spec["age_min"] == 30 and spec["age_max"] == 55
    assert spec["geo_locations"]["countries"] == ["US"]
    seeds = rows(tmp_path / "aud-seed.csv")
    ann = next(row for row in seeds if row["fn"] == digest("ann"))
    assert ann["email"] == digest("ann.won@bigco.example")
    assert ann["phone"] == digest("14155550100")
    assert ann["ct"] == digest("sandiego") and ann["st"] == digest("ca") and ann["zip"] == digest("92101")
    assert ann["country"] == digest("us")
    excluded = {row["fn"] for row in rows(tmp_path / "aud-exclude.csv")}
    assert excluded == {digest(name) for name in ("ann", "dee", "cy", "out")}


def test_linkedin_and_refusals(db_url: str, db: Database, tenant: Tenant, tmp_path: Path) -> None:
    base = ("--database-url", db_url, "-w", tenant.workspace.slug)
    seed_people(db, tenant)
    none = runner.invoke(
        app, ["export", "audience", "--platform", "meta", "--out", str(tmp_path / "x"), *base]
    )
    assert none.exit_code == 2 and "--icp" in none.output
    (tmp_path / "p.toml").write_text(PROFILE, encoding="utf-8")
    runner.invoke(app, ["icp", "apply", str(tmp_path / "p.toml"), *base])
    bad = runner.invoke(
        app, ["export", "audience", "--platform", "tiktok", "--out", str(tmp_path / "x"), *base]
    )
    assert bad.exit_code == 2 and "--platform" in bad.output
    ok = runner.invoke(
        app, ["export", "audience", "--platform", "linkedin", "--out", str(tmp_path / "li"), *base]
    )
    assert ok.exit_code == 0, ok.output
    seeds = rows(tmp_path / "li-seed.csv")
    assert sorted(row["firstname"] for row in seeds) == ["Ann", "Dee"]
    assert {row["employeecompany"] for row in seeds} == {"Big Co"}
    spec = json.loads((tmp_path / "li-targeting.json").read_text(encoding="utf-8"))
    assert spec["platform"] == "linkedin" and "jobTitles" in spec
    (tmp_path / "p.toml").write_text(PROFILE.split("[avatar]")[0], encoding="utf-8")
    runner.invoke(app, ["icp", "apply", str(tmp_path / "p.toml"), *base])
    plain = runner.invoke(
        app, ["export", "audience", "--platform", "meta", "--out", str(tmp_path / "y"), *base]
    )
    assert plain.exit_code == 2 and "avatar" in plain.output
