"""JSON API for contacts and organizations under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from leadwell.contacts import organizations as orgs
from leadwell.contacts import service
from leadwell.contacts.schemas import (
    ContactCreate,
    ContactOut,
    ContactUpdate,
    OrganizationCreate,
    OrganizationOut,
    OrganizationRef,
    OrganizationUpdate,
)
from leadwell.db.models import Contact, Organization
from leadwell.errors import NotFound
from leadwell.ids import BadId, IdCodec
from leadwell.pagination import DEFAULT_LIMIT, MAX_LIMIT
from leadwell.web.deps import Api
from leadwell.web.idempotency import create_once
from leadwell.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["contacts"], responses=PROBLEM_RESPONSES)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None


class OrganizationPage(BaseModel):
    items: list[OrganizationOut]
    next_cursor: str | None


def path_id(codec: IdCodec, kind: str, public_id: str) -> int:
    """Decode an id from the URL; a malformed or foreign id is simply not found."""
    try:
        return codec.decode(kind, public_id)
    except BadId:
        raise NotFound(f"{kind}: no such {kind} in this workspace", field=kind) from None


def query_id(codec: IdCodec, kind: str, public_id: str | None, field: str) -> int | None:
    """Decode an id from a query filter; an unknown id matches nothing rather than erroring."""
    if public_id is None:
        return None
    try:
        return codec.decode(kind, public_id)
    except BadId:
        return -1


def contact_out(codec: IdCodec, contact: Contact) -> ContactOut:
    organization = contact.organization
    return ContactOut(
        id=codec.encode("contact", contact.id),
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        emails=[item.email for item in contact.emails],
        phones=list(contact.phones),
        title=contact.title,
        organization=OrganizationRef(id=codec.encode("organization", organization.id), name=organization.name)
        if organization
        else None,
        street=contact.street,
        city=contact.city,
        region=contact.region,
        postal_code=contact.postal_code,
        country=contact.country,
        timezone=contact.timezone,
        source=contact.source,
        consent=contact.consent,
        consent_at=contact.consent_at,
        stage=contact.stage,
        owner_id=codec.encode("user", contact.owner_id) if contact.owner_id else None,
        custom=dict(contact.custom),
        tags=list(contact.tags),
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def organization_out(codec: IdCodec, organization: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=codec.encode("organization", organization.id),
        name=organization.name,
        domain=organization.domain,
        employees=organization.employees,
        employees_min=organization.employees_min,
        employees_max=organization.employees_max,
        industry=organization.industry,
        country=organization.country,
        custom=dict(organization.custom),
        created_at=organization.created_at,
        updated_at=organization.updated_at,
    )


def _json(model: BaseModel) -> Any:
    return jsonable_encoder(model)


@router.get("/contacts", response_model=ContactPage, summary="List contacts, newest first")
def list_contacts(
    api: Api,
    q: Annotated[str | None, Query(max_length=200, description="Search name, email, organization.")] = None,
    stage: str | None = None,
    source: str | None = None,
    organization_id: str | None = None,
    email: str | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ContactPage:
    filters = service.ContactFilters(
        q=q,
        stage=stage,
        source=source,
        email=email,
        organization_id=query_id(api.codec, "organization", organization_id, "organization_id"),
    )
    with api.db.session() as session:
        page = service.list_contacts(session, api.workspace_id, filters, cursor, limit)
        return ContactPage(
            items=[contact_out(api.codec, c) for c in page.items], next_cursor=page.next_cursor
        )


@router.post("/contacts", status_code=201, response_model=ContactOut, summary="Create a contact")
def create_contact(
    request: Request, api: Api, body: ContactCreate, idempotency_key: IdempotencyKey = None
) -> Response:
    def create(session: Any) -> tuple[int, Any]:
        contact = service.create_contact(
            session, api.codec, api.workspace_id, body, why="created through the API"
        )
        session.refresh(contact)
        return 201, _json(contact_out(api.codec, contact))

    return create_once(request, api, idempotency_key, body, create)


@router.get("/contacts/{contact_id}", response_model=ContactOut, summary="Get a contact")
def get_contact(api: Api, contact_id: str) -> ContactOut:
    with api.db.session() as session:
        contact = service.get_contact(session, api.workspace_id, path_id(api.codec, "contact", contact_id))
        return contact_out(api.codec, contact)


@router.patch("/contacts/{contact_id}", response_model=ContactOut, summary="Change some fields of a contact")
def update_contact(api: Api, contact_id: str, body: ContactUpdate) -> ContactOut:
    number = path_id(api.codec, "contact", contact_id)
    with api.db.session() as session:
        contact = service.update_contact(
            session, api.codec, api.workspace_id, number, body, "changed through the API"
        )
        session.refresh(contact)
        return contact_out(api.codec, contact)


@router.delete("/contacts/{contact_id}", status_code=204, summary="Erase a contact and its events")
def delete_contact(api: Api, contact_id: str) -> Response:
    number = path_id(api.codec, "contact", contact_id)
    with api.db.session() as session:
        service.delete_contact(session, api.workspace_id, number)
    return Response(status_code=204)


@router.get("/organizations", response_model=OrganizationPage, summary="List organizations")
def list_organizations(
    api: Api,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> OrganizationPage:
    with api.db.session() as session:
        page = orgs.list_organizations(session, api.workspace_id, q, cursor, limit)
        items = [organization_out(api.codec, item) for item in page.items]
        return OrganizationPage(items=items, next_cursor=page.next_cursor)


@router.post(
    "/organizations", status_code=201, response_model=OrganizationOut, summary="Create an organization"
)
def create_organization(
    request: Request, api: Api, body: OrganizationCreate, idempotency_key: IdempotencyKey = None
) -> Response:
    def create(session: Any) -> tuple[int, Any]:
        organization = orgs.create_organization(session, api.workspace_id, body)
        return 201, _json(organization_out(api.codec, organization))

    return create_once(request, api, idempotency_key, body, create)


@router.get("/organizations/{organization_id}", response_model=OrganizationOut, summary="Get an organization")
def get_organization(api: Api, organization_id: str) -> OrganizationOut:
    number = path_id(api.codec, "organization", organization_id)
    with api.db.session() as session:
        return organization_out(api.codec, orgs.get_organization(session, api.workspace_id, number))


@router.patch(
    "/organizations/{organization_id}", response_model=OrganizationOut, summary="Change an organization"
)
def update_organization(api: Api, organization_id: str, body: OrganizationUpdate) -> OrganizationOut:
    number = path_id(api.codec, "organization", organization_id)
    with api.db.session() as session:
        return organization_out(api.codec, orgs.update_organization(session, api.workspace_id, number, body))


@router.delete("/organizations/{organization_id}", status_code=204, summary="Delete an organization")
def delete_organization(api: Api, organization_id: str) -> Response:
    number = path_id(api.codec, "organization", organization_id)
    with api.db.session() as session:
        orgs.delete_organization(session, api.workspace_id, number)
    return Response(status_code=204)
