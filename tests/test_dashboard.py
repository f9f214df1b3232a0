"""The dashboard: outcomes (deals won, revenue per currency), the funnel of a period's cohort with its
conversion rates and median days, and the activity beside them, each figure linking to its contacts."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from leadwell.db.models import Channel, ChannelCheck, Contact, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.reports.catalog import REPORTS
from leadwell.reports.funnel import funnel
from leadwell.reports.query import parse_query
from leadwell.sales.periods import period
from leadwell.scoring.rows import ensure_engagements
from leadwell.web.dashboard import dashboard_figures
from tests.factories import make_contact, make_deal, make_event, make_workspace, move_through
from tests.reports.test_pages import seed as seed_reports
from tests.test_pages import csrf_of, login, make_account

DAY = timedelta(days=1)


def _crafted(session: Session, workspace: Workspace, since: datetime) -> dict[str, Contact]:
    """Contacts with known histories: seven enter the funnel after ``since``, five do not."""
    t0 = since + DAY + timedelta(hours=12)
    before = since - 30 * DAY

    def person(name: str, stage: str, created: datetime, **fields: Any) -> Contact:
        return make_contact(session, workspace, first_name=name, stage=stage, created_at=created, **fields)

    cast = {
        # lead → MQL (2 d) → SQL (2 d) → opportunity (6 d) → customer (10 d)
        "a": move_through(
            session,
            person("A", "lead", t0),
            *((s, t0 + d * DAY) for s, d in (("mql", 2), ("sql", 4), ("opportunity", 10), ("customer", 20))),
        ),
        # lead → MQL (4 d) → SQL (1 d) → opportunity (1 d), then lost: nurture
        "b": move_through(
            session,
            person("B", "lead", t0),
            *((s, t0 + d * DAY) for s, d in (("mql", 4), ("sql", 5), ("opportunity", 6), ("nurture", 30))),
        ),
        # A meeting booked: lead straight to SQL after 6 days (passes MQL on the way)
        "c": move_through(session, person("C", "lead", t0), ("sql", t0 + 6 * DAY)),
        "d": person("D", "lead", t0),
        # A subscriber from before the period becomes a lead in it (entering then), an MQL 2 days on
        "e": move_through(
            session, person("E", "subscriber", before), ("lead", t0 + DAY), ("mql", t0 + 3 * DAY)
        ),
        # Imported straight into SQL, no history: reached lead, MQL and SQL at once
        "i": person("I", "sql", t0),
        "k": move_through(session, person("K", "lead", t0), ("disqualified", t0 + DAY)),
        # Not in the cohort: entered before the period, a subscriber still, merged away
        "f": move_through(session, person("F", "subscriber", before), ("lead", since - 5 * DAY), ("mql", t0)),
        "g": move_through(session, person("G", "lead", since - 10 * DAY), ("mql", t0)),
        "h": person("H", "subscriber", t0),
    }
    survivor = cast["d"]
    cast["j"] = person("J", "customer", t0, merged_into_id=survivor.id)
    other = make_workspace(session, "Elsewhere")
    make_contact(session, other, first_name="L", stage="customer", created_at=t0)
    return cast


def test_the_funnel_follows_the_cohort_of_the_period(db: Database) -> None:
    chosen = period("last_90", utcnow().date())
    with db.session() as session:
        workspace = make_workspace(session)
        _crafted(session, workspace, chosen.since)
        steps = funnel(session, workspace.id, chosen.since)
    assert [(s.stage, s.contacts) for s in steps] == [
        ("lead", 7),
        ("mql", 5),
        ("sql", 4),
        ("opportunity", 2),
        ("customer", 1),
    ]
    assert [s.rate for s in steps] == [None, pytest.approx(5 / 7), pytest.approx(0.8), 0.5, 0.5]
    # lead→MQL: 0 (I), 2 (A), 2 (E), 4 (B), 6 (C); MQL→SQL: 0, 0, 1, 2; SQL→opp: 1, 6; opp→won: 10
    assert [s.median_days for s in steps] == [
        None,
        pytest.approx(2),
        pytest.approx(0.5),
        pytest.approx(3.5),
        pytest.approx(10),
    ]
    assert [s.label for s in steps] == ["Lead", "MQL", "SQL", "Opportunity", "Won"]


def test_an_empty_funnel_has_no_rates(db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session)
        steps = funnel(session, workspace.id, period("this_month", utcnow().date()).since)
    assert [(s.contacts, s.rate, s.median_days) for s in steps] == [(0, None, None)] * 5


@pytest.mark.parametrize(
    ("key", "start"),
    [
        ("this_month", date(2026, 11, 1)),
        ("last_30", date(2026, 10, 18)),
        ("last_90", date(2026, 8, 19)),
        ("this_quarter", date(2026, 10, 1)),
        ("this_year", date(2026, 1, 1)),
        ("bogus", date(2026, 8, 19)),
    ],
)
def test_periods_start_where_their_names_say(key: str, start: date) -> None:
    assert period(key, date(2026, 11, 17)).start == start


def _links(page: str, section: str | None = None) -> dict[str, str]:
    """Every contacts-list link in the page's main part, or in one section of it: {url: figure}."""
    part = page.split("<main")[1]
    if section is not None:
        part = part.split(f'id="{section}"')[1].split("</section>")[0]
    return {
        html.unescape(url): text.strip()
        for url, text in re.findall(r'href="(/contacts[^"#]*)"[^>]*>([^<]+)<', part)
    }


def _listed(client: TestClient, url: str) -> int:
    found = re.search(r'id="contact-count"[^>]*>([\d,]+) contact', client.get(url).text)
    assert found, url
    return int(found.group(1).replace(",", ""))


def test_the_page_shows_outcomes_funnel_and_activity_with_their_contacts(
    client: TestClient, db: Database
) -> None:
    account = make_account(db)
    chosen = parse_query(0)  # the default range: the last 90 days, today included
    now = utcnow()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        cast = _crafted(session, workspace, chosen.since)
        make_deal(session, cast["a"], value=Decimal("12000"), currency="USD", status="won", closed_at=now)
        make_deal(session, cast["c"], value=Decimal("3000.50"), currency="EUR", status="won", closed_at=now)
        make_deal(session, cast["g"], value=Decimal("800"), currency="EUR", status="won", closed_at=now)
        make_deal(session, cast["b"], value=Decimal("5000"), currency="USD", status="lost", closed_at=now)
        make_deal(
            session, cast["e"], value=Decimal("9999"), currency="USD", status="won", closed_at=now - 120 * DAY
        )
        make_deal(session, cast["d"], value=Decimal("700"), currency="USD")
        grades = {"a": "A", "b": "D", "c": "E", "d": "F"}
        rows = ensure_engagements(session, workspace.id, {cast[k].id: cast[k].stage for k in grades})
        for key, grade in grades.items():
            rows[cast[key].id].grade = grade
        calls = [
            ("a", "no_answer"),
            ("a", "meeting_booked"),
            ("b", "no_answer"),
            ("b", "voicemail"),
            ("c", "conversation"),
            ("d", "not_a_fit"),
            ("e", "no_answer"),
        ]
        for key, outcome in calls:
            make_event(session, cast[key], "call_logged", now - DAY, {"outcome": outcome})
        make_event(session, cast["a"], "call_logged", now - 100 * DAY, {"outcome": "no_answer"})  # too old
        make_event(session, cast["a"], "meeting_booked", now - DAY, {})
        for key in ("a", "b", "b"):
            make_event(session, cast[key], "email_sent", now - DAY, {"subject": "Hello"})
    login(client, account.email)
    page = client.get("/dashboard").text
    since = chosen.start.isoformat()
    links = _links(page)
    # Outcomes: three deals won in the period (not the one 120 days ago), revenue per currency
    assert links[f"/contacts?deal=won&deal_since={since}"] == "3"
    assert "12,000.00 USD" in page and "3,800.50 EUR" in page and "9,999" not in page
    assert links[f"/contacts?deal=lost&deal_since={since}"] == "1"
    assert "75% of closed deals won" in page
    assert links["/contacts?deal=open"] == "1"
    # The funnel, each step linking to its contacts
    expected = {"lead": 7, "mql": 5, "sql": 4, "opportunity": 2, "customer": 1}
    for stage, count in expected.items():
        url = f"/contacts?entered_since={since}&reached={stage}"
        assert links[url] == str(count)
        assert _listed(client, url) == count, url
    funnel_html = page.split('id="funnel"')[1].split("</section>")[0]
    assert "71%" in funnel_html and "80%" in funnel_html and "3.5 days" in funnel_html
    assert "10.0 days" in funnel_html and "0.5 days" in funnel_html
    assert "Lead to won: <strong>14%</strong>" in funnel_html
    # Activity beside it: calls by outcome, emails, meetings, calls per won deal, calls to poor fits
    links = _links(page, "activity")
    calls_url = f"/contacts?event=call_logged&event_since={since}"
    assert links[calls_url] == "7" and _listed(client, calls_url) == 5
    assert "to 5 contacts" in page
    assert links[f"{calls_url}&outcome=no_answer"] == "3"
    assert _listed(client, f"{calls_url}&outcome=no_answer") == 3
    assert links[f"/contacts?event=email_sent&event_since={since}"] == "3"
    assert links[f"/contacts?event=meeting_booked&event_since={since}"] == "1"
    assert re.search(r'id="activity-calls-per-win">.*?<td class="number">2\.3</td>', page, re.S)
    poor_url = f"{calls_url}&best_grade=D&best_grade=E&best_grade=F"
    assert links[poor_url] == "4"  # b twice, c, d
    assert _listed(client, poor_url) == 3
    assert "57% of calls" in page
    # The contacts list names the drill-downs it applies
    listed = client.get(poor_url).text
    assert "Best fit grade D, E, F" in listed and "Did “Call”" in listed
    assert "reached SQL" in client.get(f"/contacts?entered_since={since}&reached=sql").text


def test_contact_figures_link_to_the_contacts_behind_them(client: TestClient, db: Database) -> None:
    account = make_account(db)
    now = utcnow()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        old = make_contact(
            session,
            workspace,
            first_name="Old",
            last_name="Timer",
            stage="customer",
            created_at=now - 100 * DAY,
        )
        fresh = [make_contact(session, workspace, first_name=f"Fresh{n}", last_name="Lead") for n in range(3)]
        for contact in (fresh[0], fresh[0], fresh[1]):
            make_event(session, contact, "asset_downloaded")
        make_event(session, old, "asset_downloaded", occurred_at=now - 95 * DAY)
        make_deal(session, fresh[0], value=Decimal("1000"), currency="EUR")
        make_deal(session, fresh[1], value=Decimal("500.50"), currency="EUR")
        make_deal(session, old, value=Decimal("9000"), currency="USD", status="won", closed_at=now)
        make_deal(
            session, fresh[2], value=Decimal("7000"), currency="USD", status="lost", closed_at=now - 100 * DAY
        )
    login(client, account.email)
    page = client.get("/dashboard").text
    links = _links(page)
    since = (now.date() - 89 * DAY).isoformat()  # the default range: 90 days ending today
    assert links["/contacts"] == "4"
    assert links[f"/contacts?created_since={since}"] == "3"
    assert links["/contacts?stage=lead"] == "3" and links["/contacts?stage=customer"] == "1"
    assert links[f"/contacts?event=asset_downloaded&event_since={since}"] == "2"  # 3 events, 2 people
    assert "1,500.50 EUR" in page and links["/contacts?deal=open"] == "2"
    assert "9,000.00 USD" in page and "7,000.00" not in page  # the loss is older than 90 days
    # Each link lists exactly the contacts it counted (here no contact has two deals).
    for url, count in links.items():
        assert _listed(client, url) == int(count), url
    won = client.get(f"/contacts?deal=won&deal_since={since}").text
    assert "Old Timer" in won and "Fresh" not in won


def test_the_period_selector_moves_every_window(client: TestClient, db: Database) -> None:
    account = make_account(db)
    now = utcnow()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        old = make_contact(session, workspace, first_name="Old", created_at=now - 60 * DAY)
        make_deal(session, old, value=Decimal("4000"), currency="GBP", status="won", closed_at=now - 40 * DAY)
    login(client, account.email)
    quarter = client.get("/dashboard", params={"period": "last_90"}).text
    month = client.get("/dashboard", params={"period": "last_30"}).text
    assert "4,000.00 GBP" in quarter and "4,000.00 GBP" not in month
    assert "none won yet" in month
    assert 'aria-current="true">Last 30 days<' in month
    since_90 = (now.date() - 89 * DAY).isoformat()  # 90 days, today included
    assert _links(quarter)[f"/contacts?entered_since={since_90}&reached=lead"] == "1"
    assert "No contact entered the funnel" in month


def test_an_empty_workspace_explains_what_fills_the_page(client: TestClient, db: Database) -> None:
    account = make_account(db)
    login(client, account.email)
    page = client.get("/dashboard").text
    assert "No contacts yet" in page and "No activity since" in page
    assert "No contact entered the funnel" in page and "no deal won in the range" in page


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run while the fixture is active."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


def test_the_figures_cost_the_same_few_queries_at_any_size(db: Database, statements: list[str]) -> None:
    chosen = period("last_90", utcnow().date())
    with db.session() as session:
        small = make_workspace(session)
        _crafted(session, small, chosen.since)
        large = make_workspace(session)
        for _ in range(4):
            cast = _crafted(session, large, chosen.since)
            make_deal(session, cast["a"], status="won", closed_at=utcnow())
            make_event(session, cast["b"], "call_logged", utcnow() - DAY, {"outcome": "no_answer"})
    counts = []
    for workspace in (small, large):
        statements.clear()
        with db.session() as session:
            dashboard_figures(session, parse_query(workspace.id))
        counts.append(len(statements))
    # Contacts, stages, events, deals, funnel, calls (2), alerts, and the outcomes and activity
    # reports' own statements: the same number whatever the number of contacts.
    assert counts[0] == counts[1] and counts[0] < 40


def test_a_closed_range_shows_costs_channels_and_alerts_linking_to_reports(
    client: TestClient, db: Database
) -> None:
    seeded = seed_reports(db)
    with db.session() as session:
        channel = session.scalars(select(Channel).where(Channel.name == "LinkedIn")).one()
        check = ChannelCheck(
            workspace_id=seeded.workspace_id,
            channel_id=channel.id,
            week_start=date(2026, 10, 26),
            metric="cost_per_qualified",
            alert=True,
            message="LinkedIn: cost per qualified lead USD 500.00, 3× its usual level.",
        )
        session.add(check)
        session.flush()
        check_id = check.id
    login(client, seeded.owner)
    page = client.get("/dashboard", params={"from": "2026-10-01", "to": "2026-10-31"}).text
    outcomes = page.split('id="outcomes"')[1].split("</section>")[0]
    # Linear attribution, the "All" row: spend USD 1,500 over 3 qualified leads and 1 sale
    assert "USD 500.00</a>\n        cost per qualified lead" in outcomes
    assert "USD 1,500.00</a>\n        cost per sale" in outcomes
    assert "6,000.00 USD" in outcomes
    report = "/reports/outcomes?from=2026-10-01&amp;to=2026-10-31&amp;attribution=linear&amp;by=channel"
    # The range ends before today: figures open their report, not a "since" contacts list
    assert f'<a class="figure" href="{report}">1</a>' in outcomes
    assert 'href="/reports/funnel?from=2026-10-01&amp;to=2026-10-31"' in page.split('id="funnel-lead"')[1]
    channels = page.split('id="top-channels"')[1].split("</section>")[0]
    rows = re.findall(r"<tr><td class=\"\"><a [^>]*>([^<]+)</a>", channels)
    # Most sales first: Google Ads (Ada's sale), then LinkedIn; Dee's email click is half a lead
    assert rows == ["Google Ads", "LinkedIn", "Unmapped: email"]
    # LinkedIn: Cy (1) + half of Dee (linear over her 2 touches) = 1.50 leads; the email the other half
    assert '<td class="number">1.50</td><td class="number">0.50</td>' in channels
    headline = page.split('id="activity-headline"')[1].split("</div>")[0]
    # Cy's two calls went to a lead that never reached SQL; 2 calls over 1 deal won
    assert ">100 % of calls went to people who never reached SQL" in headline
    assert ">2.0 calls per won deal.<" in headline
    model = "&amp;attribution=linear" if REPORTS["activity"].uses_attribution else ""  # only what it reads
    assert f'href="/reports/activity?from=2026-10-01&amp;to=2026-10-31{model}"' in headline
    assert f'action="/channels/alerts/{check_id}/dismiss"' in page and "3× its usual level" in page
    answer = client.post(
        f"/channels/alerts/{check_id}/dismiss", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert "3× its usual level" not in client.get("/dashboard").text


def test_a_bad_range_is_refused_naming_it(client: TestClient, db: Database) -> None:
    account = make_account(db)
    login(client, account.email)
    answer = client.get("/dashboard", params={"from": "yesterday"})
    assert answer.status_code == 422 and "from: &#39;yesterday&#39; is not a date" in answer.text
