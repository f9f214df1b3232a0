"""The cohort report: one row per calendar month of capture (a month without captures too), its
conversions and revenue, its age and maturity against the workspace's past times to win, and the
best mature month named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Workspace
from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from leadwell.reports.cohorts import MATURE, NO_PAST_SALES, TOO_EARLY
from leadwell.reports.funnel import won_candidates
from leadwell.reports.query import ReportQuery
from tests.factories import make_deal, make_workspace
from tests.factories import move_through as moves
from tests.reports.test_funnel_report import at, person

NOW = at(4, 10, 0)


def _query(workspace: Workspace) -> ReportQuery:
    return ReportQuery(workspace.id, date(2026, 1, 15), date(2026, 3, 31), now=NOW)


def _seed(session: Session) -> Workspace:
    workspace = make_workspace(session)
    # Past sales (outside the range), capture → won: 10, 60 and 100 days
    moves(session, person(session, workspace, at(6, 1, year=2025)), ("customer", at(6, 11, year=2025)))
    moves(session, person(session, workspace, at(7, 1, year=2025)), ("customer", at(8, 30, year=2025)))
    moves(session, person(session, workspace, at(9, 1, year=2025)), ("customer", at(12, 10, year=2025)))
    # January: J1 won after 20 days, J2 an MQL, J4 a lead; J3 came before the range
    j1 = moves(session, person(session, workspace, at(1, 20)), ("mql", at(1, 25)), ("customer", at(2, 9)))
    make_deal(session, j1, value=Decimal("1000.00"), currency="USD", status="won")
    make_deal(session, j1, value=Decimal("500.00"), currency="EUR", status="won")
    make_deal(session, j1, value=Decimal("700.00"), currency="USD", status="open")
    moves(session, person(session, workspace, at(1, 16)), ("mql", at(1, 20)))
    person(session, workspace, at(1, 10))
    person(session, workspace, at(1, 31))
    # February: nobody. March: M1 won after 20 days, M2 a lead
    m1 = moves(session, person(session, workspace, at(3, 5)), ("mql", at(3, 10)), ("customer", at(3, 25)))
    make_deal(session, m1, value=Decimal("2000.00"), currency="USD", status="won")
    person(session, workspace, at(3, 20))
    return workspace


def test_months_with_maturity(db: Database) -> None:
    with db.session() as session:
        report = REPORTS["cohorts"].build(session, _query(_seed(session)))
    assert report.currency == "USD"
    assert [row["month"] for row in report.rows] == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = report.rows
    # January (15 Jan – 31 Jan): J1, J2, J4 captured; J1, J2 qualified; J1 won, USD 1,000 (EUR left out)
    assert (jan["captured"], jan["qualified"], jan["won"], jan["revenue"]) == (3, 2, 1, 1000.0)
    assert jan["qualified_rate"] == pytest.approx(2 / 3)
    assert jan["won_rate"] == pytest.approx(1 / 3)
    assert (feb["captured"], feb["qualified"], feb["won"], feb["revenue"]) == (0, 0, 0, 0.0)
    assert feb["qualified_rate"] is None and feb["won_rate"] is None
    assert (mar["captured"], mar["qualified"], mar["won"], mar["revenue"]) == (2, 1, 1, 2000.0)
    assert mar["qualified_rate"] == pytest.approx(0.5) and mar["won_rate"] == pytest.approx(0.5)
    # Ages to 10 Apr: from 1 Feb 28 + 31 + 9 = 68 days; from 1 Mar 31 + 9 = 40; from 1 Apr 9
    assert [row["age_days"] for row in report.rows] == pytest.approx([68.0, 40.0, 9.0])
    # Past times to win: 10, 20 (J1), 20 (M1), 60, 100 → median 20.
    # Within 68 days: 10, 20, 20, 60 = 4/5; within 40: 3/5; within 9: none
    assert [row["maturity"] for row in report.rows] == pytest.approx([0.8, 0.6, 0.0])
    assert [row["status"] for row in report.rows] == [MATURE, MATURE, TOO_EARLY]
    # Mature months with captures: January only (1/3)
    assert report.summary == [
        "Sales usually come 20 days after capture (the median of all past sales).",
        "Best mature month: 2026-01, 1 of 3 leads won (33 %).",
    ]
    assert "1 won deal in EUR (EUR 500.00) is not counted: reports add up USD" in report.notes
    chart = report.charts[0]
    assert chart["mark"]["type"] == "line"
    assert [v["won_rate"] for v in chart["data"]["values"]] == pytest.approx([1 / 3, None, 0.5])


def test_no_past_sales_and_an_empty_range(db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session)
        person(session, workspace, at(1, 20))
        query = ReportQuery(workspace.id, date(2026, 1, 1), date(2026, 2, 10), now=NOW)
        report = REPORTS["cohorts"].build(session, query)
        empty = REPORTS["cohorts"].build(
            session, ReportQuery(workspace.id, date(2025, 5, 1), date(2025, 5, 31), now=NOW)
        )
    # January: 1 captured, nothing won ever: no maturity to speak of
    assert [(row["month"], row["captured"], row["won"]) for row in report.rows] == [
        ("2026-01", 1, 0),
        ("2026-02", 0, 0),
    ]
    assert report.rows[0]["won_rate"] == 0.0
    # February is cut at the range's end (11 Feb): 18 days to 1 Mar + 31 + 9 to 10 Apr = 58 days
    assert report.rows[1]["age_days"] == pytest.approx(58.0)
    assert [row["maturity"] for row in report.rows] == [None, None]
    assert [row["status"] for row in report.rows] == [NO_PAST_SALES, NO_PAST_SALES]
    assert report.summary == ["No contact has been won yet, so no month can be judged by its age."]
    assert [(row["month"], row["captured"], row["won_rate"]) for row in empty.rows] == [("2025-05", 0, None)]


def test_the_won_contacts_followed_for_the_time_to_a_sale_are_every_way_of_being_won(db: Database) -> None:
    """Moved to customer, created as one, created as one then moved on: each is a past sale; a lead
    never won and another workspace's customer are not."""
    with db.session() as session:
        workspace = make_workspace(session)
        moved = moves(session, person(session, workspace, at(1, 5)), ("customer", at(2, 1))).id
        created = person(session, workspace, at(1, 6), stage="customer").id
        moved_on = moves(
            session, person(session, workspace, at(1, 7), stage="customer"), ("nurture", at(3, 1))
        ).id
        person(session, workspace, at(1, 8))
        person(session, make_workspace(session), at(1, 9), stage="customer")
        found = set(session.scalars(select(won_candidates(workspace.id).c.id)))
    assert found == {moved, created, moved_on}
