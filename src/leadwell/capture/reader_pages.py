"""Delivery pages at ``/r/{token}``: the hosted PDF reader, the EPUB download page, the video player
and the webinar/seminar page, with the file itself and a calendar entry.

The token is a signed delivery token (``{"w", "c", "a"}``): it names the contact without exposing
ids, and anyone holding it sees the asset. The first open records ``asset_downloaded`` once per
contact and asset (its idempotency key makes every later open store nothing). Pages carry a strict
Content-Security-Policy: no inline script, the token and URLs travel in ``data-`` attributes.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from leadwell.capture.beacons import deliver_payload
from leadwell.capture.calendar import event_ics
from leadwell.capture.reader_files import file_response
from leadwell.capture.reading import OnceEvent, live_contact, record_once
from leadwell.capture.tokens import BadToken, TokenSigner
from leadwell.db.models import Asset, AssetFile
from leadwell.db.types import utcnow
from leadwell.scoring.engine import apply_events
from leadwell.web.deps import App, get_app
from leadwell.web.ratelimit import RateLimiter
from leadwell.web.templating import render

# Module scripts must be served as JavaScript; not every system's MIME table knows ``.mjs``.
mimetypes.add_type("text/javascript", ".mjs")

router = APIRouter(include_in_schema=False)
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".webm", ".ogv", ".ogg", ".mov")
# A DNS name or IPv4 address: all a media-src source may name here.
HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; img-src 'self' data: blob:; "
    "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
BAD_LINK = (
    "This link is not valid. Check that you opened the whole link from your email or the page that "
    "gave it to you, or ask the sender for a new one."
)
TOO_MANY = "Too many requests from your network in the last minute. Please wait a minute and try again."
TITLES = {400: "This link does not work", 404: "No longer available", 429: "Please wait a moment"}
# Requests per client address per minute across the delivery pages: far above what a reader, a
# player seeking through a video or a calendar app needs, well below a scraper's pace.
REQUESTS_PER_MINUTE = 120
GONE = "This is no longer available. The sender may have withdrawn it; ask them for a current link."


class Unavailable(Exception):
    """A delivery link that cannot be served: ``status`` 400 (not a valid link), 404 (gone) or 429
    (too many requests from one address)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: whose it is and what it delivers."""

    token: str
    workspace_id: int
    contact_id: int
    asset: Asset
    has_file: bool


def delivery_url(
    signer: TokenSigner, base_url: str, workspace_id: int, contact_id: int, asset_id: int
) -> str:
    """The personal link that delivers asset ``asset_id`` to contact ``contact_id``."""
    token = signer.sign("deliver", {"w": workspace_id, "c": contact_id, "a": asset_id})
    return f"{base_url.rstrip('/')}/r/{token}"


def open_delivery(app: App, token: str, record: bool = True) -> Delivery:
    """Verify ``token`` and load what it delivers; the first open records the download.

    Raises :class:`Unavailable` for a forged, altered or foreign token (400) and for an asset that
    is gone or archived, or a contact that was deleted (404).
    """
    try:
        payload = deliver_payload(app.signer, token)
    except BadToken:
        raise Unavailable(400, BAD_LINK) from None
    workspace_id = payload["w"]
    now = utcnow()
    with app.db.session() as session:
        asset = session.scalar(
            select(Asset).where(Asset.id == payload["a"], Asset.workspace_id == workspace_id)
        )
        contact_id = live_contact(session, workspace_id, payload["c"])
        if asset is None or asset.archived_at is not None or contact_id is None:
            raise Unavailable(404, GONE)
        has_file = (
            session.scalar(select(AssetFile.asset_id).where(AssetFile.asset_id == asset.id)) is not None
        )
        if record:
            key = f"download:{asset.id}:{contact_id}"
            event = OnceEvent(workspace_id, contact_id, "asset_downloaded", {"asset": asset.slug}, key, now)
            stored = record_once(session, event, now)
            if stored is not None:
                apply_events(session, workspace_id, [stored], now)
    return Delivery(token, workspace_id, contact_id, asset, has_file)


def _throttled(request: Request) -> bool:
    """Count this request against its address; True when the address is over the limit."""
    limiter: RateLimiter | None = getattr(request.app.state, "reader_limiter", None)
    if limiter is None:
        limiter = request.app.state.reader_limiter = RateLimiter(REQUESTS_PER_MINUTE)
    address = request.client.host if request.client else "unknown"
    return not limiter.hit(address)


def _start(request: Request, token: str, record: bool = True) -> Delivery:
    """The delivery behind ``token`` for this request (rate-limited; see :func:`open_delivery`)."""
    if _throttled(request):
        raise Unavailable(429, TOO_MANY)
    return open_delivery(get_app(request), token, record)


def _protect(response: Response, media_origin: str | None = None) -> Response:
    """Headers every delivery page carries: the CSP, no sniffing, no referrer (the URL is personal)."""
    policy = CSP + (f"; media-src 'self' {media_origin}" if media_origin else "")
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _unavailable(request: Request, problem: Unavailable) -> Response:
    title = TITLES.get(problem.status, "No longer available")
    page = render(
        request, "reader/unavailable.html", status_code=problem.status, title=title, message=problem.message
    )
    if problem.status == 429:
        page.headers["Retry-After"] = "60"
    return _protect(page)


def _web_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL (never javascript: or data:)."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.hostname else None


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` for the CSP's media-src; None when the host is not a
    plain DNS name or IPv4 address (nothing may be smuggled into the policy)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not HOST.fullmatch(host):
        return None
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None
    return f"{parts.scheme}://{host}{port}"


@router.get("/r/{token}", name="reader")
def reader(request: Request, token: str) -> Response:
    """The page that delivers the asset: reader, download page, player or event details."""
    try:
        delivery = _start(request, token)
    except Unavailable as problem:
        return _unavailable(request, problem)
    asset = delivery.asset
    file_url = str(request.url_for("reader_file", token=token).path)
    context: dict[str, Any] = {"asset": asset, "file_url": file_url, "title": asset.title}
    if asset.kind == "pdf" and delivery.has_file:
        context["beacon_url"] = f"/t/r/{token}"
        return _protect(render(request, "reader/pdf.html", **context))
    if asset.kind == "video":
        return _video_page(request, delivery, context)
    if asset.kind in ("webinar", "seminar"):
        context["ics_url"] = str(request.url_for("reader_ics", token=token).path)
        context["location_url"] = _web_url(asset.location)
        return _protect(render(request, "reader/event.html", **context))
    context["has_file"] = delivery.has_file
    return _protect(render(request, "reader/download.html", **context))


def _video_page(request: Request, delivery: Delivery, context: dict[str, Any]) -> Response:
    """The player for an uploaded file or a video file's URL; a plain link for any other page."""
    asset = delivery.asset
    external = _web_url(asset.video_url)
    origin = _origin(external) if external else None
    playable = origin is not None and urlsplit(external or "").path.lower().endswith(VIDEO_EXTENSIONS)
    source = context["file_url"] if delivery.has_file else (external if playable else None)
    context.update(source=source, external=external, beacon_url=f"/t/v/{delivery.token}")
    return _protect(render(request, "reader/video.html", **context), origin if source == external else None)


@router.get("/r/{token}/file", name="reader_file")
def reader_file(request: Request, token: str, download: Annotated[str, Query()] = "") -> Response:
    """The asset's bytes: inline for the reader (``?download=1``: as an attachment). Counts as the
    download too. Honours a single byte range, so a video can seek."""
    if download not in ("", "0", "1"):
        return _unavailable(request, Unavailable(400, "download: use 1 for a download, or leave it out."))
    try:
        delivery = _start(request, token)
    except Unavailable as problem:
        return _unavailable(request, problem)
    with get_app(request).db.session() as session:
        stored = session.get(AssetFile, delivery.asset.id)
        content = stored.content if stored is not None else None
    if content is None:
        return _unavailable(request, Unavailable(404, "This has no file to download."))
    return file_response(request, delivery.asset, content, attachment=download == "1")


@router.get("/r/{token}/event.ics", name="reader_ics")
def reader_ics(request: Request, token: str) -> Response:
    """The webinar or seminar as an iCalendar (RFC 5545) event, to add to a calendar."""
    try:
        delivery = _start(request, token, record=False)
    except Unavailable as problem:
        return _unavailable(request, problem)
    asset = delivery.asset
    if asset.kind not in ("webinar", "seminar") or asset.starts_at is None:
        return _unavailable(request, Unavailable(404, "This has no date to add to a calendar."))
    page_url = str(request.url_for("reader", token=token))
    body = event_ics(asset, host=request.url.hostname or "leadwell", url=page_url, stamp=utcnow())
    name = quote(f"{asset.slug}.ics")
    headers = {
        "Content-Disposition": f"attachment; filename=\"{asset.slug}.ics\"; filename*=UTF-8''{name}",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)
