"""Deals over the JSON API: closing one writes deal_won/deal_lost to the log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import Event
from leadwell.db.session import Database
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import Tenant


def test_deal_lifecycle_logs_outcome(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        cid = codec.encode("contact", contact.id)
    created = client.post(
        "/api/v1/deals",
        json={
            "name": "Ops audit",
            "contact_id": cid,
            "value": "15000.50",
            "currency": "EUR",
            "stage": "proposal",
        },
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    deal = created.json()
    assert deal["status"] == "open" and deal["closed_at"] is None and deal["value"] == "15000.50"
    won = client.patch(
        f"/api/v1/deals/{deal['id']}", json={"status": "won", "reason": "fast ROI"}, headers=tenant.headers
    ).json()
    assert won["status"] == "won" and won["closed_at"] is not None
    with db.session() as session:
        logged = session.scalars(select(Event).where(Event.type == "deal_won")).one()
        assert logged.properties == {
            "deal": deal["id"],
            "value": 15000.5,
            "currency": "EUR",
            "reason": "fast ROI",
        }
    listed = client.get("/api/v1/deals", params={"status": "won"}, headers=tenant.headers).json()
    assert [d["id"] for d in listed["items"]] == [deal["id"]]
    assert (
        client.get("/api/v1/deals", params={"status": "lost"}, headers=tenant.headers).json()["items"] == []
    )
    assert client.delete(f"/api/v1/deals/{deal['id']}", headers=tenant.headers).status_code == 204


def test_deal_rejects_bad_currency_and_negative_value(client: TestClient, tenant: Tenant) -> None:
    for body, field in [
        ({"name": "x", "currency": "euro"}, "currency"),
        ({"name": "x", "value": -5}, "value"),
        ({"name": "x", "status": "maybe"}, "status"),
        ({"name": "x", "contact_id": "nope"}, "contact_id"),
    ]:
        response = client.post("/api/v1/deals", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
