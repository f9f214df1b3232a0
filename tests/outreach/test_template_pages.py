"""The template pages over HTTP with a real login: the list, creating and saving with every problem
shown by its field, variants added and removed, the preview (full page and htmx panel) that stores
nothing, roles, CSRF and workspaces."""

from __future__ import annotations

import html
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import EmailTemplate, TemplateVariant, Workspace
from leadwell.db.session import Database
from leadwell.outreach import template_defs as defs
from tests.factories import make_contact, make_user
from tests.test_pages import Account, csrf_of, logged_in, make_account

SCRIPT_NAME = "<script>alert('pwned')</script>"


@pytest.fixture
def owner(db: Database) -> Account:
    return make_account(db, "Acme", role="owner")


@pytest.fixture
def client(app: FastAPI, owner: Account) -> TestClient:
    return logged_in(app, owner.email)


def form_of(client: TestClient, token_page: str = "/outreach/templates/new", **values: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf_of(client.get(token_page).text),
        "name": "Paper follow-up",
        "slug": "",
        "variants[0].key": "a",
        "variants[0].subject": "Hi {{ first_name | default('there') }}",
        "variants[0].html": "<p>Hello {{ first_name }}</p>\n<p>{{ title }}</p>",
        "variants[0].text": "",
        "variants[0].weight": "1",
        "action": "save",
    }
    data.update(values)
    return data


def saved(db: Database) -> list[tuple[str, str, str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(EmailTemplate.slug, TemplateVariant.key, TemplateVariant.subject, TemplateVariant.html)
            .join(TemplateVariant, TemplateVariant.template_id == EmailTemplate.id)
            .order_by(EmailTemplate.slug, TemplateVariant.key)
        )
        return [(slug, key, subject, body) for slug, key, subject, body in rows]


def slot(page: str, row: int, part: str) -> list[str]:
    match = re.search(
        rf'<small class="field-problems" id="problems-{row}-{part}"[^>]*>(.*?)</small>', page, re.S
    )
    assert match, f"no problem slot for {row}.{part}"
    return [html.unescape(text) for text in re.findall(r"<span>(.*?)</span>", match.group(1))]


def add_ada(db: Database, account: Account, **fields: str | None) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        values = {
            "first_name": SCRIPT_NAME,
            "last_name": "Lovelace",
            "email": "ada@engines.example",
            "title": None,
        }
        make_contact(session, workspace, **(values | fields))


def test_the_list_needs_a_login_and_shows_templates(app: FastAPI, client: TestClient, db: Database) -> None:
    anonymous = TestClient(app).get("/outreach/templates", follow_redirects=False)
    assert anonymous.headers["location"] == "/login?next=/outreach/templates"
    assert "No templates yet." in client.get("/outreach/templates").text
    created = client.post("/outreach/templates/new", data=form_of(client), follow_redirects=False)
    assert created.status_code == 303
    assert created.headers["location"] == "/outreach/templates/paper-follow-up?done=created"
    page = client.get("/outreach/templates").text
    assert 'href="/outreach/templates/paper-follow-up">Paper follow-up</a>' in page
    assert '<td class="number">1</td>' in page


def test_a_refused_save_shows_every_problem_by_its_field_and_stores_nothing(
    client: TestClient, db: Database
) -> None:
    data = form_of(
        client,
        **{
            "variants[0].subject": "Hi {{ frist_name }}",
            "variants[0].html": "<p>ok</p>\n<p>{{ custom }}</p>",
            "variants[1].key": "b",
            "variants[1].subject": "Fine",
            "variants[1].html": "",
            "variants[1].text": "one\n{{ nobody }}",
            "variants[1].weight": "1",
        },
    )
    refused = client.post("/outreach/templates/new", data=data)
    assert refused.status_code == 422
    page = refused.text
    assert slot(page, 0, "subject") == [
        "line 1: unknown merge field 'frist_name' (did you mean 'first_name'?)"
    ]
    assert slot(page, 0, "html") == ["line 2: 'custom' needs a field name: custom.<key>"]
    assert slot(page, 1, "text") == ["line 2: unknown merge field 'nobody'"]
    assert slot(page, 1, "subject") == []
    assert 'name="variants[0].subject" value="Hi {{ frist_name }}"' in page  # the draft is kept
    assert 'aria-invalid="true" aria-describedby="problems-1-text"' in page
    assert "Not saved: variants[a].subject: line 1" in html.unescape(page)
    assert saved(db) == []


def test_variants_are_added_and_removed_without_saving(client: TestClient, db: Database) -> None:
    added = client.post("/outreach/templates/new", data=form_of(client, action="add-variant"))
    assert added.status_code == 200
    assert 'name="variants[1].key" value="b"' in added.text
    data = form_of(
        client,
        **{
            "variants[1].key": "b",
            "variants[1].subject": "B",
            "variants[1].text": "b",
            "variants[1].weight": "1",
        },
        action="remove-variant:0",
    )
    removed = client.post("/outreach/templates/new", data=data).text
    assert 'name="variants[0].key" value="b"' in removed and 'name="variants[1].key"' not in removed
    assert saved(db) == []


def test_saving_changes_the_variants(client: TestClient, db: Database) -> None:
    client.post("/outreach/templates/new", data=form_of(client))
    data = form_of(
        client,
        "/outreach/templates/paper-follow-up",
        **{"name": "Renamed", "variants[0].subject": "New subject", "variants[1].key": "b"},
        **{
            "variants[1].subject": "B",
            "variants[1].text": "b",
            "variants[1].weight": "0",
            "variants[1].html": "",
        },
    )
    reply = client.post("/outreach/templates/paper-follow-up", data=data, follow_redirects=False)
    assert reply.headers["location"] == "/outreach/templates/paper-follow-up?done=saved"
    assert [(key, subject) for _slug, key, subject, _html in saved(db)] == [("a", "New subject"), ("b", "B")]
    page = client.get("/outreach/templates/paper-follow-up?done=saved").text
    assert "Saved." in page and "<h1>Renamed</h1>" in page


def test_the_full_page_preview_renders_for_a_contact_and_stores_nothing(
    client: TestClient, db: Database, owner: Account
) -> None:
    add_ada(db, owner)
    client.post("/outreach/templates/new", data=form_of(client))
    before = saved(db)
    data = form_of(
        client,
        "/outreach/templates/paper-follow-up",
        **{"variants[0].subject": "Changed {{ first_name }}"},
        action="preview",
        preview_q="lovelace",
    )
    reply = client.post("/outreach/templates/paper-follow-up", data=data)
    assert reply.status_code == 200
    page = reply.text
    assert SCRIPT_NAME not in page  # the contact's name is escaped everywhere, never markup
    assert (
        '<span class="preview-subject">Changed &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;</span>'
        in page
    )
    frame = re.search(r'<iframe sandbox="" srcdoc="([^"]*)"', page)
    assert frame is not None
    # Inside srcdoc the email's own HTML, in which the name is escaped once more.
    assert html.unescape(frame.group(1)).startswith("<p>Hello &lt;script&gt;alert(&#39;pwned&#39;)")
    assert "title is empty for this contact and has no default" in page
    assert "(this contact gets it)" in page
    assert saved(db) == before


def test_the_htmx_preview_answers_the_panel_with_problems_beside_fields(
    client: TestClient, db: Database, owner: Account
) -> None:
    add_ada(db, owner, first_name="Ada")
    results = client.get("/outreach/templates/preview/contacts", params={"preview_q": "engines"}).text
    ada_id = re.search(r'value="preview:(ct_[^"]+)"', results)
    assert ada_id is not None and "Ada Lovelace · ada@engines.example" in results
    data = form_of(
        client, action=f"preview:{ada_id.group(1)}", **{"variants[0].html": "<p>\n{{ frist_name }}</p>"}
    )
    panel = client.post("/outreach/templates/preview", data=data).text
    assert "<html" not in panel
    assert "html, line 2: unknown merge field &#39;frist_name&#39;" in panel
    assert 'id="problems-0-html" aria-live="polite" hx-swap-oob="true"><span>line 2: unknown' in panel
    fixed = client.post(
        "/outreach/templates/preview", data=form_of(client, action=f"preview:{ada_id.group(1)}")
    )
    assert '<span class="preview-subject">Hi Ada</span>' in fixed.text
    assert 'id="problems-0-html" aria-live="polite" hx-swap-oob="true"></small>' in fixed.text
    nobody = client.get("/outreach/templates/preview/contacts", params={"preview_q": "zzz"}).text
    assert "Nobody matches" in nobody
    assert saved(db) == []


def test_salespeople_read_and_preview_but_cannot_change(
    app: FastAPI, client: TestClient, db: Database
) -> None:
    client.post("/outreach/templates/new", data=form_of(client))
    before = saved(db)
    with db.session() as session:
        acme = session.scalar(select(Workspace).where(Workspace.name == "Acme"))
        assert acme is not None
        seller = make_user(session, acme, role="sales")
    sales = logged_in(app, seller.email)
    page = sales.get("/outreach/templates/paper-follow-up").text
    assert "read-only" in page and 'id="save"' not in page and "readonly" in page
    assert 'id="new-template"' not in sales.get("/outreach/templates").text
    assert sales.get("/outreach/templates/new").status_code == 403
    data = form_of(sales, "/outreach/templates/paper-follow-up", name="Hijacked")
    for path in (
        "/outreach/templates/new",
        "/outreach/templates/paper-follow-up",
        "/outreach/templates/paper-follow-up/archive",
    ):
        assert sales.post(path, data=data).status_code == 403, path
    previewed = sales.post("/outreach/templates/paper-follow-up", data=data | {"action": "preview"})
    assert previewed.status_code == 200
    assert saved(db) == before


def test_csrf_and_workspaces_are_enforced(app: FastAPI, client: TestClient, db: Database) -> None:
    assert (
        client.post("/outreach/templates/new", data=form_of(client, csrf_token="forged")).status_code == 403
    )
    client.post("/outreach/templates/new", data=form_of(client))
    stranger = logged_in(app, make_account(db, "Rival", role="owner").email)
    assert stranger.get("/outreach/templates/paper-follow-up").status_code == 404
    assert "Paper follow-up" not in stranger.get("/outreach/templates").text
    data = form_of(stranger, "/outreach/templates")
    assert stranger.post("/outreach/templates/paper-follow-up", data=data).status_code == 404
    assert stranger.post("/outreach/templates/paper-follow-up/archive", data=data).status_code == 404


def test_archive_and_restore(client: TestClient, db: Database, owner: Account) -> None:
    client.post("/outreach/templates/new", data=form_of(client))
    token = {"csrf_token": csrf_of(client.get("/outreach/templates").text)}
    archived = client.post("/outreach/templates/paper-follow-up/archive", data=token, follow_redirects=False)
    assert archived.headers["location"] == "/outreach/templates/paper-follow-up?done=archived"
    assert "paper-follow-up" not in client.get("/outreach/templates").text
    assert "<mark>archived</mark>" in client.get("/outreach/templates?archived=true").text
    client.post("/outreach/templates/paper-follow-up/restore", data=token)
    with db.session() as session:
        assert [row.archived for row in defs.list_templates(session, owner.workspace_id)] == [False]
