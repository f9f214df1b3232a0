"""Plain factory functions for tests: real rows through the real models, no mocks."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from leadwell.auth.accounts import add_member, create_token, create_user, create_workspace
from leadwell.db.models import Contact, ContactEmail, Deal, Event, Organization, StageChange, User, Workspace
from leadwell.db.types import utcnow

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_workspace(session: Session, name: str | None = None) -> Workspace:
    number = next(_counter)
    return create_workspace(session, name or f"Workspace {number}", slug=f"ws-{number}")


def make_user(
    session: Session, workspace: Workspace | None = None, role: str = "owner", email: str | None = None
) -> User:
    user = create_user(session, email or f"user{next(_counter)}@example.com", PASSWORD, name="Test User")
    if workspace is not None:
        add_member(session, workspace, user, role)
    return user


def make_token(session: Session, workspace: Workspace, scopes: tuple[str, ...] = ("read", "write")) -> str:
    _token, secret = create_token(session, workspace, "test", scopes)
    return secret


def make_organization(session: Session, workspace: Workspace, **fields: Any) -> Organization:
    number = next(_counter)
    values: dict[str, Any] = {"name": f"Org {number}", "domain": f"org{number}.example.com", "custom": {}}
    values.update(fields)
    organization = Organization(workspace_id=workspace.id, **values)
    session.add(organization)
    session.flush()
    return organization


def make_contact(session: Session, workspace: Workspace, **fields: Any) -> Contact:
    number = next(_counter)
    values: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": f"Lovelace{number}",
        "email": f"ada{number}@example.com",
        "phones": [],
        "custom": {},
        "stage": "lead",
        "consent": "unknown",
    }
    values.update(fields)
    contact = Contact(workspace_id=workspace.id, **values)
    session.add(contact)
    session.flush()
    if contact.email:
        session.add(ContactEmail(workspace_id=workspace.id, contact_id=contact.id, email=contact.email))
        session.flush()
    return contact


def make_event(
    session: Session,
    contact: Contact,
    type: str = "asset_downloaded",
    occurred_at: datetime | None = None,
    properties: dict[str, Any] | None = None,
) -> Event:
    event = Event(
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        type=type,
        occurred_at=occurred_at or utcnow() - timedelta(hours=1),
        properties=properties if properties is not None else {"asset": "ROI white paper"},
        source="test",
    )
    session.add(event)
    session.flush()
    return event


def make_deal(session: Session, contact: Contact, **fields: Any) -> Deal:
    values: dict[str, Any] = {"name": "Pilot project", "value": Decimal("12000"), "currency": "USD"}
    values.update(fields)
    deal = Deal(workspace_id=contact.workspace_id, contact_id=contact.id, **values)
    session.add(deal)
    session.flush()
    return deal


def move_through(session: Session, contact: Contact, *steps: tuple[str, datetime]) -> Contact:
    """Stage history rows for ``contact``: from its current stage through each (stage, when)."""
    for stage, when in steps:
        session.add(
            StageChange(
                workspace_id=contact.workspace_id,
                contact_id=contact.id,
                from_stage=contact.stage,
                to_stage=stage,
                why="test",
                changed_at=when,
            )
        )
        contact.stage = stage
    session.flush()
    return contact
