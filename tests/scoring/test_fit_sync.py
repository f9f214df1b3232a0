"""Best fits copied into engagement rows, by full grading and by re-grading a few contacts, with
resurfacing of nurture contacts whose grade improves and the stage rules for changed grades."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from leadwell.contacts import organizations
from leadwell.contacts.schemas import OrganizationUpdate
from leadwell.db.models import Contact, Engagement, Icp, StageChange, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.icp.definition import parse_definition
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition
from leadwell.scoring.decay import rank_key
from leadwell.scoring.fit_sync import ensure_engagement_rows, sync_all
from leadwell.scoring.settings import default_settings
from leadwell.scoring.stages import move_stage
from tests import factories
from tests.conftest import Tenant

NICE: list[dict[str, Any]] = [
    {"field": "contact.title", "op": "matches", "value": "(?i)cto", "weight": 30},
    {"field": "contact.tags", "op": "contains", "value": "vip", "weight": 10},
]
BIG = {"slug": "consulting", "name": "Big firms", "nice": NICE,
       "must": [{"field": "organization.employees", "op": "gte", "value": 100}]}  # fmt: skip
SMALL = {"slug": "startups", "name": "Start-ups", "nice": NICE,
         "must": [{"field": "organization.employees", "op": "lte", "value": 50}]}  # fmt: skip


def profile(session: Session, workspace: Workspace, document: dict[str, Any], **changes: Any) -> Icp:
    return apply_definition(session, workspace.id, parse_definition({**document, **changes})).icp


def copied(session: Session, contact: Contact) -> tuple[str | None, int | None, int | None, str]:
    row = session.get(Engagement, contact.id, populate_existing=True)
    assert row is not None
    return row.grade, row.fit_score, row.icp_id, row.queue_state


def person(session: Session, workspace: Workspace, employees: int, **fields: Any) -> Contact:
    org = factories.make_organization(session, workspace, employees=employees)
    return factories.make_contact(session, workspace, organization_id=org.id, **fields)


def test_the_best_fit_across_profiles_is_copied(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        big_cto = person(session, ws, 120, title="CTO")
        small_vip = person(session, ws, 20, title="CTO", tags=["VIP"])
        between = person(session, ws, 80, title="CTO")
        merged = person(session, ws, 120, merged_into_id=big_cto.id)
        big, small = profile(session, ws, BIG), profile(session, ws, SMALL)
        grade_all(session, ws.id, big)
        assert copied(session, big_cto)[:3] == ("B", 75, big.id)
        assert copied(session, small_vip)[:3] == ("F", 0, big.id)  # qualified out everywhere graded so far
        grade_all(session, ws.id, small)
        assert copied(session, big_cto)[:3] == ("B", 75, big.id)
        assert copied(session, small_vip)[:3] == ("A", 100, small.id)
        assert copied(session, between)[:3] == ("F", 0, big.id)  # out of both: F, the oldest profile's
        assert session.get(Engagement, merged.id) is None  # merged away: no row created


def test_grading_creates_missing_rows_in_the_queue_state_of_the_stage(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        lead = person(session, ws, 120)
        won = person(session, ws, 120, stage="customer")
        cooling = person(session, ws, 120, stage="nurture")
        grade_all(session, ws.id, profile(session, ws, BIG))
        states = [copied(session, c)[3] for c in (lead, won, cooling)]
        assert states == ["open", "closed", "parked"]
        rows = session.scalars(select(Engagement).where(Engagement.contact_id == lead.id)).all()
        assert len(rows) == 1 and rows[0].score == 0 and rows[0].version == 0


def test_a_better_grade_brings_a_nurture_contact_back(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        org = factories.make_organization(session, ws, employees=80)
        contact = factories.make_contact(session, ws, organization_id=org.id, title="CTO")
        grade_all(session, ws.id, profile(session, ws, BIG))
        move_stage(session, contact, "nurture", "not now: too small for us")
        assert copied(session, contact) == ("F", 0, copied(session, contact)[2], "parked")
        organizations.update_organization(session, ws.id, org.id, OrganizationUpdate(employees=120))
        session.refresh(contact)
        assert contact.stage == "lead"
        row = session.get(Engagement, contact.id, populate_existing=True)
        assert row is not None
        why = "organization employees changed from 80 to 120: now grade B (was F)"
        assert (row.grade, row.queue_state, row.resurfaced_why, row.due_at) == ("B", "open", why, None)
        assert row.resurfaced_at is not None
        last = session.scalars(select(StageChange).order_by(StageChange.id.desc())).first()
        assert last is not None and (last.from_stage, last.to_stage, last.why) == (
            "nurture",
            "lead",
            f"resurfaced: {why}",
        )


def test_a_profile_change_brings_nurture_contacts_back_in_one_pass(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        contact = person(session, ws, 80, title="CTO")
        grade_all(session, ws.id, profile(session, ws, BIG))
        move_stage(session, contact, "nurture", "not now")
        wider = profile(
            session, ws, BIG, must=[{"field": "organization.employees", "op": "gte", "value": 50}]
        )
        done = sync_all(session.connection(), ws.id)  # nothing left to do after grading
        assert done.changed == 0
        grade_all(session, ws.id, wider)
        session.refresh(contact)
        row = session.get(Engagement, contact.id, populate_existing=True)
        assert row is not None
        assert contact.stage == "lead" and row.queue_state == "open"
        assert row.resurfaced_why == "ICP consulting changed to version 2: now grade B (was F)"


def test_qualified_out_while_open_stays_put(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        org = factories.make_organization(session, ws, employees=120)
        contact = factories.make_contact(session, ws, organization_id=org.id, title="CTO", stage="mql")
        grade_all(session, ws.id, profile(session, ws, BIG))
        organizations.update_organization(session, ws.id, org.id, OrganizationUpdate(employees=80))
        session.refresh(contact)
        assert contact.stage == "mql"
        assert copied(session, contact)[0::3] == ("F", "open")


def test_a_better_grade_runs_the_stage_rules(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        org = factories.make_organization(session, ws, employees=80)
        contact = factories.make_contact(session, ws, organization_id=org.id, title="CTO")
        grade_all(session, ws.id, profile(session, ws, BIG))
        row = session.get(Engagement, contact.id)
        assert row is not None
        now = utcnow()
        row.score, row.scored_at = 50.0, now
        row.rank_key = rank_key(50.0, now, default_settings().decay_rate)
        session.flush()
        organizations.update_organization(session, ws.id, org.id, OrganizationUpdate(employees=120))
        session.refresh(contact)
        assert contact.stage == "mql"
        change = session.scalars(select(StageChange).where(StageChange.contact_id == contact.id)).one()
        assert change.rule == "engaged-fit"
        assert change.why in (
            "Good fit and engaged: grade B, engagement 49 ≥ 40",  # a few ms of decay
            "Good fit and engaged: grade B, engagement 50 ≥ 40",
        )


def test_engagement_rows_after_an_import_come_in_chunks(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        ids = [
            factories.make_contact(session, ws, stage=stage).id for stage in ("lead", "customer", "nurture")
        ]
        gone = factories.make_contact(session, ws, merged_into_id=ids[0]).id
    assert ensure_engagement_rows(db, ws.id, [*ids, gone]) == 3
    assert ensure_engagement_rows(db, ws.id, ids) == 0
    with db.session() as session:
        states = dict(session.execute(select(Engagement.contact_id, Engagement.queue_state)).all())
        assert states == {ids[0]: "open", ids[1]: "closed", ids[2]: "parked"}


def test_missing_rows_are_found_before_they_are_written(db: Database, tenant: Tenant) -> None:
    """The INSERT into ``engagements`` must not read ``engagements`` itself: PostgreSQL, believing
    the table empty at a workspace's first grading, checks NOT EXISTS with a scan of it per contact,
    and within the INSERT that scan also reads every row written so far (quadratic: a million
    contacts took longer than ten minutes)."""
    ws = tenant.workspace
    written: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ENGAGEMENTS"):
            written.append(statement)

    with db.session() as session:
        people = [person(session, ws, 120) for _ in range(3)]
        big = profile(session, ws, BIG)
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            grade_all(session, ws.id, big)
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        assert [copied(session, c)[:3] for c in people] == [("E", 0, big.id)] * 3
    assert written, "grading created the missing engagement rows"
    for statement in written:
        source = statement.split("SELECT", 1)[1]
        assert not re.search(r"\bengagements\b", source), statement


def test_grading_in_halves_copies_every_fit_and_resurfaces(db: Database, tenant: Tenant) -> None:
    """With an engine (PostgreSQL: the fits and their copies written in two halves of the ids on
    connections of their own), the same copies and the same resurfacing as in one transaction; a
    contact without an engagement row gets one, filled."""
    ws = tenant.workspace

    def regrade(**changes: Any) -> int:
        with db.session() as session:
            icp_id = profile(session, ws, BIG, **changes).id
        with db.session() as session:
            grade_all(session, ws.id, session.get(Icp, icp_id), db.engine)  # type: ignore[arg-type]
        return icp_id

    with db.session() as session:
        people = [person(session, ws, 80, title=title) for title in ("CTO", None, "CTO", "CTO")]
        grade_all(session, ws.id, profile(session, ws, BIG))
        move_stage(session, people[0], "nurture", "not now")
        ids = [contact.id for contact in people]
    icp_id = regrade(must=[{"field": "organization.employees", "op": "gte", "value": 50}])
    with db.session() as session:
        states = [copied(session, session.get(Contact, n)) for n in ids]  # type: ignore[arg-type]
        assert (
            states == [("B", 75, icp_id, "open"), ("E", 0, icp_id, "open")] + [("B", 75, icp_id, "open")] * 2
        )
        row = session.get(Engagement, ids[0])
        why = "ICP consulting changed to version 2: now grade B (was F)"
        assert row is not None and row.resurfaced_why == why
        assert session.get(Contact, ids[0]).stage == "lead"  # type: ignore[union-attr]
        session.execute(delete(Engagement).where(Engagement.contact_id == ids[3]))
    icp_id = regrade(must=[{"field": "organization.employees", "op": "gte", "value": 60}])
    with db.session() as session:
        assert copied(session, session.get(Contact, ids[3])) == ("B", 75, icp_id, "open")  # type: ignore[arg-type]
