"""Call outcomes on each backend: what each one does to the stage, the queue and the log; what a call
learned, graded again; and input that is refused, naming the field, with nothing written."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, ContactList, Engagement, Event, ListMember, Organization, StageChange
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.ids import IdCodec
from leadwell.sales.outcomes import log_outcome
from leadwell.sales.queue import call_queue
from leadwell.scoring.settings import parse_toml
from leadwell.scoring.store import apply_settings
from tests.conftest import Tenant
from tests.factories import make_organization
from tests.sales.queue_data import graded_profile, make_lead


def engagement(session: Session, contact_id: int) -> Engagement:
    row = session.get(Engagement, contact_id, populate_existing=True)
    assert row is not None
    return row


def events(session: Session, contact_id: int, *types: str) -> list[Event]:
    query = select(Event).where(Event.contact_id == contact_id).order_by(Event.id)
    if types:
        query = query.where(Event.type.in_(types))
    return list(session.scalars(query))


def stage_moves(session: Session, contact_id: int) -> list[tuple[str | None, str, str]]:
    rows = session.execute(
        select(StageChange.from_stage, StageChange.to_stage, StageChange.why)
        .where(StageChange.contact_id == contact_id)
        .order_by(StageChange.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.mark.parametrize(("outcome", "days"), [("no_answer", 1), ("voicemail", 2), ("conversation", 14)])
def test_retry_outcomes_bring_the_lead_back_later(
    db: Database, tenant: Tenant, codec: IdCodec, outcome: str, days: int
) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        lead = make_lead(session, ws, grade="A")
        result = log_outcome(
            session, codec, ws.id, lead.id, outcome, note="  Rang twice  ", by_user_id=tenant.user.id, now=now
        )
        row = engagement(session, lead.id)
        logged = events(session, lead.id, "call_logged")
        queue_now = call_queue(session, ws.id, now + timedelta(minutes=1))
        queue_later = call_queue(session, ws.id, now + timedelta(days=days, minutes=1))
    assert (result.outcome, result.stage, result.moved, result.queue_state) == (
        outcome,
        "lead",
        False,
        "open",
    )
    assert result.due_at == now + timedelta(days=days) == row.due_at
    assert (row.last_outcome, row.last_called_at) == (outcome, now)
    assert [event.properties for event in logged] == [
        {"outcome": outcome, "duration_seconds": 0, "note": "Rang twice"}
    ]
    assert logged[0].id == result.event_id and logged[0].occurred_at == now
    assert queue_now == [] and [item.contact_id for item in queue_later] == [lead.id]
    assert queue_later[0].last_outcome == outcome


def test_retry_delays_come_from_the_settings(db: Database, tenant: Tenant, codec: IdCodec) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        apply_settings(session, ws.id, parse_toml("[queue]\nretry_days = { no_answer = 3 }\n"))
        lead = make_lead(session, ws)
        result = log_outcome(session, codec, ws.id, lead.id, "no_answer", now=now)
    assert result.due_at == now + timedelta(days=3)


def test_a_booked_meeting_makes_the_lead_sql_and_scores(db: Database, tenant: Tenant, codec: IdCodec) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        lead = make_lead(session, ws, grade="B", stage="mql")
        result = log_outcome(session, codec, ws.id, lead.id, "meeting_booked", note="Tue 10:00", now=now)
        row = engagement(session, lead.id)
        kinds = [event.type for event in events(session, lead.id)]
        moves = stage_moves(session, lead.id)
    assert (result.stage, result.moved, result.queue_state) == ("sql", True, "open")
    assert moves == [("mql", "sql", "meeting booked on a call")]
    assert sorted(kinds) == ["call_logged", "meeting_booked", "stage_changed"]
    assert row.score == pytest.approx(50) and row.due_at == now + timedelta(days=14)


def test_a_meeting_leaves_later_stages_alone(db: Database, tenant: Tenant, codec: IdCodec) -> None:
    with db.session() as session:
        lead = make_lead(session, tenant.workspace, stage="opportunity")
        result = log_outcome(session, codec, tenant.workspace.id, lead.id, "meeting_booked")
    assert (result.stage, result.moved, result.queue_state) == ("opportunity", False, "closed")


def test_not_a_fit_disqualifies_and_writes_what_was_learned(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        org = make_organization(session, ws, name="Tiny Shop")
        lead = make_lead(session, ws, grade=None, organization_id=org.id, custom={"roi_months": 2})
        graded_profile(session, ws)
        assert engagement(session, lead.id).grade == "E"  # head count unknown
        result = log_outcome(
            session, codec, ws.id, lead.id, "not_a_fit", reason="Only 12 people", now=now,
            learned={"organization.employees": "12", "contact.title": "", "custom.budget": "none"},
        )  # fmt: skip
        organization = session.get(Organization, org.id, populate_existing=True)
        contact = session.get(Contact, lead.id, populate_existing=True)
        changed = events(session, lead.id, "fit_changed")
        row = engagement(session, lead.id)
        call = events(session, lead.id, "call_logged")
        moves = stage_moves(session, lead.id)
    assert organization is not None and contact is not None
    assert (organization.employees, organization.employees_min, organization.employees_max) == (12, 12, 12)
    assert contact.custom == {"roi_months": 2, "budget": "none"}
    assert [event.properties["to_grade"] for event in changed] == ["F"]
    assert (
        changed[0].properties["why"]
        == "organization employees changed from nothing to 12: now grade F (was E)"
    )
    assert (result.stage, result.queue_state, result.grade, row.grade) == ("disqualified", "closed", "F", "F")
    assert result.learned == ("organization.employees", "custom.budget")
    assert moves[-1] == ("lead", "disqualified", "not a fit: Only 12 people")
    assert call[0].properties == {"outcome": "not_a_fit", "duration_seconds": 0, "reason": "Only 12 people"}
    assert row.due_at is None


def test_not_now_parks_until_nine_on_the_revisit_date_where_the_contact_is(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    now = utcnow()
    ws = tenant.workspace
    revisit = (now + timedelta(days=40)).date()
    berlin = ZoneInfo("Europe/Berlin")
    with db.session() as session:
        lead = make_lead(session, ws, grade="A", timezone="Europe/Berlin", score=30, scored_at=now)
        result = log_outcome(
            session,
            codec,
            ws.id,
            lead.id,
            "not_now",
            reason="budget next quarter",
            revisit_on=revisit,
            now=now,
        )
        row = engagement(session, lead.id)
        moves = stage_moves(session, lead.id)
        newsletter = session.scalar(select(ContactList.id).where(ContactList.workspace_id == ws.id))
        member = session.get(ListMember, (newsletter, lead.id))
        before = call_queue(session, ws.id, now + timedelta(days=39))
        on_the_day = call_queue(session, ws.id, datetime.combine(revisit, time(9, 1), berlin))
    when = f"{revisit.day} {revisit.strftime('%b')} {revisit.year}"
    assert moves == [("lead", "nurture", f"not now: budget next quarter, revisit {when}")]
    assert (result.stage, result.queue_state) == ("nurture", "parked")
    assert row.due_at == datetime.combine(revisit, time(9), berlin) == result.due_at
    assert row.parked_score == pytest.approx(30) and member is not None
    assert before == []
    assert [item.contact_id for item in on_the_day] == [lead.id]
    assert on_the_day[0].why_now[0].startswith("revisit date today (not now on ")
    assert on_the_day[0].why_now[0].endswith(": budget next quarter)")


def test_learned_values_can_create_the_organization(db: Database, tenant: Tenant, codec: IdCodec) -> None:
    ws = tenant.workspace
    with db.session() as session:
        lead = make_lead(session, ws)
        learned = {
            "organization.name": "Babbage & Co",
            "organization.employees": "100-250",
            "organization.custom.region": "EMEA",
            "contact.country": "gb",
            "contact.tags": "vip, engineer",
        }
        log_outcome(session, codec, ws.id, lead.id, "conversation", learned=learned)
        contact = session.get(Contact, lead.id, populate_existing=True)
        assert contact is not None and contact.organization_id is not None
        organization = session.get(Organization, contact.organization_id)
    assert organization is not None
    size = (organization.employees, organization.employees_min, organization.employees_max)
    assert (organization.name, size) == ("Babbage & Co", (None, 100, 250))
    assert organization.custom == {"region": "EMEA"}
    assert (contact.country, contact.tags) == ("GB", ["vip", "engineer"])


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("maybe", {}, "outcome"),
    ("not_a_fit", {"reason": "   "}, "reason"),
    ("not_now", {"reason": "later"}, "revisit_on"),
    ("not_now", {"revisit_on": date(2020, 1, 1)}, "revisit_on"),
    ("not_now", {"revisit_on": date(2100, 1, 1)}, "revisit_on"),
    ("no_answer", {"revisit_on": date(2100, 1, 1)}, "revisit_on"),
    ("no_answer", {"note": "x" * 2001}, "note"),
    ("no_answer", {"learned": {"organization.headcount": "5"}}, "learned.organization.headcount"),
    ("no_answer", {"learned": {"organization.employees": "lots"}}, "learned.organization.employees"),
    ("no_answer", {"learned": {"contact.stage": "customer"}}, "learned.contact.stage"),
    ("no_answer", {"learned": {"contact.timezone": "Mars/Olympus"}}, "learned.contact.timezone"),
    ("no_answer", {"learned": {"contact.title": "t" * 301}}, "learned.contact.title"),
    ("conversation", {"learned": {"organization.industry": "Retail"}}, "learned.organization.industry"),
    ("meeting_booked", {"learned": {"contact.postal_code": "1" * 25}}, "learned.contact.postal_code"),
]


@pytest.mark.parametrize(("outcome", "extra", "field"), REFUSED)
def test_refused_input_names_the_field_and_writes_nothing(
    db: Database, tenant: Tenant, codec: IdCodec, outcome: str, extra: dict[str, Any], field: str
) -> None:
    ws = tenant.workspace
    with db.session() as session:
        lead = make_lead(session, ws, stage="mql")
        lead_id = lead.id
        counts = session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(InvalidInput) as raised, db.session() as session:
        log_outcome(session, codec, ws.id, lead_id, outcome, **extra)
    assert raised.value.field == field, raised.value.detail
    assert raised.value.detail.startswith(field)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == counts
        contact = session.get(Contact, lead_id)
        assert contact is not None and contact.stage == "mql" and contact.organization_id is None
        assert engagement(session, lead_id).last_outcome is None


def test_contacts_of_other_workspaces_and_merged_ones_are_refused(
    db: Database, tenant: Tenant, other_tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        theirs = make_lead(session, other_tenant.workspace)
        survivor = make_lead(session, tenant.workspace)
        merged = make_lead(session, tenant.workspace, merged_into_id=survivor.id)
        with pytest.raises(NotFound):
            log_outcome(session, codec, tenant.workspace.id, theirs.id, "no_answer")
        with pytest.raises(InvalidInput) as raised:
            log_outcome(session, codec, tenant.workspace.id, merged.id, "no_answer")
    assert raised.value.field == "contact_id"
