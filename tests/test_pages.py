"""Server-rendered pages through the real login form: contacts, a contact's timeline, dashboard,
settings, CSRF, rate limiting and workspace isolation (in-process client, real database)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.auth.accounts import create_token
from leadwell.config import Settings
from leadwell.db.models import ApiToken, Contact, Membership, User, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.web.app import create_app
from tests.factories import (
    PASSWORD,
    make_contact,
    make_deal,
    make_event,
    make_organization,
    make_user,
    make_workspace,
)


class Reply(Protocol):
    """What the tests read of a response (TestClient's comes from httpx or httpx2)."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CONTACT_LINK_RE = re.compile(r'href="/contacts/(ct_[0-9a-z]+_[0-9a-f]+)"')


@dataclass(frozen=True)
class Account:
    workspace_id: int
    email: str


def make_account(db: Database, name: str = "Acme", role: str = "owner") -> Account:
    with db.session() as session:
        workspace = make_workspace(session, name)
        user = make_user(session, workspace, role=role)
        return Account(workspace.id, user.email)


def csrf_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD, next: str = "/") -> Reply:
    token = csrf_of(client.get("/login").text)
    form = {"email": email, "password": password, "csrf_token": token, "next": next}
    return client.post("/login", data=form, follow_redirects=False)


def logged_in(app: FastAPI, email: str) -> TestClient:
    client = TestClient(app)
    assert login(client, email).status_code == 303
    return client


def contact_ids(page: str) -> list[str]:
    return CONTACT_LINK_RE.findall(page)


def next_page_url(page: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
    return html.unescape(match.group(1)) if match else None


# --- logging in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/contacts", "/contacts/export.csv", "/dashboard", "/settings", "/"])
def test_anonymous_requests_go_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_login_form_logs_in_and_lands_on_next(client: TestClient, db: Database) -> None:
    account = make_account(db)
    response = login(client, account.email, next="/contacts")
    assert response.status_code == 303
    assert response.headers["location"] == "/contacts"
    page = client.get("/contacts")
    assert page.status_code == 200
    assert f"Log out {account.email}" in page.text


def test_wrong_password_is_401_and_nobody_is_logged_in(client: TestClient, db: Database) -> None:
    account = make_account(db)
    response = login(client, account.email, password="not the password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert client.get("/contacts", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_after_the_allowed_failures(settings: Settings, db: Database) -> None:
    account = make_account(db)
    app = create_app(settings.model_copy(update={"login_attempts_per_minute": 3}), db)
    with TestClient(app) as client:
        for _ in range(3):
            assert login(client, account.email, password="wrong password").status_code == 401
        # Even the right password is refused until the window passes.
        response = login(client, account.email)
        assert response.status_code == 429
        assert "Too many attempts" in response.text


def test_login_without_csrf_token_is_refused(client: TestClient, db: Database) -> None:
    account = make_account(db)
    client.get("/login")
    response = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/contacts", follow_redirects=False).status_code == 303


# --- CSRF on settings forms ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_settings_posts_need_the_session_csrf_token(
    client: TestClient, db: Database, codec: IdCodec, token: str | None
) -> None:
    account = make_account(db)
    login(client, account.email)
    with db.session() as session:
        make_user(session, email="newbie@example.com")
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        existing, _secret = create_token(session, workspace, "existing")
        revoke_url = f"/settings/tokens/{codec.encode('token', existing.id)}/revoke"
    csrf = {"csrf_token": token} if token else {}
    assert client.post("/settings/tokens", data={"name": "CRM", "scopes": "read"} | csrf).status_code == 403
    member = {"email": "newbie@example.com", "role": "sales"} | csrf
    assert client.post("/settings/members", data=member).status_code == 403
    assert client.post(revoke_url, data=csrf).status_code == 403
    assert client.post("/logout", data=csrf).status_code == 403
    with db.session() as session:
        assert session.scalars(select(ApiToken.name)).all() == ["existing"]
        assert session.scalar(select(ApiToken.revoked_at)) is None
        assert session.scalar(select(func.count()).select_from(Membership)) == 1
    assert client.get("/settings", follow_redirects=False).status_code == 200  # still logged in


# --- contacts list ---------------------------------------------------------------------------------


def seed_contacts(db: Database, workspace_id: int, count: int) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        for number in range(count):
            make_contact(
                session,
                workspace,
                first_name=f"Person{number:03d}",
                last_name=f"Zed{count - number:03d}",
                stage="mql" if number % 3 == 0 else "lead",
                source="webinar" if number % 2 == 0 else "ads",
            )


def test_list_pages_through_all_contacts(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 60)
    login(client, account.email)
    first = client.get("/contacts")
    assert "60 contacts" in first.text
    page_one = contact_ids(first.text)
    assert len(page_one) == 50
    assert "First page" not in first.text
    second_url = next_page_url(first.text)
    assert second_url is not None
    second = client.get(second_url)
    page_two = contact_ids(second.text)
    assert len(page_two) == 10
    assert not set(page_one) & set(page_two)
    assert next_page_url(second.text) is None
    assert '<a href="/contacts">First page</a>' in second.text
    # Newest first: the last contact created heads page one.
    assert "Person059" in first.text.split("<tbody>")[1].split("</tr>")[0]


def test_sorting_by_last_name_runs_across_pages(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 60)
    login(client, account.email)
    first = client.get("/contacts", params={"sort": "name"})
    names = re.findall(r'href="/contacts/ct_[^"]+">Person\d+ (Zed\d+)</a>', first.text)
    second_url = next_page_url(first.text)
    assert second_url is not None and "sort=name" in second_url
    names += re.findall(r'href="/contacts/ct_[^"]+">Person\d+ (Zed\d+)</a>', client.get(second_url).text)
    assert names == [f"Zed{number:03d}" for number in range(1, 61)]


def test_oldest_first_and_recently_updated_orders(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 5)
    with db.session() as session:
        touched = session.scalars(select(Contact).where(Contact.first_name == "Person002")).one()
        touched.updated_at = utcnow() + timedelta(minutes=5)
    login(client, account.email)
    oldest = client.get("/contacts", params={"sort": "oldest"}).text
    assert re.findall(r">(Person\d+) ", oldest)[:2] == ["Person000", "Person001"]
    updated = client.get("/contacts", params={"sort": "updated"}).text
    assert re.findall(r">(Person\d+) ", updated)[0] == "Person002"


def test_search_and_filters_narrow_the_list(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 60)
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        org = make_organization(session, workspace, name="Globex Corporation")
        make_contact(session, workspace, first_name="Hank", last_name="Scorpio", organization_id=org.id)
        make_contact(session, workspace, first_name="Marge", last_name="B", email="marge@springfield.example")
    login(client, account.email)
    assert len(contact_ids(client.get("/contacts", params={"q": "person01"}).text)) == 10
    by_org = client.get("/contacts", params={"q": "globex"}).text
    assert "Hank Scorpio" in by_org and "1 contact<" in by_org
    assert "Marge B" in client.get("/contacts", params={"q": "SPRINGFIELD"}).text
    mql = client.get("/contacts", params={"stage": "mql"}).text
    assert "20 contacts" in mql
    both = client.get("/contacts", params={"stage": "mql", "source": "webinar"}).text
    assert "10 contacts" in both  # numbers divisible by 6
    assert re.findall(r">Person(\d+) ", both) == [f"{n:03d}" for n in range(54, -1, -6)]


def test_filter_dropdowns_offer_the_workspace_values(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 3)
    login(client, account.email)
    page = client.get("/contacts", params={"stage": "mql"}).text
    assert '<option value="mql" selected>mql</option>' in page
    assert '<option value="webinar" >webinar</option>' in page


def test_empty_search_says_so_and_offers_to_clear(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 3)
    login(client, account.email)
    page = client.get("/contacts", params={"q": "zzz", "stage": "lead"}).text
    assert "No contacts match ‘zzz’." in page
    assert '<a href="/contacts?stage=lead">Clear the search</a>' in page


def test_live_search_gets_only_the_results(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 12)
    login(client, account.email)
    headers = {"HX-Request": "true", "HX-Target": "contact-results"}
    fragment = client.get("/contacts", params={"q": "person01"}, headers=headers)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<nav" not in fragment.text.split("<table")[0]
    assert len(contact_ids(fragment.text)) == 2
    # The same URL without htmx (a bookmark, a reload) is the whole page.
    whole = client.get("/contacts", params={"q": "person01"})
    assert "<html" in whole.text and 'value="person01"' in whole.text
    assert "HX-Request" in whole.headers["vary"]


DAMAGED_CURSORS = [
    ("name", "garbage"),
    ("name", "eyJzIjoibmFtZSIsImsiOlsxLDIsM119"),  # {"s": "name", "k": [1, 2, 3]}: wrong key types
    ("newest", "eyJzIjoibmFtZSIsImsiOlsxLDIsM119"),  # a cursor of another sort
    ("updated", "eyJzIjogInVwZGF0ZWQiLCAiayI6IFsiMjAyNC0wMS0wMVQwMDowMDowMCIsIDVdfQ"),  # naive time
    ("newest", "eyJzIjogIm5ld2VzdCIsICJrIjogWzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBdfQ"),  # id > 2**63
]


@pytest.mark.parametrize(("sort", "cursor"), DAMAGED_CURSORS)
def test_a_damaged_cursor_is_a_400_page(client: TestClient, db: Database, sort: str, cursor: str) -> None:
    account = make_account(db)
    login(client, account.email)
    response = client.get("/contacts", params={"cursor": cursor, "sort": sort})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "first page" in response.text


def test_a_malformed_date_filter_is_a_400_page(client: TestClient, db: Database) -> None:
    account = make_account(db)
    login(client, account.email)
    response = client.get("/contacts", params={"created_since": "last tuesday"})
    assert response.status_code == 400 and "expected a date" in response.text


# --- CSV export ------------------------------------------------------------------------------------


def read_csv(response: Reply) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_export_streams_every_filtered_contact(client: TestClient, db: Database) -> None:
    account = make_account(db)
    seed_contacts(db, account.workspace_id, 60)
    login(client, account.email)
    everything = read_csv(client.get("/contacts/export.csv"))
    assert len(everything) == 60  # more than a page: the export is not limited to one
    assert list(everything[0])[:4] == ["id", "first_name", "last_name", "email"]
    mql = read_csv(client.get("/contacts/export.csv", params={"stage": "mql", "sort": "name"}))
    assert len(mql) == 20
    assert {row["stage"] for row in mql} == {"mql"}
    assert [row["last_name"] for row in mql] == sorted(row["last_name"] for row in mql)


def test_export_defuses_spreadsheet_formulas(client: TestClient, db: Database) -> None:
    account = make_account(db)
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        make_contact(
            session,
            workspace,
            first_name='=HYPERLINK("http://evil.example","x")',
            last_name="+1+1",
            title="-2",
            source="@SUM(A1)",
        )
    login(client, account.email)
    (row,) = read_csv(client.get("/contacts/export.csv"))
    assert row["first_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["last_name"] == "'+1+1"
    assert row["title"] == "'-2"
    assert row["source"] == "'@SUM(A1)"
    assert row["email"].endswith("@example.com")  # ordinary cells are untouched


# --- a contact's page ------------------------------------------------------------------------------


def test_contact_page_shows_record_deals_and_timeline(
    client: TestClient, db: Database, codec: IdCodec
) -> None:
    account = make_account(db)
    now = utcnow()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        org = make_organization(session, workspace, name="Initech", employees=250, industry="Software")
        contact = make_contact(
            session,
            workspace,
            first_name="Peter",
            last_name="Gibbons",
            organization_id=org.id,
            title="Engineer",
            phones=["+14155550100"],
            custom={"seats": 40},
        )
        make_event(
            session,
            contact,
            "read_progress",
            now - timedelta(hours=3),
            {"asset": "ROI white paper", "percent": 80},
        )
        make_event(
            session,
            contact,
            "call_logged",
            now - timedelta(hours=2),
            {"outcome": "connected", "duration_seconds": 240},
        )
        make_event(
            session,
            contact,
            "email_clicked",
            now - timedelta(hours=1),
            {"url": "https://initech.example/pricing"},
        )
        make_event(session, contact, "stage_changed", now, {"from": "lead", "to": "mql"})
        make_deal(session, contact, name="Pilot", value=Decimal("12000"), status="lost", reason="Budget")
        public_id = codec.encode("contact", contact.id)
    login(client, account.email)
    page = client.get(f"/contacts/{public_id}").text
    for text in ("Peter Gibbons", "Initech", "250", "Software", "+14155550100", "seats", "40"):
        assert text in page
    assert "Pilot" in page and "12,000.00" in page and "Budget" in page
    timeline = page.split('<ol class="timeline">')[1]
    order = [
        "Stage changed: lead → mql",
        "Clicked https://initech.example/pricing",
        "Call: connected, 4 min",
        "Read ROI white paper — 80%",
    ]
    positions = [timeline.index(text) for text in order]
    assert positions == sorted(positions)  # newest first
    calls_only = client.get(f"/contacts/{public_id}", params={"type": "call_logged"}).text
    assert "Call: connected" in calls_only and "Read ROI white paper" not in calls_only


def test_older_events_load_page_by_page(client: TestClient, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    now = utcnow()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        contact = make_contact(session, workspace)
        for minute in range(25):
            make_event(
                session, contact, "note_added", now - timedelta(minutes=minute), {"text": f"note {minute}"}
            )
        public_id = codec.encode("contact", contact.id)
    login(client, account.email)
    page = client.get(f"/contacts/{public_id}").text
    assert "Note: note 19<" in page and "Note: note 20<" not in page
    more = re.search(r'href="([^"]+)" role="button"[^>]*\s+hx-get="([^"]+)"', page)
    assert more is not None
    full_url, fragment_url = (html.unescape(url) for url in more.groups())
    fragment = client.get(fragment_url).text
    assert "<html" not in fragment
    assert [int(n) for n in re.findall(r"Note: note (\d+)<", fragment)] == list(range(20, 25))
    assert "Older events" not in fragment
    plain = client.get(full_url).text  # the same link without JavaScript
    assert "Note: note 24<" in plain and "Note: note 0<" not in plain
    assert "Back to the newest events" in plain


def test_hostile_contact_data_is_escaped(client: TestClient, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        contact = make_contact(
            session, workspace, first_name="<script>alert(1)</script>", last_name="", title='"><img src=x>'
        )
        make_event(session, contact, "note_added", properties={"text": "<b onmouseover=alert(2)>hi</b>"})
        public_id = codec.encode("contact", contact.id)
    login(client, account.email)
    for page in (client.get(f"/contacts/{public_id}").text, client.get("/contacts").text):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert '"><img src=x>' not in page
    assert "&lt;b onmouseover=alert(2)&gt;" in client.get(f"/contacts/{public_id}").text


def test_a_merged_contact_points_to_the_survivor(client: TestClient, db: Database, codec: IdCodec) -> None:
    account = make_account(db)
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        survivor = make_contact(session, workspace, first_name="Kept")
        merged = make_contact(session, workspace, first_name="Duplicate", merged_into_id=survivor.id)
        merged_id, survivor_id = codec.encode("contact", merged.id), codec.encode("contact", survivor.id)
    login(client, account.email)
    page = client.get(f"/contacts/{merged_id}").text
    assert f'merged into <a href="/contacts/{survivor_id}">' in page
    listing = client.get("/contacts").text
    assert "Kept" in listing and "Duplicate" not in listing


@pytest.mark.parametrize("contact_id", ["ct_1_0000000000", "nonsense", "org_1_abc", "ct_zzzzzzzzzzzzzz_a"])
def test_malformed_or_forged_contact_ids_are_404_pages(
    client: TestClient, db: Database, contact_id: str
) -> None:
    account = make_account(db)
    login(client, account.email)
    response = client.get(f"/contacts/{contact_id}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert client.get(f"/contacts/{contact_id}/timeline").status_code == 404


# --- isolation between workspaces ------------------------------------------------------------------


def test_one_workspace_never_sees_another(app: FastAPI, db: Database, codec: IdCodec) -> None:
    mine, theirs = make_account(db, "Mine"), make_account(db, "Theirs")
    with db.session() as session:
        their_workspace = session.get(Workspace, theirs.workspace_id)
        my_workspace = session.get(Workspace, mine.workspace_id)
        assert their_workspace is not None and my_workspace is not None
        secret = make_contact(
            session, their_workspace, first_name="Secret", last_name="Rival", stage="customer"
        )
        make_event(session, secret, "call_logged", properties={"outcome": "connected"})
        make_deal(session, secret, status="open")
        make_contact(session, my_workspace, first_name="Own", last_name="Lead")
        secret_id = codec.encode("contact", secret.id)
    client = logged_in(app, mine.email)
    assert client.get(f"/contacts/{secret_id}").status_code == 404
    assert client.get(f"/contacts/{secret_id}/timeline").status_code == 404
    listing = client.get("/contacts").text
    assert "Own Lead" in listing and "Secret" not in listing and "1 contact<" in listing
    assert "Secret" not in client.get("/contacts", params={"q": "secret"}).text
    assert "No contacts match" in client.get("/contacts", params={"stage": "customer"}).text
    assert "Secret" not in client.get("/contacts/export.csv").text
    dashboard = client.get("/dashboard").text
    assert re.search(r'href="/contacts">1</a>', dashboard)
    assert "stage=customer" not in dashboard and "<td>Call</td>" not in dashboard
    assert re.search(r'href="/contacts\?deal=open">0</a>', dashboard)


def test_switching_workspace_changes_the_visible_contacts(app: FastAPI, db: Database) -> None:
    with db.session() as session:
        first, second, foreign = (make_workspace(session, name) for name in ("Alpha", "Beta", "Gamma"))
        user = make_user(session, first)
        session.add(Membership(workspace_id=second.id, user_id=user.id, role="sales"))
        make_contact(session, first, first_name="Alpha", last_name="Person")
        make_contact(session, second, first_name="Beta", last_name="Person")
        make_contact(session, foreign, first_name="Gamma", last_name="Person")
        email, second_id, foreign_id = user.email, second.id, foreign.id
    client = logged_in(app, email)
    page = client.get("/contacts").text
    assert "Alpha Person" in page and "Beta Person" not in page
    token = csrf_of(page)
    switched = client.post("/workspace", data={"workspace_id": second_id, "csrf_token": token})
    assert switched.status_code == 200
    page = client.get("/contacts").text
    assert "Beta Person" in page and "Alpha Person" not in page
    refused = client.post("/workspace", data={"workspace_id": foreign_id, "csrf_token": token})
    assert refused.status_code == 404
    assert "Gamma Person" not in client.get("/contacts").text


# --- settings --------------------------------------------------------------------------------------


def test_owner_creates_and_revokes_a_token(client: TestClient, db: Database) -> None:
    account = make_account(db)
    login(client, account.email)
    token = csrf_of(client.get("/settings").text)
    created = client.post(
        "/settings/tokens", data={"csrf_token": token, "name": "CRM sync", "scopes": ["read"]}
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    secret = re.search(r'id="token-secret" value="(lw_[^"]+)"', created.text)
    assert secret is not None
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client.get("/api/v1/contacts", headers=bearer).status_code == 200
    listing = client.get("/settings").text
    assert "CRM sync" in listing and secret.group(1) not in listing  # shown once only
    revoke = re.search(r'action="(/settings/tokens/tok_[^"]+/revoke)"', listing)
    assert revoke is not None
    response = client.post(revoke.group(1), data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/settings"
    assert "revoked" in client.get("/settings").text
    assert client.get("/api/v1/contacts", headers=bearer).status_code == 401


def test_token_form_errors_are_shown_and_nothing_is_created(client: TestClient, db: Database) -> None:
    account = make_account(db)
    login(client, account.email)
    token = csrf_of(client.get("/settings").text)
    no_scope = client.post("/settings/tokens", data={"csrf_token": token, "name": "x"})
    assert no_scope.status_code == 422 and "Choose at least one scope" in no_scope.text
    bad_scope = client.post("/settings/tokens", data={"csrf_token": token, "name": "x", "scopes": "admin"})
    assert bad_scope.status_code == 422
    no_name = client.post("/settings/tokens", data={"csrf_token": token, "name": " ", "scopes": "read"})
    assert no_name.status_code == 422
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_owner_adds_a_member_and_cannot_leave_the_workspace_ownerless(
    client: TestClient, db: Database
) -> None:
    account = make_account(db)
    with db.session() as session:
        make_user(session, email="colleague@example.com")
    login(client, account.email)
    token = csrf_of(client.get("/settings").text)
    added = client.post(
        "/settings/members", data={"csrf_token": token, "email": "Colleague@example.com", "role": "marketer"}
    )
    assert added.status_code == 200 and "colleague@example.com is now marketer" in added.text
    unknown = client.post(
        "/settings/members", data={"csrf_token": token, "email": "ghost@example.com", "role": "sales"}
    )
    assert unknown.status_code == 422 and "No leadwell account uses ghost@example.com" in unknown.text
    demote = client.post(
        "/settings/members", data={"csrf_token": token, "email": account.email, "role": "sales"}
    )
    assert demote.status_code == 422
    with db.session() as session:
        roles = dict(session.execute(select(User.email, Membership.role).join(Membership)).all())
    assert roles == {account.email: "owner", "colleague@example.com": "marketer"}


def test_non_owners_see_settings_but_cannot_change_them(app: FastAPI, db: Database) -> None:
    owner = make_account(db)
    with db.session() as session:
        workspace = session.get(Workspace, owner.workspace_id)
        assert workspace is not None
        seller = make_user(session, workspace, role="sales")
        seller_email = seller.email
        stored = session.scalars(select(ApiToken.id)).all()
    assert stored == []
    owner_client = logged_in(app, owner.email)
    owner_token = csrf_of(owner_client.get("/settings").text)
    owner_client.post(
        "/settings/tokens", data={"csrf_token": owner_token, "name": "Zapier", "scopes": "read"}
    )
    client = logged_in(app, seller_email)
    page = client.get("/settings").text
    assert "Zapier" in page and owner.email in page and "Only owners can change them" in page
    assert 'id="create-token"' not in page
    token = csrf_of(page)
    revoke_url = (
        "/settings/tokens/" + re.findall(r"tok_[0-9a-z]+_[0-9a-f]+", owner_client.get("/settings").text)[0]
    )
    attempts = [
        ("/settings/tokens", {"name": "mine", "scopes": "read"}),
        (revoke_url + "/revoke", {}),
        ("/settings/members", {"email": seller_email, "role": "owner"}),
    ]
    for url, form in attempts:
        assert client.post(url, data={"csrf_token": token, **form}).status_code == 403, url
    # An owner of another workspace cannot revoke this one's token either.
    stranger = logged_in(app, make_account(db, "Elsewhere").email)
    stranger_token = csrf_of(stranger.get("/settings").text)
    assert stranger.post(revoke_url + "/revoke", data={"csrf_token": stranger_token}).status_code == 404
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 1
        assert session.scalar(select(ApiToken.revoked_at)) is None
        assert session.scalar(select(Membership.role).join(User).where(User.email == seller_email)) == "sales"
