"""Stage moves: move_stage and engagement rows, manual moves on the contact page, the stage history
API, merges closing and reopening queue places, and the Newsletter list pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.contacts.merge import merge_contacts, undo_merge
from leadwell.db.models import Contact, ContactList, Engagement, Event, ListMember, StageChange
from leadwell.db.session import Database
from leadwell.errors import InvalidInput
from leadwell.ids import IdCodec
from leadwell.scoring.rows import engagement_of, ensure_engagements, queue_state_for
from leadwell.scoring.stage_pages import move_by_hand
from leadwell.scoring.stages import check_stage, move_stage, nurture_list, stage_history
from tests import factories
from tests.conftest import Tenant
from tests.test_pages import csrf_of, logged_in

AT = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)


# --- rows.py and stages.py -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "state"),
    [("subscriber", "open"), ("lead", "open"), ("mql", "open"), ("sql", "open"), ("nurture", "parked"),
     ("opportunity", "closed"), ("customer", "closed"), ("disqualified", "closed")],
)  # fmt: skip
def test_queue_state_follows_the_stage(stage: str, state: str) -> None:
    assert queue_state_for(stage) == state


def test_engagement_rows_are_created_once(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        lead = factories.make_contact(session, tenant.workspace)
        won = factories.make_contact(session, tenant.workspace, stage="customer")
        rows = ensure_engagements(session, tenant.workspace.id, {lead.id: "lead", won.id: "customer"})
        assert (rows[lead.id].queue_state, rows[won.id].queue_state) == ("open", "closed")
        assert rows[lead.id].score == 0 and rows[lead.id].scored_at is None
        assert engagement_of(session, tenant.workspace.id, lead.id, "lead") is rows[lead.id]
        assert session.scalar(select(func.count()).select_from(Engagement)) == 2


def test_move_stage_records_history_event_and_queue_place(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        user = factories.make_user(session, tenant.workspace)
        change = move_stage(session, contact, "nurture", "not now: budget in Q3", by_user_id=user.id, at=AT)
        assert change is not None and (change.from_stage, change.to_stage) == ("lead", "nurture")
        assert move_stage(session, contact, "nurture", "again") is None  # already there
        assert contact.stage == "nurture"
        row = session.get(Engagement, contact.id)
        assert row is not None and row.queue_state == "parked" and row.parked_score == 0
        newsletter = nurture_list(session, tenant.workspace.id)
        assert (newsletter.slug, newsletter.name) == ("newsletter", "Newsletter")
        assert session.get(ListMember, (newsletter.id, contact.id)) is not None
        event = session.scalars(select(Event).where(Event.type == "stage_changed")).one()
        assert event.properties == {"from": "lead", "to": "nurture", "why": "not now: budget in Q3"}
        assert event.occurred_at == AT
        move_stage(session, contact, "sql", "called back: ready now")
        assert row.queue_state == "open" and row.parked_score is None
        assert session.get(ListMember, (newsletter.id, contact.id)) is not None  # still subscribed
        history = stage_history(session, tenant.workspace.id, contact.id)
        assert [(h.from_stage, h.to_stage, h.changed_by_id) for h in history] == [
            ("lead", "nurture", user.id),
            ("nurture", "sql", None),
        ]


def test_unknown_stages_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as raised:
        check_stage("warm")
    assert raised.value.field == "stage"


def test_moves_by_hand_need_a_reason_and_a_live_contact(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace.id
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        gone = factories.make_contact(session, tenant.workspace, merged_into_id=contact.id)
        for stage, reason, field in [
            ("sql", "  ", "reason"),
            ("hot", "why", "stage"),
            ("sql", "x" * 501, "reason"),
        ]:
            with pytest.raises(InvalidInput) as raised:
                move_by_hand(session, ws, contact.id, stage, reason, None)
            assert raised.value.field == field
        with pytest.raises(InvalidInput) as raised:
            move_by_hand(session, ws, gone.id, "sql", "booked", None)
        assert raised.value.field == "stage"
        change = move_by_hand(session, ws, contact.id, "sql", "  meeting\nbooked ", None)
        assert change is not None and change.why == "meeting booked"


# --- merges ----------------------------------------------------------------------------------------


def test_a_merged_away_contact_leaves_the_queue_and_an_undo_brings_it_back(
    db: Database, tenant: Tenant
) -> None:
    ws = tenant.workspace
    with db.session() as session:
        survivor = factories.make_contact(session, ws, stage="lead")
        merged = factories.make_contact(session, ws, stage="nurture")
        ensure_engagements(session, ws.id, {survivor.id: "lead", merged.id: "nurture"})
        record = merge_contacts(session, ws.id, survivor.id, merged.id)
        states = {r.contact_id: r.queue_state for r in session.scalars(select(Engagement))}
        assert states == {survivor.id: "open", merged.id: "closed"}
        undo_merge(session, ws.id, record.id)
        states = {
            r.contact_id: r.queue_state
            for r in session.scalars(select(Engagement).execution_options(populate_existing=True))
        }
        assert states == {survivor.id: "open", merged.id: "parked"}


def test_a_merge_that_moves_the_survivor_on_moves_its_queue_place(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        survivor = factories.make_contact(session, ws, stage="nurture")
        merged = factories.make_contact(session, ws, stage="customer")
        ensure_engagements(session, ws.id, {survivor.id: "nurture", merged.id: "customer"})
        merge_contacts(session, ws.id, survivor.id, merged.id)
        assert survivor.stage == "customer"
        assert session.get(Engagement, survivor.id).queue_state == "closed"  # type: ignore[union-attr]


# --- pages and API ---------------------------------------------------------------------------------


def test_the_contact_page_moves_a_contact_by_hand(
    app: FastAPI, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace, first_name="Grace", last_name="Hopper")
        other = factories.make_contact(session, tenant.workspace, first_name="Alan", last_name="Turing")
        ensure_engagements(session, tenant.workspace.id, {contact.id: "lead", other.id: "lead"})
    public = codec.encode("contact", contact.id)
    client = logged_in(app, tenant.user.email)
    page = client.get(f"/contacts/{public}").text
    assert 'id="stage"' in page and "Move to stage" in page and "In the call queue" in page
    assert "In the call queue: place 1 of the first 25 now." in page  # the older of two equal leads
    token = csrf_of(page)
    url = f"/contacts/{public}/stage"
    assert client.post(url, data={"stage": "nurture", "reason": "x"}).status_code == 403  # no CSRF token
    refused = client.post(url, data={"stage": "nurture", "reason": " ", "csrf_token": token})
    assert refused.status_code == 422 and "reason" in refused.text
    form = {"stage": "nurture", "reason": "Not now: budget in Q3", "csrf_token": token}
    moved = client.post(url, data=form, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/contacts/{public}?moved=nurture#stage"
    page = client.get(moved.headers["location"]).text
    assert "Moved to Nurture." in page and "Not now: budget in Q3" in page and "Test User" in page
    assert "Parked in nurture" in page and 'href="/lists/newsletter"' in page
    assert "place 1 of" not in page  # parked with no revisit date: out of today's queue
    with db.session() as session:
        change = session.scalars(select(StageChange)).one()
        assert (change.contact_id, change.to_stage, change.changed_by_id) == (
            contact.id,
            "nurture",
            tenant.user.id,
        )
    listing = client.get("/lists/newsletter").text
    assert "Grace Hopper" in listing and "Alan Turing" not in listing and "1 contact" in listing
    assert "Newsletter" in client.get("/lists").text
    exported = client.get("/lists/newsletter/export.csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:4] == ["id", "first_name", "last_name", "email"]
    assert [r[1:3] for r in rows[1:]] == [["Grace", "Hopper"]]


def test_stage_pages_stay_in_their_workspace(
    app: FastAPI, db: Database, tenant: Tenant, other_tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        theirs = factories.make_contact(session, other_tenant.workspace)
        move_stage(session, theirs, "nurture", "not now")
    client = logged_in(app, tenant.user.email)
    token = csrf_of(client.get("/contacts").text)
    public = codec.encode("contact", theirs.id)
    assert (
        client.post(
            f"/contacts/{public}/stage", data={"stage": "sql", "reason": "x", "csrf_token": token}
        ).status_code
        == 404
    )
    assert client.get("/lists/newsletter").status_code == 404  # their list is not ours
    with db.session() as session:
        assert session.get(Contact, theirs.id).stage == "nurture"  # type: ignore[union-attr]


def test_the_api_returns_the_stage_history_newest_first(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        move_stage(
            session, contact, "mql", "Good fit and engaged: grade A, engagement 52 ≥ 40", rule="engaged-fit"
        )
        move_stage(session, contact, "sql", "meeting booked", by_user_id=tenant.user.id)
        move_stage(session, contact, "opportunity", "deal opened")
    public = codec.encode("contact", contact.id)
    first = client.get(f"/api/v1/contacts/{public}/stages?limit=2", headers=tenant.headers)
    assert first.status_code == 200
    body = first.json()
    assert [(i["from_stage"], i["to_stage"]) for i in body["items"]] == [
        ("sql", "opportunity"),
        ("mql", "sql"),
    ]
    assert body["items"][1]["changed_by"] == codec.encode("user", tenant.user.id)
    rest = client.get(
        f"/api/v1/contacts/{public}/stages?cursor={body['next_cursor']}", headers=tenant.headers
    ).json()
    assert rest["next_cursor"] is None
    assert rest["items"] == [
        {"from_stage": "lead", "to_stage": "mql", "why": "Good fit and engaged: grade A, engagement 52 ≥ 40",
         "rule": "engaged-fit", "changed_by": None, "changed_at": rest["items"][0]["changed_at"]}
    ]  # fmt: skip
    assert client.get(f"/api/v1/contacts/{public}/stages", headers=other_tenant.headers).status_code == 404
    assert client.get("/api/v1/contacts/ct_nope/stages", headers=tenant.headers).status_code == 404
    bad = client.get(f"/api/v1/contacts/{public}/stages?cursor=zzz", headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


def test_a_merged_contact_page_offers_no_move(
    app: FastAPI, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        kept = factories.make_contact(session, tenant.workspace)
        gone = factories.make_contact(session, tenant.workspace, merged_into_id=kept.id)
        session.add(ContactList(workspace_id=tenant.workspace.id, slug="partners", name="Partners"))
    client = logged_in(app, tenant.user.email)
    page = client.get(f"/contacts/{codec.encode('contact', gone.id)}").text
    assert "Move to stage" not in page and "Out of the call queue" in page
    assert client.get("/lists/partners").status_code == 200
