"""Refused posts over real HTTP: each is answered clearly and writes nothing at all."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from leadwell.capture import public_pages
from leadwell.db.models import Event, Form, LandingPage, Visitor, Workspace
from leadwell.db.session import Database
from tests import factories
from tests.capture.public_support import counts, hidden_values, make_form, make_page
from tests.conftest import TEST_SECRET

ORIGIN = {"Origin": "http://testserver"}
GOOD = {"email": "ada@analytical.example", "first_name": "Ada", "size": "1-10"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def landing(db: Database) -> tuple[Workspace, Form, LandingPage]:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(session, workspace, allowed_origins=["https://partner.example"])
        page = make_page(session, workspace, form)
    return workspace, form, page


def rendered(client: TestClient, page: LandingPage) -> dict[str, str]:
    """The hidden fields of a freshly rendered form (and the page view it records)."""
    response = client.get(f"/p/{page.slug}")
    assert response.status_code == 200
    return hidden_values(response.text)


def post(
    client: TestClient,
    form: Form,
    body: dict[str, str] | str | bytes,
    headers: dict[str, str] | None = None,
) -> Any:
    sent = {**ORIGIN, **(headers or {})}
    if isinstance(body, dict):
        return client.post(f"/f/{form.slug}", data=body, headers=sent)
    return client.post(f"/f/{form.slug}", content=body, headers={**FORM_TYPE, **sent})


def refused(
    db: Database, client: TestClient, form: Form, body: Any, headers: dict[str, str] | None = None
) -> Any:
    """Post and check that nothing was written; the response."""
    before = counts(db)
    response = post(client, form, body, headers)
    assert counts(db) == before, response.text
    assert 400 <= response.status_code < 500
    assert response.headers["x-content-type-options"] == "nosniff"
    return response


def test_a_filled_honeypot_is_refused(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    response = refused(
        db, client, form, {**rendered(client, page), **GOOD, "lw_website": "http://spam.example"}
    )
    assert response.status_code == 400 and "must stay empty" in response.text


def test_a_form_sent_faster_than_its_minimum_fill_time_is_refused(client: TestClient, db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(session, workspace, min_fill_seconds=60)
        page = make_page(session, workspace, form)
    response = refused(db, client, form, {**rendered(client, page), **GOOD})
    assert response.status_code == 400 and "too quickly" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "https://partner.example.evil.example"},
        {"Origin": "http://partner.example"},  # the allowed origin is https only
    ],
)
def test_a_post_from_a_foreign_origin_is_refused(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage], headers: dict[str, str]
) -> None:
    _workspace, form, page = landing
    response = refused(db, client, form, {**rendered(client, page), **GOOD}, headers)
    assert response.status_code == 403 and "Origin" in response.text


def test_without_origin_a_foreign_referer_is_refused_and_a_missing_one_too(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    body = {**rendered(client, page), **GOOD}
    before = counts(db)
    for headers in ({}, {"Referer": "https://evil.example/page"}, {"Referer": "not a url"}):
        response = client.post(f"/f/{form.slug}", data=body, headers=headers)
        assert response.status_code == 403, response.text
        assert counts(db) == before
    before = counts(db)
    accepted = client.post(f"/f/{form.slug}", data=body, headers={"Referer": "https://partner.example/offer"})
    assert accepted.status_code == 200 and counts(db).submissions == before.submissions + 1


def test_an_allowed_origin_may_post(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    response = post(
        client, form, {**rendered(client, page), **GOOD}, {"Origin": "https://Partner.example:443"}
    )
    assert response.status_code == 200, response.text


def test_an_oversized_body_is_refused_with_413(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    body = {**rendered(client, page), **GOOD, "note": "x" * 70_000}
    response = refused(db, client, form, body)
    assert response.status_code == 413
    json_answer = refused(db, client, form, body, {"Accept": "application/json"})
    assert json_answer.json()["errors"] == [{"field": "body", "message": "larger than 64 KiB"}]


def test_a_body_past_the_limit_without_a_content_length_is_refused(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, _page = landing

    def chunks() -> Any:
        for _ in range(20):
            yield b"note=" + b"y" * 8192 + b"&"

    before = counts(db)
    response = client.post(f"/f/{form.slug}", content=chunks(), headers={**FORM_TYPE, **ORIGIN})
    assert response.status_code == 413 and counts(db) == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"email": ""}, "email", "required"),
        ({"email": "not-an-address"}, "email", "not an email address"),
        ({"size": "5000+"}, "size", "choose one of the options"),
        ({"first_name": "A" * 121}, "first_name", "at most 120 characters"),
        ({"note": "z" * 2001}, "note", "at most 2000 characters"),
        ({"budget": "lots"}, "budget", "not a number"),
        ({"site": "javascript:alert(1)"}, "site", "not a web address"),
        ({"phone": "call me"}, "phone", "not a phone number"),
        ({"country": "Atlantis"}, "country", "not a country we know"),
        ({"first_name": "Ada\x00"}, "first_name", "not text"),
    ],
)
def test_invalid_fields_come_back_with_a_message_and_the_values_kept(
    client: TestClient,
    db: Database,
    landing: tuple[Workspace, Form, LandingPage],
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    _workspace, form, page = landing
    body = {**rendered(client, page), **GOOD, "last_name": "Lovelace <b>", **change}
    response = refused(db, client, form, body)
    assert response.status_code == 422
    assert message in response.text
    assert 'value="Lovelace &lt;b&gt;"' in response.text  # kept, and escaped
    problem = refused(db, client, form, body, {"Accept": "application/json"})
    assert problem.status_code == 422
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["errors"][0]["field"] == field
    assert message in problem.json()["errors"][0]["message"]


def test_a_required_consent_must_be_ticked(client: TestClient, db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(session, workspace, consent_required=True)
        page = make_page(session, workspace, form)
    response = refused(db, client, form, {**rendered(client, page), **GOOD})
    assert response.status_code == 422 and "Consent: tick this box" in response.text


def test_the_form_shown_again_can_be_sent_once_corrected(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    first = refused(db, client, form, {**rendered(client, page), **GOOD, "email": "nope"})
    again = hidden_values(first.text)
    response = post(client, form, {**again, **GOOD})
    assert response.status_code == 200 and "Thanks!" in response.text


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("email=a%40b.example&email=c%40d.example", 400, "email"),
        (b"first_name=\xff\xfe&email=a%40b.example", 400, "body"),
        ("first_name=%FF%FE&email=a%40b.example", 400, "body"),
    ],
)
def test_malformed_bodies_are_refused(
    client: TestClient,
    db: Database,
    landing: tuple[Workspace, Form, LandingPage],
    body: str | bytes,
    status: int,
    field: str,
) -> None:
    _workspace, form, page = landing
    hidden = rendered(client, page)
    token = f"lw_token={hidden['lw_token']}&".encode()
    raw = token + (body.encode() if isinstance(body, str) else body)
    response = refused(db, client, form, raw, {"Accept": "application/json"})
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] == field


def test_a_body_that_is_not_a_url_encoded_form_is_refused(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    body = {**rendered(client, page), **GOOD}
    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x"):
        response = refused(db, client, form, str(body).encode(), {"Content-Type": content_type})
        assert response.status_code == 415


def _expired_token(form_id: int) -> str:
    """A genuine render token, signed with the installation's secret 25 hours ago."""

    class DayOld(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 25 * 3600

    serializer = URLSafeTimedSerializer(TEST_SECRET, salt="leadwell-form", signer=DayOld)
    return str(serializer.dumps({"f": form_id, "p": 0, "e": 0, "t": time.time() - 25 * 3600, "n": "a" * 22}))


def test_forged_altered_foreign_and_expired_tokens_are_refused(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    workspace, form, page = landing
    with db.session() as session:
        other = make_form(session, session.get(Workspace, workspace.id) or workspace)
    hidden = rendered(client, page)
    genuine = hidden["lw_token"]
    altered = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    payload, _, signature = genuine.partition(".")
    other_hidden = hidden_values(client.get(f"/f/{other.slug}/frame").text)
    cases = {
        "": "altered or not made here",
        "forged.token.value": "altered or not made here",
        altered: "altered or not made here",
        payload + "x." + signature: "altered or not made here",
        other_hidden["lw_token"]: "altered or not made here",
        _expired_token(form.id): "expired",
    }
    for token, message in cases.items():
        response = refused(db, client, form, {**hidden, **GOOD, "lw_token": token})
        assert response.status_code == 400 and message in response.text, token
    expired = refused(db, client, form, {**hidden, **GOOD, "lw_token": _expired_token(form.id)})
    assert "This form expired" in expired.text and "reload the page" in expired.text


def test_tampered_hidden_fields_are_refused(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    hidden = rendered(client, page)
    for change in ({"utm_source": "u" * 201}, {"lw_page_url": "p" * 2001}, {"lw_referrer": "a\x01b"}):
        response = refused(db, client, form, {**hidden, **GOOD, **change})
        assert response.status_code == 400


def test_rate_limits_answer_429_with_retry_after(client: TestClient, db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        per_ip = make_form(session, workspace, per_ip_per_hour=2)
        per_form = make_form(session, workspace, per_form_per_minute=1)
        ip_page, form_page = make_page(session, workspace, per_ip), make_page(session, workspace, per_form)
    for number in range(2):
        accepted = post(
            client, per_ip, {**rendered(client, ip_page), **GOOD, "email": f"p{number}@x.example"}
        )
        assert accepted.status_code == 200
    limited = refused(db, client, per_ip, {**rendered(client, ip_page), **GOOD})
    assert limited.status_code == 429
    assert 3000 < int(limited.headers["retry-after"]) <= 3600
    assert post(client, per_form, {**rendered(client, form_page), **GOOD}).status_code == 200
    limited = refused(
        db, client, per_form, {**rendered(client, form_page), **GOOD}, {"Accept": "application/json"}
    )
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 60
    assert limited.json()["errors"][0]["field"] == "rate"


def test_a_client_that_drops_its_cookie_stops_adding_visitors(
    client: TestClient,
    db: Database,
    landing: tuple[Workspace, Form, LandingPage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each cookieless request would be a new browser: past the per-address limit the page is
    still served but nothing more is stored."""
    monkeypatch.setattr(public_pages, "NEW_VISITORS_PER_IP_PER_HOUR", 3)
    _, _, page = landing
    keys = []
    for _ in range(6):
        client.cookies.clear()
        response = client.get(f"/p/{page.slug}")
        assert response.status_code == 200 and "Get the guide" in response.text
        keys.append(response.cookies.get("lw_vid"))
    assert all(keys[:3]) and keys[3:] == [None, None, None]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Visitor)) == 3
        views = select(func.count()).select_from(Event).where(Event.type == "page_viewed")
        assert session.scalar(views) == 3
    client.cookies.set("lw_vid", str(keys[0]))
    kept = client.get(f"/p/{page.slug}")  # a browser that kept its cookie is still recorded
    assert kept.status_code == 200
    with db.session() as session:
        assert session.scalar(views) == 4


def test_unknown_and_archived_forms_answer_404(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    hidden = rendered(client, page)
    response = client.post("/f/no-such-form", data={**hidden, **GOOD}, headers=ORIGIN)
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.text
    with db.session() as session:
        stored = session.get(Form, form.id)
        assert stored is not None
        stored.archived_at = stored.created_at
    response = refused(db, client, form, {**hidden, **GOOD})
    assert response.status_code == 404
    assert "no longer takes submissions" in client.get(f"/p/{page.slug}").text


def test_a_refusal_is_a_friendly_page_never_a_stack_trace(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    response = refused(db, client, form, {**rendered(client, page), **GOOD, "lw_token": "x" * 3000})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    assert re.search(r"<h1>This form could not be sent</h1>", response.text)
