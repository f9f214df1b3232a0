"""Seeded data for benchmarks: a workspace, contacts (Core bulk insert) and a stream of events.

Everything comes from ``random.Random(seed)``, so two databases seeded with the same seed hold the
same rows and receive the same events in the same order. Nothing is written to disk here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from leadwell.auth.accounts import create_token, create_workspace
from leadwell.db.models import Contact, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow

CONTACT_CHUNK = 5_000
# Events happen during 2025: always in the past, so never refused as "in the future".
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 24 * 3600

FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman")
ASSETS = ("roi-calculator", "buyers-guide", "case-study-acme", "pricing-sheet", "white-paper-2025")
PAGES = ("pricing", "features", "blog/lead-scoring", "blog/icp-101", "customers", "demo")
SOURCES = ("website", "newsletter", "linkedin", "webinar", None)
CAMPAIGNS = ("spring-launch", "q3-nurture", None, None)


@dataclass(frozen=True)
class Seeded:
    """What seeding created: the workspace and its contacts' row ids, in creation order."""

    workspace_id: int
    contact_ids: list[int]


@dataclass(frozen=True)
class EventSpec:
    """One generated event, database-neutral: the contact is an index into ``Seeded.contact_ids``."""

    contact: int
    type: str
    occurred_at: datetime
    properties: dict[str, Any]
    source: str | None
    campaign: str | None


def _contact_rows(rng: random.Random, workspace_id: int, count: int, start: int) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "workspace_id": workspace_id,
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": f"{rng.choice(LAST_NAMES)}{number}",
            "phones": [],
            "custom": {},
            "source": rng.choice(SOURCES),
            "stage": "lead",
            "consent": "unknown",
            "created_at": now,
            "updated_at": now,
        }
        for number in range(start, start + count)
    ]


def seed_contacts(db: Database, contacts: int, seed: int) -> Seeded:
    """A workspace with ``contacts`` contacts, inserted with Core in chunks."""
    rng = random.Random(seed)
    with db.session() as session:
        workspace_id = create_workspace(session, "Benchmark", slug="bench").id
    with db.engine.begin() as connection:
        for start in range(0, contacts, CONTACT_CHUNK):
            count = min(CONTACT_CHUNK, contacts - start)
            connection.execute(insert(Contact), _contact_rows(rng, workspace_id, count, start))
        ids = list(
            connection.scalars(
                select(Contact.id).where(Contact.workspace_id == workspace_id).order_by(Contact.id)
            )
        )
    return Seeded(workspace_id, ids)


def api_token(db: Database, workspace_id: int) -> str:
    """A read/write API token for the workspace; returns the secret."""
    with db.session() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        _token, secret = create_token(session, workspace, "benchmark")
    return secret


def _properties(rng: random.Random, event_type: str) -> dict[str, Any]:
    """Properties valid for the type's schema, already in the shape ingest stores them."""
    if event_type == "page_viewed":
        return {"url": f"https://www.example.com/{rng.choice(PAGES)}", "title": "Example"}
    if event_type in ("asset_downloaded",):
        return {"asset": rng.choice(ASSETS)}
    if event_type == "read_progress":
        return {"asset": rng.choice(ASSETS), "percent": float(rng.randrange(5, 101, 5))}
    if event_type == "email_clicked":
        return {
            "message": f"msg-{rng.randrange(1000)}",
            "url": f"https://www.example.com/{rng.choice(PAGES)}",
        }
    if event_type == "form_submitted":
        return {"form": "contact-us", "fields": {"company_size": rng.choice(("1-10", "11-50", "51-200"))}}
    return {"message": f"msg-{rng.randrange(1000)}"}  # email_sent, email_opened


EVENT_MIX = (
    ("page_viewed", 30),
    ("email_sent", 20),
    ("email_opened", 15),
    ("email_clicked", 8),
    ("asset_downloaded", 12),
    ("read_progress", 10),
    ("form_submitted", 5),
)


def generate_events(seed: int, contacts: int, total: int, batch_size: int) -> Iterator[list[EventSpec]]:
    """``total`` events over ``contacts`` contacts, in batches of ``batch_size``, lazily."""
    rng = random.Random(seed + 1)
    types = [name for name, _ in EVENT_MIX]
    weights = [weight for _, weight in EVENT_MIX]
    for start in range(0, total, batch_size):
        count = min(batch_size, total - start)
        batch = []
        for event_type in rng.choices(types, weights, k=count):
            batch.append(
                EventSpec(
                    contact=rng.randrange(contacts),
                    type=event_type,
                    occurred_at=EPOCH + timedelta(seconds=rng.randrange(YEAR_SECONDS)),
                    properties=_properties(rng, event_type),
                    source=rng.choice(SOURCES),
                    campaign=rng.choice(CAMPAIGNS),
                )
            )
        yield batch
