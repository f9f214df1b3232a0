"""Service functions for contacts: every one takes the workspace and never reaches outside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from leadwell.contacts import fields as clean
from leadwell.contacts.schemas import ContactCreate, ContactFields, ContactUpdate
from leadwell.db.models import Contact, ContactEmail, EngagementCap, Event, Fit, Membership, Organization
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.icp.regrade import regrade_contacts
from leadwell.ids import BadId, IdCodec
from leadwell.pagination import Page, newest_first, page_of
from leadwell.scoring.rows import engagement_of
from leadwell.scoring.stages import check_stage, move_stage, stage_event

_PLAIN_FIELDS = ("title", "street", "city", "region", "postal_code", "source")


@dataclass(frozen=True)
class ContactFilters:
    """What a contacts list can be narrowed by (query parameters and page filters)."""

    q: str | None = None
    stage: str | None = None
    source: str | None = None
    organization_id: int | None = None
    owner_id: int | None = None
    email: str | None = None


def get_contact(session: Session, workspace_id: int, contact_id: int) -> Contact:
    """The contact with this id in this workspace, else :class:`NotFound`."""
    contact = session.scalar(
        select(Contact)
        .where(Contact.id == contact_id, Contact.workspace_id == workspace_id)
        .options(selectinload(Contact.emails), selectinload(Contact.organization))
    )
    if contact is None:
        raise NotFound("contact: no such contact in this workspace", field="contact")
    return contact


def _reference(
    session: Session, codec: IdCodec, workspace_id: int, kind: str, public_id: str, field: str
) -> int:
    """Resolve a public id sent in a body; a foreign or unknown id is a bad field, not a 404."""
    try:
        number = codec.decode(kind, public_id)
    except BadId:
        number = None
    if kind == "organization":
        owner = select(Organization.id).where(Organization.id == number)
        found = session.scalar(owner.where(Organization.workspace_id == workspace_id))
    else:
        member = select(Membership.user_id).where(Membership.user_id == number)
        found = session.scalar(member.where(Membership.workspace_id == workspace_id))
    if found is None:
        raise InvalidInput(f"{field}: no such {kind} in this workspace", field=field)
    return found


def _set_emails(session: Session, contact: Contact, emails: list[str]) -> None:
    cleaned = clean.clean_emails(emails)
    for index, address in enumerate(cleaned):
        holder = session.scalar(
            select(ContactEmail.contact_id).where(
                ContactEmail.workspace_id == contact.workspace_id, ContactEmail.email == address
            )
        )
        if holder is not None and holder != contact.id:
            raise Conflict(f"emails[{index}]: {address} belongs to another contact", field=f"emails[{index}]")
    contact.emails.clear()
    session.flush()
    for position, address in enumerate(cleaned):
        contact.emails.append(
            ContactEmail(workspace_id=contact.workspace_id, email=address, position=position)
        )
    contact.email = cleaned[0] if cleaned else None


def _apply(session: Session, codec: IdCodec, contact: Contact, data: ContactFields) -> str | None:
    """Copy the fields present in ``data`` onto ``contact``, all but the stage; returns the stage
    asked for when it differs from the current one (the caller moves it, with a reason)."""
    given = data.model_fields_set
    values: dict[str, Any] = {name: getattr(data, name) for name in given}
    for name in ("first_name", "last_name"):
        if name in given:
            setattr(contact, name, values[name] or "")
    for name in _PLAIN_FIELDS:
        if name in given:
            setattr(contact, name, values[name] or None)
    if "phones" in given:
        contact.phones = clean.clean_phones(values["phones"] or [])
    if "country" in given:
        contact.country = clean.clean_country(values["country"])
    if "timezone" in given:
        contact.timezone = clean.clean_timezone(values["timezone"])
    if "custom" in given:
        contact.custom = clean.clean_custom(values["custom"] or {})
    if "tags" in given:
        contact.tags = clean.clean_tags(values["tags"] or [])
    if "organization_id" in given:
        org = values["organization_id"]
        ws = contact.workspace_id
        contact.organization_id = (
            _reference(session, codec, ws, "organization", org, "organization_id") if org else None
        )
    if "owner_id" in given:
        owner = values["owner_id"]
        ws = contact.workspace_id
        contact.owner_id = _reference(session, codec, ws, "user", owner, "owner_id") if owner else None
    if "consent" in given and values["consent"] and values["consent"] != contact.consent:
        contact.consent, contact.consent_at = values["consent"], utcnow()
    if "stage" in given and values["stage"] and values["stage"] != contact.stage:
        return str(values["stage"])
    return None


def create_contact(
    session: Session, codec: IdCodec, workspace_id: int, data: ContactCreate, why: str = "created"
) -> Contact:
    """Store a new contact; raises :class:`InvalidInput`/:class:`Conflict` naming the field at fault."""
    if not (data.first_name or data.last_name or data.emails):
        raise InvalidInput("first_name: a contact needs a name or an email address", field="first_name")
    contact = Contact(
        workspace_id=workspace_id, stage="lead", consent="unknown", phones=[], custom={}, tags=[]
    )
    session.add(contact)
    stage = _apply(session, codec, contact, data)
    if stage is not None:
        contact.stage = check_stage(stage)
    session.flush()
    _set_emails(session, contact, data.emails or [])
    session.add(stage_event(contact, None, contact.stage, why, utcnow()))
    engagement_of(session, workspace_id, contact.id, contact.stage)
    session.flush()
    regrade_contacts(session, workspace_id, [contact.id])
    return contact


def update_contact(
    session: Session,
    codec: IdCodec,
    workspace_id: int,
    contact_id: int,
    data: ContactUpdate,
    why: str,
    by_user_id: int | None = None,
) -> Contact:
    """Change the fields present in ``data``; a stage change is logged as a ``stage_changed`` event."""
    contact = get_contact(session, workspace_id, contact_id)
    stage = _apply(session, codec, contact, data)
    if "emails" in data.model_fields_set:
        _set_emails(session, contact, data.emails or [])
    if not (contact.first_name or contact.last_name or contact.emails):
        raise InvalidInput("emails: a contact needs a name or an email address", field="emails")
    contact.updated_at = utcnow()
    if stage is not None:
        move_stage(session, contact, stage, why, by_user_id=by_user_id)
    session.flush()
    regrade_contacts(session, workspace_id, [contact.id])
    return contact


def delete_contact(session: Session, workspace_id: int, contact_id: int) -> None:
    """Erase a contact and its events (a person's right to be forgotten outranks the log)."""
    contact = get_contact(session, workspace_id, contact_id)
    session.execute(delete(Event).where(Event.contact_id == contact.id))
    # Cap totals and fits have no foreign key to cascade along (see their models).
    session.execute(delete(EngagementCap).where(EngagementCap.contact_id == contact.id))
    session.execute(delete(Fit).where(Fit.contact_id == contact.id))
    session.delete(contact)
    session.flush()


def filtered_contacts(workspace_id: int, filters: ContactFilters) -> Select[Contact]:
    """Live (not merged) contacts matching ``filters``, unordered: the base of lists, counts, exports."""
    query = select(Contact).where(Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None))
    if filters.q:
        pattern = f"%{filters.q.strip().lower()}%"
        org_names = select(Organization.id).where(
            Organization.workspace_id == workspace_id, func.lower(Organization.name).like(pattern)
        )
        query = query.where(
            or_(
                func.lower(Contact.first_name + " " + Contact.last_name).like(pattern),
                func.lower(Contact.email).like(pattern),
                Contact.organization_id.in_(org_names),
            )
        )
    if filters.stage:
        query = query.where(Contact.stage == filters.stage)
    if filters.source:
        query = query.where(Contact.source == filters.source)
    if filters.organization_id is not None:
        query = query.where(Contact.organization_id == filters.organization_id)
    if filters.owner_id is not None:
        query = query.where(Contact.owner_id == filters.owner_id)
    if filters.email:
        holders = select(ContactEmail.contact_id).where(
            ContactEmail.workspace_id == workspace_id, ContactEmail.email == filters.email.strip().lower()
        )
        query = query.where(Contact.id.in_(holders))
    return query


def list_contacts(
    session: Session, workspace_id: int, filters: ContactFilters, cursor: str | None = None, limit: int = 50
) -> Page[Contact]:
    """One page of contacts, newest first."""
    query = newest_first(filtered_contacts(workspace_id, filters), Contact.id, cursor, limit)
    query = query.options(selectinload(Contact.emails), selectinload(Contact.organization))
    rows: Sequence[Contact] = session.scalars(query).all()
    return page_of(rows, limit, lambda contact: contact.id)


def count_contacts(session: Session, workspace_id: int, filters: ContactFilters) -> int:
    subquery = filtered_contacts(workspace_id, filters).with_only_columns(Contact.id).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def contact_values(session: Session, workspace_id: int, column: str) -> list[str]:
    """Distinct non-empty values of ``source`` or ``stage``, for filter drop-downs."""
    attribute = {"source": Contact.source, "stage": Contact.stage}[column]
    rows = session.scalars(
        select(attribute).where(Contact.workspace_id == workspace_id, attribute.is_not(None)).distinct()
    )
    return sorted(value for value in rows if value)
