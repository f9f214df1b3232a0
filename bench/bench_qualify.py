"""qualify: engagement scoring and the call queue — one event to the queue, the full recompute, the page.

``score_event_to_queue`` records one event through :func:`leadwell.events.service.record_events`
(which scores it) in its own committed transaction, then reads the contact's place in the call
queue as its page shows it (:func:`leadwell.sales.queue.queue_place`, among the top 25 by expected
value): p50 and p99 over 1,000 samples on a workspace of a million graded, scored contacts.
Baseline: the same event row inserted alone with Core, committed, interleaved sample by sample.

``score_recompute`` times :func:`leadwell.scoring.recompute.recompute` rebuilding every score from a
log of ten million events over a million contacts, as events per second. Baseline: the naive
program (:mod:`bench.qualify_replay`) on at most a million events of a log generated alike; its rate
does not depend on the size. The naive result is also the reference the recompute is checked against.

``queue_page`` times ``GET /queue`` over real HTTP from a uvicorn server on the million-contact
workspace, logged in as a salesperson: median and p99 of 100 requests. Baseline: ``GET /settings``
(a small logged-in page) on the same server, interleaved request by request.
"""

from __future__ import annotations

import math
import random
import re
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from bench.harness import Context, Measure, benchmark
from bench.qualify_data import Seeded, analyze, now_utc, seed_contacts
from bench.qualify_log import live_events, load_events
from bench.qualify_replay import disagreements, rank_keys, replay
from bench.server import api_server
from leadwell.db.models import Engagement, Event
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.events.service import EventIn, record_events
from leadwell.events.types import validate_properties
from leadwell.ids import IdCodec
from leadwell.sales.queue import queue_place
from leadwell.scoring.recompute import recompute
from leadwell.scoring.settings import default_settings

FULL_CONTACTS = 1_000_000
FULL_EVENTS = 10_000_000
# The scored workspace of the event and page benchmarks: three logged events per contact.
LOG_PER_CONTACT = 3
BASELINE_EVENTS = 1_000_000
SAMPLES = 1_000
REQUESTS = 100
WARM_UP = 10
QUEUE_SHOWN = 25
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Targets on value / baseline; see bench/README.md for why these numbers. The absolute
# budgets are printed beside them.
EVENT_TARGET = 20.0
EVENT_P99_TARGET = 20.0
RECOMPUTE_TARGET = 2.0
PAGE_TARGET = 4.0
PAGE_P99_TARGET = 5.0
EVENT_BUDGET_MS = 5.0
RECOMPUTE_BUDGET_S = 60.0
PAGE_BUDGET_MS = 200.0


def percentile_ms(samples: list[float], share: float) -> float:
    """The ``share`` quantile of ``samples`` (seconds) in milliseconds, nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _recompute(db: Database, workspace_id: int) -> float:
    """Seconds to rescore the workspace as ``leadwell score --recompute`` does (on PostgreSQL in two
    halves of the contacts on connections of their own), commit included."""
    started = time.perf_counter()
    with db.session() as session:
        recompute(session, workspace_id, engine=db.engine)
    return time.perf_counter() - started


def scored_workspace(db: Database, contacts: int, seed: int) -> Seeded:
    """Graded contacts with a log of three events each, scored by the recompute."""
    now = now_utc()
    seeded = seed_contacts(db, contacts, seed, now)
    load_events(db, seeded, contacts * LOG_PER_CONTACT, seed, now)
    _recompute(db, seeded.workspace_id)
    analyze(db)
    return seeded


# --- score_event_to_queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTimings:
    """Seconds per sample: the whole path, its first part (record, score, commit), the baseline;
    and how often the contact was in the top 25 afterwards."""

    seconds: list[float]
    recorded: list[float]
    baseline: list[float]
    shown: int


def _position(db: Database, workspace_id: int, contact_id: int) -> int | None:
    """The contact's place among the queue's first 25 as its page shows it, None when below them."""
    with db.session() as session:
        return queue_place(session, workspace_id, contact_id, utcnow(), QUEUE_SHOWN)


def _through_scoring(
    db: Database, codec: IdCodec, workspace_id: int, contact_id: int, item: EventIn
) -> tuple[float, float, bool]:
    """(seconds in all, seconds to record and score it committed, whether the contact is shown)."""
    started = time.perf_counter()
    with db.session() as session:
        record_events(session, codec, workspace_id, [item])
    recorded = time.perf_counter()
    position = _position(db, workspace_id, contact_id)
    return time.perf_counter() - started, recorded - started, position is not None


def _insert_alone(db: Database, row: dict[str, Any]) -> float:
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(insert(Event), row)
    return time.perf_counter() - started


def _row(
    workspace_id: int, contact_id: int, event_type: str, properties: dict[str, Any], at: datetime
) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id, "contact_id": contact_id, "type": event_type, "occurred_at": at,
        "received_at": at, "properties": validate_properties(event_type, properties), "source": None,
        "campaign": None, "idempotency_key": None,
    }  # fmt: skip


def _event_samples(db: Database, seeded: Seeded, seed: int) -> EventTimings:
    codec = IdCodec(secrets.token_urlsafe(32))
    rng = random.Random(seed + 3)
    events = live_events(seed)
    seconds: list[float] = []
    recorded: list[float] = []
    baseline: list[float] = []
    shown = 0
    for number in range(WARM_UP + SAMPLES):
        contact_id = rng.choice(seeded.contact_ids)
        event_type, properties = next(events)
        item = EventIn(contact_id=codec.encode("contact", contact_id), type=event_type, properties=properties)
        took, scored, in_queue = _through_scoring(db, codec, seeded.workspace_id, contact_id, item)
        alone = _insert_alone(db, _row(seeded.workspace_id, contact_id, event_type, properties, utcnow()))
        if number >= WARM_UP:
            seconds.append(took)
            recorded.append(scored)
            baseline.append(alone)
            shown += in_queue
    return EventTimings(seconds, recorded, baseline, shown)


def _check_scored(db: Database, workspace_id: int, since: datetime) -> None:
    """Some of the recorded events must have moved scores: otherwise ingest did not score them."""
    query = select(func.count()).where(Engagement.workspace_id == workspace_id, Engagement.scored_at >= since)
    with db.engine.connect() as connection:
        if not connection.scalar(query):
            raise RuntimeError("record_events stored the events but scored none of them")


@benchmark("score_event_to_queue")
def score_event_to_queue(ctx: Context) -> list[Measure]:
    """One event recorded, scored and committed, then the queue read: against the bare insert."""
    contacts = ctx.size(FULL_CONTACTS, minimum=2_000)
    with ctx.fresh_database() as url:
        db = Database(url)
        try:
            seeded = scored_workspace(db, contacts, ctx.seed)
            since = utcnow()
            timings = _event_samples(db, seeded, ctx.seed)
            _check_scored(db, seeded.workspace_id, since)
        finally:
            db.dispose()
    p50, p99 = percentile_ms(timings.seconds, 0.5), percentile_ms(timings.seconds, 0.99)
    base50, base99 = percentile_ms(timings.baseline, 0.5), percentile_ms(timings.baseline, 0.99)
    _log(
        f"  score_event_to_queue on {ctx.database}: {contacts:,} contacts, {SAMPLES} events; "
        f"p50 {p50:.2f} ms (budget {EVENT_BUDGET_MS:g} ms; recording and scoring alone "
        f"{percentile_ms(timings.recorded, 0.5):.2f} ms), p99 {p99:.2f} ms; "
        f"insert alone p50 {base50:.2f} ms, p99 {base99:.2f} ms; "
        f"the contact was in the top 25 after {timings.shown} of {SAMPLES}"
    )
    return [
        Measure("score_event_to_queue", p50, "ms", base50, EVENT_TARGET, "lower"),
        Measure("score_event_to_queue.p99", p99, "ms", base99, EVENT_P99_TARGET, "lower"),
    ]


# --- score_recompute ------------------------------------------------------------------------------


def _log_workspace(db: Database, contacts: int, events: int, seed: int) -> Seeded:
    """Contacts graded directly (the recompute reads grades for the stage rules, never fits) and the log."""
    now = now_utc()
    started = time.perf_counter()
    seeded = seed_contacts(db, contacts, seed, now, profile=False)
    loaded = time.perf_counter()
    load_events(db, seeded, events, seed, now)
    _log(
        f"  generated {contacts:,} contacts in {loaded - started:.1f}s, "
        f"{events:,} events in {time.perf_counter() - loaded:.1f}s"
    )
    return seeded


def _naive(ctx: Context, contacts: int, events: int) -> tuple[float, float]:
    """The naive program's seconds, and the recompute's on the same log after it, checked to agree."""
    with ctx.fresh_database() as url:
        db = Database(url)
        try:
            seeded = _log_workspace(db, contacts, events, ctx.seed)
            naive = replay(db, seeded.workspace_id, default_settings())
            expected = rank_keys(db, seeded.workspace_id)
            again = _recompute(db, seeded.workspace_id)
            wrong = disagreements(expected, rank_keys(db, seeded.workspace_id))
        finally:
            db.dispose()
    if naive.events != events:
        raise RuntimeError(f"the replay read {naive.events:,} events of {events:,}")
    if wrong:
        raise RuntimeError(
            f"recompute and the event-by-event replay disagree on {len(wrong):,} of {len(expected):,} "
            f"contacts; (contact, replay, recompute): {wrong[:5]}"
        )
    return naive.seconds, again


@benchmark("score_recompute")
def score_recompute(ctx: Context) -> list[Measure]:
    """Every score rebuilt from the log in SQL, against replaying the log in Python."""
    events = ctx.size(FULL_EVENTS, minimum=20_000)
    contacts = ctx.size(FULL_CONTACTS, minimum=2_000)
    with ctx.fresh_database() as url:
        db = Database(url)
        try:
            seeded = _log_workspace(db, contacts, events, ctx.seed)
            seconds = _recompute(db, seeded.workspace_id)
        finally:
            db.dispose()
    baseline_events = min(events, BASELINE_EVENTS)
    baseline_contacts = max(1, round(contacts * baseline_events / events))
    naive_seconds, checked_seconds = _naive(ctx, baseline_contacts, baseline_events)
    rate, naive_rate = events / seconds, baseline_events / naive_seconds
    _log(
        f"  score_recompute on {ctx.database}: {events:,} events over {contacts:,} contacts in "
        f"{seconds:.1f}s ({rate:,.0f} events/s; {FULL_EVENTS:,} at this rate ≈ {FULL_EVENTS / rate:.0f}s, "
        f"budget {RECOMPUTE_BUDGET_S:g} s); naive replay of {baseline_events:,} in {naive_seconds:.1f}s "
        f"({naive_rate:,.0f}/s), recompute of the same log {checked_seconds:.1f}s, scores agree"
    )
    return [Measure("score_recompute", rate, "events/s", naive_rate, RECOMPUTE_TARGET, "higher")]


# --- queue_page -----------------------------------------------------------------------------------


def _login(client: httpx.Client, seeded: Seeded) -> None:
    form = client.get("/login")
    found = CSRF.search(form.text)
    if form.status_code != 200 or found is None:
        raise RuntimeError(f"login form: {form.status_code}")
    data = {
        "email": seeded.email,
        "password": seeded.password,
        "csrf_token": found.group(1),
        "next": "/queue",
    }
    reply = client.post("/login", data=data)
    if reply.status_code != 303:
        raise RuntimeError(f"login refused: {reply.status_code} {reply.text[:300]}")


def _check_queue(client: httpx.Client) -> None:
    """The page lists a full queue (25 leads): a benchmark of an empty page would measure nothing."""
    page = client.get("/queue")
    shown = page.text.count("data-lead=")
    if page.status_code != 200 or shown != QUEUE_SHOWN:
        raise RuntimeError(f"GET /queue: {page.status_code} with {shown} leads, not {QUEUE_SHOWN}")


def _get(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.headers.get('location', '')}")
    return took


def _page_timings(client: httpx.Client) -> tuple[list[float], list[float]]:
    queue: list[float] = []
    settings: list[float] = []
    for number in range(WARM_UP + REQUESTS):
        took_queue, took_settings = _get(client, "/queue"), _get(client, "/settings")
        if number >= WARM_UP:
            queue.append(took_queue)
            settings.append(took_settings)
    return queue, settings


@benchmark("queue_page")
def queue_page(ctx: Context) -> list[Measure]:
    """The call queue page over HTTP on a million contacts, against a small logged-in page."""
    contacts = ctx.size(FULL_CONTACTS, minimum=2_000)
    with ctx.fresh_database() as url:
        db = Database(url)
        try:
            seeded = scored_workspace(db, contacts, ctx.seed)
        finally:
            db.dispose()
        secret = secrets.token_urlsafe(32)
        with (
            api_server(url, secret, ctx.workdir) as base_url,
            httpx.Client(base_url=base_url, timeout=120.0) as client,
        ):
            _login(client, seeded)
            _check_queue(client)
            queue, settings = _page_timings(client)
    median, p99 = statistics.median(queue) * 1000, percentile_ms(queue, 0.99)
    base_median, base99 = statistics.median(settings) * 1000, percentile_ms(settings, 0.99)
    _log(
        f"  queue_page on {ctx.database}: {contacts:,} contacts; GET /queue median {median:.1f} ms (budget "
        f"{PAGE_BUDGET_MS:g} ms), p99 {p99:.1f} ms; GET /settings median {base_median:.1f} ms, "
        f"p99 {base99:.1f} ms"
    )
    return [
        Measure("queue_page", median, "ms", base_median, PAGE_TARGET, "lower"),
        Measure("queue_page.p99", p99, "ms", base99, PAGE_P99_TARGET, "lower"),
    ]
