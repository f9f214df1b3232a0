"""The weekly channel check on planted weeks: Facebook drifts (cost up, conversion down), LinkedIn
holds steady, Referrals has no spend and too few leads; re-running updates, alerts are emailed once
to the owners through a real SMTP server, and dismissed from the dashboard.

The check runs on Wednesday 18 March 2026 ("today"): the watched week is 9–15 March, read at age
9 days (18 Mar − 9 Mar); its trailing weeks are 12 Jan – 8 Mar. Conversion watches the leads of
9–15 Feb (four weeks earlier), at age 37 days (18 Mar − 9 Feb), against 15 Dec – 8 Feb.
Every lead here is created with one source, so it has one touch: linear credit 1 to its channel.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.channels.monitor import channel_checks_due, check_channels, last_week, open_alerts
from leadwell.db.models import Channel, ChannelCheck, ChannelSource, Mailbox, Spend, StageChange, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from tests.factories import make_contact, make_user, make_workspace
from tests.outreach.smtp_support import SmtpServer, smtp_server
from tests.test_pages import csrf_of, logged_in

__all__ = ["smtp_server"]

TODAY = date(2026, 3, 18)
WEEK = date(2026, 3, 9)


def _channel(session: Session, workspace: Workspace, name: str, kind: str, key: str) -> Channel:
    channel = Channel(workspace_id=workspace.id, name=name, kind=kind)
    session.add(channel)
    session.flush()
    session.add(ChannelSource(workspace_id=workspace.id, channel_id=channel.id, key=key))
    return channel


def _leads(session: Session, workspace: Workspace, source: str, day: date, count: int, qualified: int = 0,
           after_days: int = 1) -> None:  # fmt: skip
    """``count`` leads captured on ``day`` at 10:00, the first ``qualified`` of them MQL
    ``after_days`` later."""
    created = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    for number in range(count):
        stage = "mql" if number < qualified else "lead"
        contact = make_contact(session, workspace, source=source, stage=stage, created_at=created)
        if number < qualified:
            moved = created + timedelta(days=after_days)
            session.add(
                StageChange(workspace_id=workspace.id, contact_id=contact.id, from_stage="lead",
                            to_stage="mql", changed_at=moved)
            )  # fmt: skip
    session.flush()


def _spend(
    session: Session, channel: Channel, start: date, end: date, amount: str, currency: str = "USD"
) -> None:
    session.add(
        Spend(workspace_id=channel.workspace_id, channel_id=channel.id, spent_from=start, spent_to=end,
              amount=Decimal(amount), currency=currency)
    )  # fmt: skip


def plant(session: Session, workspace: Workspace) -> dict[str, int]:
    """The weeks described in the module's docstring; channel name → id."""
    facebook = _channel(session, workspace, "Facebook", "paid_social", "facebook")
    linkedin = _channel(session, workspace, "LinkedIn", "paid_social", "linkedin")
    referrals = _channel(session, workspace, "Referrals", "referral", "referral")
    # Facebook. Watched week: 10 leads, 2 MQL. Trailing: 9 Feb week 10 leads (2 MQL), 19 Jan
    # 12 leads (12 MQL), 2 Feb 1 lead that became MQL 18 days later (20 Feb: after its week's age
    # cut-off 2 Feb + 9 = 11 Feb, so not qualified for cost; before 2 Feb + 37 = 11 Mar, so
    # qualified for conversion). 15 Dec: 7 leads, none MQL (only in conversion's trailing weeks).
    _leads(session, workspace, "facebook", date(2026, 3, 10), 10, 2)
    _leads(session, workspace, "facebook", date(2026, 2, 9), 10, 2)
    _leads(session, workspace, "facebook", date(2026, 1, 19), 12, 12, after_days=2)
    _leads(session, workspace, "facebook", date(2026, 2, 2), 1, 1, after_days=18)
    _leads(session, workspace, "facebook", date(2025, 12, 15), 7)
    _spend(session, facebook, WEEK, date(2026, 3, 15), "1400")
    _spend(session, facebook, WEEK, date(2026, 3, 15), "999", currency="EUR")  # not the report currency
    _spend(session, facebook, date(2026, 1, 12), date(2026, 3, 8), "5600")
    # LinkedIn. Watched week: 10 leads, 5 MQL. Trailing: 26 Jan 10 leads (5 MQL), 10 Feb 10 (4 MQL).
    _leads(session, workspace, "linkedin", date(2026, 3, 12), 10, 5, after_days=2)
    _leads(session, workspace, "linkedin", date(2026, 1, 26), 10, 5, after_days=3)
    _leads(session, workspace, "linkedin", date(2026, 2, 10), 10, 4, after_days=5)
    _spend(session, linkedin, WEEK, date(2026, 3, 15), "500")
    _spend(session, linkedin, date(2026, 1, 12), date(2026, 3, 8), "1120")
    # Referrals: 3 leads last week, no spend ever.
    _leads(session, workspace, "referral", date(2026, 3, 13), 3)
    session.flush()
    return {"Facebook": facebook.id, "LinkedIn": linkedin.id, "Referrals": referrals.id}


def _rows(
    session: Session, workspace_id: int
) -> list[tuple[int, str, float | None, float | None, int, bool]]:
    checks = session.scalars(
        select(ChannelCheck).where(ChannelCheck.workspace_id == workspace_id).order_by(ChannelCheck.id)
    )
    return [(c.channel_id, c.metric, c.value, c.trailing, c.leads, c.alert) for c in checks]


def _approx(rows: list[tuple[int, str, float | None, float | None, int, bool]]) -> list[tuple[object, ...]]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]


def test_last_week_is_the_last_complete_iso_week() -> None:
    assert last_week(TODAY) == WEEK  # Wednesday 18 Mar → Monday 9 Mar
    assert last_week(date(2026, 3, 16)) == WEEK  # a Monday: the week that ended yesterday
    assert last_week(date(2026, 3, 15)) == date(2026, 3, 2)  # a Sunday: its week is not complete


def test_one_channel_drifts_and_the_others_do_not(db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session)
        ids = plant(session, workspace)
        checks = check_channels(session, workspace.id, TODAY)
        fb, li, ref = ids["Facebook"], ids["LinkedIn"], ids["Referrals"]
        expected = [
            # Facebook cost: 1,400 / 2 = 700 against 5,600 / (2 + 12 + 0) = 400; 700 > 1.5 × 400.
            (fb, "cost_per_qualified", 700.0, 400.0, 10, True),
            # Facebook conversion: 2/10 = 0.2 against (12 + 1 + 0) / (12 + 1 + 7) = 0.65; 0.2 < 0.6 × 0.65.
            (fb, "conversion", 0.2, 0.65, 10, True),
            # LinkedIn cost: 500 / 5 = 100 against 1,120 / (5 + 4) = 124.44: steady.
            (li, "cost_per_qualified", 100.0, round(1120 / 9, 6), 10, False),
            # LinkedIn conversion: 4/10 = 0.4 against 5/10 = 0.5; 0.4 ≥ 0.6 × 0.5 = 0.3.
            (li, "conversion", 0.4, 0.5, 10, False),
            # Referrals: no spend in either window; no leads in the week of 9 Feb, so no conversion row.
            (ref, "cost_per_qualified", None, None, 3, False),
        ]
        assert _approx(_rows(session, workspace.id)) == expected
        messages = {(c.channel_id, c.metric): c.message for c in checks}
    assert messages[(fb, "cost_per_qualified")] == (
        "Facebook: cost per qualified lead USD 700 last week, against USD 400 over the 8 weeks before"
    )
    assert messages[(fb, "conversion")] == (
        "Facebook: 20% of the leads captured in the week of 9 Feb became qualified leads, against 65% "
        "over the 8 weeks before at the same age"
    )
    assert messages[(ref, "cost_per_qualified")] == (
        "Referrals: no spend tracked, so no cost per qualified lead to watch"
    )


def test_too_few_leads_never_alert(db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session)
        facebook = _channel(session, workspace, "Facebook", "paid_social", "facebook")
        # 9 leads, none MQL, USD 900 spent; trailing 20 leads, 10 MQL for USD 1,000 (100 each).
        _leads(session, workspace, "facebook", date(2026, 3, 10), 9)
        _leads(session, workspace, "facebook", date(2026, 2, 16), 20, 10)
        _spend(session, facebook, WEEK, date(2026, 3, 15), "900")
        _spend(session, facebook, date(2026, 2, 16), date(2026, 2, 22), "1000")
        [cost] = check_channels(session, workspace.id, TODAY)
        assert (cost.value, cost.trailing, cost.leads, cost.alert) == (None, 100.0, 9, False)
        assert cost.message == (
            "Facebook: USD 900 spent last week and none of its 9 leads qualified, against USD 100 over the "
            "8 weeks before (only 9 leads: too few to judge)"
        )
        # One more lead makes 10: money spent, nobody qualified, a trailing level: an alert.
        _leads(session, workspace, "facebook", date(2026, 3, 11), 1)
        [cost] = check_channels(session, workspace.id, TODAY)
        assert (cost.leads, cost.alert) == (10, True)


def test_rerunning_updates_and_never_duplicates(db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session)
        ids = plant(session, workspace)
        first = check_channels(session, workspace.id, TODAY)
        assert len(first) == 5
        emailed = utcnow()
        for check in open_alerts(session, workspace.id):
            check.emailed_at = emailed
        # More LinkedIn spend last week: 1,000 / 5 = 200 > 1.5 × 124.44 = 186.67 → now an alert.
        _spend(session, session.get_one(Channel, ids["LinkedIn"]), WEEK, WEEK, "500")
        second = check_channels(session, workspace.id, TODAY)
        assert [c.id for c in second] == [c.id for c in first]
        assert session.scalar(select(func.count()).select_from(ChannelCheck)) == 5
        linkedin = next(
            c for c in second if c.channel_id == ids["LinkedIn"] and c.metric == "cost_per_qualified"
        )
        assert (linkedin.value, linkedin.alert, linkedin.emailed_at) == (200.0, True, None)
        facebook = [c for c in second if c.channel_id == ids["Facebook"]]
        assert all(c.emailed_at == emailed for c in facebook)  # already sent: stays sent


def _mailbox(session: Session, workspace: Workspace, server: SmtpServer) -> None:
    session.add(
        Mailbox(workspace_id=workspace.id, slug="main", from_name="Acme", from_email="hello@acme.example",
                smtp_host=server.host, smtp_port=server.port, smtp_security="none")
    )  # fmt: skip


def test_the_worker_checks_once_and_emails_the_owners_once(db: Database, smtp_server: SmtpServer) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        plant(session, workspace)
        _mailbox(session, workspace, smtp_server)
        owners = sorted(make_user(session, workspace, role="owner").email for _ in range(2))
        make_user(session, workspace, role="marketer")
        quiet = make_workspace(session, "Quiet")  # no channels, no leads: nothing to check or send
    now = datetime(2026, 3, 18, 7, 30, tzinfo=UTC)
    # 5 checks written + 2 emails (one per owner, the marketer gets none).
    assert channel_checks_due(db, now) == 7
    messages = smtp_server.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in messages) == owners
    mail = messages[0].message
    assert mail["Subject"] == "Acme: 2 channel alerts for the week of 9 Mar 2026"
    assert mail["From"] == "Acme <hello@acme.example>"
    body = mail.get_content()
    assert "- Facebook: cost per qualified lead USD 700 last week, against USD 400" in body
    assert "- Facebook: 20% of the leads captured in the week of 9 Feb" in body
    assert "LinkedIn" not in body
    with db.session() as session:
        alerts = open_alerts(session, workspace.id)
        assert [a.metric for a in alerts] == ["conversion", "cost_per_qualified"]  # newest first
        assert all(a.emailed_at is not None for a in alerts)
        assert session.scalar(select(func.count()).where(ChannelCheck.workspace_id == quiet.id)) == 0
    # Within RUN_EVERY this process does nothing; later, the week is settled; another process
    # (a fresh Database) finds the week checked and nothing left to send.
    assert channel_checks_due(db, now + timedelta(minutes=1)) == 0
    assert channel_checks_due(db, now + timedelta(hours=1)) == 0
    other = Database(db.url)
    try:
        assert channel_checks_due(other, now + timedelta(hours=2)) == 0
    finally:
        other.dispose()
    assert len(smtp_server.messages()) == 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelCheck)) == 5


def test_without_a_mailbox_alerts_stay_on_the_dashboard(db: Database, smtp_server: SmtpServer) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        plant(session, workspace)
        make_user(session, workspace, role="owner")
    assert channel_checks_due(db, datetime(2026, 3, 18, 7, 30, tzinfo=UTC)) == 5
    with db.session() as session:
        alerts = open_alerts(session, workspace.id)
        assert len(alerts) == 2
        assert all(a.emailed_at is None for a in alerts)
    assert smtp_server.messages() == []


def test_dismiss_takes_an_alert_off_and_is_scoped(app: FastAPI, db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        plant(session, workspace)
        member = make_user(session, workspace, role="sales").email
        rival = make_workspace(session, "Rival")
        plant(session, rival)
        check_channels(session, workspace.id, TODAY)
        check_channels(session, rival.id, TODAY)
        mine = open_alerts(session, workspace.id)[0].id
        theirs = open_alerts(session, rival.id)[0].id
    client = logged_in(app, member)
    token = csrf_of(client.get("/contacts").text)  # any page carries the session's token
    forged = client.post(f"/channels/alerts/{mine}/dismiss", data={"csrf_token": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    other = client.post(
        f"/channels/alerts/{theirs}/dismiss", data={"csrf_token": token}, follow_redirects=False
    )
    assert other.status_code == 404
    done = client.post(f"/channels/alerts/{mine}/dismiss", data={"csrf_token": token}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
    with db.session() as session:
        left = [a.id for a in open_alerts(session, workspace.id)]
        assert len(left) == 1 and mine not in left
        assert len(open_alerts(session, rival.id)) == 2
        assert session.get_one(ChannelCheck, mine).dismissed_at is not None
