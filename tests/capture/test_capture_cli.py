"""``leadwell capture`` end to end on a real database: adding a PDF magnet, listing magnets, forms and
pages in every format, importing attendance (twice), and the exit codes of bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from leadwell.capture.assets import AssetInput, create_asset
from leadwell.capture.form_defs import FormInput, create_form, default_fields
from leadwell.capture.page_defs import PageInput, create_page
from leadwell.cli import app
from leadwell.db.session import Database
from tests.capture.test_assets import pdf_bytes
from tests.capture.test_attendance import FIXTURES
from tests.conftest import Tenant

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["capture", *args])
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_magnet_add_then_list_in_every_format(db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    paper = tmp_path / "playbook.pdf"
    paper.write_bytes(pdf_bytes(12))
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    added = run("magnet-add", str(paper), "--title", "The ROI Playbook", *common)
    assert added.startswith("the-roi-playbook: PDF") and "12 pages" in added
    again = run("magnet-add", str(paper), "--title", "The ROI Playbook", *common, code=2)
    assert "already taken" in again
    table = run("magnets", *common)
    assert "the-roi-playbook" in table and "views 0 > submitted 0 > downloaded 0" in table
    rows = list(csv.DictReader(io.StringIO(run("magnets", *common, "--format", "csv"))))
    assert [(r["slug"], r["kind"], r["pages"]) for r in rows] == [("the-roi-playbook", "pdf", "12")]
    data = json.loads(run("magnets", *common, "--format", "json", "--period", "all"))
    assert data[0]["title"] == "The ROI Playbook" and data[0]["archived"] is False
    assert "--period: one of" in run("magnets", *common, "--period", "7", code=2)


def test_bad_files_and_options_exit_2(db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"<html>nope</html>")
    assert "not a PDF" in run("magnet-add", str(fake), "--title", "Fake", *common, code=2)
    assert "does not exist" in run(
        "magnet-add", str(tmp_path / "missing.pdf"), "--title", "x", *common, code=2
    )
    assert "no workspace" in run("magnets", "--database-url", db_url, "-w", "nobody", code=2)
    assert "--workspace" in run("forms", "--database-url", db_url, code=2)


def test_forms_and_pages_are_listed(db: Database, db_url: str, tenant: Tenant) -> None:
    with db.session() as session:
        form = create_form(
            session, tenant.workspace.id,
            FormInput("Newsletter", fields=default_fields(), consent_text="Yes, email me.",
                      allowed_origins="https://www.example.com"),
        )  # fmt: skip
        create_page(session, tenant.workspace.id, PageInput("Join us", form=form.slug, published=False))
    common = ("--database-url", db_url, "-w", tenant.workspace.slug)
    forms = json.loads(run("forms", *common, "--format", "json"))
    assert forms == [
        {
            "slug": "newsletter", "name": "Newsletter", "magnet": None,
            "fields": "email first_name last_name", "consent": "optional",
            "allowed_origins": "https://www.example.com", "archived": False,
        }
    ]  # fmt: skip
    pages = list(csv.DictReader(io.StringIO(run("pages", *common, "--format", "csv"))))
    assert pages == [
        {
            "slug": "join-us",
            "title": "Join us",
            "path": "/p/join-us",
            "form": "newsletter",
            "published": "False",
        }
    ]


def test_attendance_import_and_reimport(db: Database, db_url: str, tenant: Tenant) -> None:
    with db.session() as session:
        clinic = AssetInput(
            "webinar",
            "ROI clinic",
            starts_at="2026-11-10T15:00+01:00",
            duration_minutes="60",
            location="Online",
        )
        create_asset(session, tenant.workspace.id, clinic, None, 0)
    common = ("--database-url", db_url, "-w", tenant.workspace.slug, "--asset", "roi-clinic")
    zoom = str(FIXTURES / "zoom_attendee_report.csv")
    first = run("attendance", zoom, *common)
    assert "zoom export, 4 people listed" in first
    assert "matched 0, created 4, attended 3" in first
    assert "events added 7" in first
    assert "line 18: 'not-an-address' is not an email address" in first
    second = json.loads(run("attendance", zoom, *common, "--format", "json"))
    assert (second["matched"], second["created"], second["events_added"]) == (4, 0, 0)
    assert second["rejected"] == [{"line": 18, "reason": "'not-an-address' is not an email address"}]
    wrong = run(
        "attendance", zoom, "--database-url", db_url, "-w", tenant.workspace.slug, "--asset", "nope", code=2
    )
    assert "no magnet 'nope'" in wrong
