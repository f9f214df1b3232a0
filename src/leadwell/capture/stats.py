"""Each magnet's numbers: how many people reached each step, from viewing its landing page to
reading it through (or attending the webinar), over a period.

Every step is one set-based query over the whole workspace, grouped by magnet, and the same query
lists the people behind a number. A step counts distinct people:

- ``views``: viewers of a landing page whose form gates the magnet (anonymous browsers count too,
  each once, though only identified people can be listed);
- ``submitted``: people who sent a form that gates it;
- ``downloaded``: people with an ``asset_downloaded`` event for its slug;
- ``read50``/``read90`` (videos: ``watched50``/``watched90``): people whose reading reached the share;
- ``registered``, ``attended`` (at least a minute), ``attended30`` (at least 30 minutes): webinars.

The period keeps what happened within it: events and submissions by their time, readings by their
last progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, distinct, func, select, true
from sqlalchemy.orm import Session

from leadwell.db.models import Asset, Event, Form, FormSubmission, LandingPage, Reading

PERIODS: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "all": None}
PERIOD_LABELS = {"30": "Last 30 days", "90": "Last 90 days", "365": "Last 365 days", "all": "All time"}
DEFAULT_PERIOD = "90"
STEP_LABELS = {
    "views": "Viewed the page",
    "submitted": "Submitted the form",
    "downloaded": "Downloaded",
    "read50": "Read ≥ 50 %",
    "read90": "Read ≥ 90 %",
    "watched50": "Watched ≥ 50 %",
    "watched90": "Watched ≥ 90 %",
    "registered": "Registered",
    "attended": "Attended",
    "attended30": "Attended ≥ 30 min",
}
STEPS_BY_KIND = {
    "pdf": ("views", "submitted", "downloaded", "read50", "read90"),
    "epub": ("views", "submitted", "downloaded", "read50", "read90"),
    "video": ("views", "submitted", "downloaded", "watched50", "watched90"),
    "webinar": ("views", "submitted", "registered", "attended", "attended30"),
    "seminar": ("views", "submitted", "registered", "attended", "attended30"),
}


@dataclass(frozen=True)
class Step:
    """One step of a magnet's funnel: how many people, and what share of the step before."""

    key: str
    label: str
    count: int
    conversion: float | None  # percent of the previous step; None for the first or after zero


def since_of(period: str, now: datetime) -> datetime | None:
    """The start of ``period`` (a key of :data:`PERIODS`) before ``now``; None for all time."""
    days = PERIODS[period]
    return None if days is None else now - timedelta(days=days)


def _after(column: Any, since: datetime | None) -> Any:
    return column >= since if since is not None else true()


def _seen(event_type: str, key: str, workspace_id: int, since: datetime | None, *extra: Any) -> Subquery:
    """Distinct (slug, contact_id, visitor_id) of the period's events of ``event_type``, with the
    slug read from property ``key``. Grouped before any join: the JSON property is read once per
    event, and the join to the few pages or magnets happens on the reduced set."""
    slug = Event.properties[key].as_string().label("slug")
    return (
        select(slug, Event.contact_id, Event.visitor_id)
        .where(Event.workspace_id == workspace_id, Event.type == event_type, _after(Event.occurred_at, since))
        .where(*extra)
        .group_by(slug, Event.contact_id, Event.visitor_id)
        .subquery()
    )


def step_pairs(step: str, workspace_id: int, since: datetime | None) -> Subquery:
    """(asset_id, contact_id) of everyone who reached ``step``; views add the visitor_id of
    anonymous browsers."""
    if step == "views":
        seen = _seen("page_viewed", "page", workspace_id, since)
        return (
            select(Asset.id.label("asset_id"), seen.c.contact_id, seen.c.visitor_id)
            .select_from(seen)
            .join(
                LandingPage, and_(LandingPage.workspace_id == workspace_id, LandingPage.slug == seen.c.slug)
            )
            .join(Form, Form.id == LandingPage.form_id)
            .join(Asset, Asset.id == Form.asset_id)
        ).subquery()
    if step == "submitted":
        return (
            select(Form.asset_id.label("asset_id"), FormSubmission.contact_id)
            .join(Form, Form.id == FormSubmission.form_id)
            .where(FormSubmission.workspace_id == workspace_id, Form.asset_id.is_not(None))
            .where(_after(FormSubmission.submitted_at, since))
        ).subquery()
    if step in ("read50", "read90", "watched50", "watched90"):
        share = 50 if step.endswith("50") else 90
        return (
            select(Reading.asset_id.label("asset_id"), Reading.contact_id)
            .where(
                Reading.workspace_id == workspace_id, Reading.percent >= share, _after(Reading.last_at, since)
            )
            .subquery()
        )
    return _event_pairs(step, workspace_id, since)


def _event_pairs(step: str, workspace_id: int, since: datetime | None) -> Subquery:
    kinds = {"downloaded": "asset_downloaded", "registered": "webinar_registered"}
    event_type = kinds.get(step, "webinar_attended")
    key = "asset" if step == "downloaded" else "webinar"
    extra = [Event.contact_id.is_not(None)]
    if step in ("attended", "attended30"):
        extra.append(Event.properties["minutes"].as_float() >= (30 if step == "attended30" else 1))
    seen = _seen(event_type, key, workspace_id, since, *extra)
    return (
        select(Asset.id.label("asset_id"), seen.c.contact_id)
        .select_from(seen)
        .join(Asset, and_(Asset.workspace_id == workspace_id, Asset.slug == seen.c.slug))
        .subquery()
    )


def _counts(session: Session, step: str, workspace_id: int, since: datetime | None) -> dict[int, int]:
    pairs = step_pairs(step, workspace_id, since)
    people: ColumnElement[int] = func.count(distinct(pairs.c.contact_id))
    if step == "views":
        # An anonymous browser is one viewer; once identified its views carry the contact.
        anonymous = case((pairs.c.contact_id.is_(None), pairs.c.visitor_id))
        people = people + func.count(distinct(anonymous))
    rows = session.execute(select(pairs.c.asset_id, people).group_by(pairs.c.asset_id))
    return {asset_id: int(count) for asset_id, count in rows}


def funnel(kind: str, counts: dict[str, int]) -> list[Step]:
    """The steps of a magnet of ``kind`` with their counts and conversions."""
    steps: list[Step] = []
    previous: int | None = None
    for key in STEPS_BY_KIND[kind]:
        count = counts.get(key, 0)
        conversion = round(100.0 * count / previous, 1) if previous else None
        steps.append(Step(key, STEP_LABELS[key], count, conversion))
        previous = count
    return steps


def magnet_numbers(
    session: Session, workspace_id: int, assets: list[Asset], since: datetime | None
) -> dict[int, list[Step]]:
    """Every listed magnet's funnel over the period, by asset id (one query per step)."""
    wanted = {step for asset in assets for step in STEPS_BY_KIND[asset.kind]}
    counts = {step: _counts(session, step, workspace_id, since) for step in sorted(wanted)}
    return {
        asset.id: funnel(asset.kind, {step: by_asset.get(asset.id, 0) for step, by_asset in counts.items()})
        for asset in assets
    }


def step_contacts(step: str, workspace_id: int, asset_id: int, since: datetime | None) -> Select[Any]:
    """The ids of the (identified) people who reached ``step`` for one magnet, each once."""
    pairs = step_pairs(step, workspace_id, since)
    return (
        select(pairs.c.contact_id)
        .where(pairs.c.asset_id == asset_id, pairs.c.contact_id.is_not(None))
        .distinct()
    )
