"""Seeded data for the report benchmarks: a year of marketing and sales in one workspace.

A workspace adding up USD with the default channels and six campaigns; ``contacts`` people created
evenly over the 365 days before "now" (ids in creation order) with sources spread over mapped keys,
unmapped keys and none; form submissions on six forms (three gate a lead magnet, two sit on landing
pages) mostly carrying ``utm_source``/``utm_campaign``; stage changes moving about 30 % to MQL, 10 %
to SQL, 4 % to opportunity and 2 % to customer after plausible delays (cut at "now"); won deals for
the customers (USD, a few EUR) and lost ones for some opportunities; engagement rows with an ICP
grade for about 60 %; manual touches for about 1 %; daily spend on three campaigns, a monthly
retainer and a few EUR rows; three salespeople owning the contacts. The event log
(:mod:`bench.reports_log`) matches the submissions and stage changes.

Everything comes from ``random.Random(seed)``; rows go straight through the driver as ready-made
tuples (:func:`bench.qualify_data.copy_rows`), times as text (:class:`bench.qualify_data.TimeText`).
"""

from __future__ import annotations

import json
import random
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from bench.qualify_data import CHUNK, DAY, ENGAGEMENT_COLUMNS, TimeText, copy_rows, weighted
from bench.reports_log import load_log, log
from leadwell.auth.accounts import add_member, create_user, create_workspace
from leadwell.channels.catalog import ensure_channels
from leadwell.db.models import Asset, Campaign, Channel, Form, LandingPage
from leadwell.db.session import Database
from leadwell.scoring.decay import ZERO_RANK

FULL_CONTACTS = 1_000_000
FULL_EVENTS = 10_000_000
FULL_SUBMISSIONS = 150_000
YEAR_DAYS = 365
CURRENCY = "USD"
PASSWORD = "bench password 2026"
FUNNEL = ("lead", "mql", "sql", "opportunity", "customer")
# Chance of each next step for those who reached the one before, and the mean days it takes:
# 30 % reach MQL, a third of them SQL (10 %), 40 % of those an opportunity (4 %), half of those buy.
STEPS = ((0.30, 10.0), (1 / 3, 14.0), (0.40, 10.0), (0.50, 21.0))
SOURCES = (
    ("facebook", 12), ("fb", 4), ("google", 12), ("linkedin", 10), ("newsletter", 8), ("referral", 5),
    ("organic", 8), ("direct", 5), ("webinar-list", 6), ("Trade Show 2026", 4), ("partner-blog", 3),
    (None, 23),
)  # fmt: skip
# (channel name, campaign key, title); the first three get daily spend, the email ones are sequences.
CAMPAIGNS = (
    ("Facebook", "spring-launch", "Spring launch"),
    ("Google", "brand-search", "Brand search"),
    ("LinkedIn", "cto-outreach", "CTO outreach"),
    ("Email outreach", "welcome", "Welcome sequence"),
    ("Email outreach", "nurture", "Nurture sequence"),
    ("Events & speaking", "leeds-seminar", "Leeds seminar"),
)
ASSETS = (("roi-guide", "pdf", "ROI guide"), ("buyers-guide", "pdf", "Buyer's guide"),
          ("spring-webinar", "webinar", "Spring webinar"))  # fmt: skip
# (form slug, gated asset, landing page, weight, sequence its submitters are enrolled in)
FORMS = (
    ("roi-form", "roi-guide", "roi-lp", 20, "nurture"),
    ("guide-form", "buyers-guide", None, 15, "nurture"),
    ("webinar-form", "spring-webinar", "webinar-lp", 15, "nurture"),
    ("contact-us", None, None, 15, None),
    ("demo-request", None, None, 10, None),
    ("newsletter", None, None, 25, "welcome"),
)
UTM_SOURCES = (
    ("facebook", 30),
    ("google", 25),
    ("linkedin", 20),
    ("fb", 5),
    ("podcast", 10),
    ("partner-blog", 10),
)
UTM_CAMPAIGN = {"facebook": "spring-launch", "fb": "spring-launch", "google": "brand-search",
                "linkedin": "cto-outreach"}  # fmt: skip
UTM_SHARE = 0.8
GRADES = (("A", 11), ("B", 12), ("C", 17), ("D", 21), ("E", 39))
GRADED_SHARE = 0.6
MANUAL_SHARE = 0.01
EUR_DEAL_SHARE = 0.05
LOST_SHARE = 0.5  # of the opportunities that were not won
CONTACT_COLUMNS = (
    "workspace_id", "first_name", "last_name", "email", "phones", "custom", "tags", "source", "consent",
    "stage", "owner_id", "created_at", "updated_at",
)  # fmt: skip
STAGE_COLUMNS = ("workspace_id", "contact_id", "from_stage", "to_stage", "why", "rule", "changed_at")
DEAL_COLUMNS = (
    "workspace_id", "name", "contact_id", "value", "currency", "stage", "status", "closed_at", "owner_id",
    "created_at", "updated_at", "stage_changed_at",
)  # fmt: skip
SUBMISSION_COLUMNS = (
    "workspace_id", "form_id", "contact_id", "landing_page_id", "nonce", "fields", "utm", "submitted_at",
)  # fmt: skip
TOUCH_COLUMNS = ("workspace_id", "contact_id", "channel_id", "campaign_id", "occurred_at", "note")
SPEND_COLUMNS = (
    "workspace_id", "channel_id", "campaign_id", "spent_from", "spent_to", "amount", "currency",
    "description", "origin", "created_at",
)  # fmt: skip
SEEDED_TABLES = (
    "contacts", "stage_changes", "deals", "engagements", "form_submissions", "manual_touches", "spend",
    "events",
)  # fmt: skip


@dataclass(frozen=True)
class FormRow:
    """A seeded form: its id and slug, the magnet it gates, the landing page it sits on."""

    id: int
    slug: str
    asset: str | None
    page_id: int | None
    page: str | None
    weight: int
    sequence: str | None


@dataclass
class Workspace:
    """The small rows of the workspace, by name, and the seeded people's plan."""

    id: int
    users: tuple[int, ...]
    channels: dict[str, int]
    campaigns: dict[str, tuple[int, int]]  # key → (channel id, campaign id)
    forms: list[FormRow]
    times: TimeText
    span: int  # seconds from the first day to "now"
    first_id: int = 0
    created: array[int] = field(default_factory=lambda: array("q"))
    owners: list[int | None] = field(default_factory=list)
    moves: dict[int, tuple[int, ...]] = field(default_factory=dict)  # index → moments of MQL, SQL…
    submissions: list[tuple[int, int, int]] = field(default_factory=list)  # (index, at, form index)


def _catalog(db: Database, seed: int, now: datetime) -> Workspace:
    """Workspace, salespeople, channels, campaigns, magnets, forms and landing pages (ORM: a few rows)."""
    with db.session() as session:
        workspace = create_workspace(session, "Reports benchmark", slug="reports-bench")
        workspace.currency = CURRENCY
        users = []
        for n, name in enumerate(("Sam Sales", "Kim Closer", "Lee Owner")):
            user = create_user(session, f"seller{n}-{seed}@example.com", PASSWORD, name=name)
            add_member(session, workspace, user, "owner" if n == 2 else "sales")
            users.append(user.id)
        ensure_channels(session, workspace.id)
        session.flush()
        channels = {c.name: c.id for c in session.query(Channel).filter_by(workspace_id=workspace.id)}
        campaigns = {}
        for channel, key, title in CAMPAIGNS:
            campaign = Campaign(workspace_id=workspace.id, channel_id=channels[channel], name=title, key=key)
            session.add(campaign)
            session.flush()
            campaigns[key] = (channels[channel], campaign.id)
        assets = {}
        for slug, kind, title in ASSETS:
            asset = Asset(workspace_id=workspace.id, slug=slug, kind=kind, title=title)
            session.add(asset)
            session.flush()
            assets[slug] = asset.id
        forms = []
        for slug, asset_slug, page_slug, weight, sequence in FORMS:
            asset_id = assets[asset_slug] if asset_slug else None
            form = Form(workspace_id=workspace.id, slug=slug, name=slug, asset_id=asset_id)
            session.add(form)
            session.flush()
            page_id = None
            if page_slug:
                page = LandingPage(
                    workspace_id=workspace.id, slug=page_slug, title=page_slug, form_id=form.id
                )
                session.add(page)
                session.flush()
                page_id = page.id
            forms.append(FormRow(form.id, slug, asset_slug, page_id, page_slug, weight, sequence))
        start = now - timedelta(days=YEAR_DAYS)
        return Workspace(
            workspace.id,
            tuple(users),
            channels,
            campaigns,
            forms,
            TimeText(db.dialect, start),
            YEAR_DAYS * DAY,
        )


def _plan(rng: random.Random, ws: Workspace, count: int) -> None:
    """Creation moments (evenly over the year, ids in creation order), owners, and each mover's
    moments of reaching MQL, SQL, opportunity and customer (cut at "now")."""
    step = ws.span / count
    owners = (None, *ws.users)
    for index in range(count):
        created = int(index * step) + rng.randrange(max(1, int(step)))
        ws.created.append(min(created, ws.span - 1))
        ws.owners.append(owners[rng.randrange(len(owners))])
        moments: list[int] = []
        at = ws.created[-1]
        for chance, mean_days in STEPS:
            if rng.random() >= chance:
                break
            at += int(rng.expovariate(1 / (mean_days * DAY))) + 60
            if at >= ws.span:
                break
            moments.append(at)
        if moments:
            ws.moves[index] = tuple(moments)


def _contact_rows(rng: random.Random, ws: Workspace) -> Iterator[tuple[Any, ...]]:
    sources = weighted(SOURCES)
    for index, created in enumerate(ws.created):
        at = ws.times.at(created)
        stage = FUNNEL[len(ws.moves.get(index, ()))]
        yield (
            ws.id, "Ada", f"Lead{index}", f"lead{index}@example.com", "[]", "{}", "[]",
            sources[rng.randrange(len(sources))], "unknown", stage, ws.owners[index], at, at,
        )  # fmt: skip


def _stage_rows(ws: Workspace) -> Iterator[tuple[Any, ...]]:
    for index, moments in ws.moves.items():
        for step, at in enumerate(moments, 1):
            rule = "mql-score" if step == 1 else None
            yield (ws.id, ws.first_id + index, FUNNEL[step - 1], FUNNEL[step], "", rule, ws.times.at(at))


def _deal_rows(rng: random.Random, ws: Workspace) -> Iterator[tuple[Any, ...]]:
    """A won deal per customer (5 % in EUR), a lost one for about half the other opportunities."""
    for index, moments in ws.moves.items():
        if len(moments) < 3:
            continue
        won = len(moments) == 4
        closed = moments[3] if won else moments[2] + 20 * DAY + rng.randrange(20 * DAY)
        if not won and (closed >= ws.span or rng.random() >= LOST_SHARE):
            continue
        currency = "EUR" if rng.random() < EUR_DEAL_SHARE else CURRENCY
        value = f"{rng.randrange(20, 400) * 50}.00"
        at, closed_at = ws.times.at(moments[2]), ws.times.at(closed)
        status = "won" if won else "lost"
        yield (
            ws.id, f"Deal {index}", ws.first_id + index, value, currency, status, status, closed_at,
            ws.owners[index], at, closed_at, closed_at,
        )  # fmt: skip


def _engagement_rows(rng: random.Random, ws: Workspace) -> Iterator[tuple[Any, ...]]:
    grades = weighted(GRADES)
    at = ws.times.at(ws.span - 1)
    for index in range(len(ws.created)):
        if rng.random() >= GRADED_SHARE:
            continue
        grade = grades[rng.randrange(len(grades))]
        state = "closed" if len(ws.moves.get(index, ())) == 4 else "open"
        yield (ws.first_id + index, ws.id, 0.0, None, ZERO_RANK, 0, grade, 50, state, None, None, None, at)


def _submission_rows(rng: random.Random, ws: Workspace, count: int) -> Iterator[tuple[Any, ...]]:
    """Form submissions: 70 % at the contact's creation (the form brought them), the rest later;
    ``ws.submissions`` keeps (contact index, moment, form index) for the matching events."""
    forms = weighted([(n, form.weight) for n, form in enumerate(ws.forms)])
    utm_sources = weighted(UTM_SOURCES)
    people = len(ws.created)
    for number in range(count):
        index = rng.randrange(people)
        created = ws.created[index]
        at = created + rng.randrange(300) if rng.random() < 0.7 else rng.randrange(created, ws.span)
        at = min(at, ws.span - 1)
        which = forms[rng.randrange(len(forms))]
        form = ws.forms[which]
        utm: dict[str, str] = {}
        if rng.random() < UTM_SHARE:
            source = utm_sources[rng.randrange(len(utm_sources))]
            utm = {"utm_source": source, "utm_campaign": UTM_CAMPAIGN.get(source, "summer-promo")}
            if rng.random() < 0.2:  # some campaigns are named in no campaign row
                utm["utm_campaign"] = "retargeting-test"
        ws.submissions.append((index, at, which))
        page = form.page_id if rng.random() < 0.9 else None
        fields = '{"company_size": "11-50"}'
        yield (
            ws.id,
            form.id,
            ws.first_id + index,
            page,
            f"n{number}",
            fields,
            json.dumps(utm),
            ws.times.at(at),
        )


def _touch_rows(rng: random.Random, ws: Workspace) -> Iterator[tuple[Any, ...]]:
    channel, campaign = ws.campaigns["leeds-seminar"]
    for index, created in enumerate(ws.created):
        if rng.random() >= MANUAL_SHARE:
            continue
        at = min(ws.span - 1, created + rng.randrange(30 * DAY))
        chosen = campaign if rng.random() < 0.5 else None
        yield (ws.id, ws.first_id + index, channel, chosen, ws.times.at(at), "Met at the seminar")


def _spend_rows(rng: random.Random, ws: Workspace) -> Iterator[tuple[Any, ...]]:
    """Daily rows for three campaigns over the year, a monthly SEO retainer (channel-level), and a
    few EUR invoices for the seminar."""
    first = (ws.times.start + timedelta(days=1)).date()
    created = ws.times.at(0)
    for _channel, key, _title in CAMPAIGNS[:3]:
        channel, campaign = ws.campaigns[key]
        for day in range(YEAR_DAYS):
            spent = (first + timedelta(days=day)).isoformat()
            amount = f"{rng.randrange(5_000, 40_000) / 100:.2f}"
            yield (ws.id, channel, campaign, spent, spent, amount, CURRENCY, "", "generic", created)
    month = first.replace(day=1)
    while month <= first + timedelta(days=YEAR_DAYS):
        following = (month + timedelta(days=32)).replace(day=1)
        last = (following - timedelta(days=1)).isoformat()
        channel = ws.channels["Organic search"]
        yield (
            ws.id,
            channel,
            None,
            month.isoformat(),
            last,
            "2000.00",
            CURRENCY,
            "SEO retainer",
            "manual",
            created,
        )
        month = following
    channel, campaign = ws.campaigns["leeds-seminar"]
    for quarter in range(4):
        invoiced = (first + timedelta(days=quarter * 91 + 30)).isoformat()
        yield (
            ws.id,
            channel,
            campaign,
            invoiced,
            invoiced,
            "1500.00",
            "EUR",
            "Seminar stand",
            "manual",
            created,
        )


def _load(
    connection: Connection, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]
) -> int:
    """Insert ``rows`` in chunks in the caller's transaction; how many."""
    done = 0
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            return done
        copy_rows(connection, table, columns, chunk)
        done += len(chunk)


def seed_people(db: Database, ws: Workspace, seed: int, contacts: int, submissions: int) -> dict[str, int]:
    """Contacts and everything about them but the event log; rows per table."""
    rng = random.Random(seed)
    _plan(rng, ws, contacts)
    counts: dict[str, int] = {}
    with db.engine.begin() as connection:
        counts["contacts"] = _load(connection, "contacts", CONTACT_COLUMNS, _contact_rows(rng, ws))
        low = connection.execute(text("SELECT min(id), max(id) FROM contacts")).one()
        if low[1] - low[0] + 1 != contacts:
            raise RuntimeError("contact ids are not contiguous")
        ws.first_id = int(low[0])
        counts["stage_changes"] = _load(connection, "stage_changes", STAGE_COLUMNS, _stage_rows(ws))
        counts["deals"] = _load(connection, "deals", DEAL_COLUMNS, _deal_rows(rng, ws))
        counts["engagements"] = _load(
            connection, "engagements", ENGAGEMENT_COLUMNS, _engagement_rows(rng, ws)
        )
        counts["form_submissions"] = _load(
            connection, "form_submissions", SUBMISSION_COLUMNS, _submission_rows(rng, ws, submissions)
        )
        counts["manual_touches"] = _load(connection, "manual_touches", TOUCH_COLUMNS, _touch_rows(rng, ws))
        counts["spend"] = _load(connection, "spend", SPEND_COLUMNS, _spend_rows(rng, ws))
    return counts


def analyze(db: Database) -> None:
    """Planner statistics for every seeded table, as a maintained deployment has them (on SQLite a
    sampled ANALYZE, so it costs seconds, not minutes, at ten million events)."""
    with db.engine.begin() as connection:
        if db.dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            connection.exec_driver_sql("ANALYZE")
            return
        for table in SEEDED_TABLES:
            connection.execute(text(f'ANALYZE "{table}"'))


@dataclass(frozen=True)
class Seeded:
    """The seeded workspace, "now", and how many rows of each kind it holds."""

    workspace_id: int
    now: datetime
    rows: dict[str, int]
    seconds: float


def seed_reports(
    db: Database, seed: int, now: datetime, contacts: int, events: int, submissions: int
) -> Seeded:
    """The whole workspace (see the module's docstring), analyzed; progress on stderr."""
    started = time.perf_counter()
    ws = _catalog(db, seed, now)
    rows = seed_people(db, ws, seed, contacts, submissions)
    log(f"  reports data: {rows} in {time.perf_counter() - started:.1f}s")
    rows["events"] = load_log(db, ws, seed, events)
    log(f"  reports data: {rows['events']:,} events after {time.perf_counter() - started:.1f}s")
    analyze(db)
    seconds = time.perf_counter() - started
    log(f"  reports data: analyzed, {seconds:.1f}s in all")
    return Seeded(ws.id, now, rows, seconds)
