"""JSON API for deals under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from leadwell.contacts.api import path_id, query_id
from leadwell.db.models import Deal
from leadwell.ids import IdCodec
from leadwell.pagination import DEFAULT_LIMIT, MAX_LIMIT
from leadwell.sales import deals
from leadwell.sales.deals import DealCreate, DealOut, DealUpdate
from leadwell.web.deps import Api
from leadwell.web.idempotency import create_once
from leadwell.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["deals"], responses=PROBLEM_RESPONSES)


class DealPage(BaseModel):
    items: list[DealOut]
    next_cursor: str | None


def deal_out(codec: IdCodec, deal: Deal) -> DealOut:
    return DealOut(
        id=codec.encode("deal", deal.id),
        name=deal.name,
        contact_id=codec.encode("contact", deal.contact_id) if deal.contact_id else None,
        organization_id=codec.encode("organization", deal.organization_id) if deal.organization_id else None,
        value=deal.value,
        currency=deal.currency,
        stage=deal.stage,
        status=deal.status,
        reason=deal.reason,
        expected_close_on=deal.expected_close_on,
        owner_id=codec.encode("user", deal.owner_id) if deal.owner_id else None,
        closed_at=deal.closed_at,
        stage_changed_at=deal.stage_changed_at,
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )


@router.get("/deals", response_model=DealPage, summary="List deals, newest first")
def list_deals(
    api: Api,
    status: Literal["open", "won", "lost"] | None = None,
    contact_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DealPage:
    contact = query_id(api.codec, "contact", contact_id, "contact_id")
    with api.db.session() as session:
        page = deals.list_deals(session, api.workspace_id, status, contact, cursor, limit)
        return DealPage(
            items=[deal_out(api.codec, deal) for deal in page.items], next_cursor=page.next_cursor
        )


@router.post("/deals", status_code=201, response_model=DealOut, summary="Create a deal")
def create_deal(
    request: Request,
    api: Api,
    body: DealCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Response:
    def create(session: Any) -> tuple[int, Any]:
        deal = deals.create_deal(session, api.codec, api.workspace_id, body)
        session.refresh(deal)
        return 201, jsonable_encoder(deal_out(api.codec, deal))

    return create_once(request, api, idempotency_key, body, create)


@router.get("/deals/{deal_id}", response_model=DealOut, summary="Get a deal")
def get_deal(api: Api, deal_id: str) -> DealOut:
    number = path_id(api.codec, "deal", deal_id)
    with api.db.session() as session:
        return deal_out(api.codec, deals.get_deal(session, api.workspace_id, number))


@router.patch(
    "/deals/{deal_id}",
    response_model=DealOut,
    summary="Change a deal; won/lost logs an event and moves the contact's stage",
)
def update_deal(api: Api, deal_id: str, body: DealUpdate) -> DealOut:
    number = path_id(api.codec, "deal", deal_id)
    with api.db.session() as session:
        deal = deals.update_deal(session, api.codec, api.workspace_id, number, body)
        session.refresh(deal)
        return deal_out(api.codec, deal)


@router.delete("/deals/{deal_id}", status_code=204, summary="Delete a deal")
def delete_deal(api: Api, deal_id: str) -> Response:
    number = path_id(api.codec, "deal", deal_id)
    with api.db.session() as session:
        deals.delete_deal(session, api.workspace_id, number)
    return Response(status_code=204)
