"""A workspace's qualification settings in the database: versions, the one in force, applying new ones.

Versions are never changed; the highest is in force, and a workspace without any has the documented
defaults as version 0. Applying a document identical (once defaults are filled in) to the current
one adds nothing. A new version changes what events are worth, so its caller recomputes every score
(:func:`leadwell.scoring.recompute.recompute`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.orm import Session

from leadwell.db.models import ScoringVersion, User, Workspace
from leadwell.errors import NotFound
from leadwell.scoring.settings import Settings, default_settings, from_document


@dataclass(frozen=True)
class Applied:
    """The version in force after applying settings, and whether applying added it."""

    version: int
    changed: bool

    @property
    def outcome(self) -> str:
        return "new version" if self.changed else "unchanged"


@lru_cache(maxsize=64)
def _compiled(stored: str) -> Settings:
    """Settings compiled from a stored document's JSON text, once per distinct text."""
    return from_document(json.loads(stored))


# Built once: every recorded event and every queue read asks for the settings in force, and building
# the statement each time cost more than running it.
_CURRENT = (
    select(ScoringVersion.version, cast(ScoringVersion.definition, Text))
    .where(ScoringVersion.workspace_id == bindparam("workspace_id"))
    .order_by(ScoringVersion.version.desc())
    .limit(1)
)


def current_settings(session: Session, workspace_id: int) -> tuple[int, Settings]:
    """(version, settings) in force for the workspace; (0, defaults) when none was applied.

    One small indexed query; the document is compiled once per process and distinct text."""
    row = session.execute(_CURRENT, {"workspace_id": workspace_id}).first()
    if row is None:
        return 0, default_settings()
    return row[0], _compiled(row[1])


def settings_version(session: Session, workspace_id: int, version: int) -> Settings:
    """The settings of one version (0: the defaults); :class:`NotFound` naming ``version``."""
    if version == 0:
        return default_settings()
    stored = session.scalar(
        select(cast(ScoringVersion.definition, Text)).where(
            ScoringVersion.workspace_id == workspace_id, ScoringVersion.version == version
        )
    )
    if stored is None:
        raise NotFound(f"version: there is no version {version} of the scoring settings", field="version")
    return _compiled(stored)


def apply_settings(
    session: Session, workspace_id: int, settings: Settings, created_by_id: int | None = None
) -> Applied:
    """Make ``settings`` the workspace's current version, unless they are the current ones already.

    The workspace row is locked first (PostgreSQL), so two people saving at once get consecutive
    versions instead of a clash."""
    session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())
    version, current = current_settings(session, workspace_id)
    if current.canonical() == settings.canonical():
        return Applied(version, changed=False)
    session.add(
        ScoringVersion(
            workspace_id=workspace_id,
            version=version + 1,
            definition=settings.document,
            created_by_id=created_by_id,
        )
    )
    session.flush()
    return Applied(version + 1, changed=True)


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: datetime
    created_by: str | None


def list_versions(session: Session, workspace_id: int) -> list[VersionRow]:
    """Every stored version, newest first, with who saved it."""
    rows = session.execute(
        select(ScoringVersion.version, ScoringVersion.created_at, User.email)
        .outerjoin(User, User.id == ScoringVersion.created_by_id)
        .where(ScoringVersion.workspace_id == workspace_id)
        .order_by(ScoringVersion.version.desc())
    )
    return [VersionRow(version, created_at, email) for version, created_at, email in rows]
