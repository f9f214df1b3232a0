"""Visitors: browsers known by a random cookie key, tied to a contact once a form identifies them.

Identifying a visitor moves its anonymous page views to the contact, so the contact's timeline
shows what they read before they gave their name, and its experiment variants become the
contact's. Two people may share a browser: when a visitor already belongs to one contact and a form
identifies someone else, the browser starts a new visitor for the newcomer, and the first person's
history stays theirs.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadwell.db.models import Event, Visitor
from leadwell.experiments.assignment import adopt_visitor
from leadwell.scoring.engine import score_new_events

KEY_LENGTH = 22  # characters of a new key: 16 random bytes, URL-safe


def new_visitor_key() -> str:
    """A fresh, unguessable visitor key for a cookie."""
    return secrets.token_urlsafe(16)


def plausible_key(key: str | None) -> bool:
    """Whether ``key`` looks like a key this module made (cheap check before any query)."""
    return bool(key) and len(key or "") == KEY_LENGTH and all(c.isalnum() or c in "-_" for c in key or "")


def find_visitor(session: Session, workspace_id: int, key: str | None) -> Visitor | None:
    """The workspace's visitor with ``key``; None for an unknown, malformed or foreign key."""
    if not plausible_key(key):
        return None
    return session.scalar(select(Visitor).where(Visitor.key == key, Visitor.workspace_id == workspace_id))


def visitor_for(session: Session, workspace_id: int, key: str | None, now: datetime) -> Visitor:
    """The visitor behind ``key``, created when the key is new (or unusable: then with a new key)."""
    visitor = find_visitor(session, workspace_id, key)
    if visitor is not None:
        visitor.last_seen_at = now
        return visitor
    taken = plausible_key(key) and session.scalar(select(Visitor.id).where(Visitor.key == key)) is not None
    fresh_key = key if plausible_key(key) and not taken else new_visitor_key()
    assert fresh_key is not None
    visitor = Visitor(workspace_id=workspace_id, key=fresh_key, first_seen_at=now, last_seen_at=now)
    session.add(visitor)
    session.flush()
    return visitor


def identify(session: Session, workspace_id: int, key: str | None, contact_id: int, now: datetime) -> str:
    """Tie the browser holding ``key`` to ``contact_id``; the key its cookie should hold from now on.

    A visitor seen before as nobody in particular becomes the contact, and its page views join the
    contact's history (and score). A visitor already tied to someone else is left to them: the
    browser gets a new visitor for this contact.
    """
    visitor = find_visitor(session, workspace_id, key)
    if visitor is not None and visitor.contact_id in (None, contact_id):
        if visitor.contact_id is None:
            visitor.contact_id = contact_id
            visitor.identified_at = now
            _adopt_history(session, workspace_id, visitor.id, contact_id)
            adopt_visitor(session, workspace_id, visitor.id, contact_id)  # its experiment variants too
        visitor.last_seen_at = now
        return visitor.key
    fresh = Visitor(
        workspace_id=workspace_id,
        key=new_visitor_key(),
        contact_id=contact_id,
        first_seen_at=now,
        last_seen_at=now,
        identified_at=now,
    )
    session.add(fresh)
    session.flush()
    return fresh.key


def _adopt_history(session: Session, workspace_id: int, visitor_id: int, contact_id: int) -> None:
    """Give the visitor's anonymous events to the contact and score them."""
    anonymous = list(
        session.scalars(
            select(Event).where(
                Event.workspace_id == workspace_id, Event.visitor_id == visitor_id, Event.contact_id.is_(None)
            )
        )
    )
    if not anonymous:
        return
    session.execute(
        update(Event)
        .where(Event.id.in_([event.id for event in anonymous]))
        .values(contact_id=contact_id)
        .execution_options(synchronize_session=False)
    )
    for event in anonymous:
        event.contact_id = contact_id
    score_new_events(session, workspace_id, anonymous)
