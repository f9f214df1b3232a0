"""Spend of a range: prorated by day, per bucket, in the report currency; and its allocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Workspace
from leadwell.db.session import Database
from leadwell.reports.costs import SpendBucket, allocate, prorate, report_currency, spend_buckets, spend_note
from tests.reports.dataset import Dataset, build


@pytest.fixture
def built(db: Database) -> Iterator[tuple[Session, Dataset]]:
    with db.session() as session:
        yield session, build(session)


def test_prorating_counts_days_inside_the_range() -> None:
    march = (date(2026, 3, 1), date(2026, 3, 31))
    # 600 over 17 March – 15 April (30 days), 15 of them in March: 600 × 15 / 30 = 300
    assert prorate(Decimal("600"), date(2026, 3, 17), date(2026, 4, 15), *march) == Decimal("300")
    # wholly inside, one day: all of it
    assert prorate(Decimal("250"), date(2026, 3, 19), date(2026, 3, 19), *march) == Decimal("250")
    # February only: nothing
    assert prorate(Decimal("2800"), date(2026, 2, 1), date(2026, 2, 28), *march) == Decimal("0")
    # 100 over 10 days, 3 inside (29–31 March): 30
    assert prorate(Decimal("100"), date(2026, 3, 29), date(2026, 4, 7), *march) == Decimal("30")


def test_buckets_of_march(built: tuple[Session, Dataset]) -> None:
    session, data = built
    ch, cp = data.channels, data.campaigns
    totals = spend_buckets(session, data.query)
    assert totals.buckets == [
        SpendBucket(ch["fb"].id, cp["spring"].id, Decimal("3100.00")),  # February's 2,800 is outside
        SpendBucket(ch["fb"].id, cp["retarget"].id, Decimal("300.00")),  # 600 × 15 / 30
        SpendBucket(ch["li"].id, None, Decimal("1000.00")),  # the channel-level retainer
        SpendBucket(ch["li"].id, cp["webinar"].id, Decimal("800.00")),
        SpendBucket(ch["ev"].id, None, Decimal("250.00")),
        SpendBucket(ch["go"].id, None, Decimal("700.00")),
    ]
    assert totals.total == Decimal("6150.00")  # 3,100 + 300 + 1,000 + 800 + 250 + 700
    assert totals.other_currencies == {"EUR": Decimal("500.00")}
    assert spend_note(totals, "USD") == ["Spend of EUR 500.00 is not counted: reports add up USD"]


def test_a_range_inside_a_row_gets_its_days_rounded_to_cents(built: tuple[Session, Dataset]) -> None:
    session, data = built
    totals = spend_buckets(session, data.ask(start=date(2026, 3, 1), end=date(2026, 3, 7)))
    amounts = {(b.channel_id, b.campaign_id): b.amount for b in totals.buckets}
    ch, cp = data.channels, data.campaigns
    # 3,100 × 7 / 31 = 700.00; 1,000 × 7 / 31 = 225.806… → 225.81; 800 × 7 / 31 = 180.645… → 180.65;
    # 700 × 7 / 31 = 158.064… → 158.06; the retargeting row starts on 17 March: absent
    assert amounts == {
        (ch["fb"].id, cp["spring"].id): Decimal("700.00"),
        (ch["li"].id, None): Decimal("225.81"),
        (ch["li"].id, cp["webinar"].id): Decimal("180.65"),
        (ch["go"].id, None): Decimal("158.06"),
    }
    # The EUR row of 6 March is inside
    assert totals.other_currencies == {"EUR": Decimal("500.00")}


def test_the_report_currency_is_the_workspace_s(built: tuple[Session, Dataset]) -> None:
    session, data = built
    assert report_currency(session, data.workspace.id) == "USD"
    workspace = session.get(Workspace, data.workspace.id)
    assert workspace is not None
    workspace.currency = "EUR"
    session.flush()
    assert report_currency(session, data.workspace.id) == "EUR"
    # Now the EUR row counts and the USD rows are left out
    totals = spend_buckets(session, data.query)
    assert [b.amount for b in totals.buckets] == [Decimal("500.00")]
    assert totals.other_currencies == {"USD": Decimal("6150.00")}


def test_allocation_shares_a_bucket_by_credit() -> None:
    buckets = [
        SpendBucket(1, 10, Decimal("300")),  # a campaign bucket
        SpendBucket(1, None, Decimal("100")),  # channel 1's retainer
        SpendBucket(2, None, Decimal("50")),  # nobody credited to channel 2
    ]
    weights: list[tuple[str, int | None, int | None, float]] = [
        ("a", 1, 10, 1.0),
        ("b", 1, 10, 0.5),
        ("b", 1, None, 0.5),
        ("c", 3, None, 1.0),
    ]
    costs, unallocated = allocate(weights, buckets)
    # campaign 10: a 1.0 and b 0.5 of 1.5 → 200 and 100; channel 1: a 1.0, b 0.5 + 0.5 of 2.0 → 50, 50
    assert costs == {"a": Decimal("250"), "b": Decimal("150")}
    assert unallocated == [SpendBucket(2, None, Decimal("50"))]
