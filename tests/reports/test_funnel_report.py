"""The funnel report over a closed range: who was captured in it, how far each got, the conversions
and median days between steps, the weakest step named; an empty range gives zeros and no rates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Workspace
from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import to_csv
from tests.factories import make_contact, make_workspace
from tests.factories import move_through as moves

DAY = timedelta(days=1)


def at(month: int, day: int, hour: int = 12, year: int = 2026) -> datetime:
    """A moment in UTC (noon by default)."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def person(
    session: Session, workspace: Workspace, created: datetime, stage: str = "lead", **fields: object
) -> Contact:
    """A contact created at ``created`` in ``stage``."""
    return make_contact(session, workspace, stage=stage, created_at=created, **fields)


def march(workspace: Workspace, now: datetime = at(6, 1, 0)) -> ReportQuery:
    """The query for March 2026, read on ``now``."""
    return ReportQuery(workspace.id, date(2026, 3, 1), date(2026, 3, 31), now=now)


def _seed(session: Session) -> Workspace:
    workspace = make_workspace(session)
    # A: lead 2 Mar → MQL 2 d → SQL 2 d → opportunity 4 d → won 10 d
    a = person(session, workspace, at(3, 2))
    moves(
        session, a, ("mql", at(3, 4)), ("sql", at(3, 6)), ("opportunity", at(3, 10)), ("customer", at(3, 20))
    )
    # B: lead 5 Mar → MQL 4 d → SQL 1 d
    moves(session, person(session, workspace, at(3, 5)), ("mql", at(3, 9)), ("sql", at(3, 10)))
    # C: lead 10 Mar → straight to SQL 6 d later (MQL reached then too: 6 d, then 0 d to SQL)
    moves(session, person(session, workspace, at(3, 10)), ("sql", at(3, 16)))
    person(session, workspace, at(3, 20))  # D: stays a lead
    person(session, workspace, at(3, 31, 23))  # G: the range's last hour
    person(session, workspace, at(4, 1, 0))  # H: the first moment after the range: out
    person(session, workspace, at(2, 20))  # F: captured before the range: out
    person(session, workspace, at(3, 3), merged_into_id=a.id)  # merged away: out
    return workspace


def test_funnel_counts_conversions_and_medians(db: Database) -> None:
    with db.session() as session:
        workspace = _seed(session)
        report = REPORTS["funnel"].build(session, march(workspace))
    assert report.name == "funnel" and report.currency == "USD"
    by_step = {row["step"]: row for row in report.rows}
    assert list(by_step) == ["Captured", "MQL", "SQL", "Opportunity", "Won"]
    # Captured: A, B, C, D, G = 5; MQL: A, B, C = 3; SQL: A, B, C = 3; opportunity: A; won: A
    assert [row["contacts"] for row in report.rows] == [5, 3, 3, 1, 1]
    # From previous: —, 3/5, 3/3, 1/3, 1/1
    assert by_step["Captured"]["from_previous"] is None
    assert by_step["MQL"]["from_previous"] == pytest.approx(0.6)
    assert by_step["SQL"]["from_previous"] == pytest.approx(1.0)
    assert by_step["Opportunity"]["from_previous"] == pytest.approx(1 / 3)
    assert by_step["Won"]["from_previous"] == pytest.approx(1.0)
    # From captured: 5/5, 3/5, 3/5, 1/5, 1/5
    assert [row["from_captured"] for row in report.rows] == pytest.approx([1.0, 0.6, 0.6, 0.2, 0.2])
    # Median days: MQL of (2, 4, 6) = 4; SQL of (2, 1, 0) = 1; opportunity (4) = 4; won (10) = 10
    assert by_step["Captured"]["median_days"] is None
    assert by_step["MQL"]["median_days"] == pytest.approx(4.0)
    assert by_step["SQL"]["median_days"] == pytest.approx(1.0)
    assert by_step["Opportunity"]["median_days"] == pytest.approx(4.0)
    assert by_step["Won"]["median_days"] == pytest.approx(10.0)
    # The lowest step rate is SQL → opportunity, 1/3
    assert report.summary == [
        "5 leads captured; 1 won so far.",
        "Biggest drop: SQL → Opportunity, 33 % convert.",
    ]
    chart = report.charts[0]
    assert chart["encoding"]["y"]["sort"] is None  # steps keep their order
    assert [v["contacts"] for v in chart["data"]["values"]] == [5, 3, 3, 1, 1]
    assert to_csv(report).splitlines()[1] == "Captured,5,,1.0,"


def test_empty_range_gives_zeros_and_no_rates(db: Database) -> None:
    with db.session() as session:
        workspace = _seed(session)
        query = ReportQuery(workspace.id, date(2025, 1, 1), date(2025, 1, 31), now=at(6, 1, 0))
        report = REPORTS["funnel"].build(session, query)
    assert [row["contacts"] for row in report.rows] == [0, 0, 0, 0, 0]
    for row in report.rows:
        assert row["from_previous"] is None
        assert row["from_captured"] is None
        assert row["median_days"] is None
    assert report.summary == ["0 leads captured; 0 won so far."]
