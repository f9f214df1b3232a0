"""The weekly look at each channel: has its cost per qualified lead risen, or its conversion fallen?

Once per ISO week (Monday to Sunday), for the last complete week, each channel that brought leads
gets one :class:`~leadwell.db.models.ChannelCheck` per metric, credited by the linear attribution
model (every touch of a lead shares it equally):

- ``cost_per_qualified``: the channel's spend in the week (prorated by day, the report currency)
  divided by the qualified leads (MQL) captured in the week and credited to it;
- ``conversion``: the share of the leads captured in the week **four weeks earlier** that became
  qualified. Leads captured last week have had a few days at most to qualify, so their rate would
  look like a collapse every week; four weeks on, most of those who will qualify have.

Each is compared with its trailing level: the same figure over the 8 weeks before, as one pooled
ratio (total spend / total qualified, total qualified / total leads), so a quiet week weighs less
than a busy one. The trailing weeks are read **at the same age**: a lead of a trailing week counts
as qualified only if it qualified within as long after its week began as the week under watch has
had by now. Without that, older weeks would always look better, only because their leads had more
time, and every channel would drift "down" forever.

An alert needs a drift and enough leads to mean something: cost per qualified lead above 1.5 × the
trailing level (or money spent on 10 leads and none qualified), or conversion below 0.6 × the
trailing level, with at least 10 leads (credited) in the week under watch. Re-running a check
updates its rows (one per channel, week and metric), never adds a second.

The worker's :func:`channel_checks_due` runs the check once a week per workspace (under an
advisory lock, so two workers never do it twice) and emails new alerts to the workspace's owners
through its outreach mailbox, once (``emailed_at``). Without a mailbox the alerts wait on the
dashboard, where anyone in the workspace may dismiss them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from leadwell.channels.monitor_mail import email_alerts
from leadwell.db.locks import workspace_lock
from leadwell.db.models import ChannelCheck, Workspace
from leadwell.db.session import Database
from leadwell.db.types import UTCDateTime, utcnow
from leadwell.errors import NotFound
from leadwell.reports.attribution import credits
from leadwell.reports.costs import report_currency, spend_buckets
from leadwell.reports.funnel import cohort
from leadwell.reports.names import channel_names
from leadwell.reports.query import ReportQuery

log = logging.getLogger(__name__)

METRICS = ("cost_per_qualified", "conversion")
TRAILING_WEEKS = 8
COHORT_LAG_WEEKS = 4  # conversion is read for the leads of this many weeks before the watched week
COST_RISE = 1.5
CONVERSION_FALL = 0.6
MIN_LEADS = 10
MODEL = "linear"
RUN_EVERY = timedelta(minutes=10)
WEEK = timedelta(days=7)

_last_run: WeakKeyDictionary[Database, datetime] = WeakKeyDictionary()
# Per process: the week each workspace was settled for (checked, and its alerts emailed or with
# nowhere to go), so a workspace whose channels brought no leads is not read again every pass.
_settled: WeakKeyDictionary[Database, dict[int, date]] = WeakKeyDictionary()


def last_week(today: date) -> date:
    """The Monday of the last complete ISO week before ``today``."""
    return today - timedelta(days=today.weekday() + 7)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _moment(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


@dataclass(frozen=True)
class Window:
    """A watched week (``focus``, a Monday) and the 8 weeks before it, read as of ``now``."""

    focus: date
    now: datetime

    @property
    def weeks(self) -> list[date]:
        """The watched week's Monday, then the trailing weeks' Mondays."""
        return [self.focus - WEEK * i for i in range(TRAILING_WEEKS + 1)]

    def in_focus(self, at: Any) -> ColumnElement[bool]:
        return and_(at >= _moment(_midnight(self.focus)), at < _moment(_midnight(self.focus + WEEK)))

    def in_trailing(self, at: Any) -> ColumnElement[bool]:
        start = self.focus - WEEK * TRAILING_WEEKS
        return and_(at >= _moment(_midnight(start)), at < _moment(_midnight(self.focus)))

    def qualified(self, at_1: Any, at_2: Any, reached_2: Any) -> ColumnElement[bool]:
        """Qualified at the age the watched week has now: a lead of week w counts if it became an
        MQL before w's Monday + (now − the watched week's Monday)."""
        age = self.now - _midnight(self.focus)
        in_time = [
            and_(at_1 >= _moment(_midnight(week)), at_1 < _moment(_midnight(week + WEEK)),
                 at_2 < _moment(_midnight(week) + age))
            for week in self.weeks
        ]  # fmt: skip
        # A lead known to have qualified with no recorded moment counts (it did, and we cannot age it).
        return and_(reached_2 == 1, or_(at_2.is_(None), *in_time))


@dataclass(frozen=True)
class Figures:
    """Credited leads and qualified leads of a window's watched week and of its trailing weeks."""

    leads: float = 0.0
    qualified: float = 0.0
    trailing_leads: float = 0.0
    trailing_qualified: float = 0.0


def _figures(
    session: Session, workspace_id: int, cost: Window, conversion: Window
) -> dict[int, tuple[Figures, Figures]]:
    """Per channel, the figures of both windows, in one statement over the leads of the 13 weeks
    they span (linear credits joined with the cohort's moments)."""
    first = min(cost.weeks + conversion.weeks)
    query = ReportQuery(workspace_id, first, cost.focus + timedelta(days=6), MODEL, now=cost.now)
    entered = cohort(workspace_id, query.since)
    # One cohort for the credits and the moments (two would be two CTEs of the same name).
    leads = (
        select(
            entered.c.id.label("contact_id"),
            case((entered.c.reached_5 == 1, entered.c.at_5)).label("won_at"),
            entered.c.at_1,
            entered.c.at_2,
            entered.c.reached_2,
        )
        .where(entered.c.at_1 < _moment(query.until))
        .subquery("watched_leads")
    )
    credited = credits(query, MODEL, leads=leads, carry=("at_1", "at_2", "reached_2"))
    at_1, at_2, weight = credited.c.at_1, credited.c.at_2, credited.c.weight

    def total(*conditions: ColumnElement[bool]) -> ColumnElement[float]:
        return cast(func.coalesce(func.sum(case((and_(*conditions), weight), else_=0.0)), 0.0), Float)

    columns = []
    for window in (cost, conversion):
        qualified = window.qualified(at_1, at_2, credited.c.reached_2)
        columns += [
            total(window.in_focus(at_1)),
            total(window.in_focus(at_1), qualified),
            total(window.in_trailing(at_1)),
            total(window.in_trailing(at_1), qualified),
        ]
    rows = session.execute(
        select(credited.c.channel_id, *columns)
        .where(credited.c.channel_id.is_not(None))
        .group_by(credited.c.channel_id)
    )
    return {int(row[0]): (Figures(*map(float, row[1:5])), Figures(*map(float, row[5:9]))) for row in rows}


def _spend(session: Session, workspace_id: int, start: date, end: date) -> dict[int, Decimal]:
    """Spend per channel (its campaigns' included) over ``start``–``end``, report currency."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for bucket in spend_buckets(session, ReportQuery(workspace_id, start, end)).buckets:
        totals[bucket.channel_id] += bucket.amount
    return totals


@dataclass(frozen=True)
class Reading:
    """One metric of one channel for the week, ready to store."""

    channel_id: int
    metric: str
    value: float | None
    trailing: float | None
    leads: float
    alert: bool
    message: str


def _enough(leads: float) -> bool:
    return leads >= MIN_LEADS - 1e-9  # credited counts are sums of fractions


def _count(leads: float) -> str:
    """A credited count as people read it: 12, or 7.5 when the credit is fractional."""
    return f"{leads:,.0f}" if abs(leads - round(leads)) < 1e-9 else f"{leads:,.1f}"


def _few(leads: float) -> str:
    return "" if _enough(leads) else f" (only {_count(leads)} leads: too few to judge)"


def cost_reading(
    channel_id: int, name: str, currency: str, figures: Figures, spent: Decimal, spent_before: Decimal
) -> Reading:
    """Cost per qualified lead of the watched week against the 8 weeks before."""

    def money(amount: float | Decimal) -> str:
        return f"{currency} {amount:,.0f}"

    value = float(spent) / figures.qualified if figures.qualified > 0 else None
    trailing = float(spent_before) / figures.trailing_qualified if figures.trailing_qualified > 0 else None
    leads = figures.leads
    if not spent and not spent_before:
        message = f"{name}: no spend tracked, so no cost per qualified lead to watch"
        return Reading(channel_id, "cost_per_qualified", None, None, leads, False, message)
    before = (
        f"against {money(trailing)} over the 8 weeks before"
        if trailing is not None
        else "with no qualified lead over the 8 weeks before to compare"
    )
    if value is None:
        none = f"none of its {_count(leads)} leads qualified"
        message = f"{name}: {money(spent)} spent last week and {none}, {before}"
    else:
        message = f"{name}: cost per qualified lead {money(value)} last week, {before}"
    drifted = trailing is not None and spent > 0 and (value is None or value > trailing * COST_RISE)
    alert = drifted and _enough(leads)
    return Reading(channel_id, "cost_per_qualified", value, trailing, leads, alert, message + _few(leads))


def conversion_reading(channel_id: int, name: str, figures: Figures, window: Window) -> Reading:
    """Lead → MQL conversion of the leads of the week four weeks back, against the 8 weeks before it
    at the same age."""
    leads = figures.leads
    value = figures.qualified / leads if leads > 0 else None
    trailing = figures.trailing_qualified / figures.trailing_leads if figures.trailing_leads > 0 else None
    shown = "—" if value is None else f"{value:.0%}"
    before = (
        f"against {trailing:.0%} over the 8 weeks before at the same age"
        if trailing is not None
        else "with no leads over the 8 weeks before to compare"
    )
    message = (
        f"{name}: {shown} of the leads captured in the week of {window.focus:%-d %b} became "
        f"qualified leads, {before}"
    )
    alert = (
        value is not None and trailing is not None and value < trailing * CONVERSION_FALL and _enough(leads)
    )
    return Reading(channel_id, "conversion", value, trailing, leads, alert, message + _few(leads))


def readings(session: Session, workspace_id: int, today: date) -> list[Reading]:
    """Both metrics of every channel with leads in the watched week, computed, not stored."""
    now = _midnight(today)
    week = last_week(today)
    cost = Window(week, now)
    conversion = Window(week - WEEK * COHORT_LAG_WEEKS, now)
    figures = _figures(session, workspace_id, cost, conversion)
    spent = _spend(session, workspace_id, week, week + timedelta(days=6))
    spent_before = _spend(session, workspace_id, week - WEEK * TRAILING_WEEKS, week - timedelta(days=1))
    names = channel_names(session, workspace_id)
    currency = report_currency(session, workspace_id)
    found: list[Reading] = []
    for channel_id in sorted(figures, key=lambda key: (names.get(key, ""), key)):
        of_cost, of_conversion = figures[channel_id]
        name = names.get(channel_id, f"Channel {channel_id}")
        if of_cost.leads > 0:
            paid, paid_before = spent.get(channel_id, Decimal(0)), spent_before.get(channel_id, Decimal(0))
            found.append(cost_reading(channel_id, name, currency, of_cost, paid, paid_before))
        if of_conversion.leads > 0:
            found.append(conversion_reading(channel_id, name, of_conversion, conversion))
    return found


def check_channels(session: Session, workspace_id: int, today: date) -> list[ChannelCheck]:
    """Check every channel for the last complete week before ``today`` and store one row per
    channel and metric, updating the rows of an earlier run of the same week (an alert already
    emailed or dismissed stays so). Returns the week's rows, by channel name then metric."""
    week = last_week(today)
    stored = {
        (check.channel_id, check.metric): check
        for check in session.scalars(
            select(ChannelCheck).where(
                ChannelCheck.workspace_id == workspace_id, ChannelCheck.week_start == week
            )
        )
    }
    now = utcnow()
    rows: list[ChannelCheck] = []
    for reading in readings(session, workspace_id, today):
        check = stored.get((reading.channel_id, reading.metric))
        if check is None:
            check = ChannelCheck(
                workspace_id=workspace_id,
                channel_id=reading.channel_id,
                week_start=week,
                metric=reading.metric,
            )
            session.add(check)
        check.value, check.trailing = reading.value, reading.trailing
        check.leads, check.alert, check.message = int(reading.leads + 1e-9), reading.alert, reading.message
        check.checked_at = now
        rows.append(check)
    session.flush()
    return rows


def open_alerts(session: Session, workspace_id: int) -> list[ChannelCheck]:
    """The workspace's alerts nobody dismissed yet, newest week first."""
    return list(
        session.scalars(
            select(ChannelCheck)
            .where(
                ChannelCheck.workspace_id == workspace_id,
                ChannelCheck.alert.is_(True),
                ChannelCheck.dismissed_at.is_(None),
            )
            .order_by(ChannelCheck.week_start.desc(), ChannelCheck.checked_at.desc(), ChannelCheck.id.desc())
        )
    )


def dismiss_alert(session: Session, workspace_id: int, check_id: int, now: datetime) -> ChannelCheck:
    """Take an alert off the dashboard (:class:`NotFound` when it is not the workspace's)."""
    check = session.get(ChannelCheck, check_id)
    if check is None or check.workspace_id != workspace_id:
        raise NotFound(f"No channel alert {check_id} in this workspace")
    if check.dismissed_at is None:
        check.dismissed_at = now
    return check


def channel_checks_due(db: Database, now: datetime | None = None) -> int:
    """The worker's entry: at most every ``RUN_EVERY`` per process, each workspace whose last
    complete week was not checked yet is checked (under its advisory lock) and its new alerts are
    emailed. Returns how many checks were written plus how many emails went out."""
    now = now or utcnow()
    last = _last_run.get(db)
    if last is not None and now - last < RUN_EVERY:
        return 0
    _last_run[db] = now
    week = last_week(now.date())
    settled = _settled.setdefault(db, {})
    with db.session() as session:
        workspace_ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    done = 0
    for workspace_id in workspace_ids:
        if settled.get(workspace_id) == week:
            continue
        with workspace_lock(db, "channel_checks", workspace_id) as mine:
            if not mine:
                continue  # another worker has it now
            written, sent = _check_workspace(db, workspace_id, now)
        done += written + (sent or 0)
        if sent is not None:
            settled[workspace_id] = week
    return done


def _check_workspace(db: Database, workspace_id: int, now: datetime) -> tuple[int, int | None]:
    """Check the workspace's last week unless some run did, then email what is new: (checks
    written, emails sent or None when the mail server failed)."""
    week = last_week(now.date())
    with db.session() as session:
        done = session.scalar(
            select(ChannelCheck.id)
            .where(ChannelCheck.workspace_id == workspace_id, ChannelCheck.week_start == week)
            .limit(1)
        )
        written = 0 if done is not None else len(check_channels(session, workspace_id, now.date()))
    with db.session() as session:
        sent = email_alerts(session, workspace_id, week, now)
    return written, sent
