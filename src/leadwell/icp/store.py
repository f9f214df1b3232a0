"""Profiles and their versions in the database: apply a definition, find profiles, count grades."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Fit, Icp, IcpVersion
from leadwell.db.types import utcnow
from leadwell.errors import NotFound
from leadwell.icp.definition import Definition, canonical_json, from_document

GRADES = ("A", "B", "C", "D", "E", "F")


@dataclass(frozen=True)
class Applied:
    """What applying a definition did: ``created`` a new profile, added a ``changed`` version, or
    neither (the same definition as the current version)."""

    icp: Icp
    version: int
    created: bool
    changed: bool

    @property
    def outcome(self) -> str:
        return "created" if self.created else "new version" if self.changed else "unchanged"


def apply_definition(
    session: Session, workspace_id: int, definition: Definition, created_by_id: int | None = None
) -> Applied:
    """Create the profile ``definition.slug`` or give it a new version; an identical definition
    (same document once defaults are filled in) adds nothing. Versions are never changed."""
    icp = session.scalar(
        select(Icp).where(Icp.workspace_id == workspace_id, Icp.slug == definition.slug).with_for_update()
    )
    created = icp is None
    if icp is None:
        icp = Icp(workspace_id=workspace_id, slug=definition.slug, name=definition.name, current_version=0)
        session.add(icp)
        session.flush()
    else:
        current = version_document(session, icp.id, icp.current_version)
        if canonical_json(current) == definition.canonical():
            return Applied(icp, icp.current_version, created=False, changed=False)
    icp.current_version += 1
    icp.name = definition.name
    icp.updated_at = utcnow()
    session.add(
        IcpVersion(
            icp_id=icp.id,
            version=icp.current_version,
            definition=definition.document,
            created_by_id=created_by_id,
        )
    )
    session.flush()
    return Applied(icp, icp.current_version, created=created, changed=not created)


def version_document(session: Session, icp_id: int, version: int) -> dict[str, object]:
    """The stored definition document of one version; :class:`NotFound` naming ``version``."""
    document = session.scalar(
        select(IcpVersion.definition).where(IcpVersion.icp_id == icp_id, IcpVersion.version == version)
    )
    if document is None:
        raise NotFound(f"version: there is no version {version} of this profile", field="version")
    return dict(document)


def load_definition(session: Session, icp: Icp, version: int | None = None) -> Definition:
    """The compiled definition of ``version`` (default: the current one)."""
    return from_document(version_document(session, icp.id, version or icp.current_version))


def get_icp(session: Session, workspace_id: int, slug: str) -> Icp:
    """The profile with this slug in this workspace, else :class:`NotFound` naming ``slug``."""
    icp = session.scalar(select(Icp).where(Icp.workspace_id == workspace_id, Icp.slug == slug))
    if icp is None:
        raise NotFound(f"slug: no profile {slug[:64]!r} in this workspace", field="slug")
    return icp


def list_icps(session: Session, workspace_id: int) -> list[Icp]:
    """Every profile of the workspace, by slug (the first is the default for exports)."""
    return list(session.scalars(select(Icp).where(Icp.workspace_id == workspace_id).order_by(Icp.slug)))


def grade_counts(session: Session, workspace_id: int, icp_id: int) -> dict[str, int]:
    """How many contacts have each grade A–F (zeros included), from the (workspace, icp, grade) index."""
    rows = session.execute(
        select(Fit.grade, func.count())
        .where(Fit.workspace_id == workspace_id, Fit.icp_id == icp_id)
        .group_by(Fit.grade)
    )
    found = {grade: count for grade, count in rows}
    return {grade: found.get(grade, 0) for grade in GRADES}
