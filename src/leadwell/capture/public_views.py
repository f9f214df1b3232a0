"""What the public pages show: a form ready to fill (or shown again with its problems), the
thank-you state, and the security headers every public answer carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from leadwell.capture.abuse import origin_of
from leadwell.capture.markdown import render_markdown
from leadwell.capture.submission import (
    CONSENT_FIELD,
    MAX_VALUE_LENGTH,
    PAGE_URL_FIELD,
    REFERRER_FIELD,
    UTM_KEYS,
    UTM_MAX,
    VISITOR_FIELD,
    Context,
    FieldSpec,
    field_specs,
)
from leadwell.capture.visitors import plausible_key
from leadwell.db.models import Asset, Form, LandingPage
from leadwell.web.templating import render

# No inline script or style anywhere on the public surface; images from here only (Pico draws its
# checkmarks with data: images).
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)
DOCUMENT_KINDS = ("pdf", "epub")
DEFAULT_THANKS = "Thank you: we have your details."
VISITOR_COOKIE = "lw_vid"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600
MAX_SLUG = 120


def secure(response: Response, frame_origins: Iterable[str] | None = None) -> Response:
    """Add the public security headers; ``frame_origins`` None forbids framing altogether,
    otherwise leadwell itself and those origins may frame the answer."""
    if frame_origins is None:
        ancestors = "'none'"
    else:
        # Only well-formed origins reach the header: a stored value can never inject a directive.
        clean = sorted({origin for origin in (origin_of(item) for item in frame_origins) if origin})
        ancestors = " ".join(["'self'", *clean])
    response.headers["Content-Security-Policy"] = f"{CONTENT_POLICY}; frame-ancestors {ancestors}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


def base_url(request: Request) -> str:
    """leadwell's public address as the request reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def set_visitor_cookie(request: Request, response: Response, key: str | None) -> None:
    """Remember the browser's visitor key (first-party, script-proof, kept two years)."""
    if key:
        response.set_cookie(
            VISITOR_COOKIE,
            key,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


def not_found(request: Request, framed: bool = False) -> Response:
    """The friendly 404 page of the public surface."""
    response = render(
        request,
        "public/error.html",
        status_code=404,
        heading="Not found",
        detail="There is no page here. The link may be mistyped, or the page was taken down.",
        framed=framed,
    )
    return secure(response)


def form_by_slug(session: Session, slug: str) -> Form | None:
    """The form at ``/f/{slug}`` while it takes submissions (not archived)."""
    if len(slug) > MAX_SLUG:
        return None
    form = session.scalar(select(Form).where(Form.slug == slug))
    return form if form is not None and form.archived_at is None else None


def page_body(page: LandingPage) -> tuple[str | None, Markup]:
    """The page image's address (if it has one) and its body as safe HTML."""
    image_url = f"/p/{page.slug}/image" if page.image_type else None
    # The renderer escapes every character of the author's text; only its own tags are markup.
    return image_url, Markup(render_markdown(page.body_markdown or "", image_url))


def page_context(page: LandingPage) -> dict[str, Any]:
    """What the landing page template needs besides the form or the thank-you."""
    image_url, body = page_body(page)
    return {"page": page, "body_html": body, "image_url": image_url, "closed": False}


def _plain(value: str | None, limit: int) -> str:
    """A value for a hidden field: at most ``limit`` characters of one line."""
    text = (value or "").strip()
    return "".join(char for char in text if char >= " " and char != "\x7f")[:limit]


def hidden_fields(
    query: Mapping[str, str], referrer: str | None, page_url: str | None, visitor_key: str | None
) -> dict[str, str]:
    """The hidden context a rendered form carries: UTM from the page's address, where the person
    came from, the page the form is on, and the browser's visitor key."""
    hidden = {key: _plain(query.get(key), UTM_MAX) for key in UTM_KEYS if query.get(key)}
    if referrer:
        hidden[REFERRER_FIELD] = _plain(referrer, MAX_VALUE_LENGTH)
    if page_url:
        hidden[PAGE_URL_FIELD] = _plain(page_url, MAX_VALUE_LENGTH)
    if visitor_key and plausible_key(visitor_key):
        hidden[VISITOR_FIELD] = visitor_key
    return hidden


def context_fields(context: Context) -> dict[str, str]:
    """A checked context as hidden fields again (a form shown again keeps where it came from)."""
    return hidden_fields(context.utm, context.referrer, context.page_url, context.visitor_key)


@dataclass(frozen=True)
class FormView:
    """A form as the template renders it."""

    specs: list[FieldSpec]
    action: str
    token: str
    hidden: dict[str, str]
    submit_label: str
    consent_text: str | None
    consent_required: bool
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    consent_ticked: bool = False


def form_view(
    form: Form,
    token: str,
    hidden: dict[str, str],
    posted: Mapping[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> FormView:
    """``form`` to fill in; with ``posted``, shown again with what was typed and ``errors``."""
    specs = field_specs(form)
    posted = posted or {}
    return FormView(
        specs=specs,
        action=f"/f/{form.slug}",
        token=token,
        hidden=hidden,
        submit_label=form.submit_label or "Send",
        consent_text=form.consent_text,
        consent_required=bool(form.consent_text) and form.consent_required,
        values={spec.key: posted[spec.key][:MAX_VALUE_LENGTH] for spec in specs if spec.key in posted},
        errors=errors or {},
        consent_ticked=CONSENT_FIELD in posted,
    )


@dataclass(frozen=True)
class ThanksView:
    """The thank-you state: the form's words and, for a gated magnet, the personal link."""

    paragraphs: list[str]
    asset_title: str | None = None
    delivery_url: str | None = None
    action_label: str = ""
    when: str | None = None
    location: str | None = None
    new_window: bool = False


def _paragraphs(text: str) -> list[str]:
    parts = [part.strip() for part in (text or "").replace("\r\n", "\n").split("\n\n")]
    return [part for part in parts if part] or [DEFAULT_THANKS]


def thanks_view(form: Form, asset: Asset | None, delivery_url: str | None, framed: bool) -> ThanksView:
    """What the prospect sees after a submission (the same every time the form is sent again)."""
    paragraphs = _paragraphs(form.thank_you)
    if asset is None or delivery_url is None:
        return ThanksView(paragraphs)
    if asset.kind in DOCUMENT_KINDS:
        label, when = "Read it now", None
    elif asset.kind == "video":
        label, when = "Watch", None
    else:
        label = f"Your {asset.kind} details"
        when = f"{asset.starts_at:%A %d %B %Y, %H:%M} UTC" if asset.starts_at else None
    return ThanksView(
        paragraphs,
        asset_title=asset.title,
        delivery_url=delivery_url,
        action_label=label,
        when=when,
        location=asset.location,
        new_window=framed,
    )
