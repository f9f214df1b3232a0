"""Authentication, bad input and the problem-details contract of the API."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.auth.accounts import create_token, revoke_token
from leadwell.db.models import Contact, Event
from leadwell.db.session import Database
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import Tenant


def contacts(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Contact)) or 0


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, object]:
    """Check an RFC 9457 problem response, and that it names ``field`` when given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        errors = body["errors"]
        assert isinstance(errors, list) and errors[0]["field"] == field, body
        assert field in str(body["detail"])
    return body


def test_missing_unknown_and_revoked_tokens(client: TestClient, db: Database, tenant: Tenant) -> None:
    assert_problem(client.get("/api/v1/contacts"), 401)
    assert_problem(client.get("/api/v1/contacts", headers={"Authorization": "Bearer lw_nope"}), 401)
    assert_problem(client.get("/api/v1/contacts", headers={"Authorization": "Basic abc"}), 401)
    with db.session() as session:
        token, secret = create_token(session, tenant.workspace, "temp")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    with db.session() as session:
        revoke_token(session, tenant.workspace.id, token.id)
    response = client.get("/api/v1/contacts", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_read_only_token_cannot_write(client: TestClient, db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        secret = factories.make_token(session, tenant.workspace, scopes=("read",))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    assert_problem(client.post("/api/v1/contacts", json={"first_name": "X"}, headers=headers), 403)
    assert contacts(db) == 0


def test_unknown_fields_and_wrong_types_are_named(client: TestClient, db: Database, tenant: Tenant) -> None:
    h = tenant.headers
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "fist_name": "typo"}, headers=h),
        422,
        "fist_name",
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "emails": "a@b.c"}, headers=h), 422, "emails"
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"emails": ["ok@example.com", "not-an-email"]}, headers=h),
        422,
        "emails[1]",
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "phones": ["12"]}, headers=h),
        422,
        "phones[0]",
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "stage": "hot"}, headers=h), 422, "stage"
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "country": "XX"}, headers=h), 422, "country"
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "timezone": "Mars/Base"}, headers=h),
        422,
        "timezone",
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "custom": {"bad key": 1}}, headers=h),
        422,
        "custom.bad key",
    )
    assert_problem(client.post("/api/v1/contacts", json={}, headers=h), 422, "first_name")
    assert_problem(
        client.post("/api/v1/organizations", json={"name": "A", "employees": "many"}, headers=h),
        422,
        "employees",
    )
    assert_problem(
        client.post("/api/v1/organizations", json={"name": "A", "domain": "not a domain"}, headers=h),
        422,
        "domain",
    )
    assert_problem(client.get("/api/v1/contacts", params={"limit": 0}, headers=h), 422, "limit")
    assert_problem(client.get("/api/v1/contacts", params={"cursor": "!!"}, headers=h), 422, "cursor")
    assert_problem(client.get("/api/v1/events", params={"type": "nope"}, headers=h), 422, "type")
    naive = base64.urlsafe_b64encode(b"2026-01-01T00:00:00|5").decode()
    assert_problem(client.get("/api/v1/events", params={"cursor": naive}, headers=h), 422, "cursor")
    assert contacts(db) == 0


def test_malformed_json_and_wrong_body_type(client: TestClient, db: Database, tenant: Tenant) -> None:
    headers = {**tenant.headers, "Content-Type": "application/json"}
    assert_problem(
        client.post("/api/v1/contacts", content=b'{"first_name": "A",', headers=headers), 400, "body"
    )
    assert_problem(client.post("/api/v1/contacts", content=b"[1, 2]", headers=headers), 422, "body")
    assert contacts(db) == 0


def test_oversized_bodies_are_refused_before_parsing(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        cid = codec.encode("contact", factories.make_contact(session, tenant.workspace).id)
    big = {"events": [{"contact_id": cid, "type": "note_added", "properties": {"text": "x" * 1900}}] * 600}
    response = client.post("/api/v1/events/batch", json=big, headers=tenant.headers)
    assert_problem(response, 413, "body")

    def chunks() -> object:  # no Content-Length: the limit must hold for streamed bodies too
        for _ in range(40):
            yield b" " * 32768
        yield b"{}"

    streamed = client.post(
        "/api/v1/contacts",
        content=chunks(),  # type: ignore[arg-type]
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert_problem(streamed, 413, "body")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "leadwell API"
    assert {"/api/v1/contacts", "/api/v1/events/batch", "/api/v1/deals/{deal_id}"} <= set(spec["paths"])
    assert "Problem" in spec["components"]["schemas"]
    assert not any(path.startswith(("/login", "/contacts", "/dashboard")) for path in spec["paths"])
    create = spec["paths"]["/api/v1/contacts"]["post"]
    assert create["responses"]["422"]["content"]["application/problem+json"]


def test_nul_characters_are_refused_by_name_not_stored(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    h = tenant.headers
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A\x00B"}, headers=h), 422, "first_name"
    )
    assert_problem(
        client.post("/api/v1/contacts", json={"first_name": "A", "custom": {"note": "x\x00"}}, headers=h),
        422,
        "custom.note",
    )
    with db.session() as session:
        cid = codec.encode("contact", factories.make_contact(session, tenant.workspace).id)
    batch = {
        "events": [
            {"contact_id": cid, "type": "note_added", "properties": {"text": "ok"}},
            {"contact_id": cid, "type": "note_added", "properties": {"text": "bad\x00"}},
        ]
    }
    assert_problem(
        client.post("/api/v1/events/batch", json=batch, headers=h), 422, "events[1].properties.text"
    )
    assert_problem(client.get("/api/v1/contacts?q=a%00b", headers=h), 400, "query")
    assert contacts(db) == 1
