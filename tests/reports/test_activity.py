"""Activity vs outcome: calls, emails and meetings of the range by person (the contact's owner) and
by first-touch channel, beside the deals won in the range (by the deal's owner), with the activity
spent on people who never reached SQL and have no open or won deal."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Channel, ChannelSource, Contact, User, Workspace
from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Value
from tests.factories import make_deal, make_event, make_user, make_workspace
from tests.factories import move_through as moves
from tests.reports.test_funnel_report import at, person

NOW = at(4, 15, 0)


def _query(workspace: Workspace) -> ReportQuery:
    return ReportQuery(workspace.id, date(2026, 3, 1), date(2026, 3, 31), now=NOW)


def _events(session: Session, contact: Contact, kind: str, *days: datetime) -> None:
    properties = {"outcome": "conversation"} if kind == "call_logged" else {}
    for when in days:
        make_event(session, contact, kind, when, properties)


def _users(session: Session, workspace: Workspace) -> tuple[User, User]:
    uma = make_user(session, workspace, email="uma@example.com")
    uma.name = "Uma"
    vic = make_user(session, workspace, email="vic@example.com")
    vic.name = "Vic"
    return uma, vic


def _seed(session: Session) -> Workspace:
    workspace = make_workspace(session)
    uma, vic = _users(session, workspace)
    linkedin = Channel(workspace_id=workspace.id, name="LinkedIn")
    session.add(linkedin)
    session.flush()
    session.add(ChannelSource(workspace_id=workspace.id, channel_id=linkedin.id, key="linkedin"))
    # P1 (Uma, LinkedIn): reached SQL and was won, the deal Uma's
    p1 = person(session, workspace, at(2, 1), owner_id=uma.id, source="LinkedIn")
    moves(session, p1, ("sql", at(3, 10)), ("customer", at(3, 20)))
    make_deal(session, p1, status="won", closed_at=at(3, 20), owner_id=uma.id, value=Decimal("900"))
    _events(session, p1, "call_logged", at(3, 5), at(3, 8))
    _events(session, p1, "email_sent", at(3, 4))
    _events(session, p1, "meeting_booked", at(3, 9))
    # P2 (Uma, LinkedIn): worked, nothing came of it; two calls outside the range
    p2 = person(session, workspace, at(2, 5), owner_id=uma.id, source="linkedin")
    _events(session, p2, "call_logged", at(3, 6), at(3, 7), at(3, 12), at(2, 28), at(4, 1, 0))
    _events(session, p2, "email_sent", at(3, 6), at(3, 13))
    # P3 (Vic, source "fb", no channel): an open deal is an outcome
    p3 = person(session, workspace, at(3, 2), owner_id=vic.id, source="fb")
    make_deal(session, p3, status="open", created_at=at(3, 15), owner_id=vic.id)
    _events(session, p3, "call_logged", at(3, 16))
    _events(session, p3, "email_sent", at(3, 3), at(3, 4))
    # P4 (no owner, no source): one email, no outcome
    _events(session, person(session, workspace, at(3, 3)), "email_sent", at(3, 10))
    # P5 (Uma's contact, LinkedIn): won by Vic, no activity in the range
    p5 = person(session, workspace, at(1, 10), owner_id=uma.id, source="linkedin")
    moves(session, p5, ("customer", at(3, 25)))
    make_deal(session, p5, status="won", closed_at=at(3, 25), owner_id=vic.id)
    # A deal won before the range does not count
    make_deal(session, p5, status="won", closed_at=at(2, 25), owner_id=vic.id)
    return workspace


def _figures(row: dict[str, Value]) -> tuple[Value, ...]:
    return tuple(
        row[key] for key in ("calls", "emails", "meetings", "won", "calls_no_outcome", "emails_no_outcome")
    )


def test_activity_by_person_and_channel(db: Database) -> None:
    with db.session() as session:
        report = REPORTS["activity"].build(session, _query(_seed(session)))
    assert [(row["group"], row["name"]) for row in report.rows] == [
        ("Person", "Uma"),
        ("Person", "Vic"),
        ("Person", "Unassigned"),
        ("Channel", "LinkedIn"),
        ("Channel", "Unmapped: fb"),
        ("Channel", "No touch recorded"),
    ]
    uma, vic, nobody, linkedin, fb, untouched = report.rows
    # Uma: calls P1 2 + P2 3 = 5; emails 1 + 2 = 3; meeting 1; won P1's deal; P2's 3 calls, 2 emails idle
    assert _figures(uma) == (5, 3, 1, 1, 3, 2)
    # 5/1, 3/1, 1/1; idle (3 + 2) / (5 + 3) = 5/8
    assert (uma["calls_per_won"], uma["emails_per_won"], uma["meetings_per_won"]) == (5.0, 3.0, 1.0)
    assert uma["no_outcome_share"] == pytest.approx(0.625)
    # Vic: P3's call and 2 emails (its open deal is an outcome); won P5's deal
    assert _figures(vic) == (1, 2, 0, 1, 0, 0)
    assert (vic["calls_per_won"], vic["emails_per_won"], vic["meetings_per_won"]) == (1.0, 2.0, 0.0)
    assert vic["no_outcome_share"] == 0.0
    # Unassigned: P4's email, idle; nothing won: no ratios
    assert _figures(nobody) == (0, 1, 0, 0, 0, 1)
    assert (nobody["calls_per_won"], nobody["emails_per_won"], nobody["meetings_per_won"]) == (
        None,
        None,
        None,
    )
    assert nobody["no_outcome_share"] == 1.0
    # LinkedIn: P1, P2, P5 → as Uma's activity, plus both won deals (P1, P5): 5/2, 3/2, 1/2
    assert _figures(linkedin) == (5, 3, 1, 2, 3, 2)
    assert (linkedin["calls_per_won"], linkedin["emails_per_won"], linkedin["meetings_per_won"]) == (
        2.5,
        1.5,
        0.5,
    )
    assert linkedin["no_outcome_share"] == pytest.approx(0.625)
    assert _figures(fb) == (1, 2, 0, 0, 0, 0)
    assert fb["calls_per_won"] is None and fb["no_outcome_share"] == 0.0
    assert _figures(untouched) == (0, 1, 0, 0, 0, 1)
    # Calls 5 + 1 = 6, 3 of them idle; 6 calls / 2 deals
    assert report.summary == [
        "50 % of calls went to people who never reached SQL (and have no open or won deal).",
        "3.0 calls per won deal.",
    ]
    chart = report.charts[0]
    assert [(v["name"], v["calls_per_won"]) for v in chart["data"]["values"]] == [("Uma", 5.0), ("Vic", 1.0)]


def test_empty_range(db: Database) -> None:
    with db.session() as session:
        workspace = _seed(session)
        query = ReportQuery(workspace.id, date(2025, 3, 1), date(2025, 3, 31), now=NOW)
        report = REPORTS["activity"].build(session, query)
    assert report.rows == []
    assert report.summary == ["No calls were logged in this range."]
    assert report.charts[0]["data"]["values"] == []
