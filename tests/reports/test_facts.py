"""Lead facts: the range's leads, one row each, with what became of them by now."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.session import Database
from leadwell.reports.facts import OtherCurrencyDeals, deals_note, lead_facts, other_currency_deals
from tests.reports.dataset import Dataset, at, build


@pytest.fixture
def built(db: Database) -> Iterator[tuple[Session, Dataset]]:
    with db.session() as session:
        yield session, build(session)


def test_one_row_per_lead_captured_in_the_range(built: tuple[Session, Dataset]) -> None:
    session, data = built
    facts = lead_facts(data.query, "USD")
    names = {c.id: name for name, c in data.contacts.items()}
    rows = {names[r.contact_id]: r for r in session.execute(select(facts))}
    # ivy entered in February, kim in April, lou is merged away: none is a March lead
    assert sorted(rows) == ["ann", "ben", "cal", "dee", "eve", "fay", "gus", "hal", "jay"]
    # (qualified, sales-qualified, opportunity, won, meetings, revenue in USD)
    assert {
        name: (r.qualified, r.sales_qualified, r.opportunity, r.won, r.meetings, r.revenue)
        for name, r in rows.items()
    } == {
        "ann": (1, 1, 1, 1, 1, 9000.0),
        "ben": (1, 0, 0, 0, 0, 0.0),  # his lost deal is no revenue
        "cal": (0, 0, 0, 0, 0, 0.0),
        "dee": (1, 1, 1, 1, 1, 4000.0),
        # won without an opportunity move: reaching customer counts every step before; her deal
        # is in EUR, so no USD revenue; two meetings
        "eve": (1, 1, 1, 1, 2, 0.0),
        "fay": (1, 0, 0, 0, 1, 0.0),  # an open deal is no revenue
        "gus": (0, 0, 0, 0, 0, 0.0),  # his meeting of 20 April is after now
        "hal": (1, 1, 1, 1, 1, 6000.0),  # won on 2 April: after the range, before now
        "jay": (0, 0, 0, 0, 0, 0.0),
    }
    assert rows["jay"].captured_at == at(3, 20, 10)  # a subscriber becomes a lead then
    assert rows["ann"].won_at == at(3, 12) and rows["hal"].won_at == at(4, 2)
    assert rows["fay"].won_at is None


def test_magnet_page_and_grade_of_each_lead(built: tuple[Session, Dataset]) -> None:
    session, data = built
    facts = lead_facts(data.query, "USD")
    names = {c.id: name for name, c in data.contacts.items()}
    found = {names[r.contact_id]: (r.magnet, r.landing_page, r.grade) for r in session.execute(select(facts))}
    assert found == {
        # her first submission with a magnet is the guide (2 March), not the webinar (8 March)
        "ann": ("roi-guide", "roi-lp", "A"),
        "ben": (None, None, "B"),  # the contact-us form has no magnet and no page
        "cal": (None, None, "C"),
        "dee": (None, None, "A"),
        "eve": ("spring-webinar", "webinar-lp", "B"),
        "fay": ("roi-guide", "roi-lp", "A"),
        "gus": (None, None, None),
        # his first submission (14 March) was on no page; the first on a page is 16 March's
        "hal": ("roi-guide", "roi-lp", None),
        "jay": ("spring-webinar", "webinar-lp", "D"),
    }


def test_revenue_follows_the_report_currency(built: tuple[Session, Dataset]) -> None:
    session, data = built
    facts = lead_facts(data.query, "EUR")
    revenue = session.execute(select(facts.c.contact_id, facts.c.revenue).where(facts.c.revenue > 0)).all()
    assert revenue == [(data.contacts["eve"].id, 5000.0)]
    # In USD, the EUR deal is left out and named: 1 deal of EUR 5,000
    others = other_currency_deals(session, data.query, "USD")
    assert others == [OtherCurrencyDeals("EUR", 1, Decimal("5000.00"))]
    assert deals_note(others, "USD") == [
        "1 won deal in EUR (EUR 5,000.00) is not counted: reports add up USD"
    ]
    # In EUR, the USD deals of the range's leads: 9,000 + 4,000 + 6,000 (ivy's is not a March lead)
    assert other_currency_deals(session, data.query, "EUR") == [
        OtherCurrencyDeals("USD", 3, Decimal("19000.00"))
    ]


def test_the_note_counts_several_deals() -> None:
    note = deals_note([OtherCurrencyDeals("EUR", 2, Decimal("5000"))], "USD")
    assert note == ["2 won deals in EUR (EUR 5,000.00) are not counted: reports add up USD"]


def test_an_empty_range_has_no_leads(built: tuple[Session, Dataset]) -> None:
    session, data = built
    facts = lead_facts(data.ask(start=date(2025, 1, 1), end=date(2025, 1, 31)), "USD")
    assert session.execute(select(facts)).all() == []
