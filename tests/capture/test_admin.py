"""The Capture section over HTTP with a real login: who may use it, CSRF on every POST, building a
magnet, a form, a landing page and a tracking site, refusals shown with the field marked, the
numbers and the people behind them (with CSV), and the attendance upload."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.capture.assets import AssetInput, create_asset
from leadwell.capture.form_defs import FormInput, create_form, default_fields
from leadwell.db.models import Asset, Event, Form, FormSubmission, LandingPage, TrackingSite, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from tests.capture.test_assets import PNG, pdf_bytes
from tests.capture.test_attendance import FIXTURES
from tests.factories import make_contact
from tests.test_pages import Account, csrf_of, logged_in, make_account


@pytest.fixture
def owner(db: Database) -> Account:
    return make_account(db, "Acme", role="owner")


@pytest.fixture
def client(app: FastAPI, owner: Account) -> TestClient:
    return logged_in(app, owner.email)


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def upload_pdf(client: TestClient, title: str, content: bytes) -> object:
    token = csrf_of(client.get("/capture/assets/new?kind=pdf").text)
    return client.post(
        "/capture/assets/new",
        data={"csrf_token": token, "kind": "pdf", "title": title, "slug": ""},
        files={"file": ("paper.pdf", content, "application/pdf")},
        follow_redirects=False,
    )


def test_only_owners_and_marketers_use_capture(app: FastAPI, db: Database) -> None:
    anonymous = TestClient(app).get("/capture", follow_redirects=False)
    assert anonymous.headers["location"] == "/login?next=/capture"
    seller = make_account(db, "Sales Co", role="sales")
    refused = logged_in(app, seller.email).get("/capture")
    assert refused.status_code == 403 and "owners and marketers" in refused.text
    marketer = make_account(db, "Mkt Co", role="marketer")
    page = logged_in(app, marketer.email).get("/capture")
    assert page.status_code == 200 and '/capture" aria-current="page"' in page.text


def test_posts_without_the_csrf_token_are_refused(client: TestClient, db: Database) -> None:
    for path in ("/capture/assets/new", "/capture/forms/new", "/capture/pages/new", "/capture/sites/new"):
        reply = client.post(path, data={"title": "x", "name": "x", "csrf_token": "forged"})
        assert reply.status_code == 403, path
    assert count(db, Asset) + count(db, Form) + count(db, LandingPage) + count(db, TrackingSite) == 0


def test_a_pdf_magnet_is_uploaded_and_a_bad_one_refused(client: TestClient, db: Database) -> None:
    created = upload_pdf(client, "The ROI Playbook", pdf_bytes(9))
    assert created.status_code == 303  # type: ignore[attr-defined]
    assert created.headers["location"] == "/capture/assets/the-roi-playbook?done=created"  # type: ignore[attr-defined]
    page = client.get("/capture/assets/the-roi-playbook?done=created").text
    assert "Magnet created." in page and "9 pages" in page
    bad = upload_pdf(client, "Broken", b"%PDF-1.4 garbage")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    text = html.unescape(bad.text)  # type: ignore[attr-defined]
    assert "Not saved: file: the PDF is damaged" in text
    assert re.search(r'name="file"[^>]*aria-invalid="true"', text)
    assert 'value="Broken"' in text  # the draft comes back
    assert count(db, Asset) == 1


def test_a_form_is_built_with_a_row_added_and_a_mistake_marked(
    client: TestClient, db: Database, owner: Account
) -> None:
    upload_pdf(client, "ROI paper", pdf_bytes(2))
    token = csrf_of(client.get("/capture/forms/new?asset=roi-paper").text)
    draft = {
        "csrf_token": token, "name": "Get the paper", "slug": "",
        "fields[0].key": "email", "fields[0].label": "Email", "fields[0].type": "email",
        "fields[0].maps_to": "email", "fields[0].required": "on", "fields[0].options": "",
        "consent_text": "I agree to hear from Acme.", "consent_required": "on", "asset": "roi-paper",
        "allowed_origins": "https://www.example.com/", "submit_label": "Send it", "thank_you": "",
        "min_fill_seconds": "3", "per_ip_per_hour": "20", "per_form_per_minute": "120", "source": "",
    }  # fmt: skip
    added = client.post("/capture/forms/new", data={**draft, "action": "add-field"})
    assert added.status_code == 200 and 'name="fields[1].key"' in added.text
    wrong = client.post(
        "/capture/forms/new", data={**draft, "allowed_origins": "www.example.com/x", "action": "save"}
    )
    assert wrong.status_code == 422
    assert "allowed_origins[0]" in html.unescape(wrong.text)
    assert re.search(r'name="allowed_origins"[^>]*aria-invalid="true"', wrong.text)
    saved = client.post("/capture/forms/new", data={**draft, "action": "save"}, follow_redirects=False)
    assert saved.headers["location"] == "/capture/forms/get-the-paper?done=created"
    page = html.unescape(client.get("/capture/forms/get-the-paper").text)
    assert '<div data-leadwell-form="get-the-paper"></div>' in page
    assert '<script src="http://testserver/f/get-the-paper/embed.js" async></script>' in page
    with db.session() as session:
        form = session.scalar(select(Form))
        assert form is not None
        assert (form.allowed_origins, form.consent_required, form.submit_label) == (
            ["https://www.example.com"], True, "Send it",
        )  # fmt: skip
    other = make_account(db, "Other")
    clash = logged_in(client.app, other.email)  # type: ignore[arg-type]
    token = csrf_of(clash.get("/capture/forms/new").text)
    taken = clash.post(
        "/capture/forms/new", data={**draft, "csrf_token": token, "asset": "", "action": "save"}
    )
    assert taken.status_code == 409 and "already taken" in html.unescape(taken.text)


def test_a_landing_page_previews_its_markdown_safely(client: TestClient, db: Database) -> None:
    token = csrf_of(client.get("/capture/pages/new").text)
    body = "# Payback in *five* months\n\n<script>alert(1)</script>\n\n[call](javascript:alert(2))"
    data = {"csrf_token": token, "title": "ROI", "slug": "roi", "body_markdown": body, "published": "on"}
    preview = client.post("/capture/pages/new", data={**data, "action": "preview"})
    assert preview.status_code == 200
    assert "<h1>Payback in <em>five</em> months</h1>" in preview.text
    assert "<script>alert(1)" not in preview.text and "&lt;script&gt;alert(1)" in preview.text
    assert 'href="javascript:' not in preview.text
    assert count(db, LandingPage) == 0  # a preview saves nothing
    hero = {"image": ("hero.png", PNG, "image/png")}
    saved = client.post(
        "/capture/pages/new", data={**data, "action": "save"}, files=hero, follow_redirects=False
    )
    assert saved.headers["location"] == "/capture/pages/roi?done=created"
    page = client.get("/capture/pages/roi").text
    assert 'href="http://testserver/p/roi"' in page
    big = client.post(
        "/capture/pages/roi", data={**data, "action": "save"},
        files={"image": ("big.png", PNG + b"\x00" * (2 * 1024 * 1024), "image/png")},
    )  # fmt: skip
    assert big.status_code == 422 and "image: the file is" in html.unescape(big.text)


def test_a_tracking_site_shows_its_script_snippet(client: TestClient, db: Database) -> None:
    token = csrf_of(client.get("/capture/sites/new").text)
    bad = client.post(
        "/capture/sites/new", data={"csrf_token": token, "name": "Shop", "domains": "not a host"}
    )
    assert bad.status_code == 422 and "domains[0]" in html.unescape(bad.text)
    created = client.post(
        "/capture/sites/new",
        data={"csrf_token": token, "name": "Shop", "domains": "https://Shop.Example.com/\nexample.com"},
        follow_redirects=False,
    )
    with db.session() as session:
        site = session.scalar(select(TrackingSite))
        assert site is not None and site.domains == ["shop.example.com", "example.com"]
        key = site.key
    assert created.headers["location"] == f"/capture/sites/{key}?done=created"
    page = html.unescape(client.get(f"/capture/sites/{key}").text)
    assert f'<script src="http://testserver/t/{key}.js" async></script>' in page


def test_numbers_link_to_their_people_and_export(client: TestClient, db: Database, owner: Account) -> None:
    upload_pdf(client, "ROI paper", pdf_bytes(2))
    with db.session() as session:
        workspace = session.get(Workspace, owner.workspace_id)
        assert workspace is not None
        for number in range(3):
            contact = make_contact(session, workspace, first_name=f"=Reader{number}")
            session.add(
                Event(
                    workspace_id=workspace.id, contact_id=contact.id, type="asset_downloaded",
                    occurred_at=utcnow(), properties={"asset": "roi-paper"},
                )
            )  # fmt: skip
    overview = client.get("/capture?period=30").text
    link = '/capture/assets/roi-paper/people?step=downloaded&amp;period=30" class="figure"'
    assert link in overview
    assert re.search(r'data-step="downloaded"[^>]*>3</a>', overview)
    people = client.get("/capture/assets/roi-paper/people?step=downloaded&period=30").text
    assert '<span id="people-total">3</span>' in people and people.count("=Reader") == 3
    exported = client.get("/capture/assets/roi-paper/people.csv?step=downloaded&period=30")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["first_name"] for r in rows) == ["'=Reader0", "'=Reader1", "'=Reader2"]
    assert client.get("/capture/assets/roi-paper/people?step=attended").status_code == 400


def test_attendance_upload_on_the_webinars_page(client: TestClient, db: Database, owner: Account) -> None:
    with db.session() as session:
        clinic = AssetInput(
            "webinar", "Clinic", starts_at="2026-11-10T15:00Z", duration_minutes="60", location="Online"
        )
        create_asset(session, owner.workspace_id, clinic, None, 0)
    token = csrf_of(client.get("/capture/assets/clinic").text)
    content = (FIXTURES / "teams_attendance_report.csv").read_bytes()
    files = {"attendance": ("teams.csv", content, "text/csv")}
    first = html.unescape(
        client.post("/capture/assets/clinic/attendance", data={"csrf_token": token}, files=files).text
    )
    assert "<strong>teams</strong> export: 3 people listed · 0 matched · 3 created · 3 attended" in first
    assert "· 6 events added" in first
    assert "line 11: organizer, not an attendee" in first
    again = html.unescape(
        client.post("/capture/assets/clinic/attendance", data={"csrf_token": token}, files=files).text
    )
    assert "0 events added (already imported)" in again
    nothing = client.post("/capture/assets/clinic/attendance", data={"csrf_token": token})
    assert nothing.status_code == 422 and "choose the export file" in nothing.text
    overview = client.get("/capture?period=all").text
    assert re.search(r'data-step="attended"[^>]*>3</a>', overview)
    assert re.search(r'data-step="attended30"[^>]*>2</a>', overview)


def test_a_webinar_is_created_from_its_editor(client: TestClient, db: Database) -> None:
    page = client.get("/capture/assets/new?kind=webinar").text
    assert 'name="starts_at"' in page and 'name="file"' not in page
    token = csrf_of(page)
    data = {
        "csrf_token": token, "kind": "webinar", "title": "ROI clinic", "starts_at": "2026-12-10T15:00",
        "timezone": "Europe/Berlin", "duration_minutes": "60", "location": "",
    }  # fmt: skip
    missing = client.post("/capture/assets/new", data=data)
    assert missing.status_code == 422 and re.search(r'name="location"[^>]*aria-invalid="true"', missing.text)
    created = client.post(
        "/capture/assets/new", data={**data, "location": "https://meet.example/roi"}, follow_redirects=False
    )
    assert created.headers["location"] == "/capture/assets/roi-clinic?done=created"
    shown = client.get("/capture/assets/roi-clinic").text
    assert "2026-12-10 14:00 UTC" in shown and 'id="attendance-form"' in shown


def test_removing_deletes_unused_things_and_archives_used_ones(
    client: TestClient, db: Database, owner: Account
) -> None:
    upload_pdf(client, "Unused", pdf_bytes(1))
    upload_pdf(client, "Used", pdf_bytes(1))
    with db.session() as session:
        workspace = session.get(Workspace, owner.workspace_id)
        assert workspace is not None
        reader = make_contact(session, workspace)
        session.add(
            Event(
                workspace_id=workspace.id, contact_id=reader.id, type="asset_downloaded",
                occurred_at=utcnow(), properties={"asset": "used"},
            )
        )  # fmt: skip
    token = csrf_of(client.get("/capture").text)
    gone = client.post("/capture/assets/unused/remove", data={"csrf_token": token}, follow_redirects=False)
    assert gone.headers["location"] == "/capture?done=deleted"
    kept = client.post("/capture/assets/used/remove", data={"csrf_token": token}, follow_redirects=False)
    assert kept.headers["location"] == "/capture/assets/used?done=archived"
    assert "magnet-used" not in client.get("/capture").text
    assert "magnet-used" in client.get("/capture?archived=true").text
    restored = client.post("/capture/assets/used/restore", data={"csrf_token": token}, follow_redirects=False)
    assert restored.headers["location"] == "/capture/assets/used?done=restored"
    assert count(db, Asset) == 1
    with db.session() as session:
        sent = create_form(session, owner.workspace_id, FormInput("Sent", fields=default_fields()))
        session.add(
            FormSubmission(workspace_id=owner.workspace_id, form_id=sent.id, contact_id=reader.id, nonce="x")
        )
        create_form(session, owner.workspace_id, FormInput("Never sent", fields=default_fields()))
    for slug, outcome in (
        ("never-sent", "/capture?done=deleted"),
        ("sent", "/capture/forms/sent?done=archived"),
    ):
        reply = client.post(
            f"/capture/forms/{slug}/remove", data={"csrf_token": token}, follow_redirects=False
        )
        assert reply.headers["location"] == outcome
    assert "Restore" in client.get("/capture/forms/sent").text
    back = client.post("/capture/forms/sent/restore", data={"csrf_token": token}, follow_redirects=False)
    assert back.headers["location"] == "/capture/forms/sent?done=restored"
    assert count(db, Form) == 1


def test_another_workspace_sees_none_of_it(app: FastAPI, client: TestClient, db: Database) -> None:
    upload_pdf(client, "Secret paper", pdf_bytes(1))
    rival = logged_in(app, make_account(db, "Rival").email)
    assert "Secret paper" not in rival.get("/capture").text
    assert rival.get("/capture/assets/secret-paper").status_code == 404
    assert rival.get("/capture/assets/secret-paper/people?step=views").status_code == 404
    token = csrf_of(rival.get("/capture").text)
    assert rival.post("/capture/assets/secret-paper/remove", data={"csrf_token": token}).status_code == 404
    assert count(db, Asset) == 1
