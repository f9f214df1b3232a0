"""Deals and lifecycle stages: a deal's stage comes from the pipeline settings, and opening, winning
and losing a deal moves its contact (opportunity, customer, nurture), recorded in the stage history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Engagement, Event, ListMember, StageChange, Workspace
from leadwell.db.session import Database
from leadwell.errors import InvalidInput
from leadwell.ids import IdCodec
from leadwell.sales.deals import DealCreate, DealUpdate, create_deal, money_text, stage_label, update_deal
from leadwell.scoring.stages import nurture_list
from tests import factories
from tests.conftest import Tenant


def _history(session: Session, contact: Contact) -> list[tuple[str | None, str, str]]:
    rows = session.scalars(
        select(StageChange).where(StageChange.contact_id == contact.id).order_by(StageChange.id)
    )
    return [(row.from_stage, row.to_stage, row.why) for row in rows]


def _open(
    session: Session, codec: IdCodec, contact: Contact, name: str = "Ops audit", **fields: object
) -> Deal:
    data = DealCreate.model_validate(
        {"name": name, "contact_id": codec.encode("contact", contact.id), **fields}
    )
    return create_deal(session, codec, contact.workspace_id, data)


def _change(session: Session, codec: IdCodec, deal: Deal, **fields: object) -> Deal:
    return update_deal(session, codec, deal.workspace_id, deal.id, DealUpdate.model_validate(fields))


def test_new_deals_start_in_the_first_pipeline_stage(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        deal = _open(session, codec, contact)
        assert deal.stage == "discovery" and deal.stage_changed_at is not None
        moved = _change(session, codec, deal, stage="proposal")
        assert moved.stage == "proposal"


@pytest.mark.parametrize("stage", ["nope", "new", "Proposal"])
def test_a_stage_outside_the_pipeline_is_refused_naming_stage(
    db: Database, codec: IdCodec, stage: str
) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        with pytest.raises(InvalidInput) as refused:
            _open(session, codec, contact, stage=stage)
        assert refused.value.field == "stage"
        assert "discovery, proposal, negotiation" in refused.value.detail


def test_rows_in_the_old_default_stage_stay_valid_until_moved(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, stage="opportunity")
        old = factories.make_deal(session, contact)  # stored as "new", from before the pipeline
        assert old.stage == "new"
        kept = _change(session, codec, old, stage="new", value="13000")
        assert kept.stage == "new" and kept.value == Decimal("13000")
        _change(session, codec, old, stage="negotiation")
        with pytest.raises(InvalidInput) as refused:
            _change(session, codec, old, stage="new")
        assert refused.value.field == "stage"


def test_moving_a_deal_restarts_its_age_in_stage(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        deal = _open(session, codec, contact)
        entered = deal.stage_changed_at
        _change(session, codec, deal, value="500")
        assert deal.stage_changed_at == entered
        _change(session, codec, deal, stage="proposal")
        assert deal.stage_changed_at is not None and entered is not None
        assert deal.stage_changed_at > entered


def test_opening_a_deal_makes_the_contact_an_opportunity(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, stage="sql")
        _open(session, codec, contact, name="Ops audit")
        assert contact.stage == "opportunity"
        assert _history(session, contact) == [("sql", "opportunity", "deal 'Ops audit' opened")]
        logged = session.scalars(select(Event).where(Event.type == "stage_changed")).one()
        assert logged.properties["to"] == "opportunity"
        engagement = session.get(Engagement, contact.id)
        assert engagement is not None and engagement.queue_state == "closed"


def test_winning_makes_the_contact_a_customer(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        deal = _open(session, codec, contact, name="Pilot", value="12000", currency="USD")
        _change(session, codec, deal, status="won")
        assert contact.stage == "customer" and deal.closed_at is not None
        assert _history(session, contact)[-1] == ("opportunity", "customer", "won 'Pilot' (USD 12,000)")
        assert session.scalars(select(Event.type).where(Event.type == "deal_won")).all() == ["deal_won"]


def test_a_deal_recorded_as_won_at_once_makes_a_customer(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        _open(session, codec, contact, name="Retainer", value="1500.5", currency="EUR", status="won")
        assert contact.stage == "customer"
        assert _history(session, contact) == [("lead", "customer", "won 'Retainer' (EUR 1,500.50)")]


def test_losing_needs_a_reason(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        deal = _open(session, codec, contact)
        for reason in (None, "", "   "):
            fields = {"status": "lost"} if reason is None else {"status": "lost", "reason": reason}
            with pytest.raises(InvalidInput) as refused:
                _change(session, codec, deal, **fields)
            assert refused.value.field == "reason"
        with pytest.raises(InvalidInput) as refused:
            _open(session, codec, contact, name="Other", status="lost")
        assert refused.value.field == "reason"


def test_losing_sends_the_contact_to_nurture(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        deal = _open(session, codec, contact, name="Ops audit")
        _change(session, codec, deal, status="lost", reason="budget went to hiring")
        assert contact.stage == "nurture"
        assert _history(session, contact)[-1] == (
            "opportunity",
            "nurture",
            "lost 'Ops audit': budget went to hiring",
        )
        newsletter = nurture_list(session, workspace.id)
        assert session.get(ListMember, (newsletter.id, contact.id)) is not None
        engagement = session.get(Engagement, contact.id)
        assert engagement is not None and engagement.queue_state == "parked"
        lost = session.scalars(select(Event).where(Event.type == "deal_lost")).one()
        assert lost.properties["reason"] == "budget went to hiring"


def test_losing_one_of_two_open_deals_keeps_the_opportunity(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        first = _open(session, codec, contact, name="Audit")
        second = _open(session, codec, contact, name="Training")
        _change(session, codec, first, status="lost", reason="too expensive")
        assert contact.stage == "opportunity"
        _change(session, codec, second, status="lost", reason="no time")
        assert contact.stage == "nurture"
        assert [row[2] for row in _history(session, contact)] == [
            "deal 'Audit' opened",
            "lost 'Training': no time",
        ]


def test_customers_stay_customers(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, stage="customer")
        upsell = _open(session, codec, contact, name="Upsell")
        assert contact.stage == "customer"
        _change(session, codec, upsell, status="lost", reason="not this year")
        assert contact.stage == "customer"
        assert _history(session, contact) == []


def test_reopening_a_lost_deal_makes_an_opportunity_again(db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        deal = _open(session, codec, contact, name="Audit")
        _change(session, codec, deal, status="lost", reason="timing")
        _change(session, codec, deal, status="open")
        assert contact.stage == "opportunity" and deal.closed_at is None
        assert _history(session, contact)[-1] == ("nurture", "opportunity", "deal 'Audit' reopened")


def test_the_api_applies_the_same_rules(
    client: TestClient, tenant: Tenant, db: Database, codec: IdCodec
) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, tenant.workspace.id)
        assert workspace is not None
        contact_id = factories.make_contact(session, workspace).id
    cid = codec.encode("contact", contact_id)
    refused = client.post(
        "/api/v1/deals", json={"name": "x", "contact_id": cid, "stage": "won"}, headers=tenant.headers
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "stage"
    created = client.post("/api/v1/deals", json={"name": "Audit", "contact_id": cid}, headers=tenant.headers)
    assert created.status_code == 201 and created.json()["stage"] == "discovery"
    deal_id = created.json()["id"]
    lost = client.patch(f"/api/v1/deals/{deal_id}", json={"status": "lost"}, headers=tenant.headers)
    assert lost.status_code == 422 and lost.json()["errors"][0]["field"] == "reason"
    with db.session() as session:
        stored = session.get(Contact, contact_id)
        assert stored is not None and stored.stage == "opportunity"
    won = client.patch(f"/api/v1/deals/{deal_id}", json={"status": "won"}, headers=tenant.headers)
    assert won.status_code == 200
    with db.session() as session:
        stored = session.get(Contact, contact_id)
        assert stored is not None and stored.stage == "customer"


def test_labels_and_money_read_naturally() -> None:
    assert stage_label("needs-analysis") == "Needs analysis"
    assert stage_label("proposal") == "Proposal"
    assert money_text(Decimal("12000"), "USD") == "USD 12,000"
    assert money_text(Decimal("1500.5"), "EUR") == "EUR 1,500.50"
