"""Training rows from a workspace's history: who counts as won or lost and when, the features, no
leakage from events after the outcome, and the open leads of a past or present moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, StageChange, Workspace
from leadwell.db.session import Database
from leadwell.predict.workspace_data import (
    ICP_FIELDS,
    RECORD_COLUMNS,
    Examples,
    columns_of,
    employees_of,
    number_text,
    open_lead_batches,
    open_lead_rows,
    queue_lead_batches,
    seniority,
    training_examples,
)
from leadwell.scoring.rows import engagement_of
from tests.conftest import Tenant
from tests.factories import make_contact, make_deal, make_event, make_organization

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def contact(session: Session, ws: Workspace, **fields: object) -> Contact:
    return make_contact(session, ws, created_at=fields.pop("created_at", T0), **fields)


def won(session: Session, person: Contact, at: datetime, opened: datetime | None = None) -> None:
    opened = opened or at - timedelta(days=2)
    make_deal(session, person, status="won", closed_at=at, created_at=opened)


def lost(session: Session, person: Contact, at: datetime, opened: datetime | None = None) -> None:
    opened = opened or at - timedelta(days=2)
    make_deal(session, person, status="lost", closed_at=at, reason="budget", created_at=opened)


def row_of(examples: Examples, contact_id: int) -> dict[str, str | None]:
    at = examples.contact_ids.index(contact_id)
    return dict(zip(examples.table.columns, examples.table.rows[at], strict=True))


def test_who_won_who_lost_and_when(db: Database, tenant: Tenant, other_tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        buyer = contact(session, ws)
        lost(session, buyer, day(10))
        won(session, buyer, day(20))
        won(session, buyer, day(30))  # an upsell: still decided at the first win
        loser = contact(session, ws)
        lost(session, loser, day(5))
        lost(session, loser, day(15))
        undecided = contact(session, ws)
        lost(session, undecided, day(5))
        make_deal(session, undecided, status="open")
        moved = contact(session, ws, stage="disqualified")
        session.add(
            StageChange(workspace_id=ws.id, contact_id=moved.id, to_stage="disqualified", changed_at=day(7))
        )
        called = contact(session, ws)
        make_event(session, called, "call_logged", day(8), {"outcome": "not_a_fit", "reason": "sole trader"})
        make_event(session, called, "call_logged", day(6), {"outcome": "no_answer"})
        imported = contact(session, ws, stage="disqualified", updated_at=day(3))
        contact(session, ws)  # no outcome at all
        merged_into = contact(session, ws)
        merged = contact(session, ws, merged_into_id=merged_into.id)
        won(session, merged, day(9))
        stranger = contact(session, other_tenant.workspace)
        won(session, stranger, day(9))
        examples = training_examples(session, ws.id)
    decided = dict(
        zip(examples.contact_ids, zip(examples.labels, examples.decided_at, strict=True), strict=True)
    )
    assert decided == {
        buyer.id: (1, day(20)),
        loser.id: (0, day(15)),
        moved.id: (0, day(7)),
        called.id: (0, day(8)),
        imported.id: (0, day(3)),
    }
    assert examples.wins == 1
    assert examples.table.columns[: len(RECORD_COLUMNS)] == list(RECORD_COLUMNS)


def test_until_keeps_what_was_known_then(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        early = contact(session, ws)
        won(session, early, day(10))
        late = contact(session, ws)
        won(session, late, day(40))
        flipped = contact(session, ws)  # lost first, won later: a loss at day 20
        lost(session, flipped, day(5))
        make_deal(session, flipped, status="won", closed_at=day(30), created_at=day(25))
        pending = contact(session, ws)  # lost, and a second deal opened before day 20 and won after
        lost(session, pending, day(5))
        make_deal(session, pending, status="won", closed_at=day(35), created_at=day(12))
        then = training_examples(session, ws.id, until=day(20))
        now = training_examples(session, ws.id)
    assert dict(zip(then.contact_ids, then.labels, strict=True)) == {early.id: 1, flipped.id: 0}
    assert dict(zip(now.contact_ids, now.labels, strict=True)) == {
        early.id: 1,
        late.id: 1,
        flipped.id: 1,
        pending.id: 1,
    }


def test_an_event_after_the_outcome_changes_no_feature(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        buyer = contact(session, ws)
        make_event(session, buyer, "asset_downloaded", day(2))
        make_event(session, buyer, "email_replied", day(4), {})
        won(session, buyer, day(10), opened=day(8))
        other = contact(session, ws)
        lost(session, other, day(12))
        before = training_examples(session, ws.id)
        # After the win: a reply, a meeting, another download.
        make_event(session, buyer, "email_replied", day(11), {})
        make_event(session, buyer, "meeting_booked", day(12), {})
        make_event(session, buyer, "asset_downloaded", day(13))
        # While the deal was open (after the lead left the queue), and at the very moment it opened.
        make_event(session, buyer, "meeting_booked", day(9), {})
        make_event(session, buyer, "asset_downloaded", day(8))
        after = training_examples(session, ws.id)
        # One more event before the deal opened does change them: the comparison can fail.
        make_event(session, buyer, "email_replied", day(7), {})
        earlier = training_examples(session, ws.id)
    assert after.table.columns == before.table.columns
    assert row_of(after, buyer.id) == row_of(before, buyer.id)
    assert after.decided_at == before.decided_at
    features = row_of(before, buyer.id)
    assert (features["downloads"], features["replies"], features["days since last reply"]) == ("1", "1", "4")
    assert features["days since created"] == "8"
    assert "meetings booked" not in before.table.columns
    changed = row_of(earlier, buyer.id)
    assert (changed["replies"], changed["days since last reply"]) == ("2", "1")


def test_record_fields_and_custom_fields_become_columns(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        ranged = make_organization(
            session, ws, employees_min=100, employees_max=250, industry="Logistics", country="DE",
            custom={"revenue": 2_000_000, "segment": "mid"},
        )  # fmt: skip
        people = []
        for n in range(6):
            person = contact(
                session, ws, title="Chief Operating Officer" if n == 0 else "Sales manager", country="GB",
                source="webinar", organization_id=ranged.id,
                custom={"roi_months": n + 2, "budget": "yes" if n % 2 else "no", "note": f"free text {n}",
                        "tags_like": ["a", "b"]},
            )  # fmt: skip
            engagement_of(session, ws.id, person.id, person.stage).grade = "B"
            make_event(session, person, "page_viewed", day(1 + n), {"url": "https://x.example/pricing"})
            (won if n < 3 else lost)(session, person, day(20))
            people.append(person)
        rare = contact(session, ws, custom={"only_here": 1})
        lost(session, rare, day(21))
        examples = training_examples(session, ws.id)
    first = row_of(examples, people[0].id)
    assert first["seniority"] == "c-level"
    assert row_of(examples, people[1].id)["seniority"] == "manager"
    assert (first["employees"], first["industry"], first["organization country"]) == (
        "175",
        "Logistics",
        "DE",
    )
    assert (first["country"], first["source"], first["fit grade"]) == ("GB", "webinar", "B")
    assert (first["days since created"], first["days to first engagement"]) == ("18", "1")
    assert (first["page views"], first["days since last page view"]) == ("1", "17")
    assert first["custom.roi_months"] == "2" and "custom.roi_months" in examples.numeric
    assert first["custom.budget"] == "no" and "custom.budget" in examples.categorical
    assert first["organization.custom.revenue"] == "2000000"
    assert "organization.custom.segment" in examples.categorical
    # Six different texts in six rows could still be categories; lists and rare keys are left out.
    assert "custom.tags_like" not in examples.table.columns
    assert "custom.only_here" not in examples.table.columns
    assert (
        row_of(examples, rare.id)["downloads" if "downloads" in examples.table.columns else "page views"]
        == "0"
    )
    assert set(ICP_FIELDS) <= set(RECORD_COLUMNS)


def test_words_and_numbers() -> None:
    titles = ("CEO", "VP Sales", "Vice-President", "Head of Ops", "Team Lead", "Analyst")
    assert [seniority(title) for title in titles] == ["c-level", "vp", "vp", "director", "manager", "staff"]
    assert seniority("  ") is None and seniority("Managing Director") == "c-level"
    assert (
        employees_of(None, 100, 250) == 175
        and employees_of(40, 1, 2) == 40
        and employees_of(None, None, 9) == 9
    )
    assert employees_of(None, None, None) is None
    assert [number_text(v) for v in (3.0, 2.456, None, float("nan"))] == ["3", "2.46", None, None]


def test_open_leads_at_a_past_moment(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    then = day(20)
    with db.session() as session:
        later_won = contact(session, ws)
        make_event(session, later_won, "asset_downloaded", day(5))
        make_event(session, later_won, "asset_downloaded", day(25))
        won(session, later_won, day(40))
        decided_before = contact(session, ws)
        lost(session, decided_before, day(10))
        negotiating = contact(session, ws)
        make_deal(session, negotiating, status="lost", closed_at=day(30), created_at=day(15), reason="x")
        not_yet_created = contact(session, ws, created_at=day(21))
        quiet = contact(session, ws)
        table, ids = open_lead_rows(session, ws.id, then)
        examples = training_examples(session, ws.id)
        columns = columns_of(examples.table.columns, examples.numeric)
        batches = list(open_lead_batches(session, ws.id, then, columns, batch=1))
    assert ids == [later_won.id, quiet.id]
    assert not_yet_created.id not in ids and negotiating.id not in ids and decided_before.id not in ids
    cells = dict(zip(table.columns, table.rows[0], strict=True))
    assert (cells["downloads"], cells["days since last download"], cells["days since created"]) == (
        "1",
        "15",
        "20",
    )
    assert [batch_ids for _table, batch_ids in batches] == [[later_won.id], [quiet.id]]
    assert all(batch.columns == examples.table.columns for batch, _ids in batches)


@pytest.mark.parametrize("batch", [1, 2, 50])
def test_queue_leads_come_in_batches(db: Database, tenant: Tenant, batch: int) -> None:
    ws = tenant.workspace
    now = day(60)
    with db.session() as session:
        wanted = []
        for stage in ("lead", "mql", "nurture", "customer", "sql", "disqualified"):
            person = contact(session, ws, stage=stage)
            engagement_of(session, ws.id, person.id, stage)
            if stage not in ("customer", "disqualified"):
                wanted.append(person.id)
        contact(session, ws)  # no engagement row: not in the queue
        columns = columns_of(["employees", "downloads", "industry"], ["employees", "downloads"])
        batches = list(queue_lead_batches(session, ws.id, now, columns, batch=batch))
    assert [contact_id for _table, ids in batches for contact_id in ids] == wanted
    assert all(len(ids) <= batch for _table, ids in batches)
    assert batches[0][0].columns == ["employees", "downloads", "industry"]
    assert batches[0][0].rows[0] == [None, "0", None]


def test_deal_values_do_not_matter_and_empty_workspaces_give_nothing(db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        empty = training_examples(session, tenant.workspace.id)
        person = contact(session, tenant.workspace)
        make_deal(session, person, status="won", closed_at=day(3), value=Decimal("0"))
        one = training_examples(session, tenant.workspace.id)
    assert (empty.labels, empty.table.rows) == ([], [])
    assert one.labels == [1]
