"""The call queue's order on each backend: expected value across grades, decay with time, due dates,
revisits, what never appears, the owner filter, the expected deal value, and exactness against a
brute-force ranking of every lead."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from leadwell.db.models import Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.sales.queue import (
    call_queue,
    candidates_statement,
    check_limit,
    expected_deal_value,
    queue_place,
    revisits_statement,
)
from leadwell.scoring.decay import current
from leadwell.scoring.settings import default_settings, parse_toml
from leadwell.scoring.store import apply_settings
from tests.conftest import Tenant
from tests.factories import make_contact, make_deal, make_user
from tests.sales.queue_data import RATE, make_lead

SETTINGS = default_settings()


def ev(grade: str | None, engagement: float, deal: float = 5000.0) -> float:
    return SETTINGS.queue.probability(grade, engagement) * deal


def test_orders_by_expected_value_across_grades(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        engaged_b = make_lead(session, ws, grade="B", score=40, scored_at=now).id
        cold_a = make_lead(session, ws, grade="A").id
        hot_c = make_lead(session, ws, grade="C", score=100, scored_at=now).id
        hot_ungraded = make_lead(session, ws, grade=None, score=200, scored_at=now).id
        cold_e = make_lead(session, ws, grade="E").id
        items = call_queue(session, ws.id, now)
    assert [item.contact_id for item in items] == [engaged_b, cold_a, hot_c, hot_ungraded, cold_e]
    values = [float(item.expected_value) for item in items]
    expected = [ev("B", 40), ev("A", 0), ev("C", 100), ev(None, 200), ev("E", 0)]
    assert values == pytest.approx(expected, abs=0.01)
    first = items[0]
    assert first.probability == pytest.approx(0.18 * (0.25 + 0.75 * 40 / 80))
    assert (first.currency, first.deal_value.amount, first.deal_value.basis) == (
        "USD",
        Decimal("5000"),
        "settings",
    )


def test_engagement_decays_with_time_and_the_order_follows(db: Database, tenant: Tenant) -> None:
    start = utcnow() - timedelta(days=200)
    ws = tenant.workspace
    with db.session() as session:
        engaged_b = make_lead(session, ws, grade="B", score=100, scored_at=start).id
        cold_a = make_lead(session, ws, grade="A").id
        early = call_queue(session, ws.id, start + timedelta(hours=1))
        later = call_queue(session, ws.id, start + timedelta(days=120))
    assert [item.contact_id for item in early] == [engaged_b, cold_a]
    assert early[0].engagement == pytest.approx(current(100, start, start + timedelta(hours=1), RATE))
    # Four half-lives later the B lead's 100 points are worth 6.25: the untouched A lead goes first.
    assert [item.contact_id for item in later] == [cold_a, engaged_b]
    assert later[1].engagement == pytest.approx(6.25)


def test_due_dates_hold_leads_back_and_revisits_bring_nurture_contacts(db: Database, tenant: Tenant) -> None:
    now = utcnow().replace(hour=12, minute=0) - timedelta(days=1)  # an hour earlier is the same day
    ws = tenant.workspace
    with db.session() as session:
        due = make_lead(session, ws, grade="A", due_at=now - timedelta(minutes=1)).id
        make_lead(session, ws, grade="A", due_at=now + timedelta(hours=2))
        revisit = make_lead(session, ws, grade="B", stage="nurture", due_at=now - timedelta(hours=1)).id
        make_lead(session, ws, grade="A", stage="nurture", due_at=now + timedelta(days=3))
        make_lead(session, ws, grade="A", stage="nurture")  # no revisit date: waits for signals
        items = call_queue(session, ws.id, now)
    assert [item.contact_id for item in items] == [due, revisit]
    assert items[1].queue_state == "parked" and items[1].stage == "nurture"
    assert items[1].why_now[0] == "revisit date today"


def test_qualified_out_merged_and_closed_contacts_never_appear(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        kept = make_lead(session, ws, grade="E").id
        make_lead(session, ws, grade="F", score=500, scored_at=now)
        make_lead(session, ws, grade="F", stage="nurture", due_at=now - timedelta(days=1))
        survivor = make_contact(session, ws)
        # Still marked open, to show the queue checks the merge itself.
        make_lead(session, ws, grade="A", score=90, scored_at=now, merged_into_id=survivor.id, state="open")
        for stage in ("opportunity", "customer", "disqualified"):
            make_lead(session, ws, grade="A", score=90, scored_at=now, stage=stage)
        items = call_queue(session, ws.id, now)
    assert [item.contact_id for item in items] == [kept]


def test_owner_filter_and_workspace_isolation(db: Database, tenant: Tenant, other_tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        seller = make_user(session, ws, role="sales")
        mine = make_lead(session, ws, grade="C", owner_id=seller.id).id
        theirs = make_lead(session, ws, grade="A").id
        make_lead(session, other_tenant.workspace, grade="A", score=100, scored_at=now)
        everyone = call_queue(session, ws.id, now)
        only_mine = call_queue(session, ws.id, now, owner_id=seller.id)
    assert [item.contact_id for item in everyone] == [theirs, mine]
    assert [item.contact_id for item in only_mine] == [mine]


def test_a_queue_item_carries_the_contact(db: Database, tenant: Tenant) -> None:
    from tests.factories import make_organization

    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        org = make_organization(session, ws, name="Analytical Engines Ltd")
        make_lead(
            session, ws, grade="A", fit_score=91, first_name="Ada", last_name="Lovelace", title="CTO",
            organization_id=org.id, phones=["+441234567890"], timezone="Europe/London",
        )  # fmt: skip
        (item,) = call_queue(session, ws.id, now)
    assert (item.name, item.title, item.organization) == ("Ada Lovelace", "CTO", "Analytical Engines Ltd")
    assert (item.phones, item.timezone, item.stage, item.grade, item.fit_score) == (
        ("+441234567890",), "Europe/London", "lead", "A", 91,
    )  # fmt: skip
    assert item.last_outcome is None and item.resurfaced_why is None


def test_the_top_of_the_queue_is_exact_against_ranking_everyone(db: Database, tenant: Tenant) -> None:
    """Per-grade index reads merged by expected value give exactly the brute-force top N."""
    now = utcnow()
    ws = tenant.workspace
    rng = random.Random(11)
    grades = ["A", "B", "C", "D", "E", "F", None]
    with db.session() as session:
        everyone = []
        for _ in range(150):
            grade = rng.choice(grades)
            score = rng.choice([0.0, rng.uniform(1, 120)])
            scored_at = now - timedelta(days=rng.uniform(0, 90)) if score else None
            due_at = now + timedelta(days=rng.choice([-2, 1])) if rng.random() < 0.2 else None
            contact = make_lead(session, ws, grade=grade, score=score, scored_at=scored_at, due_at=due_at)
            if grade != "F" and (due_at is None or due_at <= now):
                everyone.append((ev(grade, current(score, scored_at, now, RATE)), contact.id))
        items = call_queue(session, ws.id, now, limit=10)
    best = sorted(everyone, key=lambda pair: -pair[0])[:10]
    assert [float(item.expected_value) for item in items] == pytest.approx(
        [value for value, _ in best], abs=0.01
    )
    assert {item.contact_id for item in items} <= {contact_id for _, contact_id in everyone}


def test_a_leads_place_is_its_place_in_the_queue_or_none_below_the_limit(
    db: Database, tenant: Tenant
) -> None:
    now = utcnow()
    ws = tenant.workspace
    rng = random.Random(5)
    with db.session() as session:
        seller = make_user(session, ws, role="sales")
        ids = [
            make_lead(
                session, ws, grade=rng.choice(["A", "B", "C", "F", None]), score=rng.uniform(0, 90),
                scored_at=now - timedelta(days=rng.uniform(0, 30)), owner_id=rng.choice([None, seller.id]),
            ).id
            for _ in range(40)
        ]  # fmt: skip
        for owner in (None, seller.id):
            shown = [item.contact_id for item in call_queue(session, ws.id, now, limit=7, owner_id=owner)]
            assert len(shown) == 7
            places = {i: queue_place(session, ws.id, i, now, limit=7, owner_id=owner) for i in ids}
            assert {i: n for i, n in places.items() if n is not None} == {
                i: n for n, i in enumerate(shown, 1)
            }
        with pytest.raises(InvalidInput, match="limit"):
            queue_place(session, ws.id, ids[0], now, limit=0)


def test_expected_deal_value_is_the_mean_of_recent_won_deals_once_there_are_five(
    db: Database, tenant: Tenant
) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        buyer = make_contact(session, ws)
        for value in (10_000, 20_000, 30_000, 40_000):
            make_deal(session, buyer, value=Decimal(value), status="won", closed_at=now - timedelta(days=30))
        make_deal(session, buyer, value=Decimal(99_000), status="won", closed_at=now - timedelta(days=400))
        make_deal(session, buyer, value=Decimal(99_000), currency="EUR", status="won", closed_at=now)
        make_deal(session, buyer, value=Decimal(99_000), status="lost", closed_at=now)
        four = expected_deal_value(session, ws.id, SETTINGS, now)
        make_deal(session, buyer, value=Decimal(50_000), status="won", closed_at=now - timedelta(days=1))
        five = expected_deal_value(session, ws.id, SETTINGS, now)
        make_lead(session, ws, grade="A")
        (item,) = call_queue(session, ws.id, now)
    assert (four.amount, four.basis) == (Decimal("5000"), "settings")
    assert (five.amount, five.basis, five.won_deals) == (Decimal("30000.00"), "won_deals", 5)
    assert five.words == "mean of 5 won deals in the last 365 days"
    assert item.expected_value == Decimal(repr(0.30 * 0.25 * 30_000)).quantize(Decimal("0.01"))


def test_queue_settings_come_from_the_workspace(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    text = '[queue]\ndeal_value = 1000\ncurrency = "EUR"\ngrade_probability = { C = 0.5 }\n'
    with db.session() as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        apply_settings(session, ws.id, parse_toml(text))
        make_lead(session, ws, grade="C")
        (item,) = call_queue(session, ws.id, now)
    assert (item.currency, item.expected_value) == ("EUR", Decimal("125.00"))


@pytest.mark.parametrize("limit", [0, 201])
def test_limit_is_checked(limit: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_limit(limit)
    assert raised.value.field == "limit"


@pytest.mark.parametrize("owner", [False, True])
@pytest.mark.parametrize("predicted", [False, True])
def test_only_the_workspace_moment_and_owner_are_parameters(
    db: Database, owner: bool, predicted: bool
) -> None:
    """The candidates' statement keeps its grades, states and limits in its text, so that a
    prepared plan suits every execution; on PostgreSQL the revisits' statement carries the moment
    in its text too, so it is planned for that moment (a plan for any moment starts a parallel
    worker): they are read apart. SQLite reads them in the union and gets the moment as a
    parameter (its text is compared as stored), and an ``OFFSET 0`` its dialect adds to a limit
    written as text."""
    postgresql = db.dialect == "postgresql"
    expected = {"workspace_id", "now"} | ({"owner_id"} if owner else set())
    union = candidates_statement(owner, predicted, True, 7, not postgresql).compile(dialect=db.engine.dialect)
    revisits = revisits_statement(owner, True, postgresql).compile(dialect=db.engine.dialect)
    assert ("ORDER BY engagements.due_at" in str(union)) is not postgresql
    for compiled in (union, revisits):
        extra = {name: value for name, value in compiled.params.items() if name not in expected}
        assert expected <= set(compiled.params)
        assert extra == {} if postgresql else set(extra.values()) == {0}
    assert "LIMIT 7" in str(union) and "'A'" in str(union)
    assert ("POSTCOMPILE_now" in str(revisits)) is postgresql
