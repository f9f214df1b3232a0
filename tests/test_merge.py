"""Merging contacts field by field, moving their events and deals, and undoing merges exactly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.contacts.merge import merge_contacts, merged_stage, undo_merge
from leadwell.contacts.service import ContactFilters, list_contacts
from leadwell.db.models import (
    Consent,
    Contact,
    ContactEmail,
    ContactMerge,
    Deal,
    DuplicateCandidate,
    Enrollment,
    Event,
    FormSubmission,
    Reading,
    Sequence,
    Visitor,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from tests.capture.public_support import make_asset, make_form
from tests.factories import (
    make_contact,
    make_deal,
    make_event,
    make_organization,
    make_user,
    make_workspace,
)

NOW = utcnow()


def add_email(session: Session, contact: Contact, address: str, position: int) -> None:
    session.add(
        ContactEmail(
            workspace_id=contact.workspace_id, contact_id=contact.id, email=address, position=position
        )
    )
    session.flush()


def email_rows(session: Session, contact_id: int) -> list[tuple[str, int]]:
    rows = session.execute(
        select(ContactEmail.email, ContactEmail.position)
        .where(ContactEmail.contact_id == contact_id)
        .order_by(ContactEmail.position)
    )
    return [(email, position) for email, position in rows]


# --- the rules, field by field ---------------------------------------------------------------------


def test_fields_follow_the_merge_rules(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        org = make_organization(session, ws, name="Acme")
        owner = make_user(session, ws)
        survivor = make_contact(
            session,
            ws,
            first_name="Jon",
            last_name="Smith",
            email="jon@acme.com",
            title=None,
            street="1 Main St",
            city="",
            phones=["+14155550100"],
            tags=["VIP", "webinar"],
            custom={"seats": 10, "plan": "basic"},
            stage="mql",
            consent="unknown",
            source="webinar",
            created_at=NOW - timedelta(days=3),
            updated_at=NOW - timedelta(days=2),
        )
        other = make_contact(
            session,
            ws,
            first_name="John",
            last_name="",
            email="john.smith@gmail.com",
            title="CTO",
            street="9 Side St",
            city="Boston",
            timezone="America/New_York",
            organization_id=org.id,
            owner_id=owner.id,
            phones=["+14155550100", "+14155550199"],
            tags=["vip", "Partner"],
            custom={"plan": "pro", "region": "west"},
            stage="customer",
            consent="opted_in",
            consent_at=NOW - timedelta(days=5),
            source="ads",
            created_at=NOW - timedelta(days=10),
            updated_at=NOW - timedelta(days=1),
        )
        merge_contacts(session, ws.id, survivor.id, other.id)
        session.refresh(survivor)
        # Both set: the more recently updated contact (the other) wins; one set: that one is kept.
        assert (survivor.first_name, survivor.last_name) == ("John", "Smith")
        assert (survivor.title, survivor.street, survivor.city) == ("CTO", "9 Side St", "Boston")
        assert survivor.timezone == "America/New_York"
        assert (survivor.organization_id, survivor.owner_id) == (org.id, owner.id)
        assert survivor.phones == ["+14155550100", "+14155550199"]
        assert survivor.tags == ["VIP", "webinar", "Partner"]
        assert survivor.custom == {"seats": 10, "plan": "pro", "region": "west"}
        assert survivor.stage == "customer"
        assert survivor.consent == "opted_in"
        assert survivor.consent_at == NOW - timedelta(days=5)
        assert survivor.source == "webinar"  # provenance stays the survivor's
        assert survivor.created_at == NOW - timedelta(days=10)
        assert survivor.updated_at > NOW - timedelta(minutes=1)
        session.refresh(other)
        assert other.merged_into_id == survivor.id


def test_a_more_recently_updated_survivor_keeps_its_values(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor = make_contact(
            session,
            ws,
            first_name="Jon",
            title="CEO",
            source=None,
            custom={"plan": "basic"},
            updated_at=NOW,
        )
        other = make_contact(
            session,
            ws,
            first_name="John",
            title="CTO",
            source="ads",
            custom={"plan": "pro"},
            updated_at=NOW - timedelta(days=1),
        )
        merge_contacts(session, ws.id, survivor.id, other.id)
        assert (survivor.first_name, survivor.title, survivor.custom) == ("Jon", "CEO", {"plan": "basic"})
        assert survivor.source == "ads"  # empty on the survivor: filled from the other


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("lead", "customer", "customer"),
        ("opportunity", "mql", "opportunity"),
        ("subscriber", "sql", "sql"),
        ("disqualified", "lead", "lead"),
        ("customer", "disqualified", "customer"),
        ("disqualified", "disqualified", "disqualified"),
    ],
)
def test_stage_is_the_furthest_along(first: str, second: str, expected: str) -> None:
    assert merged_stage(first, second) == expected
    assert merged_stage(second, first) == expected


@pytest.mark.parametrize(
    ("survivor_consent", "other_consent", "expected"),
    [
        ("opted_in", "opted_out", "opted_out"),
        ("opted_out", "opted_in", "opted_out"),
        ("unknown", "opted_out", "opted_out"),
        ("unknown", "opted_in", "opted_in"),
        ("opted_in", "unknown", "opted_in"),
        ("unknown", "unknown", "unknown"),
    ],
)
def test_an_opt_out_always_wins(
    db: Database, survivor_consent: str, other_consent: str, expected: str
) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        # The survivor is the more recent one: consent must not follow recency.
        survivor = make_contact(session, ws, consent=survivor_consent, updated_at=NOW)
        other = make_contact(session, ws, consent=other_consent, updated_at=NOW - timedelta(days=1))
        merge_contacts(session, ws.id, survivor.id, other.id)
        assert survivor.consent == expected


def test_emails_are_united_with_the_survivors_primary_first(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor = make_contact(session, ws, email="s1@acme.com")
        add_email(session, survivor, "s2@acme.com", 5)  # untidy positions get renumbered
        other = make_contact(session, ws, email="o1@acme.com")
        add_email(session, other, "o2@acme.com", 1)
        merge_contacts(session, ws.id, survivor.id, other.id)
        assert email_rows(session, survivor.id) == [
            ("s1@acme.com", 0),
            ("s2@acme.com", 1),
            ("o1@acme.com", 2),
            ("o2@acme.com", 3),
        ]
        assert survivor.email == "s1@acme.com"
        assert [row.email for row in survivor.emails] == [
            "s1@acme.com",
            "s2@acme.com",
            "o1@acme.com",
            "o2@acme.com",
        ]
        assert email_rows(session, other.id) == []


def test_a_survivor_without_email_takes_the_others_as_primary(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor = make_contact(session, ws, email=None, first_name="Ada")
        other = make_contact(session, ws, email="ada@acme.com")
        merge_contacts(session, ws.id, survivor.id, other.id)
        assert survivor.email == "ada@acme.com"
        assert email_rows(session, survivor.id) == [("ada@acme.com", 0)]


def test_events_and_deals_move_to_the_survivor(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor, other, bystander = (make_contact(session, ws) for _ in range(3))
        kept_event = make_event(session, survivor)
        moved_events = [make_event(session, other, "call_logged", properties={"outcome": "connected"})]
        moved_events.append(make_event(session, other))
        untouched = make_event(session, bystander)
        moved_deal = make_deal(session, other)
        bystander_deal = make_deal(session, bystander)
        record = merge_contacts(session, ws.id, survivor.id, other.id)
        owners = dict(session.execute(select(Event.id, Event.contact_id)).all())
        assert owners == {
            kept_event.id: survivor.id,
            moved_events[0].id: survivor.id,
            moved_events[1].id: survivor.id,
            untouched.id: bystander.id,
        }
        deals = dict(session.execute(select(Deal.id, Deal.contact_id)).all())
        assert deals == {moved_deal.id: survivor.id, bystander_deal.id: bystander.id}
        assert sorted(record.snapshot["events"]) == sorted(e.id for e in moved_events)
        assert record.snapshot["deals"] == [moved_deal.id]


def test_capture_records_follow_the_merge_and_come_back_on_undo(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor, other = make_contact(session, ws), make_contact(session, ws)
        form = make_form(session, ws)
        shared, only_other = make_asset(session, ws), make_asset(session, ws)
        submission = FormSubmission(workspace_id=ws.id, form_id=form.id, contact_id=other.id, nonce="n-1")
        session.add(submission)
        session.flush()
        consent = Consent(
            workspace_id=ws.id, contact_id=other.id, state="opted_in", text="Yes", submission_id=submission.id
        )
        visitor = Visitor(workspace_id=ws.id, key="visitor-key-1", contact_id=other.id)
        kept = Reading(workspace_id=ws.id, contact_id=survivor.id, asset_id=shared.id, percent=90.0)
        clash = Reading(workspace_id=ws.id, contact_id=other.id, asset_id=shared.id, percent=10.0)
        moved = Reading(workspace_id=ws.id, contact_id=other.id, asset_id=only_other.id, percent=50.0)
        session.add_all([consent, visitor, kept, clash, moved])
        session.flush()

        def owners() -> dict[str, int | None]:
            session.expire_all()
            return {
                "submission": submission.contact_id,
                "consent": consent.contact_id,
                "visitor": visitor.contact_id,
                "kept": kept.contact_id,
                "clash": clash.contact_id,
                "moved": moved.contact_id,
            }

        before = owners()
        record = merge_contacts(session, ws.id, survivor.id, other.id)
        assert owners() == {
            "submission": survivor.id,
            "consent": survivor.id,
            "visitor": survivor.id,
            "kept": survivor.id,
            "clash": other.id,  # one reading per contact and asset: the survivor's own stays
            "moved": survivor.id,
        }
        assert record.snapshot["readings"] == [moved.id]
        undo_merge(session, ws.id, record.id)
        assert owners() == before


def test_enrollments_follow_the_merge_and_a_shared_sequence_goes_on_once(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor, other = make_contact(session, ws), make_contact(session, ws)
        shared, own = (
            Sequence(workspace_id=ws.id, slug=slug, name=slug, status="active") for slug in ("shared", "own")
        )
        session.add_all([shared, own])
        session.flush()
        kept = Enrollment(workspace_id=ws.id, sequence_id=shared.id, contact_id=survivor.id)
        twin = Enrollment(workspace_id=ws.id, sequence_id=shared.id, contact_id=other.id)
        moved = Enrollment(workspace_id=ws.id, sequence_id=own.id, contact_id=other.id)
        session.add_all([kept, twin, moved])
        session.flush()
        record = merge_contacts(session, ws.id, survivor.id, other.id)
        session.expire_all()
        assert (kept.contact_id, kept.status) == (survivor.id, "active")
        assert (twin.contact_id, twin.status, twin.stop_reason) == (other.id, "stopped", "merged")
        assert (moved.contact_id, moved.status) == (survivor.id, "active")
        assert record.snapshot["enrollments"] == [moved.id]
        undo_merge(session, ws.id, record.id)
        session.expire_all()
        assert moved.contact_id == other.id


def test_merged_contact_leaves_the_lists_and_its_open_candidate_closes(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        survivor, other = make_contact(session, ws), make_contact(session, ws)
        a, b = sorted((survivor.id, other.id))
        candidate = DuplicateCandidate(
            workspace_id=ws.id, contact_a_id=a, contact_b_id=b, score=90, reasons=[]
        )
        session.add(candidate)
        session.flush()
        merge_contacts(session, ws.id, survivor.id, other.id)
        listed = list_contacts(session, ws.id, ContactFilters()).items
        assert [c.id for c in listed] == [survivor.id]
        session.refresh(candidate)
        assert candidate.status == "merged"


# --- refusals --------------------------------------------------------------------------------------


def test_cross_workspace_merge_is_refused_and_changes_nothing(db: Database) -> None:
    with db.session() as session:
        ws, rival = make_workspace(session), make_workspace(session)
        mine, theirs = make_contact(session, ws), make_contact(session, rival)
        with pytest.raises(NotFound) as error:
            merge_contacts(session, ws.id, mine.id, theirs.id)
        assert error.value.field == "merged_id"
        with pytest.raises(NotFound) as error:
            merge_contacts(session, ws.id, theirs.id, mine.id)
        assert error.value.field == "survivor_id"
        assert theirs.merged_into_id is None and mine.merged_into_id is None
        assert session.scalars(select(ContactMerge)).all() == []


def test_merging_into_itself_or_an_already_merged_contact_is_refused(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        first, second, third = (make_contact(session, ws) for _ in range(3))
        with pytest.raises(InvalidInput) as error:
            merge_contacts(session, ws.id, first.id, first.id)
        assert error.value.field == "merged_id"
        merge_contacts(session, ws.id, first.id, second.id)
        with pytest.raises(InvalidInput) as error:
            merge_contacts(session, ws.id, second.id, third.id)
        assert error.value.field == "survivor_id"
        with pytest.raises(InvalidInput) as error:
            merge_contacts(session, ws.id, third.id, second.id)
        assert error.value.field == "merged_id"
        assert third.merged_into_id is None


# --- undo ------------------------------------------------------------------------------------------


def world(db: Database, workspace_id: int) -> dict[str, Any]:
    """Everything a merge may touch, read fresh from the database."""
    with db.session() as session:
        contacts = session.execute(
            select(Contact.__table__).where(Contact.workspace_id == workspace_id).order_by(Contact.id)
        )
        emails = session.execute(
            select(ContactEmail.id, ContactEmail.contact_id, ContactEmail.email, ContactEmail.position)
            .where(ContactEmail.workspace_id == workspace_id)
            .order_by(ContactEmail.id)
        )
        events = session.execute(select(Event.id, Event.contact_id).order_by(Event.id))
        deals = session.execute(select(Deal.id, Deal.contact_id).order_by(Deal.id))
        candidates = session.execute(select(DuplicateCandidate.id, DuplicateCandidate.status))
        return {
            "contacts": [dict(row._mapping) for row in contacts],
            "emails": [tuple(row) for row in emails],
            "events": [tuple(row) for row in events],
            "deals": [tuple(row) for row in deals],
            "candidates": [tuple(row) for row in candidates],
        }


def rich_pair(db: Database) -> tuple[int, int, int]:
    """A workspace with two richly different contacts (and their events, deals, a candidate)."""
    with db.session() as session:
        ws = make_workspace(session)
        org = make_organization(session, ws)
        survivor = make_contact(
            session,
            ws,
            first_name="Jon",
            email="jon@acme.com",
            phones=["+14155550100"],
            tags=["a"],
            custom={"k": 1, "nested": [1, {"x": "y"}]},
            stage="lead",
            consent="opted_in",
            consent_at=NOW - timedelta(days=3),
            updated_at=NOW - timedelta(days=2),
        )
        add_email(session, survivor, "jon.smith@acme.com", 1)
        other = make_contact(
            session,
            ws,
            first_name="John",
            last_name="Smith",
            email="john@gmail.com",
            phones=["+14155550199"],
            tags=["b"],
            custom={"k": 2, "z": 1.5},
            stage="customer",
            consent="opted_out",
            organization_id=org.id,
            title="CTO",
            updated_at=NOW - timedelta(days=1),
            created_at=NOW - timedelta(days=30),
        )
        make_contact(session, ws)  # a bystander that must not change
        for contact in (survivor, other, other):
            make_event(session, contact)
        make_deal(session, other)
        a, b = sorted((survivor.id, other.id))
        session.add(
            DuplicateCandidate(workspace_id=ws.id, contact_a_id=a, contact_b_id=b, score=91, reasons=["x"])
        )
        return ws.id, survivor.id, other.id


def test_undo_restores_both_contacts_exactly(db: Database) -> None:
    workspace_id, survivor_id, other_id = rich_pair(db)
    before = world(db, workspace_id)
    with db.session() as session:
        merge_id = merge_contacts(session, workspace_id, survivor_id, other_id).id
    merged = world(db, workspace_id)
    for part in ("contacts", "emails", "events", "deals", "candidates"):
        assert merged[part] != before[part], part  # the merge really changed each of them
    with db.session() as session:
        undo_merge(session, workspace_id, merge_id)
    assert world(db, workspace_id) == before
    with db.session() as session:
        record = session.get(ContactMerge, merge_id)
        assert record is not None and record.undone_at is not None


def test_undo_is_refused_twice_and_in_another_workspace(db: Database) -> None:
    workspace_id, survivor_id, other_id = rich_pair(db)
    with db.session() as session:
        merge_id = merge_contacts(session, workspace_id, survivor_id, other_id).id
        rival = make_workspace(session)
    with db.session() as session:
        with pytest.raises(NotFound):
            undo_merge(session, rival.id, merge_id)
        undo_merge(session, workspace_id, merge_id)
    with db.session() as session, pytest.raises(InvalidInput, match="already undone"):
        undo_merge(session, workspace_id, merge_id)


def test_merges_are_undone_in_reverse_order(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        a, b, c, d = (make_contact(session, ws) for _ in range(4))
        first = merge_contacts(session, ws.id, a.id, b.id)
        second = merge_contacts(session, ws.id, c.id, a.id)  # the first survivor is merged later
        unrelated = merge_contacts(session, ws.id, d.id, make_contact(session, ws).id)
    with db.session() as session:
        with pytest.raises(InvalidInput, match=f"#{second.id}") as error:
            undo_merge(session, ws.id, first.id)
        assert error.value.field == "merge_id"
        undo_merge(session, ws.id, second.id)
        undo_merge(session, ws.id, first.id)  # now allowed; the unrelated merge never blocked it
        live = {c.id for c in list_contacts(session, ws.id, ContactFilters()).items}
        assert {a.id, b.id, c.id} <= live
        assert session.get(ContactMerge, unrelated.id).undone_at is None  # type: ignore[union-attr]


def test_a_later_merge_into_the_same_survivor_blocks_undo(db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session)
        a, b, c = (make_contact(session, ws) for _ in range(3))
        first = merge_contacts(session, ws.id, a.id, b.id)
        merge_contacts(session, ws.id, a.id, c.id)
        with pytest.raises(InvalidInput):
            undo_merge(session, ws.id, first.id)


def test_undo_gives_back_an_address_recreated_after_an_edit(db: Database) -> None:
    workspace_id, survivor_id, other_id = rich_pair(db)
    with db.session() as session:
        merge_id = merge_contacts(session, workspace_id, survivor_id, other_id).id
        # An edit after the merge replaced the survivor's rows (as the contact service does).
        for row in session.scalars(select(ContactEmail).where(ContactEmail.contact_id == survivor_id)):
            session.delete(row)
        session.flush()
        add_email(session, session.get_one(Contact, survivor_id), "jon@acme.com", 0)
    with db.session() as session:
        undo_merge(session, workspace_id, merge_id)
        assert email_rows(session, other_id) == [("john@gmail.com", 0)]
        assert email_rows(session, survivor_id) == [("jon@acme.com", 0), ("jon.smith@acme.com", 1)]


def test_workspace_rows_are_untouched_elsewhere(db: Database) -> None:
    """A merge in one workspace leaves another workspace's rows exactly as they were."""
    with db.session() as session:
        rival = make_workspace(session)
        theirs = make_contact(session, rival)
        make_event(session, theirs)
        rival_id = rival.id
    workspace_id, survivor_id, other_id = rich_pair(db)
    before = world(db, rival_id)
    with db.session() as session:
        merge_contacts(session, workspace_id, survivor_id, other_id)
    after = world(db, rival_id)
    assert after["contacts"] == before["contacts"] and after["emails"] == before["emails"]
    with db.session() as session:
        assert session.get(Workspace, rival_id) is not None
