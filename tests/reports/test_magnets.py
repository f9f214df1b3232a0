"""The lead-magnet report: views of the gating pages and reader opens, submissions in the range (each
person once), reading half of it, a call after submitting, a sale after submitting; the best
magnet by submission → sale among those with at least five submissions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Asset, Contact, Event, Form, LandingPage, Workspace
from leadwell.db.session import Database
from leadwell.reports.catalog import REPORTS
from leadwell.reports.query import ReportQuery
from tests.factories import make_event, make_workspace
from tests.factories import move_through as moves
from tests.reports.test_funnel_report import at, person

NOW = at(4, 30, 0)


def _query(workspace: Workspace) -> ReportQuery:
    return ReportQuery(workspace.id, date(2026, 3, 1), date(2026, 3, 31), now=NOW)


def _magnet(
    session: Session, workspace: Workspace, slug: str, title: str, kind: str = "pdf", **extra: Any
) -> Asset:
    asset = Asset(workspace_id=workspace.id, slug=slug, kind=kind, title=title, **extra)
    session.add(asset)
    session.flush()
    return asset


def _gate(session: Session, workspace: Workspace, asset: Asset, page: str | None = None) -> None:
    form = Form(workspace_id=workspace.id, slug=f"form-{asset.slug}", name=asset.title, asset_id=asset.id)
    session.add(form)
    session.flush()
    if page:
        session.add(LandingPage(workspace_id=workspace.id, slug=page, title=asset.title, form_id=form.id))
        session.flush()


def _view(session: Session, workspace: Workspace, page: str, when: datetime, visitor: int) -> None:
    properties = {"url": f"https://example.com/p/{page}", "page": page}
    session.add(
        Event(
            workspace_id=workspace.id,
            visitor_id=visitor,
            type="page_viewed",
            occurred_at=when,
            properties=properties,
            source="test",
        )
    )
    session.flush()


def _submit(session: Session, contact: Contact, asset: str, when: datetime) -> None:
    make_event(session, contact, "form_submitted", when, {"form": f"form-{asset}", "asset": asset})


def _seed_roi(session: Session, workspace: Workspace) -> None:
    roi = _magnet(session, workspace, "roi", "ROI guide")
    _gate(session, workspace, roi, page="roi-page")
    s = [person(session, workspace, at(2, 1)) for _ in range(7)]
    # Views: anonymous visitors 101–105 (101 twice), S1 on the page and in the reader, S2 in the
    # reader: 5 + 2 = 7 viewers; visitor 106 came before the range
    for visitor in (101, 101, 102, 103, 104, 105):
        _view(session, workspace, "roi-page", at(3, 2), visitor)
    _view(session, workspace, "roi-page", at(2, 28), 106)
    make_event(
        session, s[0], "page_viewed", at(3, 1), {"url": "https://example.com/p/roi-page", "page": "roi-page"}
    )
    make_event(session, s[0], "asset_downloaded", at(3, 3), {"asset": "roi"})
    make_event(session, s[1], "asset_downloaded", at(3, 4), {"asset": "roi"})
    # Submissions: S1 (twice: 2 and 10 Mar), S2 4 Mar, S3–S6 5 Mar; S7 before the range
    _submit(session, s[0], "roi", at(3, 2))
    _submit(session, s[0], "roi", at(3, 10))
    _submit(session, s[1], "roi", at(3, 4))
    for contact in s[2:6]:
        _submit(session, contact, "roi", at(3, 5))
    _submit(session, s[6], "roi", at(2, 27))
    # Read ≥ 50 %: S1 (50), S3 (90); S2 only 25; S7 read it all but submitted before the range
    for contact, percent in ((s[0], 50), (s[1], 25), (s[2], 90), (s[6], 100)):
        make_event(session, contact, "read_progress", at(3, 6), {"asset": "roi", "percent": percent})
    # Called after submitting: S1 (8 Mar), S4 (20 Mar); S2's call came first; S5's comes after now
    call = {"outcome": "conversation"}
    for contact, when in ((s[0], at(3, 8)), (s[1], at(3, 1)), (s[3], at(3, 20)), (s[4], at(5, 1))):
        make_event(session, contact, "call_logged", when, call)
    # Sales after submitting: S1 (25 Mar), S3 (10 Apr); S4 was a customer before it submitted
    moves(session, s[0], ("customer", at(3, 25)))
    moves(session, s[2], ("customer", at(4, 10)))
    moves(session, s[3], ("customer", at(3, 1)))


def _seed(session: Session) -> Workspace:
    workspace = make_workspace(session)
    _seed_roi(session, workspace)
    video = _magnet(session, workspace, "vid", "Demo video", kind="video")
    _gate(session, workspace, video)
    v1, v2 = person(session, workspace, at(2, 1)), person(session, workspace, at(2, 1))
    _submit(session, v1, "vid", at(3, 15))
    _submit(session, v2, "vid", at(3, 16))
    make_event(session, v1, "video_progress", at(3, 15), {"asset": "vid", "percent": 75})
    moves(session, v1, ("customer", at(3, 20)))
    _magnet(session, workspace, "quiet", "Quiet checklist")
    _magnet(session, workspace, "old", "Old guide", archived_at=at(1, 1))
    return workspace


def test_magnet_steps(db: Database) -> None:
    with db.session() as session:
        report = REPORTS["magnets"].build(session, _query(_seed(session)))
    # Live magnets by title; the archived one had no submissions in the range
    assert [row["magnet"] for row in report.rows] == ["Demo video", "Quiet checklist", "ROI guide"]
    video, quiet, roi = report.rows
    steps = ("views", "submissions", "read", "called", "sales")
    assert tuple(roi[key] for key in steps) == (7, 6, 2, 2, 2)
    # 6/7 submit; 2/6 read; 2/2 called; 2/2 sale; 2/6 per submission
    assert roi["submit_rate"] == pytest.approx(6 / 7)
    assert roi["read_rate"] == pytest.approx(1 / 3)
    assert (roi["called_rate"], roi["sale_rate"]) == (1.0, 1.0)
    assert roi["sale_per_submission"] == pytest.approx(1 / 3)
    # Video: no views; 2 submitted, V1 watched 75 % and bought, nobody called
    assert tuple(video[key] for key in steps) == (0, 2, 1, 0, 1)
    assert video["submit_rate"] is None
    assert (video["read_rate"], video["called_rate"], video["sale_rate"]) == (0.5, 0.0, None)
    assert video["sale_per_submission"] == 0.5
    assert tuple(quiet[key] for key in steps) == (0, 0, 0, 0, 0)
    rates = ("submit_rate", "read_rate", "called_rate", "sale_rate", "sale_per_submission")
    assert all(quiet[key] is None for key in rates)
    # The video's 50 % needs 5 submissions to be ranked: the ROI guide is named
    assert report.summary == ["Best magnet: ROI guide, 2 of 6 submissions became sales (33 %)."]
    values = report.charts[0]["data"]["values"]
    assert [(v["step"], v["people"]) for v in values if v["magnet"] == "ROI guide"] == [
        ("Submissions", 6),
        ("Read ≥ 50 %", 2),
        ("Called", 2),
        ("Sale", 2),
    ]


def test_too_few_submissions_and_an_empty_range(db: Database) -> None:
    with db.session() as session:
        workspace = _seed(session)
        empty = REPORTS["magnets"].build(
            session, ReportQuery(workspace.id, date(2025, 3, 1), date(2025, 3, 31), now=NOW)
        )
    assert [row["submissions"] for row in empty.rows] == [0, 0, 0]
    assert all(row["sale_per_submission"] is None for row in empty.rows)
    assert empty.summary == ["No magnet has 5 submissions in this range yet: too few to compare."]
