"""The public tracking endpoints: open pixel, click redirect, read and video beacons, the site script
and its page-view beacon.

Each endpoint checks its token or body, stores one hit through the inbox (acknowledged only once
committed) and answers at once; turning hits into events is the worker's job
(:mod:`leadwell.capture.processing`). They are plain Starlette endpoints, without FastAPI's
dependency machinery: they sit on the hottest path the product has.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadwell.capture import beacons, site_script
from leadwell.capture.beacons import BeaconError
from leadwell.capture.inbox import RETRY_AFTER_SECONDS, InboxClosed, InboxFull, inbox_lifespan, submit_hit
from leadwell.capture.site_cache import SiteCache, SiteInfo
from leadwell.capture.throttle import PerAddressLimit
from leadwell.capture.tokens import BadToken, TokenSigner
from leadwell.capture.visitors import plausible_key
from leadwell.web.deps import get_app
from leadwell.web.problems import problem
from leadwell.web.templating import error_page

log = logging.getLogger(__name__)

router = APIRouter(lifespan=inbox_lifespan)

# The smallest transparent GIF (1×1, 43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}


@dataclass
class _Tracking:
    """Per-process state of the endpoints, kept on ``app.state``."""

    limit: PerAddressLimit
    sites: SiteCache


def _tracking(request: Request) -> _Tracking:
    state = request.app.state
    tracking: _Tracking | None = getattr(state, "tracking_endpoints", None)
    if tracking is None:
        app = get_app(request)
        tracking = _Tracking(PerAddressLimit(app.settings.tracking_requests_per_minute), SiteCache(app.db))
        state.tracking_endpoints = tracking
    return tracking


def _allowed(request: Request) -> bool:
    address = request.client.host if request.client else "unknown"
    return _tracking(request).limit.allow(address)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def open_pixel_url(
    signer: TokenSigner, base_url: str, workspace_id: int, contact_id: int, message: str
) -> str:
    """The open pixel's address for one message to one contact (``message`` ≤ 120 characters)."""
    if not 1 <= len(message) <= beacons.MAX_MESSAGE_KEY:
        raise ValueError(f"message: 1 to {beacons.MAX_MESSAGE_KEY} characters")
    token = signer.sign("open", {"w": workspace_id, "c": contact_id, "m": message})
    return f"{base_url.rstrip('/')}/t/o/{token}.gif"


def click_url(
    signer: TokenSigner, base_url: str, workspace_id: int, contact_id: int, message: str, url: str
) -> str:
    """A tracked link to ``url`` (http or https) for one message to one contact."""
    if not 1 <= len(message) <= beacons.MAX_MESSAGE_KEY:
        raise ValueError(f"message: 1 to {beacons.MAX_MESSAGE_KEY} characters")
    try:
        target = beacons.web_url(url, "url")
    except BeaconError as error:
        raise ValueError(str(error)) from None
    token = signer.sign("click", {"w": workspace_id, "c": contact_id, "m": message, "u": target})
    return f"{base_url.rstrip('/')}/t/c/{token}"


async def _store(request: Request, workspace_id: int, kind: str, payload: dict[str, Any]) -> Response | None:
    """Store the hit; None when committed, else the 503 to answer."""
    try:
        await submit_hit(request, workspace_id, kind, payload)
    except (InboxFull, InboxClosed) as busy:
        return problem(503, f"{busy}; retry shortly", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    except Exception:
        log.exception("a %s hit could not be stored", kind)
        return problem(503, "the hit could not be stored; retry shortly", headers={"Retry-After": "5"})
    return None


def _refused(error: BeaconError) -> Response:
    return problem(error.status, str(error), [{"field": error.field, "message": error.message}])


def _too_many() -> Response:
    return problem(
        429, "too many tracking requests from this address; slow down", headers={"Retry-After": "60"}
    )


async def open_pixel(request: Request) -> Response:
    """``GET /t/o/{token}.gif``: always the pixel; the open is stored only for a genuine token."""
    status = 200
    if not _allowed(request):
        status = 429
    else:
        try:
            payload = beacons.open_payload(get_app(request).signer, request.path_params["token"])
        except BadToken:
            payload = None
        if payload is not None and await _store(request, payload["w"], "open", payload) is not None:
            status = 503
    return Response(PIXEL, status_code=status, media_type="image/gif", headers=NO_STORE)


async def click(request: Request) -> Response:
    """``GET /t/c/{token}``: redirect to the link's target; only a genuine token redirects anywhere."""
    try:
        payload = beacons.click_payload(get_app(request).signer, request.path_params["token"])
    except BadToken:
        detail = "This link is broken or was altered, so it leads nowhere. Check the message it came from."
        return error_page(request, 400, detail)
    # The person comes first: over the limit or under overload the click is not recorded, but
    # they still get where the link promised.
    if _allowed(request):
        await _store(request, payload["w"], "click", payload)
    return RedirectResponse(payload["u"], status_code=302, headers=NO_STORE)


async def _progress_beacon(request: Request, kind: str) -> Response:
    if not _allowed(request):
        return _too_many()
    try:
        token = beacons.deliver_payload(get_app(request).signer, request.path_params["token"])
    except BadToken as error:
        return problem(400, str(error), [{"field": "token", "message": "not a valid link"}])
    try:
        data = await beacons.read_body(request)
        fields = beacons.read_progress(data) if kind == "read" else beacons.video_progress(data)
    except BeaconError as error:
        return _refused(error)
    return await _store(request, token["w"], kind, {**token, **fields}) or Response(status_code=204)


async def read_beacon(request: Request) -> Response:
    """``POST /t/r/{token}``: pages seen and active seconds in the hosted reader."""
    return await _progress_beacon(request, "read")


async def video_beacon(request: Request) -> Response:
    """``POST /t/v/{token}``: how far a video has been watched."""
    return await _progress_beacon(request, "video")


async def _site(request: Request, key: str) -> SiteInfo | None:
    cache = _tracking(request).sites
    found, site = cache.cached(key)
    if not found:
        site = await run_in_threadpool(cache.load, key)
    return site


async def tracker_script(request: Request) -> Response:
    """``GET /t/{site_key}.js``: the first-party tracking script for one site."""
    if not _allowed(request):
        headers = {**NO_STORE, "Retry-After": "60"}
        return Response(
            "/* leadwell: too many requests */\n", 429, media_type="text/javascript", headers=headers
        )
    key = request.path_params["site_key"]
    site = await _site(request, key) if 1 <= len(key) <= 40 else None
    if site is None:
        return Response(
            "/* leadwell: unknown site key */\n", 404, media_type="text/javascript", headers=NO_STORE
        )
    body = site_script.render(_base(request), site.key, list(site.domains))
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "public, max-age=300"})


async def page_view_beacon(request: Request) -> Response:
    """``POST /t/pv``: one page view from the site script, accepted only from the site's own domains."""
    if not _allowed(request):
        return _too_many()
    try:
        view = beacons.page_view(await beacons.read_body(request))
    except BeaconError as error:
        return _refused(error)
    site = await _site(request, view["k"])
    if site is None:
        return _refused(BeaconError("k", "no such tracking site"))
    origin = request.headers.get("origin")
    if not beacons.host_allowed(beacons.origin_host(origin), list(site.domains)):
        detail = "origin: this site's tracking accepts page views only from its own domains"
        return problem(403, detail, [{"field": "origin", "message": "not one of the site's domains"}])
    if not beacons.host_allowed(beacons.origin_host(view["u"]), list(site.domains)):
        return _refused(BeaconError("u", "not on one of the site's domains"))
    if not plausible_key(view["v"]):
        return _refused(BeaconError("v", "not a visitor key made by the tracking script"))
    payload = {"site": site.id, "v": view["v"], "u": view["u"], "t": view["t"], "r": view["r"]}
    refused = await _store(request, site.workspace_id, "view", payload)
    headers = {"Access-Control-Allow-Origin": origin or "", "Vary": "Origin"}
    if refused is not None:
        refused.headers.update(headers)
        return refused
    return Response(status_code=204, headers=headers)


router.add_route("/t/o/{token}.gif", open_pixel, methods=["GET"], include_in_schema=False)
router.add_route("/t/c/{token}", click, methods=["GET"], include_in_schema=False)
router.add_route("/t/r/{token}", read_beacon, methods=["POST"], include_in_schema=False)
router.add_route("/t/v/{token}", video_beacon, methods=["POST"], include_in_schema=False)
router.add_route("/t/pv", page_view_beacon, methods=["POST"], include_in_schema=False)
router.add_route("/t/{site_key}.js", tracker_script, methods=["GET"], include_in_schema=False)


class TrackingFastPath:
    """ASGI middleware sending ``/t/…`` requests straight to the tracking endpoints.

    The tracking endpoints take no session, no login and no upload, and every hit of every email
    and page view goes through them: skipping the session and body-size layers and the search
    through every page route makes them several times cheaper. They read their own bodies with
    their own (smaller) limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes = [route for route in router.routes if isinstance(route, Route)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/t/"):
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    # url_for in error pages must find the whole application's routes.
                    scope["router"] = scope["app"].router
                    await route.handle(scope, receive, send)
                    return
        # Everything else, and a /t/ path or method no endpoint takes (404, 405), as usual.
        await self.app(scope, receive, send)
