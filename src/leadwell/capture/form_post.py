"""Form posts (``POST /f/{slug}``) from landing pages, embedded frames and scripts.

The checks run in a fixed order, each refusal writing nothing at all: body size (413), the form
(404), rate limits (429), origin (403), body format (415/400), render token (400, "expired" after a
day), fill time and honeypot (400), hidden fields (400), then the fields a person can correct (422,
the form shown again with a message by each). Only then is anything stored, in one transaction.
``Accept: application/json`` gets problem JSON or ``{"ok": true, "delivery_url": …}``.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from leadwell.capture import abuse
from leadwell.capture.abuse import Refused, origin_of
from leadwell.capture.intake import Intake, Stored, store_submission
from leadwell.capture.public_views import (
    base_url,
    context_fields,
    form_by_slug,
    form_view,
    page_context,
    secure,
    set_visitor_cookie,
    thanks_view,
)
from leadwell.capture.reader_pages import delivery_url
from leadwell.capture.submission import (
    MAX_BODY_BYTES,
    clean_fields,
    consent_given,
    field_specs,
    parse_body,
    read_context,
)
from leadwell.db.models import Asset, Form, LandingPage
from leadwell.db.types import utcnow
from leadwell.errors import LeadwellError
from leadwell.experiments.capture_variants import shown_at_render
from leadwell.web.deps import App, get_app
from leadwell.web.problems import problem
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
HEADINGS = {
    400: "This form could not be sent",
    403: "This form cannot be sent from here",
    404: "Not found",
    413: "Too much was sent",
    415: "This form could not be sent",
    422: "This form could not be sent",
    429: "Too many submissions",
}
_limiter_lock = threading.Lock()


def app_limiter(request: Request) -> abuse.WindowLimiter:
    """The application's form rate limiter (one per app, so every test app starts afresh)."""
    state = request.app.state
    with _limiter_lock:
        if not hasattr(state, "form_limiter"):
            state.form_limiter = abuse.WindowLimiter()
    limiter: abuse.WindowLimiter = state.form_limiter
    return limiter


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept or "application/problem+json" in accept


async def _read_body(request: Request) -> bytes:
    """The body, refused past :data:`MAX_BODY_BYTES` whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    too_large = Refused(413, "body", f"larger than {MAX_BODY_BYTES // 1024} KiB")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _back_url(request: Request) -> str | None:
    """The page the form was on, when it is one of leadwell's (reloading it gives a fresh form)."""
    referer = request.headers.get("referer") or ""
    same_site = origin_of(referer) is not None and origin_of(referer) == origin_of(base_url(request))
    return referer[:2000] if same_site else None


def _refusal(request: Request, refusal: Refused, wants_json: bool, form: Form | None) -> Response:
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    origins = form.allowed_origins if form is not None else None
    if wants_json:
        detail = f"{refusal.field}: {refusal.message}"
        answer: Response = problem(
            refusal.status, detail, [{"field": refusal.field, "message": refusal.message}], headers
        )
        return secure(answer, origins)
    expired = refusal.field == abuse.TOKEN_FIELD and "expired" in refusal.message
    heading = "This form expired" if expired else HEADINGS.get(refusal.status, "This form could not be sent")
    detail = refusal.message[0].upper() + refusal.message[1:] + "."
    if refusal.field not in ("body", "rate", abuse.TOKEN_FIELD):
        detail = f"{refusal.field}: {refusal.message}."
    answer = render(
        request,
        "public/error.html",
        status_code=refusal.status,
        heading=heading,
        detail=detail,
        retry_after=refusal.retry_after,
        back_url=_back_url(request),
        framed=True,
    )
    answer.headers.update(headers or {})
    return secure(answer, origins)


@router.post("/f/{slug}")
async def submit_form(request: Request, slug: str) -> Response:
    """A form post from a landing page, a frame or a script (``Accept: application/json``)."""
    wants_json = _wants_json(request)
    try:
        raw = await _read_body(request)
    except Refused as refusal:
        return _refusal(request, refusal, wants_json, None)
    return await run_in_threadpool(_submit, request, slug, raw, wants_json)


def _submit(request: Request, slug: str, raw: bytes, wants_json: bool) -> Response:
    app = get_app(request)
    with app.db.session() as session:
        form = form_by_slug(session, slug)
        if form is None:
            return _refusal(request, Refused(404, "form", "no such form, or it is closed"), wants_json, None)
        try:
            checked = _check(request, app, session, form, raw)
        except Refused as refusal:
            return _refusal(request, refusal, wants_json, form)
    intake, posted, errors = checked
    if errors:
        return _invalid(request, intake, posted, errors, wants_json)
    try:
        stored = _store(app, intake)
    except LeadwellError as error:
        # What a prospect cannot fix (a form that asks for no name nor address, too many fields).
        unstorable = Refused(422, error.field or "form", error.detail.partition(": ")[2] or error.detail)
        return _refusal(request, unstorable, wants_json, form)
    return _accepted(request, app, intake, stored, wants_json)


def _check(
    request: Request, app: App, session: Session, form: Form, raw: bytes
) -> tuple[Intake, dict[str, str], dict[str, str]]:
    """Every check before storage, in order; the intake, the posted fields and per-field problems."""
    ip = request.client.host if request.client else "unknown"
    abuse.check_rate(app_limiter(request), form.id, ip, form.per_ip_per_hour, form.per_form_per_minute)
    abuse.check_origin(
        request.headers.get("origin"),
        request.headers.get("referer"),
        base_url(request),
        form.allowed_origins,
    )
    posted = parse_body(raw, request.headers.get("content-type"))
    token = abuse.read_render_token(app.signer, posted.get(abuse.TOKEN_FIELD, ""), form.id)
    abuse.check_fill_time(token, form.min_fill_seconds)
    abuse.check_honeypot(posted.get(abuse.HONEYPOT_FIELD))
    context = read_context(posted)
    page = session.get(LandingPage, token.page_id) if token.page_id is not None else None
    if page is not None and page.workspace_id != form.workspace_id:
        page = None
    # Experiments: the fields, thank-you and magnet of the variants this visitor was shown.
    form, page = shown_at_render(session, form, page, context.visitor_key)
    specs = field_specs(form)
    values, errors = clean_fields(specs, posted)
    consented = consent_given(form, posted, errors)
    intake = Intake(
        form=form,
        page=page,
        token=token,
        specs=specs,
        values=values,
        consented=consented,
        context=context,
        ip=ip[:45],
        user_agent=request.headers.get("user-agent"),
        now=utcnow(),
    )
    return intake, posted, errors


def _store(app: App, intake: Intake) -> Stored:
    """Store in one transaction; a race with a twin post (same nonce or address) is retried once."""
    try:
        with app.db.session() as session:
            return store_submission(session, app.codec, intake)
    except IntegrityError:
        with app.db.session() as session:
            return store_submission(session, app.codec, intake)


def _shown_on_page(intake: Intake) -> bool:
    return intake.page is not None and not intake.token.framed


def _invalid(
    request: Request,
    intake: Intake,
    posted: dict[str, str],
    errors: dict[str, str],
    wants_json: bool,
) -> Response:
    """The form again with what was typed and a message by each field at fault (422)."""
    form = intake.form
    if wants_json:
        listed = [{"field": name, "message": message} for name, message in errors.items()]
        first = listed[0]
        answer: Response = problem(422, f"{first['field']}: {first['message']}", listed)
        return secure(answer, form.allowed_origins)
    token = posted.get(abuse.TOKEN_FIELD, "")
    view = form_view(form, token, context_fields(intake.context), posted, errors)
    if _shown_on_page(intake):
        assert intake.page is not None
        response = render(
            request,
            "public/landing.html",
            status_code=422,
            form_view=view,
            thanks=None,
            **page_context(intake.page),
        )
        return secure(response)
    response = render(
        request, "public/frame.html", status_code=422, title=form.name, form_view=view, thanks=None
    )
    return secure(response, form.allowed_origins)


def _accepted(request: Request, app: App, intake: Intake, stored: Stored, wants_json: bool) -> Response:
    """The thank-you state, with the personal delivery link when the form gates a magnet."""
    form = intake.form
    with app.db.session() as session:
        asset = session.get(Asset, form.asset_id) if form.asset_id is not None else None
    if asset is not None and asset.archived_at is not None:
        asset = None
    link = (
        delivery_url(app.signer, base_url(request), form.workspace_id, stored.contact_id, asset.id)
        if asset is not None
        else None
    )
    response: Response
    if wants_json:
        response = JSONResponse({"ok": True, "delivery_url": link})
    else:
        thanks = thanks_view(form, asset, link, framed=not _shown_on_page(intake))
        if _shown_on_page(intake):
            assert intake.page is not None
            response = render(
                request, "public/landing.html", form_view=None, thanks=thanks, **page_context(intake.page)
            )
            set_visitor_cookie(request, response, stored.visitor_key)
            return secure(response)
        response = render(request, "public/frame.html", title=form.name, form_view=None, thanks=thanks)
    set_visitor_cookie(request, response, stored.visitor_key)
    return secure(response, form.allowed_origins)
