"""The event log of the report benchmarks' workspace: ``events`` rows over the seeded year.

First the events that mirror rows already seeded: ``form_submitted`` for each form submission (its
form, magnet and landing page), ``sequence_enrolled`` a minute later for the forms that enrol,
``stage_changed`` for each stage change and ``meeting_booked`` when a lead reached SQL. The rest of
the total is the everyday traffic, each event at a random moment between its contact's creation and
"now" (30 % of it from a busy tenth of the contacts): mostly ``page_viewed``, ``email_sent`` and
``email_opened``, then ``read_progress`` of the magnets, ``email_clicked`` and ``email_replied``
(from sequences and broadcasts), ``call_logged`` with outcomes and ``asset_downloaded``.

Properties are drawn from pools of variants checked as ingest checks them; the events table's
indexes are dropped for the load and rebuilt after it (see :mod:`bench.qualify_log`).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bench.qualify_data import CHUNK, copy_rows, weighted
from bench.qualify_log import bulk_events, chunks
from leadwell.db.session import Database
from leadwell.events.types import validate_properties
from leadwell.reports.funnel import FUNNEL_STEPS

if TYPE_CHECKING:
    from bench.reports_data import Workspace

EVENT_COLUMNS = ("workspace_id", "contact_id", "type", "occurred_at", "received_at", "properties")
# (type, share of 128) of the everyday traffic.
TRAFFIC = (
    ("page_viewed", 46), ("email_sent", 30), ("email_opened", 24), ("read_progress", 10),
    ("email_clicked", 8), ("call_logged", 6), ("email_replied", 2), ("asset_downloaded", 2),
)  # fmt: skip
POOL = 64
PROGRESS = 1_000_000  # events between progress lines
HOT_SHARE = 0.3
HOT_STRIDE = 10
PATHS = ("pricing", "features", "blog/lead-scoring", "blog/icp-101", "customers", "about")
MAGNETS = ("roi-guide", "buyers-guide", "spring-webinar")
LANDING_PAGES = ("roi-lp", "webinar-lp")
# Where an email came from: a sequence (three, two of them campaigns), a broadcast, or neither.
ORIGINS: tuple[tuple[dict[str, str], int], ...] = (
    ({"sequence": "welcome"}, 3), ({"sequence": "nurture"}, 3), ({"sequence": "reactivation"}, 1),
    ({"broadcast": "March News"}, 1), ({"broadcast": "Product update"}, 1), ({}, 1),
)  # fmt: skip
OUTCOMES = (
    ("no_answer", 5), ("voicemail", 3), ("conversation", 3), ("meeting_booked", 1), ("not_a_fit", 1),
    ("not_now", 1), ("wrong_number", 1),
)  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _traffic_properties(rng: random.Random, event_type: str) -> dict[str, Any]:
    if event_type == "page_viewed":
        if rng.random() < 0.2:
            page = rng.choice(LANDING_PAGES)
            return {"url": f"https://www.example.com/p/{page}", "page": page}
        return {"url": f"https://www.example.com/{rng.choice(PATHS)}"}
    if event_type in ("read_progress", "asset_downloaded"):
        found: dict[str, Any] = {"asset": rng.choice(MAGNETS)}
        if event_type == "read_progress":
            found["percent"] = float(rng.randrange(10, 101, 10))
        return found
    if event_type == "call_logged":
        return {"outcome": rng.choice(weighted(OUTCOMES)), "duration_seconds": rng.randrange(600)}
    found = {"message": f"msg-{rng.randrange(1000)}", **rng.choice(weighted(ORIGINS))}
    if event_type == "email_clicked":
        found["url"] = f"https://www.example.com/{rng.choice(PATHS)}"
    return found


def _pools(rng: random.Random) -> list[tuple[str, list[str]]]:
    """The traffic table: 128 (type, pool of stored JSON variants) entries, one per share."""
    pools = {
        event_type: [
            json.dumps(validate_properties(event_type, _traffic_properties(rng, event_type)))
            for _ in range(POOL)
        ]
        for event_type, _ in TRAFFIC
    }
    table = [(event_type, pools[event_type]) for event_type in weighted(TRAFFIC)]
    assert len(table) == 128
    return table


def _props(event_type: str, properties: dict[str, Any]) -> str:
    return json.dumps(validate_properties(event_type, properties))


def mirrored_rows(ws: Workspace) -> Iterator[tuple[Any, ...]]:
    """The events that mirror seeded rows: submissions (and enrolments), stage changes, meetings."""
    at, first = ws.times.at, ws.first_id
    submitted = []
    for form in ws.forms:
        shown = {
            "form": form.slug,
            "fields": {"company_size": "11-50"},
            "asset": form.asset,
            "page": form.page,
        }
        enrolled = {"sequence": form.sequence, "source": f"form:{form.slug}"} if form.sequence else None
        submitted.append(
            (
                _props("form_submitted", {k: v for k, v in shown.items() if v is not None}),
                _props("sequence_enrolled", enrolled) if enrolled else None,
            )
        )
    for index, moment, which in ws.submissions:
        shown_text, enrolled_text = submitted[which]
        yield (ws.id, first + index, "form_submitted", at(moment), at(moment), shown_text)
        if enrolled_text is not None:
            later = at(min(moment + 60, ws.span - 1))
            yield (ws.id, first + index, "sequence_enrolled", later, later, enrolled_text)
    changes = [
        _props("stage_changed", {"from": FUNNEL_STEPS[step], "to": FUNNEL_STEPS[step + 1]})
        for step in range(4)
    ]
    meeting = _props("meeting_booked", {"note": "Discovery call"})
    for index, moments in ws.moves.items():
        for step, moment in enumerate(moments):
            yield (ws.id, first + index, "stage_changed", at(moment), at(moment), changes[step])
            if step == 1:  # a booked meeting is what made it sales-qualified
                yield (ws.id, first + index, "meeting_booked", at(moment), at(moment), meeting)


def traffic_rows(ws: Workspace, seed: int, total: int) -> Iterator[tuple[Any, ...]]:
    """``total`` everyday events; one 64-bit draw picks the type, variant, contact and moment."""
    rng = random.Random(seed + 1)
    table = _pools(rng)
    created, span, at = ws.created, ws.span, ws.times.at
    count, first = len(created), ws.first_id
    hot = max(1, count // HOT_STRIDE)
    hot_below = int(HOT_SHARE * 1024)
    for _ in range(total):
        bits = rng.getrandbits(64)
        event_type, pool = table[bits & 127]
        pick = bits >> 40
        index = (pick % hot) * HOT_STRIDE if (bits >> 13) & 1023 < hot_below else pick % count
        born = created[index]
        moment = born + ((span - 1 - born) * ((bits >> 20) & 0xFFFFF) >> 20)
        text = at(moment)
        yield (ws.id, first + index, event_type, text, text, pool[(bits >> 7) & 63])


def load_log(db: Database, ws: Workspace, seed: int, total: int) -> int:
    """Append the mirrored events and everyday traffic up to ``total`` events in all (more if the
    mirrored ones alone exceed it), without the events' indexes while loading
    (:func:`bench.qualify_log.bulk_events`). Commits every chunk; returns how many."""
    mirrored = list(mirrored_rows(ws))
    traffic = traffic_rows(ws, seed, max(0, total - len(mirrored)))
    loaded = 0
    with bulk_events(db) as connection:
        for rows in (iter(mirrored), traffic):
            for chunk in chunks(rows, CHUNK * 4):
                with connection.begin():
                    copy_rows(connection, "events", EVENT_COLUMNS, chunk)
                loaded += len(chunk)
                if loaded // PROGRESS > (loaded - len(chunk)) // PROGRESS:
                    log(f"  reports data: {loaded:,} events loaded")
    return loaded
