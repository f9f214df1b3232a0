"""event_ingest: events per second through ``POST /api/v1/events/batch``, against the database's own speed.

The API run starts a real uvicorn server on a migrated database, seeds a workspace, a token and the
contacts, and posts batches of 1,000 over one keep-alive connection. The baseline inserts the same
rows into a fresh database of the same kind with SQLAlchemy Core ``insert(Event)`` executemany, one
transaction per batch of 1,000: what the database itself can take, which the API cannot beat.
Only the request (or the insert and commit) is timed; generating the data is not.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from bench.data import EventSpec, Seeded, api_token, generate_events, seed_contacts
from bench.harness import Context, Measure, benchmark
from bench.server import api_server
from leadwell.db.models import Event
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec

FULL_EVENTS = 1_000_000
EVENTS_PER_CONTACT = 10
BATCH = 1_000
# Targets on value / baseline; see bench/README.md for why these numbers.
THROUGHPUT_TARGET = 0.25  # API events/s at least a quarter of Core executemany's
P95_TARGET = 5.0  # API p95 batch latency at most 5x the direct insert's p95


@dataclass(frozen=True)
class Timings:
    """Seconds per batch, and how many events they carried."""

    seconds: list[float]
    events: int

    @property
    def rate(self) -> float:
        return self.events / sum(self.seconds)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


def _count_events(db: Database, workspace_id: int) -> int:
    with db.engine.connect() as connection:
        query = select(func.count()).select_from(Event).where(Event.workspace_id == workspace_id)
        return int(connection.scalar(query) or 0)


def _check_stored(db: Database, seeded: Seeded, expected: int, how: str) -> None:
    stored = _count_events(db, seeded.workspace_id)
    if stored != expected:
        raise RuntimeError(f"{how}: {stored} events stored, {expected} sent")


def _direct_rows(seeded: Seeded, batch: list[EventSpec]) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "workspace_id": seeded.workspace_id,
            "contact_id": seeded.contact_ids[spec.contact],
            "type": spec.type,
            "occurred_at": spec.occurred_at,
            "received_at": now,
            "properties": spec.properties,
            "source": spec.source,
            "campaign": spec.campaign,
            "idempotency_key": None,
        }
        for spec in batch
    ]


def _direct(db: Database, seeded: Seeded, batches: Iterator[list[EventSpec]]) -> Timings:
    seconds: list[float] = []
    events = 0
    with db.engine.connect() as connection:
        for batch in batches:
            rows = _direct_rows(seeded, batch)
            started = time.perf_counter()
            with connection.begin():
                connection.execute(insert(Event), rows)
            seconds.append(time.perf_counter() - started)
            events += len(rows)
    return Timings(seconds, events)


def _payload(codec: IdCodec, seeded: Seeded, batch: list[EventSpec]) -> bytes:
    events = [
        {
            "contact_id": codec.encode("contact", seeded.contact_ids[spec.contact]),
            "type": spec.type,
            "occurred_at": spec.occurred_at.isoformat().replace("+00:00", "Z"),
            "properties": spec.properties,
            "source": spec.source,
            "campaign": spec.campaign,
        }
        for spec in batch
    ]
    return json.dumps({"events": events}).encode()


def _post_all(
    client: httpx.Client, codec: IdCodec, seeded: Seeded, batches: Iterator[list[EventSpec]]
) -> Timings:
    seconds: list[float] = []
    events = 0
    for batch in batches:
        body = _payload(codec, seeded, batch)
        started = time.perf_counter()
        response = client.post("/api/v1/events/batch", content=body)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 201 or response.json()["created"] != len(batch):
            raise RuntimeError(f"batch refused: {response.status_code} {response.text[:500]}")
        events += len(batch)
    return Timings(seconds, events)


def _through_api(ctx: Context, url: str, contacts: int, total: int) -> Timings:
    db = Database(url)
    try:
        seeded = seed_contacts(db, contacts, ctx.seed)
        token = api_token(db, seeded.workspace_id)
    finally:
        db.dispose()
    secret = secrets.token_urlsafe(32)
    codec = IdCodec(secret)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with (
        api_server(url, secret, ctx.workdir) as base_url,
        httpx.Client(base_url=base_url, headers=headers, timeout=300.0) as client,
    ):
        client.get("/api/v1/events", params={"limit": 1}).raise_for_status()  # warm up auth and pool
        timings = _post_all(client, codec, seeded, generate_events(ctx.seed, contacts, total, BATCH))
    db = Database(url)
    try:
        _check_stored(db, seeded, total, "API")
    finally:
        db.dispose()
    return timings


def _through_core(ctx: Context, url: str, contacts: int, total: int) -> Timings:
    db = Database(url)
    try:
        seeded = seed_contacts(db, contacts, ctx.seed)
        timings = _direct(db, seeded, generate_events(ctx.seed, contacts, total, BATCH))
        _check_stored(db, seeded, total, "Core insert")
    finally:
        db.dispose()
    return timings


@benchmark("event_ingest")
def event_ingest(ctx: Context) -> list[Measure]:
    """Batch ingest through the HTTP API vs Core executemany, on fresh databases of one kind."""
    total = ctx.size(FULL_EVENTS, minimum=BATCH)
    contacts = max(100, total // EVENTS_PER_CONTACT)
    with ctx.fresh_database() as url:
        direct = _through_core(ctx, url, contacts, total)
    with ctx.fresh_database() as url:
        api = _through_api(ctx, url, contacts, total)
    return [
        Measure("event_ingest", api.rate, "events/s", direct.rate, THROUGHPUT_TARGET, "higher"),
        Measure("event_ingest.p95_batch", api.p95_ms, "ms", direct.p95_ms, P95_TARGET, "lower"),
    ]
