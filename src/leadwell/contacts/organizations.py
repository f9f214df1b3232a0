"""Service functions for organizations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from leadwell.contacts import fields as clean
from leadwell.contacts.schemas import OrganizationCreate, OrganizationFields, OrganizationUpdate
from leadwell.db.models import Contact, Organization
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.icp.regrade import regrade_contacts
from leadwell.pagination import Page, newest_first, page_of


def get_organization(session: Session, workspace_id: int, organization_id: int) -> Organization:
    organization = session.scalar(
        select(Organization).where(
            Organization.id == organization_id, Organization.workspace_id == workspace_id
        )
    )
    if organization is None:
        raise NotFound("organization: no such organization in this workspace", field="organization")
    return organization


def _apply(session: Session, organization: Organization, data: OrganizationFields) -> None:
    given = data.model_fields_set
    if "name" in given and data.name:
        organization.name = data.name
    if "domain" in given:
        domain = clean.clean_domain(data.domain)
        if domain:
            others = select(Organization.id).where(
                Organization.workspace_id == organization.workspace_id, Organization.domain == domain
            )
            if organization.id is not None:
                others = others.where(Organization.id != organization.id)
            if session.scalar(others) is not None:
                raise Conflict(f"domain: another organization has {domain}", field="domain")
        organization.domain = domain
    for name in ("employees", "employees_min", "employees_max", "industry"):
        if name in given:
            setattr(organization, name, getattr(data, name))
    if "employees" in given and data.employees is not None:
        # An exact size is also the range's both ends, so range comparisons need one code path.
        organization.employees_min = organization.employees_max = data.employees
    low, high = organization.employees_min, organization.employees_max
    if low is not None and high is not None and low > high:
        raise InvalidInput("employees_max: smaller than employees_min", field="employees_max")
    if "country" in given:
        organization.country = clean.clean_country(data.country)
    if "custom" in given:
        organization.custom = clean.clean_custom(data.custom or {})


def create_organization(session: Session, workspace_id: int, data: OrganizationCreate) -> Organization:
    organization = Organization(workspace_id=workspace_id, name=data.name, custom={})
    _apply(session, organization, data)
    session.add(organization)
    session.flush()
    return organization


def _people(session: Session, workspace_id: int, organization_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Contact.id).where(
                Contact.workspace_id == workspace_id,
                Contact.organization_id == organization_id,
                Contact.merged_into_id.is_(None),
            )
        )
    )


def update_organization(
    session: Session, workspace_id: int, organization_id: int, data: OrganizationUpdate
) -> Organization:
    """Change the fields present in ``data``; its people are graded again (their fit may move)."""
    organization = get_organization(session, workspace_id, organization_id)
    _apply(session, organization, data)
    organization.updated_at = utcnow()
    session.flush()
    regrade_contacts(session, workspace_id, _people(session, workspace_id, organization_id))
    return organization


def delete_organization(session: Session, workspace_id: int, organization_id: int) -> None:
    """Delete an organization; its people stay, unlinked, and are graded again without it."""
    people = _people(session, workspace_id, organization_id)
    session.delete(get_organization(session, workspace_id, organization_id))
    session.flush()
    regrade_contacts(session, workspace_id, people)


def list_organizations(
    session: Session, workspace_id: int, q: str | None, cursor: str | None, limit: int
) -> Page[Organization]:
    query = select(Organization).where(Organization.workspace_id == workspace_id)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            or_(func.lower(Organization.name).like(pattern), Organization.domain.like(pattern))
        )
    rows: Sequence[Organization] = session.scalars(newest_first(query, Organization.id, cursor, limit)).all()
    return page_of(rows, limit, lambda organization: organization.id)
