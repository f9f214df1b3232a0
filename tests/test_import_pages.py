"""The import wizard through the real login form: upload, preview, remap, run, summary, errors CSV;
CSRF, workspace isolation, refused uploads and hostile files (in-process client, real database)."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.config import Settings
from leadwell.db.models import Contact, Import
from leadwell.db.session import Database
from leadwell.web.app import create_app
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, make_user, make_workspace
from tests.test_pages import CSRF_RE, Reply

FIXTURES = Path(__file__).parent / "fixtures" / "imports" / "wizard"
PEOPLE = FIXTURES / "people.csv"  # column 3, "Position Held", is auto-mapped to a custom field
PREVIEW_RE = re.compile(r"^/contacts/import/([0-9a-f]{32})$")
SUMMARY_RE = re.compile(r"^/contacts/imports/(\d+)$")


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Uploads go to this test's own directory."""
    return Settings(database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data")


@dataclass(frozen=True)
class Account:
    workspace_id: int
    email: str


def make_account(db: Database, name: str = "Acme", role: str = "marketer") -> Account:
    with db.session() as session:
        workspace = make_workspace(session, name)
        return Account(workspace.id, make_user(session, workspace, role=role).email)


def logged_in(app: FastAPI, account: Account) -> TestClient:
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    form = {"email": account.email, "password": PASSWORD, "csrf_token": token, "next": "/"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return client


def csrf_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def upload(
    client: TestClient,
    content: bytes,
    name: str = "people.csv",
    list_name: str = "Pioneers",
    csrf: str | None = "",
) -> Reply:
    """Post a file to the upload form; ``csrf=""`` takes the form's own token, None sends none."""
    token = csrf_of(client.get("/contacts/import").text) if csrf == "" else csrf
    form = {"list_name": list_name, "region": "US"} | ({"csrf_token": token} if token else {})
    files = {"file": (name, content, "text/csv")}
    return client.post("/contacts/import", data=form, files=files, follow_redirects=False)


def uploaded(client: TestClient, content: bytes = PEOPLE.read_bytes(), **form: str) -> str:
    """Upload a file that is accepted; returns its preview path."""
    response = upload(client, content, **form)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert PREVIEW_RE.match(location)
    return location


def run(client: TestClient, preview: str, choices: dict[str, str] | None = None) -> str:
    """Run the import of an upload with ``choices`` (``column-<n>`` → target); the summary path."""
    form = {"csrf_token": csrf_of(client.get(preview).text)} | (choices or {})
    response = client.post(f"{preview}/run", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert SUMMARY_RE.match(location)
    return location


def figures(page: str) -> dict[str, str]:
    return dict((label, value) for value, label in re.findall(r'class="figure">([^<]+)</span>([^<]+)<', page))


def selected(page: str, column: int) -> str:
    """The option chosen in the select of source column ``column``."""
    select_ = re.search(rf'<select name="column-{column}".*?</select>', page, re.S)
    assert select_, f"no select for column {column}"
    chosen = re.findall(r'<option value="([^"]+)" selected>', select_.group(0))
    assert len(chosen) == 1
    return str(chosen[0])


def stored_files(settings: Settings) -> list[Path]:
    uploads = settings.data_dir / "uploads"
    return sorted(path for path in uploads.rglob("*") if path.is_file()) if uploads.exists() else []


def contact_count(db: Database, workspace_id: int) -> int:
    with db.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Contact).where(Contact.workspace_id == workspace_id)
        )
    return count or 0


# --- the happy path --------------------------------------------------------------------------------


def test_upload_preview_remap_run_and_summary(app: FastAPI, db: Database, settings: Settings) -> None:
    account = make_account(db)
    client = logged_in(app, account)
    contacts = client.get("/contacts")
    assert 'href="/contacts/import"' in contacts.text
    preview_path = uploaded(client)
    # The file waits under the workspace's own directory, named by the token, never by the client.
    [data, sidecar] = sorted(stored_files(settings), key=lambda path: path.suffix)
    assert data.parent == settings.data_dir / "uploads" / str(account.workspace_id)
    assert data.name == preview_path.rsplit("/", 1)[1] + ".csv"
    assert "people.csv" in sidecar.read_text()
    assert data.read_bytes() == PEOPLE.read_bytes()

    preview = client.get(preview_path)
    assert preview.status_code == 200
    for detected in ("<dd>csv</dd>", "<dd>utf-8</dd>", "<dd>comma</dd>", "<dd>generic</dd>"):
        assert detected in preview.text
    assert "<td>Rear Admiral</td>" in preview.text  # the raw rows
    assert selected(preview.text, 1) == "email"
    assert selected(preview.text, 3) == "custom:position_held"
    assert "position_held: Rear Admiral" in preview.text  # the cleaned rows

    token = csrf_of(preview.text)
    headers = {"HX-Request": "true", "HX-Target": "cleaned-preview"}
    partial = client.post(
        f"{preview_path}/preview", data={"csrf_token": token, "column-3": "title"}, headers=headers
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text and "<select" not in partial.text
    assert "<td>Rear Admiral</td>" in partial.text
    assert "position_held" not in partial.text

    summary_path = run(client, preview_path, {"column-3": "title"})
    assert stored_files(settings) == []  # the upload is gone once imported
    summary = client.get(summary_path)
    assert summary.status_code == 200
    counts = figures(summary.text)
    assert counts["Rows read"] == "5" and counts["Created"] == "4" and counts["Rejected"] == "1"
    assert counts["Organizations created"] == "4"
    with db.session() as session:
        grace = session.scalars(select(Contact).where(Contact.email == "grace@navy.example")).one()
        assert (grace.first_name, grace.last_name, grace.title) == ("Grace", "Hopper", "Rear Admiral")
        assert grace.source == "Pioneers" and grace.workspace_id == account.workspace_id
        assert grace.custom == {"favourite_colour": "blue"}
        assert grace.phones == ["+12025550143"]
    assert 'href="/contacts?source=Pioneers"' in summary.text
    listed = client.get("/contacts?source=Pioneers")
    assert "Grace Hopper" in listed.text and "4 contacts" in listed.text
    recent = client.get("/contacts/import")
    assert f'href="{summary_path}">people.csv</a>' in recent.text


def test_refresh_preview_without_javascript_shows_the_whole_page(app: FastAPI, db: Database) -> None:
    client = logged_in(app, make_account(db))
    preview_path = uploaded(client)
    token = csrf_of(client.get(preview_path).text)
    page = client.post(f"{preview_path}/preview", data={"csrf_token": token, "column-3": "title"})
    assert page.status_code == 200
    assert "<html" in page.text
    assert selected(page.text, 3) == "title"
    assert "<td>Rear Admiral</td>" in page.text.split('id="cleaned-rows"')[1]


def test_running_the_same_file_again_creates_nothing_new(app: FastAPI, db: Database) -> None:
    account = make_account(db)
    client = logged_in(app, account)
    first = figures(client.get(run(client, uploaded(client), {"column-3": "title"})).text)
    assert first["Created"] == "4"
    again = figures(client.get(run(client, uploaded(client), {"column-3": "title"})).text)
    assert again["Created"] == "0" and again["Organizations created"] == "0"
    assert again["Unchanged"] == "4"
    assert contact_count(db, account.workspace_id) == 4


def test_rejected_rows_are_listed_and_downloadable_with_line_numbers(app: FastAPI, db: Database) -> None:
    client = logged_in(app, make_account(db))
    summary_path = run(client, uploaded(client))
    summary = client.get(summary_path)
    rows = re.findall(r'<td class="number">(\d+)</td><td>([^<]*)</td>\s*<td>(\w+)</td>', summary.text)
    assert ("5", "", "rejected") in rows and ("5", "Email", "warning") in rows
    assert f'href="{summary_path}/issues.csv"' in summary.text
    download = client.get(f"{summary_path}/issues.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(download.text)))
    assert {(line["line"], line["severity"]) for line in lines} == {("5", "warning"), ("5", "rejected")}
    assert any(line["value"] == "not-an-email" for line in lines)


def test_issues_page_a_hundred_at_a_time(app: FastAPI, db: Database) -> None:
    client = logged_in(app, make_account(db))
    # Each row has a bad email and no name: one warning and one rejection, 130 issues in all.
    content = "Email,Name\n" + "".join(f"broken{n},\n" for n in range(65)) + "ada@example.com,Ada Lovelace\n"
    summary_path = run(client, uploaded(client, content.encode()))
    first = client.get(summary_path)
    assert "Issues (130)" in first.text, re.findall(r"<h2>.*?</h2>|figure\">.*?<", first.text, re.S)
    assert first.text.count('<td class="number">') == 100
    match = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first.text)
    assert match
    second = client.get(match.group(1).replace("&amp;", "&"))
    assert second.text.count('<td class="number">') == 30
    assert 'rel="next"' not in second.text and "First page" in second.text
    lines = [int(n) for n in re.findall(r'<td class="number">(\d+)</td>', first.text + second.text)]
    assert lines == sorted(lines) and lines[0] == 2 and lines[-1] == 66
    assert len(list(csv.reader(io.StringIO(client.get(f"{summary_path}/issues.csv").text)))) == 131


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_posts_without_the_csrf_token_are_refused(
    app: FastAPI, db: Database, settings: Settings, token: str | None
) -> None:
    account = make_account(db)
    client = logged_in(app, account)
    assert upload(client, PEOPLE.read_bytes(), csrf=token).status_code == 403
    assert stored_files(settings) == []
    preview_path = uploaded(client)
    form = {"column-3": "title"} | ({"csrf_token": token} if token else {})
    assert client.post(f"{preview_path}/preview", data=form).status_code == 403
    assert client.post(f"{preview_path}/run", data=form).status_code == 403
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Import)) == 0
    assert contact_count(db, account.workspace_id) == 0
    assert len(stored_files(settings)) == 2  # still waiting to be imported


def test_another_workspace_cannot_reach_an_upload_or_an_import(app: FastAPI, db: Database) -> None:
    owner = logged_in(app, make_account(db, "Acme"))
    rival_account = make_account(db, "Rival")
    rival = logged_in(app, rival_account)
    waiting = uploaded(owner)
    summary_path = run(owner, uploaded(owner))
    token = csrf_of(rival.get("/contacts/import").text)
    assert rival.get(waiting).status_code == 404
    assert rival.post(f"{waiting}/preview", data={"csrf_token": token}).status_code == 404
    assert rival.post(f"{waiting}/run", data={"csrf_token": token}).status_code == 404
    assert rival.get(summary_path).status_code == 404
    assert rival.get(f"{summary_path}/issues.csv").status_code == 404
    assert "people.csv" not in rival.get("/contacts/import").text
    assert contact_count(db, rival_account.workspace_id) == 0
    assert owner.get(waiting).status_code == 200  # still there for its owner
    for path in ("/contacts/import/..%2F..%2Fsecret", "/contacts/import/" + "0" * 32, "/contacts/imports/x1"):
        assert owner.get(path).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("people.pdf", b"%PDF-1.4 not a table", "leadwell imports .csv, .tsv, .txt, .xlsx files"),
        ("people.csv", b"", "people.csv is empty"),
        ("", b"", "Choose a file to import."),
    ],
)
def test_refused_uploads_get_the_form_back_with_a_reason(
    app: FastAPI, db: Database, settings: Settings, name: str, content: bytes, message: str
) -> None:
    client = logged_in(app, make_account(db))
    response = upload(client, content, name=name, list_name="Webinar <May>")
    assert response.status_code == 422
    assert message in response.text
    assert 'id="upload-form"' in response.text and 'value="Webinar &lt;May&gt;"' in response.text
    assert stored_files(settings) == []


def test_an_upload_over_the_limit_is_413(settings: Settings, db: Database) -> None:
    app = create_app(settings.model_copy(update={"max_upload_bytes": 2048}), db)
    client = logged_in(app, make_account(db))
    big = b"Email\n" + b"".join(b"person%d@example.com\n" % n for n in range(300))
    assert upload(client, big).status_code == 413
    assert stored_files(settings) == []
    assert upload(client, PEOPLE.read_bytes()).status_code == 303  # small files still pass


def test_a_file_that_is_no_table_gets_a_friendly_page(app: FastAPI, db: Database) -> None:
    client = logged_in(app, make_account(db))
    preview_path = uploaded(client, b"%PDF-1.4\n%binary", name="report.csv")
    page = client.get(preview_path)
    assert page.status_code == 422
    assert "report.csv is a PDF document, not a table" in page.text
    assert 'href="/contacts/import"' in page.text


def test_one_field_chosen_for_two_columns_is_refused(app: FastAPI, db: Database) -> None:
    account = make_account(db)
    client = logged_in(app, account)
    preview_path = uploaded(client)
    form = {"csrf_token": csrf_of(client.get(preview_path).text), "column-3": "email"}
    response = client.post(f"{preview_path}/run", data=form)
    assert response.status_code == 422
    assert "“Email” is chosen for both “Email” and “Position Held”" in response.text
    assert contact_count(db, account.workspace_id) == 0


def test_hostile_cells_are_shown_as_text(app: FastAPI, db: Database) -> None:
    client = logged_in(app, make_account(db))
    preview_path = uploaded(client, (FIXTURES / "hostile.csv").read_bytes(), list_name="<i>list</i>")
    preview = client.get(preview_path)
    summary = client.get(run(client, preview_path))
    for page in (preview.text, summary.text, client.get("/contacts/import").text):
        assert "<script>" not in page and "<img" not in page and "<b>" not in page and "<i>list" not in page
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in preview.text
    assert "&lt;b&gt;Notes&lt;/b&gt;" in preview.text
    assert "&lt;i&gt;list&lt;/i&gt;" in summary.text
    assert "&lt;img src=x onerror=alert(3)&gt;" in preview.text  # an issue's value, in both pages
    assert "&lt;img src=x onerror=alert(3)&gt;" in summary.text


def test_an_upload_runs_once(app: FastAPI, db: Database) -> None:
    account = make_account(db, role="sales")  # any role may import
    client = logged_in(app, account)
    preview_path = uploaded(client)
    token = csrf_of(client.get(preview_path).text)
    run(client, preview_path)
    again = client.post(f"{preview_path}/run", data={"csrf_token": token})
    assert again.status_code == 404
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Import)) == 1


def test_a_mapping_that_identifies_nobody_is_refused_and_the_file_kept(
    app: FastAPI, db: Database, settings: Settings
) -> None:
    account = make_account(db)
    client = logged_in(app, account)
    preview_path = uploaded(client)
    nobody = {f"column-{n}": "ignore" for n in (0, 1, 4)}
    form = {"csrf_token": csrf_of(client.get(preview_path).text)} | nobody
    refreshed = client.post(f"{preview_path}/preview", data=form)
    assert "No column identifies a person yet" in refreshed.text
    response = client.post(f"{preview_path}/run", data=form)
    assert response.status_code == 422
    assert "The import stopped: no column could identify a person" in response.text
    assert contact_count(db, account.workspace_id) == 0
    assert len(stored_files(settings)) == 2
    assert client.get(preview_path).status_code == 200  # still there, to map again


def test_uploads_left_for_days_are_swept_away(app: FastAPI, db: Database, settings: Settings) -> None:
    client = logged_in(app, make_account(db))
    old_preview = uploaded(client)
    long_ago = time.time() - 3 * 24 * 3600
    for path in stored_files(settings):
        os.utime(path, (long_ago, long_ago))
    fresh_preview = uploaded(client)
    assert client.get(old_preview).status_code == 404
    assert client.get(fresh_preview).status_code == 200
    assert len(stored_files(settings)) == 2


def test_an_excel_workbook_goes_through_the_wizard(app: FastAPI, db: Database, tmp_path: Path) -> None:
    import openpyxl  # type: ignore[import-untyped, unused-ignore]

    account = make_account(db)
    client = logged_in(app, account)
    book = openpyxl.Workbook()
    book.active.append(["First name", "Last name", "Work email"])
    book.active.append(["Hedy", "Lamarr", "hedy@frequency.example"])
    book.save(tmp_path / "people.xlsx")
    preview_path = uploaded(client, (tmp_path / "people.xlsx").read_bytes(), name="People.XLSX")
    preview = client.get(preview_path)
    assert "<dd>xlsx</dd>" in preview.text and "Encoding" not in preview.text
    assert selected(preview.text, 2) == "email"
    assert figures(client.get(run(client, preview_path)).text)["Created"] == "1"
    assert contact_count(db, account.workspace_id) == 1
