"""The seeded event log for the qualification benchmarks, and single live events.

A realistic mix of the types the default rules score (and a few they do not), with properties that
meet the rules' conditions and caps and properties that miss them, mostly in time order with some
late arrivals. Loaded through the driver as tuples (see :func:`bench.qualify_data.copy_rows`) with
the events table's model indexes rebuilt afterwards, so the schema ends as the migrations made it,
built by one sort instead of millions of random B-tree inserts.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from bench.qualify_data import CHUNK, DAY, Seeded, TimeText, analyze, copy_rows, weighted
from leadwell.db.models import Base
from leadwell.db.session import Database
from leadwell.events.types import validate_properties

EVENTS: Table = Base.metadata.tables["events"]

ASSETS = ("roi-calculator", "buyers-guide", "case-study-acme", "pricing-sheet", "white-paper-2025")
VIDEOS = ("product-tour", "customer-story", "onboarding")
WEBINARS = ("scoring-101", "icp-workshop", "q3-roadmap")
PAGES = ("pricing", "pricing/enterprise", "features", "blog/lead-scoring", "blog/icp-101", "customers")
FORMS = ("contact-us", "demo-request", "newsletter")

# (event type, share of 128): every type the default rules score, plus email_sent and webinar
# registrations, which they do not.
EVENT_MIX = (
    ("page_viewed", 36), ("email_opened", 24), ("email_sent", 16), ("email_clicked", 12),
    ("read_progress", 12), ("asset_downloaded", 8), ("form_submitted", 5), ("video_progress", 4),
    ("webinar_attended", 3), ("webinar_registered", 2), ("email_replied", 2), ("email_bounced", 2),
    ("meeting_booked", 1), ("email_unsubscribed", 1),
)  # fmt: skip
POOL = 64  # property variants per type

# The log spans the half year before "now"; about 3% of events arrive late, up to two weeks after
# they happened, as tracking beacons and imported webinar reports do.
LOG_DAYS = 180
LATE_SHARE = 0.03
LATE_SECONDS = 14 * DAY
# 30% of events come from a "hot" tenth of the contacts, so some people have dozens of events and
# most a handful, as in real logs.
HOT_SHARE = 0.3
HOT_STRIDE = 10


def properties(rng: random.Random, event_type: str) -> dict[str, Any]:
    """Properties for ``event_type`` that sometimes meet the default rules' conditions and caps and
    sometimes miss them (half-read papers, short webinar visits, soft bounces, other pages)."""
    if event_type == "page_viewed":
        return {"url": f"https://www.example.com/{rng.choice(PAGES)}", "title": "Example"}
    if event_type == "asset_downloaded":
        return {"asset": rng.choice(ASSETS)}
    if event_type in ("read_progress", "video_progress"):
        pool = ASSETS if event_type == "read_progress" else VIDEOS
        return {"asset": rng.choice(pool), "percent": float(rng.randrange(10, 101, 10))}
    if event_type in ("webinar_attended", "webinar_registered"):
        minutes = rng.randrange(5, 91, 5) if event_type == "webinar_attended" else 0
        return {"webinar": rng.choice(WEBINARS), "minutes": minutes}
    if event_type == "form_submitted":
        return {
            "form": rng.choice(FORMS),
            "fields": {"company_size": rng.choice(("1-10", "11-50", "51-200"))},
        }
    if event_type == "email_clicked":
        return {"message": f"msg-{rng.randrange(500)}", "url": f"https://www.example.com/{rng.choice(PAGES)}"}
    if event_type == "email_bounced":
        return {"message": f"msg-{rng.randrange(500)}", "kind": rng.choice(("hard", "soft", "soft"))}
    if event_type == "meeting_booked":
        return {"note": "Discovery call"}
    return {"message": f"msg-{rng.randrange(500)}"}


def property_pools(rng: random.Random) -> dict[str, list[str]]:
    """For each type, :data:`POOL` variants as stored JSON text (checked as ingest checks them)."""
    return {
        event_type: [
            json.dumps(validate_properties(event_type, properties(rng, event_type))) for _ in range(POOL)
        ]
        for event_type, _ in EVENT_MIX
    }


EVENT_COLUMNS = (
    "workspace_id",
    "contact_id",
    "type",
    "occurred_at",
    "received_at",
    "properties",
    "source",
    "campaign",
)
SOURCE_BITS = (None, None, None, None, "website", "newsletter", "linkedin", "webinar")
CAMPAIGN_BITS = (None, None, None, None, None, None, "spring-launch", "q3-nurture")


def event_rows(
    seed: int, workspace_id: int, contacts: range, total: int, times: TimeText
) -> Iterator[tuple[Any, ...]]:
    """``total`` events as stored tuples, in arrival (id) order over :data:`LOG_DAYS` from
    ``times.start``: mostly in time order, a few late.

    One 64-bit draw picks the type, the property variant, the contact, source and campaign."""
    rng = random.Random(seed + 1)
    pools = property_pools(rng)
    table = [(event_type, pools[event_type]) for event_type in weighted(EVENT_MIX)]
    assert len(table) == 128 and all(len(pool) == POOL for _, pool in table)
    count, first = len(contacts), contacts.start
    hot = max(1, count // HOT_STRIDE)
    step = (LOG_DAYS * DAY - 3600) / max(1, total)
    hot_below = int(HOT_SHARE * 1024)
    for number in range(total):
        bits = rng.getrandbits(64)
        event_type, pool = table[bits & 127]
        pick = bits >> 23
        hot_one = (bits >> 13) & 1023 < hot_below
        contact = first + (pick % hot) * HOT_STRIDE if hot_one else first + pick % count
        arrived = int(number * step)
        draw = rng.random()
        late = draw < LATE_SHARE
        occurred = arrived - int(draw / LATE_SHARE * LATE_SECONDS) if late else arrived - int(draw * 60)
        yield (
            workspace_id, contact, event_type, times.at(occurred), times.at(arrived),
            pool[(bits >> 7) & 63], SOURCE_BITS[(bits >> 55) & 7], CAMPAIGN_BITS[(bits >> 58) & 7],
        )  # fmt: skip


def chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    while True:
        chunk = [row for _, row in zip(range(size), rows, strict=False)]
        if not chunk:
            return
        yield chunk


def _drop_event_indexes(connection: Connection) -> None:
    for index in EVENTS.indexes:
        index.drop(connection)
    if connection.dialect.name == "postgresql":
        for constraint in EVENTS.foreign_key_constraints:
            connection.execute(DropConstraint(constraint))


def _create_event_indexes(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET maintenance_work_mem = '256MB'"))
        for constraint in EVENTS.foreign_key_constraints:
            connection.execute(AddConstraint(constraint))
    for index in EVENTS.indexes:
        index.create(connection)


@contextmanager
def bulk_events(db: Database) -> Iterator[Connection]:
    """A connection to append many events on: the events table's model indexes (and foreign keys on
    PostgreSQL; on SQLite this connection skips its checks) dropped, and put back afterwards even
    when the load fails. Commit per chunk."""
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            _drop_event_indexes(connection)
        try:
            yield connection
        finally:
            with connection.begin():
                _create_event_indexes(connection)
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def load_events(db: Database, seeded: Seeded, total: int, seed: int, now: datetime) -> None:
    """Append ``total`` generated events to the workspace's log over the half year before ``now``
    (see :func:`bulk_events`), then fresh statistics."""
    times = TimeText(db.dialect, now - timedelta(days=LOG_DAYS))
    rows = event_rows(seed, seeded.workspace_id, seeded.contact_ids, total, times)
    with bulk_events(db) as connection:
        for chunk in chunks(rows, CHUNK * 4):
            with connection.begin():
                copy_rows(connection, "events", EVENT_COLUMNS, chunk)
    analyze(db)


def event_count(db: Database, workspace_id: int) -> int:
    with db.engine.connect() as connection:
        query = select(func.count()).select_from(EVENTS).where(EVENTS.c.workspace_id == workspace_id)
        return int(connection.scalar(query) or 0)


def live_events(seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Endless single events (type, properties) in the log's mix, as a tracker or sender posts them."""
    rng = random.Random(seed + 2)
    types = weighted(EVENT_MIX)
    while True:
        event_type = rng.choice(types)
        yield event_type, properties(rng, event_type)
