"""Webinar attendance import from each tool's export (files under tests/fixtures/webinars): who is
matched or created, who attended for how long, which rows are left out and why, and that importing
the same file again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from leadwell.capture.assets import AssetInput, create_asset
from leadwell.capture.attendance import import_attendance_file
from leadwell.capture.attendance_files import parse_minutes, read_attendance
from leadwell.db.models import Contact, Engagement, Event, Workspace
from leadwell.db.session import Database
from leadwell.errors import InvalidInput, NotFound
from leadwell.ids import IdCodec
from tests.capture.test_assets import make_pdf_asset
from tests.factories import make_contact, make_workspace

FIXTURES = Path(__file__).parent.parent / "fixtures" / "webinars"
WEBINAR_EVENTS = ("webinar_registered", "webinar_attended")
NOW = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
STARTS = datetime(2026, 11, 10, 14, 0, tzinfo=UTC)
# file, format, {email: minutes} of attendees, registered only, rejected (line, words)
EXPECTED = {
    "zoom_attendee_report.csv": (
        "zoom",
        {"ada@analytical.example": 57.0, "grace@navy.example": 15.0, "alan@bletchley.example": 1.0},
        ["barbara@clu.example"],
        [(18, "'not-an-address' is not an email address")],
    ),
    "gotowebinar_attendee_report.csv": (
        "gotowebinar",
        {"ada@analytical.example": 62.0, "grace@navy.example": 45.0, "alan@bletchley.example": 29.5},
        ["barbara@clu.example"],
        [(12, "'a while' is not a duration")],
    ),
    "teams_attendance_report.csv": (
        "teams",
        {"ada@analytical.example": 62.5, "grace@navy.example": 45.0, "alan@bletchley.example": 2.5},
        [],
        [(11, "organizer, not an attendee")],
    ),
    "webex_attendee_report.csv": (
        "webex",
        {"ada@analytical.example": 59.0, "grace@navy.example": 33.0},
        ["barbara@clu.example"],
        [],
    ),
    "generic_attendance.csv": (
        "csv",
        {"ada@analytical.example": 47.0, "grace@navy.example": 12.0},
        ["barbara@clu.example"],
        [(5, "no email address"), (6, "attended: 'maybe' is neither yes nor no")],
    ),
}


@pytest.fixture
def workspace(db: Database) -> Workspace:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        create_asset(
            session,
            workspace.id,
            AssetInput(
                "webinar", "ROI clinic", starts_at="2026-11-10T14:00Z", duration_minutes="60",
                location="https://meet.example/roi",
            ),
            None,
            1024,
        )  # fmt: skip
        session.expunge(workspace)
        return workspace


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_is_read(name: str) -> None:
    file_format, attended, registered_only, rejected = EXPECTED[name]
    parsed = read_attendance((FIXTURES / name).read_bytes())
    assert parsed.format == file_format
    assert {p.email: p.minutes for p in parsed.people if p.attended} == attended
    assert [p.email for p in parsed.people if not p.attended] == registered_only
    assert [(r.line, r.reason) for r in parsed.rejected] == rejected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_import_records_registration_and_attendance_once(
    db: Database, codec: IdCodec, workspace: Workspace, name: str
) -> None:
    _format, attended, registered_only, rejected = EXPECTED[name]
    with db.session() as session:
        known = make_contact(
            session, workspace, first_name="Grace", last_name="H.", email="grace@navy.example"
        )
        known_id = known.id
    content = (FIXTURES / name).read_bytes()
    with db.session() as session:
        summary = import_attendance_file(session, codec, workspace.id, "roi-clinic", content, NOW)
    listed = len(attended) + len(registered_only)
    assert (summary.listed, summary.matched, summary.created) == (listed, 1, listed - 1)
    assert (summary.attended, summary.events_added) == (len(attended), listed + len(attended))
    assert len(summary.rejected) == len(rejected)
    with db.session() as session:
        events = session.scalars(select(Event).where(Event.type.in_(WEBINAR_EVENTS))).all()
        by_email = {c.id: c.email or "" for c in session.scalars(select(Contact))}
        registered = sorted(by_email[e.contact_id or 0] for e in events if e.type == "webinar_registered")
        minutes = {
            by_email[e.contact_id or 0]: e.properties["minutes"]
            for e in events
            if e.type == "webinar_attended"
        }
        assert registered == sorted([*attended, *registered_only])
        assert minutes == attended
        assert all(e.properties["webinar"] == "roi-clinic" and e.occurred_at == STARTS for e in events)
        created = session.scalar(select(Contact).where(Contact.email == "ada@analytical.example"))
        assert created is not None
        assert (created.first_name, created.last_name, created.source) == (
            "Ada",
            "Lovelace",
            "webinar:roi-clinic",
        )
        grace = session.get(Contact, known_id)
        assert grace is not None and grace.last_name == "H."  # matched, not overwritten
        # Attending 30 minutes or more earns engagement under the default scoring settings.
        assert session.scalar(select(Engagement.score).where(Engagement.contact_id == created.id))
    with db.session() as session:
        again = import_attendance_file(session, codec, workspace.id, "roi-clinic", content, NOW)
    assert (again.matched, again.created, again.events_added) == (listed, 0, 0)
    with db.session() as session:
        assert len(session.scalars(select(Event).where(Event.type.in_(WEBINAR_EVENTS))).all()) == len(events)


def test_only_webinars_and_seminars_take_attendance(
    db: Database, codec: IdCodec, workspace: Workspace
) -> None:
    paper = make_pdf_asset(db, workspace.id)
    content = (FIXTURES / "generic_attendance.csv").read_bytes()
    with (
        pytest.raises(InvalidInput, match="attendance is imported for webinars") as caught,
        db.session() as session,
    ):
        import_attendance_file(session, codec, workspace.id, paper, content, NOW)
    assert caught.value.field == "asset"
    with pytest.raises(NotFound), db.session() as session:
        import_attendance_file(session, codec, workspace.id, "nope", content, NOW)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"name,minutes\nAda,30\n", "no column of email addresses"),
        (b"%PDF-1.4 not a table", "not a CSV"),
    ],
)
def test_unreadable_files_are_refused_and_nothing_is_written(
    db: Database, codec: IdCodec, workspace: Workspace, content: bytes, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words), db.session() as session:
        import_attendance_file(session, codec, workspace.id, "roi-clinic", content, NOW)
    with db.session() as session:
        assert session.scalars(select(Event)).all() == []


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("39", 39),
        ("39,5", 39.5),
        ("1 hour 2 minutes", 62),
        ("2 hours", 120),
        ("1h 2m 30s", 62.5),
        ("45m", 45),
        ("30 sec", 0.5),
        ("01:02:30", 62.5),
        ("1:02", 62),
        ("--", 0),
        ("", 0),
    ],
)
def test_durations_in_every_tool_s_words(text: str, minutes: float) -> None:
    assert parse_minutes(text) == pytest.approx(minutes)


@pytest.mark.parametrize("text", ["a while", "12 parsecs", "1h and then some"])
def test_durations_that_are_not(text: str) -> None:
    with pytest.raises(ValueError):
        parse_minutes(text)


def test_people_the_form_registered_are_not_registered_twice(
    db: Database, codec: IdCodec, workspace: Workspace
) -> None:
    with db.session() as session:
        grace = make_contact(session, workspace, email="grace@navy.example")
        session.add(
            Event(
                workspace_id=workspace.id, contact_id=grace.id, type="webinar_registered", occurred_at=STARTS,
                properties={"webinar": "roi-clinic"}, idempotency_key="form:abc:webinar",
            )
        )  # fmt: skip
        grace_id = grace.id
    content = (FIXTURES / "webex_attendee_report.csv").read_bytes()
    with db.session() as session:
        summary = import_attendance_file(session, codec, workspace.id, "roi-clinic", content, NOW)
    assert summary.events_added == 2 + 2  # Ada and Barbara registered; Ada and Grace attended
    with db.session() as session:
        kinds = session.scalars(select(Event.type).where(Event.contact_id == grace_id)).all()
        assert sorted(kinds) == ["webinar_attended", "webinar_registered"]


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_every_spelling_of_a_duration_agrees(hours: int, minutes: int, seconds: int) -> None:
    expected = hours * 60 + minutes + seconds / 60
    spellings = (
        f"{hours}h {minutes}m {seconds}s",
        f"{hours} hours {minutes} minutes {seconds} seconds",
        f"{hours:02d}:{minutes:02d}:{seconds:02d}",
    )
    for text in spellings:
        assert parse_minutes(text) == pytest.approx(expected), text
