"""What a call found out about a lead ("learned" values), written to the contact and its organization.

Keys are the field paths the ideal client profiles test (``organization.employees``,
``custom.roi_months``, ``contact.title``; see :mod:`leadwell.icp.fields`), so the queue's "ask"
list maps one to one onto inputs. Values are written through the contacts and organizations
services, which grade the people concerned again: a fit that changes writes its ``fit_changed``
event and moves the lead's grade in the queue. Every value is checked before anything is written;
errors name ``learned.<path>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from leadwell.contacts import fields as clean
from leadwell.contacts.organizations import create_organization, update_organization
from leadwell.contacts.schemas import ContactUpdate, OrganizationCreate, OrganizationUpdate
from leadwell.contacts.service import update_contact
from leadwell.contacts.values import parse_employees
from leadwell.db.models import Contact
from leadwell.errors import InvalidInput, LeadwellError
from leadwell.icp.fields import FieldRef, Kind, resolve
from leadwell.ids import IdCodec

CONTACT_FIELDS = (
    "first_name", "last_name", "title", "street", "city", "region", "postal_code", "country", "timezone",
    "source",
)  # fmt: skip
ORGANIZATION_FIELDS = ("name", "domain", "industry", "country")
MAX_VALUES = 50
MAX_LENGTH = 300
_WHOLE = re.compile(r"-?\d{1,15}")
WHY = "learned on a call"


@dataclass
class Learned:
    """Checked values, grouped by where they go; ``paths`` in the order given."""

    contact: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    organization: dict[str, Any] = field(default_factory=dict)
    organization_custom: dict[str, Any] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # service field name -> learned.<path>

    def __bool__(self) -> bool:
        return bool(self.paths)


def custom_value(text: str) -> int | str:
    """A whole number stays a number (criteria compare it as one); anything else is kept as text."""
    return int(text) if _WHOLE.fullmatch(text) else text


def check_learned(learned: Mapping[str, str] | None) -> Learned:
    """Check every value (blank ones are skipped: a form sends every input) without writing."""
    found = Learned()
    items = [(str(path), value) for path, value in (learned or {}).items()]
    if len(items) > MAX_VALUES:
        raise InvalidInput(f"learned: at most {MAX_VALUES} values", field="learned")
    for path, value in items:
        where = f"learned.{path[:80]}"
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: a value is text", field=where)
        text = value.strip()
        if not text:
            continue
        if len(text) > MAX_LENGTH:
            raise InvalidInput(f"{where}: at most {MAX_LENGTH} characters", field=where)
        ref = resolve(path, where)
        if ref.table == "contact":
            _contact_value(found, ref, text, where)
        else:
            _organization_value(found, ref, text, where)
        found.paths.append(ref.path)
    return found


def _contact_value(found: Learned, ref: FieldRef, text: str, where: str) -> None:
    if ref.kind is Kind.CUSTOM:
        found.custom[ref.column] = custom_value(text)
        found.where["custom"] = where
    elif ref.kind is Kind.TAGS:
        found.tags.extend(clean.clean_tags([tag for tag in text.split(",") if tag.strip()], where))
        found.where["tags"] = where
    elif ref.column in CONTACT_FIELDS:
        if ref.column == "country":
            text = clean.clean_country(text, where) or ""
        elif ref.column == "timezone":
            text = clean.clean_timezone(text, where) or ""
        found.contact[ref.column] = text
        found.where[ref.column] = where
    else:
        raise InvalidInput(f"{where}: {ref.path} is not set from a call", field=where)


def _organization_value(found: Learned, ref: FieldRef, text: str, where: str) -> None:
    if ref.kind is Kind.CUSTOM:
        found.organization_custom[ref.column] = custom_value(text)
        found.where["organization.custom"] = where
        return
    if ref.kind is Kind.RANGE:
        exact, low, high = parse_employees(text, where)
        found.organization.update(employees=exact, employees_min=low, employees_max=high)
        for name in ("employees", "employees_min", "employees_max"):
            found.where[f"organization.{name}"] = where
        return
    if ref.column == "domain":
        text = clean.clean_domain(text, where) or ""
    elif ref.column == "country":
        text = clean.clean_country(text, where) or ""
    found.organization[ref.column] = text
    found.where[f"organization.{ref.column}"] = where


def _model(model: type[Any], data: dict[str, Any], found: Learned, prefix: str) -> Any:
    """``data`` as a service's input model; a refused value names the learned path it came from."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        where = found.where.get(f"{prefix}{name}", "learned")
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


def _renamed(error: LeadwellError, found: Learned, prefix: str) -> LeadwellError:
    where = found.where.get(f"{prefix}{error.field}", error.field or "learned")
    return type(error)(f"{where}: {error.detail.split(': ', 1)[-1]}", field=where)


def write_learned(
    session: Session,
    codec: IdCodec,
    contact: Contact,
    found: Learned,
    by_user_id: int | None = None,
) -> None:
    """Write checked values: the organization's first (creating one when the contact has none and
    its name was learned), then the contact's. Both services grade the people concerned again."""
    changes: dict[str, Any] = dict(found.contact)
    if found.custom:
        changes["custom"] = {**(contact.custom or {}), **found.custom}
    if found.tags:
        changes["tags"] = [*(contact.tags or []), *found.tags]
    if found.organization or found.organization_custom:
        organization_id = _write_organization(session, contact, found)
        if contact.organization_id != organization_id:
            changes["organization_id"] = codec.encode("organization", organization_id)
    if changes:
        data = _model(ContactUpdate, changes, found, "")
        try:
            update_contact(session, codec, contact.workspace_id, contact.id, data, WHY, by_user_id)
        except LeadwellError as error:
            if (error.field or "").startswith("learned"):
                raise
            raise _renamed(error, found, "") from None


def _write_organization(session: Session, contact: Contact, found: Learned) -> int:
    values: dict[str, Any] = dict(found.organization)
    workspace_id = contact.workspace_id
    try:
        if contact.organization_id is None:
            if not values.get("name"):
                where = next(iter(found.where[k] for k in found.where if k.startswith("organization")))
                raise InvalidInput(
                    f"{where}: the contact has no organization; add learned.organization.name too",
                    field=where,
                )
            if found.organization_custom:
                values["custom"] = dict(found.organization_custom)
            data = _model(OrganizationCreate, values, found, "organization.")
            return create_organization(session, workspace_id, data).id
        organization = contact.organization
        if found.organization_custom and organization is not None:
            values["custom"] = {**(organization.custom or {}), **found.organization_custom}
        data = _model(OrganizationUpdate, values, found, "organization.")
        return update_organization(session, workspace_id, contact.organization_id, data).id
    except LeadwellError as error:
        if (error.field or "").startswith("learned"):
            raise
        raise _renamed(error, found, "organization.") from None
