"""Importing a webinar's or seminar's attendance: everyone listed registered, attendees attended.

People are matched by email address, or created with source ``webinar:<slug>``. Each gets one
``webinar_registered`` event and, when they attended, one ``webinar_attended`` event with their
minutes; both carry idempotency keys made of the magnet and the contact, so importing the same file
again (or an overlapping one) adds nothing. Everything happens in the caller's transaction: a
failure leaves no half-imported list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.assets import EVENT_KINDS, get_asset
from leadwell.capture.attendance_files import AttendanceFile, Attendee, Rejected, read_attendance
from leadwell.contacts.schemas import ContactCreate
from leadwell.contacts.service import create_contact
from leadwell.db.models import Asset, ContactEmail, Event
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.ids import IdCodec
from leadwell.scoring.engine import score_new_events

# Two imports of one webinar at the same moment may both store the same event or create the same
# person; the database's unique keys refuse the later one, whose whole transaction then rolls back.
CONCURRENT = (
    "another import for this webinar ran at the same time; import the file again (nobody is counted twice)"
)


@dataclass
class AttendanceSummary:
    """What an import did, for the page and the CLI."""

    asset: str
    format: str
    listed: int = 0
    matched: int = 0
    created: int = 0
    attended: int = 0
    events_added: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data (JSON output)."""
        return {
            "asset": self.asset,
            "format": self.format,
            "listed": self.listed,
            "matched": self.matched,
            "created": self.created,
            "attended": self.attended,
            "events_added": self.events_added,
            "rejected": [{"line": item.line, "reason": item.reason} for item in self.rejected],
        }


def webinar_of(session: Session, workspace_id: int, slug: str) -> Asset:
    """The webinar or seminar magnet ``slug``; :class:`InvalidInput` for any other kind."""
    asset = get_asset(session, workspace_id, slug)
    if asset.kind not in EVENT_KINDS:
        raise InvalidInput(
            f"asset: {slug!r} is a {asset.kind}; attendance is imported for webinars and seminars", "asset"
        )
    return asset


def _contacts_by_email(
    session: Session, codec: IdCodec, workspace_id: int, asset: Asset, people: list[Attendee]
) -> tuple[dict[str, int], int]:
    """Each listed address's contact id (creating the missing people) and how many were created."""
    emails = [person.email for person in people]
    found: dict[str, int] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        rows = session.execute(
            select(ContactEmail.email, ContactEmail.contact_id).where(
                ContactEmail.workspace_id == workspace_id, ContactEmail.email.in_(chunk)
            )
        )
        found.update({email: contact_id for email, contact_id in rows})
    created = 0
    for person in people:
        if person.email in found:
            continue
        data = ContactCreate(
            first_name=person.first_name,
            last_name=person.last_name,
            emails=[person.email],
            source=f"webinar:{asset.slug}"[:120],
        )
        contact = create_contact(session, codec, workspace_id, data, why=f"listed for webinar {asset.slug}")
        found[person.email] = contact.id
        created += 1
    return found, created


def _event(asset: Asset, contact_id: int, kind: str, minutes: float, at: datetime, now: datetime) -> Event:
    properties = validate_properties(kind, {"webinar": asset.slug, "minutes": minutes})
    return Event(
        workspace_id=asset.workspace_id,
        contact_id=contact_id,
        type=kind,
        occurred_at=at,
        received_at=now,
        properties=properties,
        source=f"webinar:{asset.slug}"[:120],
        idempotency_key=f"{kind}:{asset.id}:{contact_id}",
    )


def _registered(session: Session, asset: Asset) -> set[int]:
    """Contacts already registered for the webinar, by its form or an earlier import."""
    query = select(Event.contact_id).where(
        Event.workspace_id == asset.workspace_id,
        Event.type == "webinar_registered",
        Event.properties["webinar"].as_string() == asset.slug,
        Event.contact_id.is_not(None),
    )
    return {contact_id for contact_id in session.scalars(query) if contact_id is not None}


def _new_events(
    session: Session, asset: Asset, people: list[Attendee], contact_ids: dict[str, int], now: datetime
) -> list[Event]:
    """The events this import adds: those whose idempotency keys are not stored yet, and no second
    registration for someone the webinar's form already registered."""
    # The event happened when it started; one not started yet is recorded as of now.
    at = min(asset.starts_at, now) if asset.starts_at is not None else now
    registered = _registered(session, asset)
    wanted: list[Event] = []
    for person in people:
        contact_id = contact_ids[person.email]
        if contact_id not in registered:
            wanted.append(_event(asset, contact_id, "webinar_registered", 0, at, now))
        if person.attended:
            wanted.append(_event(asset, contact_id, "webinar_attended", person.minutes, at, now))
    keys = [event.idempotency_key for event in wanted]
    stored: set[str | None] = set()
    for start in range(0, len(keys), 500):
        stored.update(
            session.scalars(
                select(Event.idempotency_key).where(
                    Event.workspace_id == asset.workspace_id,
                    Event.idempotency_key.in_(keys[start : start + 500]),
                )
            )
        )
    return [event for event in wanted if event.idempotency_key not in stored]


def import_attendance(
    session: Session,
    codec: IdCodec,
    workspace_id: int,
    slug: str,
    parsed: AttendanceFile,
    now: datetime,
) -> AttendanceSummary:
    """Record ``parsed`` as the attendance of webinar ``slug``; returns what was done."""
    asset = webinar_of(session, workspace_id, slug)
    summary = AttendanceSummary(asset.slug, parsed.format, rejected=list(parsed.rejected))
    people = parsed.people
    summary.listed = len(people)
    summary.attended = sum(1 for person in people if person.attended)
    contact_ids, summary.created = _contacts_by_email(session, codec, workspace_id, asset, people)
    summary.matched = summary.listed - summary.created
    events = _new_events(session, asset, people, contact_ids, now)
    session.add_all(events)
    session.flush()
    score_new_events(session, workspace_id, events)
    summary.events_added = len(events)
    return summary


def import_attendance_file(
    session: Session, codec: IdCodec, workspace_id: int, slug: str, content: bytes, now: datetime
) -> AttendanceSummary:
    """Read an export (any supported format) and import it for webinar ``slug``."""
    webinar_of(session, workspace_id, slug)  # a wrong magnet is reported before the file's problems
    return import_attendance(session, codec, workspace_id, slug, read_attendance(content), now)
