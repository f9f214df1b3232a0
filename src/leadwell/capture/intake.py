"""Storing an accepted submission, all in the caller's transaction.

The contact is found by any of its addresses or created; the form's mapped fields update it and
every other field lands in its custom fields (nothing a prospect typed is dropped). The submission
row keeps the raw context (UTM, referrer, page, address, browser); a ticked consent box leaves a
:class:`Consent` with the exact words shown; the browser's visitor is tied to the contact; and a
``form_submitted`` event (plus ``webinar_registered`` for a webinar's form) moves the score.
The render token's nonce makes all of it happen once per rendered form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.capture.abuse import RenderToken
from leadwell.capture.submission import Context, FieldSpec, Value, custom_key
from leadwell.capture.visitors import identify, plausible_key, visitor_for
from leadwell.contacts.fields import clean_custom
from leadwell.contacts.importing.countries import country_code
from leadwell.contacts.importing.vocabulary import is_free_mail, read_website
from leadwell.contacts.schemas import ContactCreate, ContactUpdate
from leadwell.contacts.service import create_contact, get_contact, update_contact
from leadwell.contacts.values import split_full_name, tidy_name
from leadwell.db.models import (
    Asset,
    Consent,
    ContactEmail,
    Event,
    Form,
    FormSubmission,
    LandingPage,
    Organization,
    Visitor,
)
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.ids import IdCodec
from leadwell.outreach.enroll import enroll_from_form
from leadwell.scoring.engine import score_new_events

_PLAIN = ("title", "city", "region", "street", "postal_code")
Fields = TypeVar("Fields", ContactCreate, ContactUpdate)


@dataclass(frozen=True)
class Intake:
    """An accepted post: the form, where it was shown, what was sent and by whom."""

    form: Form
    page: LandingPage | None
    token: RenderToken
    specs: list[FieldSpec]
    values: dict[str, Value]
    consented: bool
    context: Context
    ip: str | None
    user_agent: str | None
    now: datetime


@dataclass(frozen=True)
class Stored:
    """The stored submission (``created`` is False when the nonce had been stored before)."""

    submission_id: int
    contact_id: int
    visitor_key: str | None
    created: bool


def _person(specs: list[FieldSpec], values: dict[str, Value]) -> tuple[dict[str, Any], dict[str, Value]]:
    """The mapped contact fields, and the custom fields (mapped ``custom.x`` and unmapped alike)."""
    person: dict[str, Any] = {}
    custom: dict[str, Value] = {}
    for spec in specs:
        value = values.get(spec.key)
        target = spec.maps_to or ""
        if target.startswith("custom."):
            custom[custom_key(target.removeprefix("custom."))] = value
        elif target in ("email", "first_name", "last_name", "phone", "country", *_PLAIN):
            if value is not None:
                person.setdefault(target, value)
        elif target in ("organization", "company"):
            if value is not None:
                person.setdefault("organization", value)
        elif target == "name" and isinstance(value, str):
            first, last = split_full_name(tidy_name(value))
            person.setdefault("first_name", first[:120])
            person.setdefault("last_name", last[:120])
        else:
            if target == "website" and isinstance(value, str):
                person.setdefault("website", value)  # the organization's domain; kept below too
            if value is not None and value is not False:
                custom[custom_key(spec.key)] = value
    return person, {key: value for key, value in custom.items() if value is not None}


def _company_domain(website: str | None, email: str | None) -> str | None:
    """The website's domain, else the email's when it is not a public mail service's (as imports do)."""
    if website:
        domain, _problem = read_website(website)
        if domain:
            return domain
    domain = email.rpartition("@")[2] if email else None
    return None if domain is None or is_free_mail(domain) else domain


def _organization_id(session: Session, workspace_id: int, name: str | None, domain: str | None) -> int | None:
    """Match or create the organization as imports do: by domain, else by name whatever its case
    (the oldest of namesakes)."""
    if not name and not domain:
        return None
    scope = Organization.workspace_id == workspace_id
    if domain:
        found = session.scalar(select(Organization.id).where(scope, Organization.domain == domain))
    else:
        query = select(Organization.id).where(scope, func.lower(Organization.name) == (name or "").lower())
        found = session.scalar(query.order_by(Organization.id).limit(1))
    if found is not None:
        return found
    organization = Organization(workspace_id=workspace_id, name=name or domain, domain=domain, custom={})
    session.add(organization)
    session.flush()
    return organization.id


def _contact_id(session: Session, codec: IdCodec, intake: Intake) -> int:
    """Update the contact holding the form's email address, or create one."""
    form = intake.form
    person, custom = _person(intake.specs, intake.values)
    email = person.get("email")
    holder = None
    if email:
        holder = session.scalar(
            select(ContactEmail.contact_id).where(
                ContactEmail.workspace_id == form.workspace_id, ContactEmail.email == email
            )
        )
    data: dict[str, Any] = {key: person[key] for key in ("first_name", "last_name", *_PLAIN) if key in person}
    if "country" in person:
        data["country"] = country_code(str(person["country"]))
    company, website = person.get("organization"), person.get("website")
    if company or website or (holder is None and email):
        domain = _company_domain(website, email)
        org_id = _organization_id(session, form.workspace_id, company, domain)
        if org_id is not None:
            data["organization_id"] = codec.encode("organization", org_id)
    phone = person.get("phone")
    if holder is None:
        data.update(
            emails=[email] if email else [],
            phones=[phone] if phone else [],
            custom=clean_custom(custom),
            source=form.source or f"form:{form.slug}"[:120],
        )
        if not (data.get("first_name") or data.get("last_name") or email):
            raise InvalidInput("this form asks for neither a name nor an email address", field="form")
        created = create_contact(session, codec, form.workspace_id, _checked(ContactCreate, data), why="form")
        return created.id
    contact = get_contact(session, form.workspace_id, holder)
    if phone and phone not in contact.phones:
        data["phones"] = [phone, *contact.phones]
    if custom:
        data["custom"] = clean_custom({**contact.custom, **custom})
    why = f"form {form.slug}"
    changes = _checked(ContactUpdate, data)
    return update_contact(session, codec, form.workspace_id, holder, changes, why).id


def _checked(model: type[Fields], data: dict[str, Any]) -> Fields:
    """``data`` as a contact model; a value the model refuses is reported on its field, never a crash."""
    try:
        return model(**data)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "form"
        raise InvalidInput(f"{name}: {first['msg']}", field=name) from None


def stored_submission(session: Session, workspace_id: int, nonce: str) -> Stored | None:
    """The submission already stored for this rendered form, if any."""
    row = session.execute(
        select(FormSubmission.id, FormSubmission.contact_id, Visitor.key)
        .outerjoin(Visitor, Visitor.id == FormSubmission.visitor_id)
        .where(FormSubmission.workspace_id == workspace_id, FormSubmission.nonce == nonce)
    ).first()
    return Stored(row[0], row[1], row[2], created=False) if row is not None else None


def store_submission(session: Session, codec: IdCodec, intake: Intake) -> Stored:
    """Store ``intake`` (see the module's description); a stored nonce stores nothing again."""
    form, context, now = intake.form, intake.context, intake.now
    earlier = stored_submission(session, form.workspace_id, intake.token.nonce)
    if earlier is not None:
        return earlier
    contact_id = _contact_id(session, codec, intake)
    # A key from the tracking script may be new here (its page views still wait in the inbox): the
    # visitor is made under that key first, so those views find their contact when processed.
    known_key = context.visitor_key
    if plausible_key(known_key):
        known_key = visitor_for(session, form.workspace_id, known_key, now).key
    visitor_key = identify(session, form.workspace_id, known_key, contact_id, now)
    visitor_id = session.scalar(select(Visitor.id).where(Visitor.key == visitor_key))
    submission = FormSubmission(
        workspace_id=form.workspace_id,
        form_id=form.id,
        contact_id=contact_id,
        landing_page_id=intake.page.id if intake.page else None,
        visitor_id=visitor_id,
        nonce=intake.token.nonce,
        fields=dict(intake.values),
        utm=context.utm,
        referrer=context.referrer,
        page_url=context.page_url,
        ip=intake.ip,
        user_agent=(intake.user_agent or "")[:400] or None,
        submitted_at=now,
    )
    session.add(submission)
    session.flush()
    if intake.consented and form.consent_text:
        _record_consent(session, intake, contact_id, submission.id)
    _record_events(session, intake, contact_id, visitor_id)
    enroll_from_form(session, form.workspace_id, form.id, form.asset_id, contact_id, now)
    return Stored(submission.id, contact_id, visitor_key, created=True)


def _record_consent(session: Session, intake: Intake, contact_id: int, submission_id: int) -> None:
    form = intake.form
    session.add(
        Consent(
            workspace_id=form.workspace_id,
            contact_id=contact_id,
            state="opted_in",
            text=form.consent_text or "",
            ip=intake.ip,
            form_id=form.id,
            submission_id=submission_id,
            given_at=intake.now,
        )
    )
    contact = get_contact(session, form.workspace_id, contact_id)
    contact.consent, contact.consent_at = "opted_in", intake.now


def _record_events(session: Session, intake: Intake, contact_id: int, visitor_id: int | None) -> None:
    """``form_submitted`` (and ``webinar_registered`` for an event's form), scored at once."""
    form = intake.form
    asset = session.get(Asset, form.asset_id) if form.asset_id is not None else None
    properties: dict[str, Any] = {"form": form.slug, "fields": dict(intake.values)}
    if asset is not None:
        properties["asset"] = asset.slug
    if intake.page is not None:
        properties["page"] = intake.page.slug
    common: dict[str, Any] = {
        "workspace_id": form.workspace_id,
        "contact_id": contact_id,
        "visitor_id": visitor_id,
        "occurred_at": intake.now,
        "received_at": intake.now,
        "source": "form",
        "campaign": intake.context.utm.get("utm_campaign"),
    }
    nonce = intake.token.nonce
    events = [
        Event(
            type="form_submitted",
            properties=validate_properties("form_submitted", properties),
            idempotency_key=f"form:{nonce}",
            **common,
        )
    ]
    if asset is not None and asset.kind in ("webinar", "seminar"):
        registered = validate_properties("webinar_registered", {"webinar": asset.slug})
        events.append(
            Event(
                type="webinar_registered",
                properties=registered,
                idempotency_key=f"form:{nonce}:webinar",
                **common,
            )
        )
    session.add_all(events)
    score_new_events(session, form.workspace_id, events)
