"""The queue and call outcomes over the JSON API: the queue as items, logging a call (with an
Idempotency-Key), problems naming the field, scopes and workspace isolation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.db.models import Event
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.sales.why_now import day_words
from tests.conftest import Tenant
from tests.factories import make_event, make_token, make_user
from tests.sales.queue_data import make_lead


def test_the_queue_as_json(client: TestClient, db: Database, tenant: Tenant, codec: IdCodec) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        seller = make_user(session, ws, role="sales")
        first = make_lead(
            session, ws, grade="A", score=60, scored_at=now, first_name="Ada", last_name="Lovelace"
        )
        make_event(session, first, "email_replied", now - timedelta(hours=3), {"subject": "Proposal"})
        second = make_lead(session, ws, grade="C", owner_id=seller.id, phones=["+4930123456"])
        ids = [codec.encode("contact", first.id), codec.encode("contact", second.id)]
        seller_id = codec.encode("user", seller.id)
    reply = client.get("/api/v1/queue", headers=tenant.headers)
    assert reply.status_code == 200
    items = reply.json()["items"]
    assert [item["contact_id"] for item in items] == ids
    top = items[0]
    assert (top["rank"], top["name"], top["grade"], top["stage"], top["currency"]) == (
        1,
        "Ada Lovelace",
        "A",
        "lead",
        "USD",
    )
    assert top["why_now"] == [
        f"replied to 'Proposal' {day_words(now - timedelta(hours=3), utcnow())}",
        "grade A",
    ]
    assert top["deal_value"] == "5000" and top["deal_value_basis"] == "settings"
    assert float(top["expected_value"]) == round(top["probability"] * 5000, 2)
    mine = client.get("/api/v1/queue", params={"owner_id": seller_id, "limit": 5}, headers=tenant.headers)
    assert [item["contact_id"] for item in mine.json()["items"]] == ids[1:]
    assert mine.json()["items"][0]["phones"] == ["+4930123456"]
    nobody = client.get("/api/v1/queue", params={"owner_id": "usr_zz_0000000000"}, headers=tenant.headers)
    assert nobody.json() == {"items": []}
    assert client.get("/api/v1/queue", params={"limit": 0}, headers=tenant.headers).status_code == 422


def test_logging_a_call(client: TestClient, db: Database, tenant: Tenant, codec: IdCodec) -> None:
    ws = tenant.workspace
    with db.session() as session:
        lead = make_lead(session, ws, grade="B", stage="mql", timezone="America/New_York")
        public = codec.encode("contact", lead.id)
    revisit = (utcnow() + timedelta(days=60)).date()
    body = {"outcome": "not_now", "reason": "budget next quarter", "revisit_on": revisit.isoformat()}
    headers = {**tenant.headers, "Idempotency-Key": "call-1"}
    first = client.post(f"/api/v1/contacts/{public}/calls", json=body, headers=headers)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert (answer["contact_id"], answer["outcome"], answer["stage"], answer["queue_state"]) == (
        public, "not_now", "nurture", "parked",
    )  # fmt: skip
    assert answer["stage_changed"] is True and answer["event_id"].startswith("ev_")
    assert answer["due_at"].startswith(revisit.isoformat()) and answer["due_at"][11:13] in ("13", "14")
    again = client.post(f"/api/v1/contacts/{public}/calls", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == answer
    assert again.headers["Idempotent-Replayed"] == "true"
    with db.session() as session:
        calls = session.scalar(select(func.count()).select_from(Event).where(Event.type == "call_logged"))
    assert calls == 1
    event = client.get(f"/api/v1/events/{answer['event_id']}", headers=tenant.headers).json()
    assert event["type"] == "call_logged" and event["properties"]["revisit_on"] == revisit.isoformat()


def test_refused_calls_are_problems_naming_the_field(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        lead = make_lead(session, tenant.workspace)
        theirs = make_lead(session, other_tenant.workspace)
        reader = make_token(session, tenant.workspace, scopes=("read",))
    url = f"/api/v1/contacts/{codec.encode('contact', lead.id)}/calls"
    cases = [
        ({"outcome": "not_a_fit"}, "reason"),
        ({"outcome": "not_now"}, "revisit_on"),
        ({"outcome": "hung_up"}, "outcome"),
        ({"outcome": "no_answer", "learned": {"organization.size": "5"}}, "learned.organization.size"),
        ({"outcome": "no_answer", "mood": "good"}, "mood"),
    ]
    for body, field in cases:
        reply = client.post(url, json=body, headers=tenant.headers)
        assert reply.status_code == 422, body
        assert reply.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in reply.json()["errors"]] == [field], reply.json()
    foreign = f"/api/v1/contacts/{codec.encode('contact', theirs.id)}/calls"
    assert client.post(foreign, json={"outcome": "no_answer"}, headers=tenant.headers).status_code == 404
    forged = client.post(
        "/api/v1/contacts/ct_1_0000000000/calls", json={"outcome": "no_answer"}, headers=tenant.headers
    )
    assert forged.status_code == 404
    read_only = {"Authorization": f"Bearer {reader}"}
    assert client.post(url, json={"outcome": "no_answer"}, headers=read_only).status_code == 403
    assert client.get("/api/v1/queue", headers=read_only).status_code == 200
    assert client.get("/api/v1/queue").status_code == 401
