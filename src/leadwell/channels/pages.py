"""The Channels pages: ``/channels`` (channels with their source keys and campaigns, the sources
nobody mapped yet with a "map to" choice, adding channels, keys and campaigns) and
``/channels/spend`` (spend in a range with totals per channel and currency, typed-in spend, an
export upload with its summary, deleting a row); and ``POST /contacts/{id}/touches``, tagging a
person with the channel that brought them (the form is ``channels/_tag_contact.html``).

Everyone in the workspace reads these pages; owners and marketers change them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import Posted, PostedForm
from leadwell.channels import service
from leadwell.channels.catalog import ensure_channels
from leadwell.channels.spend_pages import router as spend_router
from leadwell.channels.web_common import REFUSAL, done, posted_int
from leadwell.db.models import CHANNEL_KINDS
from leadwell.errors import LeadwellError, NotFound
from leadwell.ids import BadId
from leadwell.web.deps import Page, PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "channel": "Channel added.",
    "deleted": "Channel deleted.",
    "mapped": "Source key mapped.",
    "unmapped": "Source key removed.",
    "campaign": "Campaign added.",
}


def _channels_page(request: Request, scope: PageScope, status: int = 200, **context: Any) -> HTMLResponse:
    with scope.db.session() as session:
        ensure_channels(session, scope.workspace_id)
        channels = service.list_channels(session, scope.workspace_id)
        unmapped = service.unmapped_sources(session, scope.workspace_id, 50)
        session.expunge_all()
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(
        request,
        "channels/list.html",
        status_code=status,
        scope=scope,
        channels=channels,
        unmapped=unmapped,
        kinds=CHANNEL_KINDS,
        editor=scope.can_edit,
        notice=notice,
        **context,
    )


@router.get("/channels", name="channels_page")
def channels_page(request: Request, scope: Page) -> HTMLResponse:
    """Channels, their source keys and campaigns; sources waiting for a channel."""
    return _channels_page(request, scope)


Work = Callable[[Session], object]


def _change(request: Request, scope: PageScope, posted: Posted, work: Work, outcome: str) -> Response:
    """Run ``work`` for an editor; back to /channels saying ``outcome``, or the page with the refusal."""
    scope.require_editor(REFUSAL)
    try:
        with scope.db.session() as session:
            ensure_channels(session, scope.workspace_id)
            work(session)
    except NotFound as error:
        raise HTTPException(404, error.detail) from None
    except LeadwellError as error:
        return _channels_page(request, scope, 422, error=error.detail, error_field=error.field, posted=posted)
    return done(request, "channels_page", outcome)


@router.post("/channels", name="channel_create", response_model=None)
def channel_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """A new channel, with source keys given comma-separated."""
    keys = tuple(key for key in posted.get("sources").split(",") if key.strip())

    def work(session: Session) -> object:
        kind = posted.get("kind", "other")
        return service.create_channel(session, scope.workspace_id, posted.get("name"), kind, keys)

    return _change(request, scope, posted, work, "channel")


@router.post("/channels/sources", name="channel_source_add", response_model=None)
def channel_source_add(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Map a source key (typed, or one of the unmapped) to a channel."""

    def work(session: Session) -> object:
        channel_id = posted_int(posted, "channel_id")
        return service.add_source(session, scope.workspace_id, channel_id, posted.get("key"))

    return _change(request, scope, posted, work, "mapped")


@router.post("/channels/sources/remove", name="channel_source_remove", response_model=None)
def channel_source_remove(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Unmap a source key."""

    def work(session: Session) -> object:
        service.remove_source(session, scope.workspace_id, posted.get("key"))
        return None

    return _change(request, scope, posted, work, "unmapped")


@router.post("/channels/campaigns", name="campaign_create", response_model=None)
def campaign_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """A campaign of a channel; its key defaults to the lower-cased name."""

    def work(session: Session) -> object:
        channel_id, key = posted_int(posted, "channel_id"), posted.get("key") or None
        return service.create_campaign(session, scope.workspace_id, channel_id, posted.get("name"), key)

    return _change(request, scope, posted, work, "campaign")


@router.post("/channels/{channel_id}/delete", name="channel_delete", response_model=None)
def channel_delete(request: Request, scope: Page, posted: PostedForm, channel_id: int) -> Response:
    """Delete a channel with its keys, campaigns, spend and manual touches."""

    def work(session: Session) -> object:
        service.delete_channel(session, scope.workspace_id, channel_id)
        return None

    return _change(request, scope, posted, work, "deleted")


@router.post("/contacts/{contact_id}/touches", name="contact_touch_add", response_model=None)
def contact_touch_add(request: Request, scope: Page, posted: PostedForm, contact_id: str) -> Response:
    """Tag the person with the channel (and campaign) that brought them, with a note; back to
    ``next`` (a path of this site) or the contact's page."""
    scope.require_editor(REFUSAL)
    try:
        number = scope.codec.decode("contact", contact_id)
    except BadId:
        raise HTTPException(404, "No such contact in this workspace.") from None
    campaign = posted.get("campaign_id")
    try:
        with scope.db.session() as session:
            service.tag_contact(
                session,
                scope.workspace_id,
                number,
                posted_int(posted, "channel_id"),
                int(campaign) if campaign.isdigit() else None,
                posted.get("note"),
                user_id=scope.user.id,
            )
    except NotFound as error:
        raise HTTPException(404, error.detail) from None
    except LeadwellError as error:
        raise HTTPException(422, error.detail) from None
    target = posted.get("next")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = request.app.url_path_for("contact_detail", contact_id=contact_id)
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}done=tagged", status_code=303)


router.include_router(spend_router)
