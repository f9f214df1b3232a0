"""Contacts and organizations over the JSON API (in-process ASGI client, real database)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.db.models import Contact, EngagementCap, Event, Fit
from leadwell.db.session import Database
from tests.conftest import Tenant


def create(client: TestClient, tenant: Tenant, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/contacts", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


def test_create_cleans_fields_and_logs_the_stage(client: TestClient, tenant: Tenant, db: Database) -> None:
    body = create(
        client,
        tenant,
        first_name=" Grace ",
        last_name="Hopper",
        emails=["Grace@Navy.MIL", "grace@navy.mil", "g@h.org"],
        phones=["+1 (415) 555-0100"],
        country="us",
        timezone="America/New_York",
        stage="mql",
        custom={"users": 120, "roi_months": 3},
    )
    assert body["first_name"] == "Grace"
    assert body["emails"] == ["grace@navy.mil", "g@h.org"]
    assert body["email"] == "grace@navy.mil"
    assert body["phones"] == ["+14155550100"]
    assert body["country"] == "US"
    assert body["custom"] == {"users": 120, "roi_months": 3}
    assert str(body["id"]).startswith("ct_")
    with db.session() as session:
        stages = session.scalars(select(Event.properties).where(Event.type == "stage_changed")).all()
    assert stages == [{"to": "mql", "why": "created through the API"}]


def test_get_patch_delete_round_trip(client: TestClient, tenant: Tenant, db: Database) -> None:
    contact = create(client, tenant, first_name="Ada", emails=["ada@example.com"])
    url = f"/api/v1/contacts/{contact['id']}"
    assert client.get(url, headers=tenant.headers).json()["first_name"] == "Ada"
    patched = client.patch(url, json={"title": "Analyst", "stage": "sql"}, headers=tenant.headers)
    assert patched.status_code == 200
    assert patched.json()["title"] == "Analyst"
    assert patched.json()["first_name"] == "Ada"  # untouched fields stay
    with db.session() as session:
        moves = session.scalars(
            select(Event.properties).where(Event.type == "stage_changed").order_by(Event.id)
        )
        assert [m["to"] for m in moves] == ["lead", "sql"]
    create(client, tenant, first_name="Bea", emails=["bea@example.com"])
    with db.session() as session:  # cap totals and fits of both, which no foreign key ties to them
        ids = dict(session.execute(select(Contact.first_name, Contact.id)).all())
        session.add_all(EngagementCap(contact_id=ids[name], rule="read", scope="2026") for name in ids)
        session.add_all(
            Fit(contact_id=i, icp_id=1, workspace_id=tenant.workspace.id, version=1, score=50, grade="C",
                qualified_out=False) for i in ids.values()
        )  # fmt: skip
    assert client.delete(url, headers=tenant.headers).status_code == 204
    assert client.get(url, headers=tenant.headers).status_code == 404
    with db.session() as session:
        left = select(func.count()).select_from(Event).where(Event.contact_id == ids["Ada"])
        assert session.scalar(left) == 0
        assert session.scalars(select(EngagementCap.contact_id)).all() == [ids["Bea"]]
        assert session.scalars(select(Fit.contact_id)).all() == [ids["Bea"]]


def test_email_belongs_to_one_contact(client: TestClient, tenant: Tenant) -> None:
    create(client, tenant, emails=["one@example.com"])
    response = client.post(
        "/api/v1/contacts", json={"emails": ["x@y.com", "ONE@example.com"]}, headers=tenant.headers
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "emails[1]"


def test_list_filters_search_and_cursor(client: TestClient, tenant: Tenant) -> None:
    org = client.post(
        "/api/v1/organizations",
        json={"name": "Globex", "domain": "https://www.Globex.com/about"},
        headers=tenant.headers,
    ).json()
    assert org["domain"] == "globex.com"
    for number in range(7):
        create(
            client,
            tenant,
            first_name=f"Person{number}",
            emails=[f"p{number}@example.com"],
            source="webinar" if number % 2 else "referral",
            organization_id=org["id"] if number < 3 else None,
        )
    first = client.get("/api/v1/contacts", params={"limit": 3}, headers=tenant.headers).json()
    assert [c["first_name"] for c in first["items"]] == ["Person6", "Person5", "Person4"]
    second = client.get(
        "/api/v1/contacts", params={"limit": 3, "cursor": first["next_cursor"]}, headers=tenant.headers
    ).json()
    assert [c["first_name"] for c in second["items"]] == ["Person3", "Person2", "Person1"]
    third = client.get(
        "/api/v1/contacts", params={"limit": 3, "cursor": second["next_cursor"]}, headers=tenant.headers
    ).json()
    assert [c["first_name"] for c in third["items"]] == ["Person0"] and third["next_cursor"] is None
    webinar = client.get("/api/v1/contacts", params={"source": "webinar"}, headers=tenant.headers).json()
    assert sorted(c["first_name"] for c in webinar["items"]) == ["Person1", "Person3", "Person5"]
    globex = client.get("/api/v1/contacts", params={"q": "GLOB"}, headers=tenant.headers).json()
    assert sorted(c["first_name"] for c in globex["items"]) == ["Person0", "Person1", "Person2"]
    by_email = client.get(
        "/api/v1/contacts", params={"email": "P4@example.com"}, headers=tenant.headers
    ).json()
    assert [c["first_name"] for c in by_email["items"]] == ["Person4"]


def test_idempotency_key_returns_the_first_answer(client: TestClient, tenant: Tenant, db: Database) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "import-42"}
    first = client.post("/api/v1/contacts", json={"first_name": "Once"}, headers=headers)
    again = client.post("/api/v1/contacts", json={"first_name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = client.post("/api/v1/contacts", json={"first_name": "Twice"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1


def test_organization_crud_and_domain_conflict(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/api/v1/organizations",
        json={"name": "Initech", "domain": "initech.com", "employees": 80},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    url = f"/api/v1/organizations/{created.json()['id']}"
    grown = client.patch(url, json={"employees": 120}, headers=tenant.headers).json()
    assert grown["employees"] == 120 and grown["name"] == "Initech"
    clash = client.post(
        "/api/v1/organizations", json={"name": "Copy", "domain": "INITECH.com"}, headers=tenant.headers
    )
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "domain"
    listed = client.get("/api/v1/organizations", params={"q": "init"}, headers=tenant.headers).json()
    assert [o["name"] for o in listed["items"]] == ["Initech"]
    assert client.delete(url, headers=tenant.headers).status_code == 204
    assert client.get(url, headers=tenant.headers).status_code == 404


def test_deleting_an_organization_keeps_its_people(client: TestClient, tenant: Tenant) -> None:
    org = client.post("/api/v1/organizations", json={"name": "Hooli"}, headers=tenant.headers).json()
    person = create(client, tenant, first_name="Gavin", organization_id=org["id"])
    client.delete(f"/api/v1/organizations/{org['id']}", headers=tenant.headers)
    kept = client.get(f"/api/v1/contacts/{person['id']}", headers=tenant.headers).json()
    assert kept["organization"] is None and kept["first_name"] == "Gavin"
