"""Seeded data for the qualification benchmarks: a workspace of graded contacts in the call queue.

Everything comes from ``random.Random(seed)``, so two databases of either kind seeded alike hold the
same rows (times are relative to the run's "now"). Rows go straight through the driver (executemany
on SQLite, COPY on PostgreSQL) as ready-made tuples with JSON and times as text: at ten million rows
SQLAlchemy's per-row parameter processing would cost more than the database's own work.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text

from leadwell.auth.accounts import add_member, create_user, create_workspace
from leadwell.db.models import Contact
from leadwell.db.session import Database
from leadwell.icp.definition import parse_definition
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition, get_icp
from leadwell.scoring.decay import ZERO_RANK
from leadwell.scoring.rows import queue_state_for

CHUNK = 50_000
PASSWORD = "bench password 2026"
DAY = 86_400
# Contacts were created a year before "now", before any event of the log.
CREATED_DAYS = 365

STAGES = (
    ("lead", 64), ("subscriber", 10), ("mql", 8), ("sql", 3), ("nurture", 6),
    ("opportunity", 3), ("customer", 3), ("disqualified", 3),
)  # fmt: skip
# Grades written directly (``profile=False``): about the proportions grading with PROFILE gives.
GRADES = (("A", 11), ("B", 12), ("C", 17), ("D", 21), ("E", 39))
FIT_SCORES = {"A": (85, 100), "B": (70, 84), "C": (55, 69), "D": (40, 54), "E": (0, 39)}
EMPLOYEES = (None, None, 3, 8, 15, 25, 40, 80, 120, 300, 800, 2500)
TAGS = ("[]", "[]", "[]", '["vip"]', '["newsletter"]', '["vip", "event-2025"]')
# The profile everyone is graded against: one must-have (unknown for organizations of unknown
# size, so some fits have something to ask) and four nice-to-haves, as in ``bench_icp``.
PROFILE: dict[str, Any] = {
    "slug": "bench",
    "name": "Benchmark profile",
    "must": [{"field": "organization.employees", "op": "gte", "value": 20}],
    "nice": [
        {"field": "contact.title", "op": "matches", "value": "(?i)cto|director|head of", "weight": 30},
        {"field": "organization.industry", "op": "in", "value": ["Software", "Consulting"], "weight": 20},
        {"field": "contact.country", "op": "in", "value": ["DE", "AT", "CH"], "weight": 10},
        {"field": "contact.tags", "op": "contains", "value": "vip", "weight": 10},
    ],
}
# Open contacts called lately: the outcome and the days until they may be called again.
OUTCOMES = (("no_answer", 1), ("voicemail", 2), ("conversation", 14))
CALLED_SHARE = 0.08
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman")
TITLES = ("CTO", "Head of Operations", "Managing Director", "IT Manager", "Developer", None)
COUNTRIES = ("DE", "AT", "CH", "US", "GB", "FR", None)
INDUSTRIES = ("Software", "Consulting", "Manufacturing", "Retail", None)
SOURCES = ("website", "newsletter", "linkedin", "webinar", "import")


def weighted(choices: Sequence[tuple[Any, int]]) -> list[Any]:
    """A lookup table: each choice repeated by its weight, for one random index per draw."""
    return [value for value, weight in choices for _ in range(weight)]


class TimeText:
    """Timestamps as the text each database reads for a UTC time column, built from cached parts:
    formatting ten million datetimes would cost more than inserting them."""

    def __init__(self, dialect: str, start: datetime) -> None:
        self.start = start.replace(microsecond=0)
        self.suffix = "+00" if dialect == "postgresql" else ""
        self.days: dict[int, str] = {}
        self.seconds = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000000" for s in range(DAY)]
        self.offset = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        self.midnight = self.start.replace(hour=0, minute=0, second=0)

    def at(self, seconds: int) -> str:
        """The text of ``start + seconds``."""
        moment = self.offset + seconds
        day, second = divmod(moment, DAY)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = (self.midnight + timedelta(days=day)).strftime("%Y-%m-%d ")
        return prefix + self.seconds[second] + self.suffix

    def of(self, moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return self.at(int((moment - self.start).total_seconds()))


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert ready-made tuples (JSON and times as text) through the driver, in the caller's
    transaction: COPY on PostgreSQL, executemany on SQLite."""
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(f'"{name}"' for name in columns)
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    driver.cursor().executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)


@dataclass(frozen=True)
class Seeded:
    """A seeded workspace: its id, its contacts' ids (contiguous), and a salesperson who can log in."""

    workspace_id: int
    contact_ids: range
    user_id: int
    email: str
    password: str = PASSWORD


def create_sales_workspace(db: Database, seed: int) -> tuple[int, int, int, str]:
    """A workspace with two salespeople; returns (workspace id, user id, colleague's id, user's email)."""
    with db.session() as session:
        workspace = create_workspace(session, "Qualify benchmark", slug="bench")
        email = f"sales-{seed}@example.com"
        user = create_user(session, email, PASSWORD, name="Sam Sales")
        colleague = create_user(session, f"colleague-{seed}@example.com", PASSWORD, name="Cas Colleague")
        add_member(session, workspace, user, "sales")
        add_member(session, workspace, colleague, "sales")
        return workspace.id, user.id, colleague.id, email


def _organizations(
    connection: Connection, rng: random.Random, workspace_id: int, count: int, at: str
) -> None:
    columns = ("workspace_id", "name", "domain", "industry", "country", "custom", "created_at", "updated_at")
    rows = (
        (
            workspace_id,
            f"Org {n}",
            f"org{n}.example.com",
            rng.choice(INDUSTRIES),
            rng.choice(COUNTRIES),
            "{}",
            at,
            at,
        )
        for n in range(count)
    )
    copy_rows(connection, "organizations", columns, rows)


def _contact_rows(
    rng: random.Random,
    workspace_id: int,
    count: int,
    organizations: range,
    owners: Sequence[int | None],
    at: str,
) -> Iterator[tuple[Any, ...]]:
    stages = weighted(STAGES)
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), f"{rng.choice(LAST_NAMES)}{n}"
        phones = f'["+4930{rng.randrange(10**7):07d}"]' if rng.random() < 0.8 else "[]"
        organization = organizations[rng.randrange(len(organizations))] if rng.random() < 0.9 else None
        yield (
            workspace_id, first, last, f"{first.lower()}.{last.lower()}@example.com", phones,
            rng.choice(TITLES), organization, rng.choice(COUNTRIES), rng.choice(SOURCES), "unknown",
            rng.choice(stages), rng.choice(owners), "{}", rng.choice(TAGS), at, at,
        )  # fmt: skip


SEEDED_TABLES = ("organizations", "contacts", "engagements", "engagement_caps", "events", "fits")
CONTACT_COLUMNS = (
    "workspace_id", "first_name", "last_name", "email", "phones", "title", "organization_id", "country",
    "source", "consent", "stage", "owner_id", "custom", "tags", "created_at", "updated_at",
)  # fmt: skip
ENGAGEMENT_COLUMNS = (
    "contact_id", "workspace_id", "score", "scored_at", "rank_key", "version", "grade", "fit_score",
    "queue_state", "due_at", "last_outcome", "last_called_at", "updated_at",
)  # fmt: skip


def _engagement_rows(
    rng: random.Random,
    workspace_id: int,
    contacts: Iterable[tuple[int, str]],
    times: TimeText,
    now: datetime,
    direct: bool,
) -> Iterator[tuple[Any, ...]]:
    at = times.of(now)
    grades = weighted(GRADES)
    for contact_id, stage in contacts:
        grade = rng.choice(grades) if direct else None
        fit = rng.randint(*FIT_SCORES[grade]) if grade else None
        state = queue_state_for(stage)
        due = outcome = called = None
        if state == "open" and rng.random() < CALLED_SHARE:
            outcome, retry = rng.choice(OUTCOMES)
            called_at = now - timedelta(seconds=rng.randrange(20 * DAY))
            called, due = times.of(called_at), times.of(called_at + timedelta(days=retry))
        yield (contact_id, workspace_id, 0.0, None, ZERO_RANK, 0, grade, fit, state, due, outcome, called, at)


def seed_contacts(db: Database, contacts: int, seed: int, now: datetime, profile: bool = True) -> Seeded:
    """A workspace of ``contacts`` people in organizations of about ten, each with an engagement row
    (no score yet, in the queue state its stage implies, some called lately), graded against
    :data:`PROFILE` by :func:`leadwell.icp.grading.grade_all`, which copies the fits into the rows.

    Without ``profile`` the grades are written into the engagement rows directly, in about the
    proportions the profile gives, with no fits behind them (so nothing to spell out as reasons)."""
    rng = random.Random(seed)
    workspace_id, user_id, colleague_id, email = create_sales_workspace(db, seed)
    times = TimeText(db.dialect, now - timedelta(days=CREATED_DAYS))
    at = times.of(now - timedelta(days=CREATED_DAYS))
    with db.engine.begin() as connection:
        organizations = max(1, contacts // 10)
        _organizations(connection, rng, workspace_id, organizations, at or "")
        low, high = connection.execute(text("SELECT min(id), max(id) FROM organizations")).one()
        owners = (None, None, user_id, colleague_id)  # half unassigned, a quarter each
        copy_rows(
            connection, "contacts", CONTACT_COLUMNS,
            _contact_rows(rng, workspace_id, contacts, range(low, high + 1), owners, at or ""),
        )  # fmt: skip
        query = (
            select(Contact.id, Contact.stage).where(Contact.workspace_id == workspace_id).order_by(Contact.id)
        )
        stages = [(contact_id, stage) for contact_id, stage in connection.execute(query)]
        copy_rows(
            connection,
            "engagements",
            ENGAGEMENT_COLUMNS,
            _engagement_rows(rng, workspace_id, stages, times, now, direct=not profile),
        )
    first, last = stages[0][0], stages[-1][0]
    if last - first + 1 != len(stages):
        raise RuntimeError("contact ids are not contiguous")
    analyze(db)
    if profile:
        grade(db, workspace_id)
        analyze(db)
    return Seeded(workspace_id, range(first, last + 1), user_id, email)


def grade(db: Database, workspace_id: int) -> None:
    """Apply :data:`PROFILE` and grade every contact with it, as ``leadwell icp grade`` does."""
    with db.session() as session:  # committed first: on PostgreSQL grading runs on other connections too
        apply_definition(session, workspace_id, parse_definition(PROFILE))
    with db.session() as session:
        grade_all(session, workspace_id, get_icp(session, workspace_id, PROFILE["slug"]), db.engine)


def analyze(db: Database) -> None:
    """On PostgreSQL, the tables seeded here as autovacuum leaves them some time after a big load:
    fresh planner statistics (with an empty table's counts it picks nested loops) and the dead
    index entries of rows that grading and the recompute rewrote removed (a million of them under
    "ungraded" made the queue's read of that grade take 14 ms instead of 0.1 ms). SQLite is left as
    deployments run it, without."""
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in SEEDED_TABLES:
                connection.execute(text(f'VACUUM ANALYZE "{table}"'))


def now_utc() -> datetime:
    """The benchmarks' "now", to the second."""
    return datetime.now(UTC).replace(microsecond=0)
