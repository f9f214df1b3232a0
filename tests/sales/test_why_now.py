"""Why now, in words: relative dates, what each kind of engagement says, the strongest of the last
30 days, a revisit date, the fit's reasons and what to ask, and a constant number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from leadwell.db.models import Engagement
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.sales.queue import call_queue
from leadwell.sales.why_now import day_words, event_words
from tests.conftest import Tenant
from tests.factories import make_event, make_organization
from tests.sales.queue_data import graded_profile, make_lead

NOW = datetime(2025, 11, 14, 15, 0, tzinfo=UTC)  # a Friday


def noon() -> datetime:
    """Yesterday at noon: "an hour ago" is still the same day, whatever time the tests run."""
    return utcnow().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (datetime(2025, 11, 14, 0, 5, tzinfo=UTC), "today"),
        (datetime(2025, 11, 13, 23, 59, tzinfo=UTC), "yesterday"),
        (datetime(2025, 11, 11, 9, 0, tzinfo=UTC), "on Tuesday"),
        (datetime(2025, 11, 3, 9, 0, tzinfo=UTC), "on 3 Nov"),
        (datetime(2024, 12, 24, 9, 0, tzinfo=UTC), "on 24 Dec 2024"),
    ],
)
def test_day_words(moment: datetime, words: str) -> None:
    assert day_words(moment, NOW) == words


@pytest.mark.parametrize(
    ("event_type", "properties", "words"),
    [
        ("read_progress", {"asset": "How to Attract High Value Clients", "percent": 89},
         "read 89% of 'How to Attract High Value Clients'"),
        ("video_progress", {"asset": "Demo", "percent": 75.0}, "watched 75% of 'Demo'"),
        ("webinar_attended", {"webinar": "Pricing clinic", "minutes": 45},
         "attended 'Pricing clinic' for 45 minutes"),
        ("webinar_registered", {"webinar": "Pricing clinic"}, "registered for 'Pricing clinic'"),
        ("email_replied", {"subject": "Re: your proposal"}, "replied to 'Re: your proposal'"),
        ("email_replied", {}, "replied to an email"),
        ("email_clicked", {"subject": "Case study", "url": "https://x.example/a"},
         "clicked a link in 'Case study'"),
        ("form_submitted", {"form": "Contact us"}, "submitted the form 'Contact us'"),
        ("asset_downloaded", {"asset": "ROI white paper"}, "downloaded 'ROI white paper'"),
        ("page_viewed", {"url": "https://acme.example/pricing"}, "viewed the pricing page"),
        ("page_viewed", {"url": "https://acme.example/blog/x", "title": "Ten myths"}, "viewed 'Ten myths'"),
        ("page_viewed", {"url": "https://acme.example/blog/x"}, None),
        ("meeting_booked", {}, "booked a meeting"),
        ("email_opened", {}, None),
    ],
)  # fmt: skip
def test_event_words(event_type: str, properties: dict[str, Any], words: str | None) -> None:
    assert event_words(event_type, properties) == words


def test_the_strongest_recent_engagement_is_told(db: Database, tenant: Tenant) -> None:
    now = noon()
    ws = tenant.workspace
    with db.session() as session:
        reader = make_lead(session, ws, grade="B", score=50, scored_at=now)
        guide = {"asset": "How to Attract High Value Clients", "percent": 89}
        make_event(session, reader, "read_progress", now - timedelta(days=1), guide)
        make_event(
            session, reader, "page_viewed", now - timedelta(hours=1), {"url": "https://a.example/pricing"}
        )
        make_event(session, reader, "email_replied", now - timedelta(days=40), {"subject": "Old news"})
        viewer = make_lead(session, ws, grade="B", score=10, scored_at=now)
        make_event(
            session, viewer, "page_viewed", now - timedelta(hours=2), {"url": "https://a.example/pricing"}
        )
        make_event(session, viewer, "email_opened", now - timedelta(hours=1), {"subject": "Hello"})
        quiet = make_lead(session, ws, grade="B")
        items = {item.contact_id: item for item in call_queue(session, ws.id, now)}
    # 35 points for the read (half and most of it) outweigh the pricing page's 11; a reply from
    # 40 days ago is past the window.
    assert items[reader.id].why_now == (
        "read 89% of 'How to Attract High Value Clients' yesterday",
        "grade B",
    )
    assert items[viewer.id].why_now == ("viewed the pricing page today", "grade B")
    assert items[quiet.id].why_now == ("grade B",)


def test_a_revisit_date_says_when_and_why_the_lead_was_parked(db: Database, tenant: Tenant) -> None:
    now = noon()
    ws = tenant.workspace
    with db.session() as session:
        parked = make_lead(session, ws, grade="A", stage="nurture", due_at=now - timedelta(hours=2))
        said = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)
        reason = {"outcome": "not_now", "reason": "budget next quarter", "revisit_on": "2026-02-01"}
        make_event(session, parked, "call_logged", said, reason)
        make_event(session, parked, "call_logged", said - timedelta(days=9), {"outcome": "no_answer"})
        (item,) = call_queue(session, ws.id, now)
    year = "" if now.year == 2025 else " 2025"
    assert item.why_now[0] == f"revisit date today (not now on 3 Nov{year}: budget next quarter)"


def test_resurfaced_why_comes_first(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        lead = make_lead(session, ws, grade="C", score=40, scored_at=now)
        row = session.get(Engagement, lead.id)
        assert row is not None
        row.resurfaced_why, row.resurfaced_at = "new engagement: Replied to an email (+40)", now
        make_event(session, lead, "email_replied", now - timedelta(days=2), {"subject": "Budget"})
        (item,) = call_queue(session, ws.id, now)
    assert item.why_now[:2] == (
        "new engagement: Replied to an email (+40)",
        "replied to 'Budget' on " + _weekday(now - timedelta(days=2)),
    )
    assert item.resurfaced_why == "new engagement: Replied to an email (+40)"


def _weekday(moment: datetime) -> str:
    return ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[moment.weekday()]


def test_fit_reasons_and_what_to_ask(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        big = make_organization(session, ws, employees=250)
        fit = make_lead(
            session, ws, grade=None, organization_id=big.id, title="CTO", custom={"roi_months": 2}
        )
        unknown = make_lead(session, ws, grade=None, custom={"roi_months": 2})
        graded_profile(session, ws)
        items = {item.contact_id: item for item in call_queue(session, ws.id, utcnow())}
    assert items[fit.id].grade == "A"
    assert items[fit.id].why_now == ("grade A: employees 250 ≥ 100, roi_months 2 ≤ 3, title CTO",)
    assert items[fit.id].ask == ()
    assert items[unknown.id].unknown_fields == ("organization.employees", "contact.title")
    assert items[unknown.id].ask == ("employees", "title")
    assert items[unknown.id].why_now[0].startswith(f"grade {items[unknown.id].grade}: roi_months 2 ≤ 3")


def test_the_queue_reads_a_constant_number_of_statements(db: Database, tenant: Tenant) -> None:
    """A handful of statements for the whole page, whether it shows 3 leads or 25 (no N+1)."""
    now = utcnow()
    ws = tenant.workspace
    counted: list[str] = []

    def count(*_args: Any) -> None:
        counted.append("statement")

    with db.session() as session:
        big = make_organization(session, ws, employees=250)
        for number in range(30):
            lead = make_lead(
                session, ws, grade=None, organization_id=big.id, custom={"roi_months": number % 4}
            )
            make_event(session, lead, "asset_downloaded", now - timedelta(hours=number), {"asset": "Guide"})
            make_event(
                session, lead, "webinar_attended", now - timedelta(days=2), {"webinar": "Q&A", "minutes": 45}
            )
        graded_profile(session, ws)
        sizes = []
        for limit in (3, 25):
            counted.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                items = call_queue(session, ws.id, now, limit=limit)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            assert len(items) == limit
            sizes.append(len(counted))
    assert sizes[0] == sizes[1] and sizes[0] <= 16, sizes
