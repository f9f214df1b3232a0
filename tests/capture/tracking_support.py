"""Shared set-up for the tracking tests: a workspace with a contact, signed links, stored hits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Contact, TrackingHit, TrackingSite, Workspace
from leadwell.db.session import Database
from tests import factories


@dataclass
class Prospect:
    workspace: Workspace
    contact: Contact

    @property
    def ids(self) -> dict[str, int]:
        return {"w": self.workspace.id, "c": self.contact.id}


def make_prospect(db: Database, name: str = "Acme") -> Prospect:
    with db.session() as session:
        workspace = factories.make_workspace(session, name)
        contact = factories.make_contact(session, workspace)
    return Prospect(workspace, contact)


def make_site(db: Database, workspace: Workspace, key: str, domains: list[str]) -> TrackingSite:
    with db.session() as session:
        site = TrackingSite(workspace_id=workspace.id, key=key, name="Main site", domains=domains)
        session.add(site)
    return site


def signer_of(app: FastAPI) -> TokenSigner:
    signer: TokenSigner = app.state.leadwell.signer
    return signer


def hits(db: Database, kind: str | None = None) -> list[TrackingHit]:
    with db.session() as session:
        query = select(TrackingHit).order_by(TrackingHit.id)
        if kind is not None:
            query = query.where(TrackingHit.kind == kind)
        return list(session.scalars(query))


def hit_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(TrackingHit)) or 0


def read_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"pages": [1, 2, 3], "of": 18, "active": 95, "s": "sess-abcdef12", "seq": 4}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}
