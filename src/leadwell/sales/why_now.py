"""Why call this lead now, in plain words, for the queue's few leads at once (a handful of queries
for the whole page, never one per lead).

In order: that the contact just wrote back ('Replied to "Pricing" 2 hours ago', until a call is
logged), why a nurture contact came back ("new engagement: Replied to an email (+40)"), a revisit
date that has come ("revisit date today (not now on 3 Nov: budget next quarter)"), the strongest
engagement of the last 30 days ("read 89% of 'How to Attract High Value Clients' yesterday"), and
the predictive model's view when it ranked the lead ("P(sale) 34 %: replies 2 (+), employees 250
(+), industry = Retail (−)"), and the fit ("grade A: employees 250 ≥ 100, roi_months 2 ≤ 3").
Fields the fit could not decide are what to ask ("employees, budget").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from leadwell.db.models import Event, Fit, IcpVersion
from leadwell.errors import InvalidInput
from leadwell.icp.definition import from_document
from leadwell.icp.fields import resolve
from leadwell.icp.fit_view import FitShown, field_words
from leadwell.icp.reasons import Reason, expand_reasons
from leadwell.outreach.hot import hot_words
from leadwell.scoring.decay import days
from leadwell.scoring.points import match
from leadwell.scoring.settings import Settings

RECENT_DAYS = 30
MAX_EVENTS = 5_000  # a guard on the page's one events query; 25 leads rarely have a tenth of it
FIT_REASONS = 3
NOTABLE = (
    "read_progress",
    "video_progress",
    "webinar_attended",
    "webinar_registered",
    "email_replied",
    "email_clicked",
    "form_submitted",
    "asset_downloaded",
    "page_viewed",
    "meeting_booked",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Lead:
    """What the words are made from, as the queue read it from the engagement row."""

    contact_id: int
    icp_id: int | None
    grade: str | None
    queue_state: str
    due_at: datetime | None
    resurfaced_why: str | None
    hot_at: datetime | None = None
    hot_why: str | None = None
    # P(sale) and the reasons of the predictive model, when it ranked the lead.
    predicted_p: float | None = None
    predicted_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explained:
    sentences: tuple[str, ...]
    unknown: tuple[str, ...]  # field paths the fit could not decide
    ask: tuple[str, ...]  # the same as people say them


def day_words(moment: datetime, now: datetime) -> str:
    """ "today", "yesterday", "on Tuesday" (within a week), else "on 3 Nov" (UTC calendar days)."""
    gap = (now.date() - moment.date()).days
    if gap == 0:
        return "today"
    if gap == 1:
        return "yesterday"
    if 1 < gap < 7:
        return f"on {WEEKDAYS[moment.weekday()]}"
    return f"on {date_words(moment, now)}"


def date_words(moment: datetime, now: datetime | None = None) -> str:
    """ "3 Nov", or "3 Nov 2025" when ``now`` is given and falls in another year."""
    year = f" {moment.year}" if now is not None and now.year != moment.year else ""
    return f"{moment.day} {MONTHS[moment.month - 1]}{year}"


def _quoted(text: Any) -> str:
    return f"'{text}'"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def event_words(event_type: str, properties: Mapping[str, Any]) -> str | None:
    """What the contact did, without the when: "read 89% of 'Guide'" (None: not worth saying)."""
    p = properties
    if event_type == "read_progress":
        return f"read {_number(p.get('percent', 0))}% of {_quoted(p.get('asset'))}"
    if event_type == "video_progress":
        return f"watched {_number(p.get('percent', 0))}% of {_quoted(p.get('asset'))}"
    if event_type == "webinar_attended":
        minutes = p.get("minutes") or 0
        length = f" for {_number(minutes)} minutes" if minutes else ""
        return f"attended {_quoted(p.get('webinar'))}{length}"
    if event_type == "webinar_registered":
        return f"registered for {_quoted(p.get('webinar'))}"
    if event_type in ("email_replied", "email_clicked"):
        subject = _quoted(p["subject"]) if p.get("subject") else "an email"
        return f"replied to {subject}" if event_type == "email_replied" else f"clicked a link in {subject}"
    if event_type == "form_submitted":
        return f"submitted the form {_quoted(p.get('form'))}"
    if event_type == "asset_downloaded":
        return f"downloaded {_quoted(p.get('asset'))}"
    if event_type == "meeting_booked":
        return "booked a meeting"
    if event_type == "page_viewed":
        path = urlsplit(str(p.get("url", ""))).path
        if "pricing" in path.lower():
            return "viewed the pricing page"
        return f"viewed {_quoted(p['title'])}" if p.get("title") else None
    return None


def _strongest(settings: Settings, events: Sequence[Any], now: datetime) -> tuple[str, datetime] | None:
    """The event worth most points now (its points decayed to now), else the latest one worth
    saying; as (words, when)."""
    rate = settings.decay_rate
    best: tuple[float, datetime, str] | None = None
    for event in events:
        words = event_words(event.type, event.properties)
        if words is None:
            continue
        points = sum(points for _, points in match(settings, event.type, event.properties))
        strength = points * math.exp(-rate * max(days(now) - days(event.occurred_at), 0.0))
        key = (strength, event.occurred_at, words)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return best[2], best[1]


def _recent_events(
    session: Session, workspace_id: int, ids: Sequence[int], now: datetime
) -> dict[int, list[Any]]:
    rows = session.execute(
        select(Event.contact_id, Event.type, Event.occurred_at, Event.properties)
        # ``type || ''`` keeps the planner on the per-contact timeline index (25 short range
        # scans); on the per-type index it would read every recent event of the workspace.
        .where(
            Event.workspace_id == workspace_id,
            Event.contact_id.in_(ids),
            Event.type.concat("").in_(NOTABLE),
            Event.occurred_at >= now - timedelta(days=RECENT_DAYS),
        )
        .order_by(Event.occurred_at.desc())
        .limit(MAX_EVENTS)
    )
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row.contact_id, []).append(row)
    return found


def _not_now_calls(session: Session, workspace_id: int, ids: Sequence[int]) -> dict[int, Any]:
    """Each contact's latest "not now" call."""
    if not ids:
        return {}
    rows = session.execute(
        select(Event.contact_id, Event.occurred_at, Event.properties)
        # As above: the per-type index would read every call the workspace ever logged.
        .where(
            Event.workspace_id == workspace_id,
            Event.contact_id.in_(ids),
            Event.type.concat("") == "call_logged",
        )
        .order_by(Event.occurred_at.desc(), Event.id.desc())
    )
    found: dict[int, Any] = {}
    for row in rows:
        if row.contact_id not in found and row.properties.get("outcome") == "not_now":
            found[row.contact_id] = row
    return found


def revisit_words(due_at: datetime, now: datetime, call: Any | None) -> str:
    """ "revisit date today (not now on 3 Nov: budget next quarter)"."""
    said = f"revisit date {day_words(due_at, now)}"
    if call is None:
        return said
    reason = call.properties.get("reason")
    return f"{said} (not now on {date_words(call.occurred_at, now)}{': ' + reason if reason else ''})"


def _fits(session: Session, leads: Sequence[Lead]) -> dict[int, FitShown]:
    """Each lead's fit to the profile its grade was copied from, reasons spelled out with the
    profile version it was graded with (each version's definition read once)."""
    wanted = {lead.contact_id: lead.icp_id for lead in leads if lead.icp_id is not None}
    if not wanted:
        return {}
    fits = [
        fit
        for fit in session.scalars(select(Fit).where(Fit.contact_id.in_(list(wanted))))
        if wanted.get(fit.contact_id) == fit.icp_id
    ]
    versions = sorted({(fit.icp_id, fit.version) for fit in fits})
    if not versions:
        return {}
    definitions = {
        (icp_id, version): from_document(document)
        for icp_id, version, document in session.execute(
            select(IcpVersion.icp_id, IcpVersion.version, IcpVersion.definition).where(
                tuple_(IcpVersion.icp_id, IcpVersion.version).in_(versions)
            )
        )
    }
    return {
        fit.contact_id: FitShown(
            fit.grade,
            fit.score,
            fit.qualified_out,
            fit.version,
            expand_reasons(definitions[(fit.icp_id, fit.version)], fit.reasons),
            list(fit.unknown),
        )
        for fit in fits
    }


@lru_cache(maxsize=512)
def _label(path: str) -> str:
    """The name a criterion uses for a field ("employees"), once per field path."""
    try:
        return resolve(path, "field").label
    except InvalidInput:
        return path


_ask_words = lru_cache(maxsize=512)(field_words)


def criterion_words(reason: Reason) -> str:
    """A met criterion with the contact's value in it: "employees 250 ≥ 100" for a comparison,
    just the value for the rest ("industry logistics", "title CTO": the list or pattern it matched
    is the profile's business, not the caller's)."""
    label = _label(reason.field)
    if reason.value is None:
        return reason.criterion
    if not reason.criterion.startswith(label + " "):
        return f"{reason.criterion} ({reason.value})"  # a label written in the profile
    rest = reason.criterion[len(label) :]
    if rest.startswith((" ≥", " ≤", " between")):
        return f"{label} {reason.value}{rest}"
    return f"{label} {reason.value}"


def percent_words(probability: float) -> str:
    """ "34 %", "3.4 %" (one decimal below 10 %), "< 0.1 %"."""
    percent = probability * 100
    if percent < 0.05:
        return "< 0.1 %"
    return f"{percent:.1f} %" if percent < 9.95 else f"{percent:.0f} %"


def model_words(probability: float, reasons: Sequence[str]) -> str:
    """ "P(sale) 34 %: replies 2 (+), employees 250 (+)" (the model's strongest reasons)."""
    said = f"P(sale) {percent_words(probability)}"
    return f"{said}: {', '.join(reasons)}" if reasons else said


def fit_words(grade: str, fit: FitShown | None) -> str:
    """ "grade A: employees 250 ≥ 100, roi_months 2 ≤ 3" (the criteria met, musts first)."""
    if fit is None:
        return f"grade {grade}"
    met = [criterion_words(reason) for reason in fit.reasons if reason.state == "met"]
    if not met:
        return f"grade {grade}: no criterion met yet"
    more = len(met) - FIT_REASONS
    return f"grade {grade}: " + ", ".join(met[:FIT_REASONS]) + (f" and {more} more" if more > 0 else "")


def explain(
    session: Session, workspace_id: int, leads: Sequence[Lead], settings: Settings, now: datetime
) -> dict[int, Explained]:
    """Why now and what to ask, for each lead (by contact id)."""
    ids = [lead.contact_id for lead in leads]
    if not ids:
        return {}
    events = _recent_events(session, workspace_id, ids, now)
    revisits = [lead.contact_id for lead in leads if lead.queue_state == "parked"]
    calls = _not_now_calls(session, workspace_id, revisits)
    fits = _fits(session, leads)
    told = {}
    for lead in leads:
        sentences = []
        if lead.hot_at is not None and lead.hot_why:
            sentences.append(hot_words(lead.hot_why, lead.hot_at, now))
        hot = bool(sentences)
        if lead.resurfaced_why:
            sentences.append(lead.resurfaced_why)
        if lead.queue_state == "parked" and lead.due_at is not None:
            sentences.append(revisit_words(lead.due_at, now, calls.get(lead.contact_id)))
        seen = events.get(lead.contact_id, [])
        # The reply is said already, with its age: the strongest of the rest follows.
        strongest = _strongest(settings, [e for e in seen if e.type != "email_replied"] if hot else seen, now)
        if strongest is not None:
            sentences.append(f"{strongest[0]} {day_words(strongest[1], now)}")
        if lead.predicted_p is not None:
            sentences.append(model_words(lead.predicted_p, lead.predicted_reasons))
        fit = fits.get(lead.contact_id)
        if lead.grade is not None:
            sentences.append(fit_words(lead.grade, fit))
        unknown = tuple(fit.unknown) if fit else ()
        told[lead.contact_id] = Explained(tuple(sentences), unknown, tuple(_ask_words(p) for p in unknown))
    return told
