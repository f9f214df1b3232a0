"""Event ingest and timelines over the JSON API."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.db.models import Event
from leadwell.db.session import Database
from leadwell.events import service
from leadwell.events.service import EventIn
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import Tenant


def contact_id(db: Database, tenant: Tenant, codec: IdCodec) -> str:
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        return codec.encode("contact", contact.id)


def count_events(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def test_single_event_is_typed_and_idempotent(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    cid = contact_id(db, tenant, codec)
    body = {
        "contact_id": cid,
        "type": "read_progress",
        "properties": {"asset": "ROI paper", "percent": 80},
        "occurred_at": "2026-01-05T10:00:00+01:00",
        "idempotency_key": "beacon-1",
    }
    first = client.post("/api/v1/events", json=body, headers=tenant.headers)
    assert first.status_code == 201, first.text
    assert first.json()["occurred_at"].startswith("2026-01-05T09:00:00")
    assert first.json()["properties"] == {"asset": "ROI paper", "percent": 80.0}
    again = client.post("/api/v1/events", json=body, headers=tenant.headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert count_events(db) == 1


def test_batch_is_all_or_nothing_and_names_the_item(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    cid = contact_id(db, tenant, codec)
    good = {"contact_id": cid, "type": "asset_downloaded", "properties": {"asset": "Playbook"}}
    bad = {"contact_id": cid, "type": "read_progress", "properties": {"asset": "Playbook", "percent": 180}}
    response = client.post("/api/v1/events/batch", json={"events": [good, good, bad]}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events[2].properties.percent"
    assert count_events(db) == 0
    ok = client.post("/api/v1/events/batch", json={"events": [good] * 5}, headers=tenant.headers)
    assert ok.status_code == 201 and ok.json()["created"] == 5
    assert count_events(db) == 5


def test_batch_deduplicates_keys_within_and_across_batches(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    cid = contact_id(db, tenant, codec)
    item = {"contact_id": cid, "type": "email_opened", "idempotency_key": "open-1"}
    other = {"contact_id": cid, "type": "email_opened", "idempotency_key": "open-2"}
    result = client.post(
        "/api/v1/events/batch", json={"events": [item, item, other]}, headers=tenant.headers
    ).json()
    assert (result["created"], result["duplicates"]) == (2, 1)
    assert result["results"][0]["id"] == result["results"][1]["id"]
    replay = client.post("/api/v1/events/batch", json={"events": [other]}, headers=tenant.headers).json()
    assert replay["results"] == [{"id": result["results"][2]["id"], "created": False}]
    assert count_events(db) == 2


def test_unknown_type_property_contact_and_future(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    cid = contact_id(db, tenant, codec)
    cases = [
        ({"contact_id": cid, "type": "teleported"}, "type"),
        (
            {"contact_id": cid, "type": "asset_downloaded", "properties": {"asset": "x", "colour": "red"}},
            "properties.colour",
        ),
        ({"contact_id": "ct_1_0000000000", "type": "email_opened"}, "contact_id"),
        (
            {
                "contact_id": cid,
                "type": "email_opened",
                "occurred_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            },
            "occurred_at",
        ),
        ({"contact_id": cid, "type": "email_opened", "occurred_at": "2026-01-05T10:00:00"}, "occurred_at"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/events", json=body, headers=tenant.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    assert count_events(db) == 0


def test_timeline_is_newest_first_with_cursor(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        other = factories.make_contact(session, tenant.workspace)
        for hour in range(5):
            factories.make_event(session, contact, occurred_at=start + timedelta(hours=hour))
        # Same instant twice: the cursor must not skip or repeat either.
        factories.make_event(session, contact, occurred_at=start + timedelta(hours=2))
        factories.make_event(session, other, occurred_at=start)
        cid = codec.encode("contact", contact.id)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {
            "contact_id": cid,
            "limit": 2,
            **({"cursor": cursor} if cursor else {}),
        }
        page = client.get("/api/v1/events", params=params, headers=tenant.headers).json()
        seen.extend(item["occurred_at"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)
    typed = client.get("/api/v1/events", params={"type": "call_logged"}, headers=tenant.headers).json()
    assert typed["items"] == []
    since = client.get(
        "/api/v1/events", params={"contact_id": cid, "since": "2026-03-01T03:00:00Z"}, headers=tenant.headers
    ).json()
    assert len(since["items"]) == 2


def test_a_race_on_the_same_idempotency_key_stores_one_event(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    cid = contact_id(db, tenant, codec)
    item = {"contact_id": cid, "type": "email_opened", "idempotency_key": "race-1"}
    holding = threading.Event()

    def first_writer() -> None:
        # Stores the key but keeps its transaction open while the API request runs into it.
        with db.session() as session:
            service.record_events(session, codec, tenant.workspace.id, [EventIn.model_validate(item)])
            holding.set()
            time.sleep(0.5)

    writer = threading.Thread(target=first_writer)
    writer.start()
    assert holding.wait(10)
    response = client.post("/api/v1/events/batch", json={"events": [item]}, headers=tenant.headers)
    writer.join()
    assert response.status_code == 201, response.text
    assert response.json()["results"][0]["created"] is False
    assert count_events(db) == 1
