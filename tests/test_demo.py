"""The demo generator on a real database: counts, validity, consistency and determinism."""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.auth.accounts import authenticate, find_user, find_workspace, normalize_email, workspaces_of
from leadwell.auth.passwords import hash_password
from leadwell.contacts.fields import clean_phones
from leadwell.db.models import LIFECYCLE_STAGES, Contact, ContactEmail, Deal, Event, Organization, User
from leadwell.db.session import Database
from leadwell.demo import DEMO_EMAIL, DEMO_PASSWORD, STAFF, DemoResult, build_demo
from leadwell.errors import Conflict, InvalidInput
from leadwell.events.types import EVENT_TYPES, validate_properties
from leadwell.icp.store import grade_counts, list_icps

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
SIZE = 300


@functools.cache
def demo_hash() -> str:
    return hash_password(DEMO_PASSWORD)


def build(db: Database, **options: Any) -> DemoResult:
    """A small demo. The staff exist beforehand, sharing one hash, so each test skips four argon2 runs
    (the login test builds from scratch)."""
    with db.session() as session:
        for email, name, _ in STAFF:
            if find_user(session, email) is None:
                session.add(User(email=email, name=name, password_hash=demo_hash()))
    return build_demo(db, **{"contacts": SIZE, "now": NOW, **options})


def count(session: Session, model: Any, workspace_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(model).where(model.workspace_id == workspace_id)) or 0
    )


def snapshot(db: Database, slug: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the demo wrote, in insertion order, with ids swapped for natural keys (email, domain)."""
    with db.session() as session:
        workspace_id = find_workspace(session, slug).id
        keys: dict[str, dict[Any, Any]] = {
            "contact_id": dict(session.execute(select(Contact.id, Contact.email)).all()),
            "organization_id": dict(session.execute(select(Organization.id, Organization.domain)).all()),
            "owner_id": dict(session.execute(select(User.id, User.email)).all()),
        }

        def rows(model: Any) -> list[tuple[Any, ...]]:
            # Ids differ between workspaces, and so do the idempotency keys that carry one
            # (sequence_enrolled:<enrollment id>); the story's own events have none.
            skipped = ("id", "workspace_id", "idempotency_key")
            names = [column.name for column in model.__table__.columns if column.name not in skipped]
            found = session.scalars(
                select(model).where(model.workspace_id == workspace_id).order_by(model.id)
            )
            return [
                tuple(
                    keys[name].get(getattr(item, name)) if name in keys else getattr(item, name)
                    for name in names
                )
                for item in found
            ]

        return {
            model.__tablename__: rows(model) for model in (Organization, Contact, ContactEmail, Event, Deal)
        }


def test_counts_in_the_result_match_the_tables(db: Database) -> None:
    result = build(db)
    assert (result.workspace_slug, result.login_email, result.login_password) == (
        "demo",
        DEMO_EMAIL,
        DEMO_PASSWORD,
    )
    with db.session() as session:
        ws = result.workspace_id
        assert count(session, Contact, ws) == result.contacts == SIZE
        assert count(session, Organization, ws) == result.organizations == round(SIZE / 7)
        assert count(session, Event, ws) == result.events
        assert count(session, Deal, ws) == result.deals == round(SIZE * 0.07)
        assert count(session, ContactEmail, ws) == SIZE
        without_company = session.scalar(
            select(func.count()).where(Contact.workspace_id == ws, Contact.organization_id.is_(None))
        )
    assert 15 <= result.events / SIZE <= 30, "roughly 15–25 events per contact on average"
    assert without_company and 0.04 <= without_company / SIZE <= 0.13


def test_every_event_is_valid_and_inside_the_contacts_lifetime(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        created = dict(session.execute(select(Contact.id, Contact.created_at)).all())
        events = session.scalars(select(Event).where(Event.workspace_id == result.workspace_id)).all()
    assert events and {event.type for event in events} <= set(EVENT_TYPES)
    for event in events:
        assert event.contact_id is not None
        assert validate_properties(event.type, event.properties) == event.properties, event.type
        assert created[event.contact_id] <= event.occurred_at <= NOW, (event.type, event.occurred_at)
    per_contact = Counter(event.contact_id for event in events)
    assert statistics.median(per_contact.values()) < statistics.mean(per_contact.values()), "heavy tail"
    assert max(per_contact.values()) > 4 * statistics.mean(per_contact.values())


def test_contacts_have_their_email_row_valid_addresses_and_phones(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        contacts = session.scalars(select(Contact).where(Contact.workspace_id == result.workspace_id)).all()
        rows = session.execute(
            select(ContactEmail.contact_id, ContactEmail.email, ContactEmail.position)
        ).all()
    by_contact = {contact_id: (email, position) for contact_id, email, position in rows}
    assert len(rows) == len(by_contact) == len(contacts)
    phones = 0
    for contact in contacts:
        assert by_contact[contact.id] == (contact.email, 0)
        assert contact.email and normalize_email(contact.email) == contact.email
        assert contact.stage in LIFECYCLE_STAGES and contact.first_name and contact.last_name
        if contact.phones:
            phones += 1
            assert clean_phones(contact.phones) == contact.phones
    assert 0.6 <= phones / len(contacts) <= 0.8


def test_deals_agree_with_stages_and_events(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        ws = result.workspace_id
        stage = dict(session.execute(select(Contact.id, Contact.stage)).all())
        deals = session.scalars(select(Deal).where(Deal.workspace_id == ws)).all()
        closing = session.scalars(select(Event).where(Event.type.in_(("deal_won", "deal_lost")))).all()
        changes = session.scalars(
            select(Event).where(Event.type == "stage_changed").order_by(Event.occurred_at)
        )
        last_change = {event.contact_id or 0: event.properties["to"] for event in changes}
    closed = {
        (e.contact_id, e.type, e.properties["deal"], Decimal(str(e.properties["value"]))) for e in closing
    }
    statuses = Counter(deal.status for deal in deals)
    assert statuses["won"] and statuses["lost"] and statuses["open"]
    for deal in deals:
        assert deal.contact_id is not None and Decimal(5000) <= deal.value <= Decimal(120_000)
        assert deal.currency in ("USD", "EUR", "GBP")
        if deal.status == "open":
            assert (
                deal.closed_at is None and deal.stage != "closed" and stage[deal.contact_id] == "opportunity"
            )
            continue
        assert deal.closed_at is not None and deal.closed_at <= NOW and deal.stage == "closed"
        assert (deal.contact_id, f"deal_{deal.status}", deal.name, deal.value) in closed
        if deal.status == "won":
            assert stage[deal.contact_id] == "customer" and deal.reason is None
        else:
            assert deal.reason in ("budget", "timing", "went with competitor", "no decision")
    assert len(closed) == statuses["won"] + statuses["lost"]
    by_status = {status: {d.contact_id for d in deals if d.status == status} for status in statuses}
    assert {c for c, s in stage.items() if s == "customer"} <= by_status["won"]
    assert {c for c, s in stage.items() if s == "opportunity"} == by_status["open"]
    for contact_id, to in last_change.items():  # the stored stage is where the history ends
        assert stage[contact_id] == to


def test_won_deals_come_from_engaged_contacts_at_bigger_companies(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        ws = result.workspace_id
        events = Counter(session.scalars(select(Event.contact_id).where(Event.workspace_id == ws)).all())
        won = session.execute(
            select(Deal.contact_id, Organization.employees)
            .join(Organization, Organization.id == Deal.organization_id)
            .where(Deal.workspace_id == ws, Deal.status == "won")
        ).all()
        everyone = session.scalars(
            select(Organization.employees).join(Contact, Contact.organization_id == Organization.id)
        ).all()
    won_sizes = [employees or 0 for _, employees in won]
    assert len(won) >= 5
    engaged = statistics.mean(events[contact_id] for contact_id, _ in won)
    assert engaged > 1.5 * statistics.mean(events.values())
    assert statistics.median(won_sizes) > statistics.median(size or 0 for size in everyone)


def test_the_mix_of_sources_stages_and_consent_is_varied(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        ws = result.workspace_id
        contacts = session.execute(
            select(Contact.source, Contact.stage, Contact.consent, Contact.owner_id, Contact.custom).where(
                Contact.workspace_id == ws
            )
        ).all()
        orgs = session.execute(
            select(Organization.employees, Organization.industry, Organization.country)
        ).all()
    sources = Counter(row.source for row in contacts)
    stages = Counter(row.stage for row in contacts)
    assert set(sources) == {"imported-list", "website-form", "webinar", "referral", "linkedin", "conference"}
    assert len(stages) >= 6 and stages["lead"] + stages["subscriber"] > SIZE / 2
    assert set(row.consent for row in contacts) == {"opted_in", "unknown", "opted_out"}
    assert 0.35 <= sum(row.owner_id is not None for row in contacts) / SIZE <= 0.65
    assert any("roi_months" in row.custom for row in contacts) and any(
        "linkedin" in row.custom for row in contacts
    )
    assert len({row.industry for row in orgs}) >= 6 and len({row.country for row in orgs}) >= 4
    sizes = [row.employees for row in orgs]
    assert sum(size <= 50 for size in sizes) > len(sizes) / 3 and max(sizes) > 1000


def test_the_demo_users_can_log_in_with_their_roles(db: Database) -> None:
    result = build_demo(db, contacts=SIZE, now=NOW)
    with db.session() as session:
        user = authenticate(session, DEMO_EMAIL, DEMO_PASSWORD)
        assert user is not None
        assert [(a.workspace.slug, a.role) for a in workspaces_of(session, user.id)] == [("demo", "owner")]
        roles = {}
        for email in ("marketer@leadwell.example", "sales1@leadwell.example", "sales2@leadwell.example"):
            member = authenticate(session, email, DEMO_PASSWORD)
            assert member is not None
            roles[email] = workspaces_of(session, member.id)[0].role
        owners = set(
            session.scalars(select(Contact.owner_id).where(Contact.workspace_id == result.workspace_id))
        )
    assert roles == {
        "marketer@leadwell.example": "marketer",
        "sales1@leadwell.example": "sales",
        "sales2@leadwell.example": "sales",
    }
    assert len(owners - {None}) == 2


def test_a_taken_slug_is_a_conflict_and_bad_input_is_refused(db: Database) -> None:
    build(db, contacts=20)
    with pytest.raises(Conflict, match="demo"):
        build(db, contacts=20)
    with pytest.raises(InvalidInput, match="now"):
        build(db, slug="naive", now=datetime(2026, 3, 2, 9))
    with pytest.raises(InvalidInput, match="contacts"):
        build(db, slug="empty", contacts=0)


def test_same_seed_same_rows_other_seed_other_rows(db: Database) -> None:
    build(db)
    build(db, slug="again")  # users are reused: the second build shares them
    build(db, slug="other", seed=8)
    first = snapshot(db, "demo")
    assert first["events"] and first["deals"]
    again = snapshot(db, "again")
    # Public form and page slugs are unique across workspaces: the second build prefixes its own.
    assert json.loads(json.dumps(again, default=str).replace('"again-', '"')) == json.loads(
        json.dumps(first, default=str)
    )
    assert '"again-download-ops-checklist"' in json.dumps(again, default=str)
    other = snapshot(db, "other")
    assert other["contacts"] != first["contacts"] and other["events"] != first["events"]


def test_same_rows_in_another_process(sqlite_template: Path, tmp_path: Path) -> None:
    """Guards against hash-order dependence (sets of strings iterate differently per process)."""
    here, there = tmp_path / "here.db", tmp_path / "there.db"
    shutil.copy(sqlite_template, here)
    shutil.copy(sqlite_template, there)
    script = (
        "import sys, datetime\n"
        "from leadwell.db.session import Database\n"
        "from leadwell.demo import build_demo\n"
        "build_demo(Database(sys.argv[1]), contacts=200, now=datetime.datetime.fromisoformat(sys.argv[2]))\n"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{there}", NOW.isoformat()], check=True, env=environment
    )
    local, remote = Database(f"sqlite:///{here}"), Database(f"sqlite:///{there}")
    build_demo(local, contacts=200, now=NOW)
    assert snapshot(local, "demo") == snapshot(remote, "demo")
    local.dispose()
    remote.dispose()


def test_the_demo_has_an_ideal_client_profile_and_every_contact_graded(db: Database) -> None:
    result = build(db)
    with db.session() as session:
        (icp,) = list_icps(session, result.workspace_id)
        counts = grade_counts(session, result.workspace_id, icp.id)
        assert icp.slug == "operations" and sum(counts.values()) == SIZE
        # Sizes spread across the must-have's range: some qualify out, some are A.
        assert counts["A"] > 0 and counts["F"] > 0
