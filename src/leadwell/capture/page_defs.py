"""Landing pages: a slug (public, unique across the installation), a title, a markdown body, an
image, the form they carry and whether they are published; create, change, delete or unpublish."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.assets import Upload
from leadwell.capture.files import check_image
from leadwell.capture.form_defs import get_form
from leadwell.capture.values import clean_slug, clean_text
from leadwell.db.models import FormSubmission, LandingPage
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound

MAX_BODY = 100_000
# /p/{slug} paths the public pages may use for themselves.
RESERVED_SLUGS = frozenset({"static", "new"})


@dataclass
class PageInput:
    """What the page editor or the CLI sends; text as typed, cleaned by the service."""

    title: str
    slug: str = ""
    body_markdown: str = ""
    form: str = ""  # the form's slug
    image_alt: str = ""
    published: bool = True
    remove_image: bool = False


def get_page(session: Session, workspace_id: int, slug: str) -> LandingPage:
    """The workspace's landing page with ``slug``, else :class:`NotFound`."""
    page = session.scalar(
        select(LandingPage).where(LandingPage.workspace_id == workspace_id, LandingPage.slug == slug)
    )
    if page is None:
        raise NotFound(f"page: no landing page {slug[:80]!r} in this workspace", field="page")
    return page


def list_pages(session: Session, workspace_id: int) -> list[LandingPage]:
    """The workspace's landing pages, newest first."""
    query = select(LandingPage).where(LandingPage.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(LandingPage.created_at.desc(), LandingPage.id.desc())))


def _apply(
    session: Session, workspace_id: int, page: LandingPage, data: PageInput, image: Upload | None
) -> None:
    page.title = clean_text(data.title, "title", 200, required=True)
    page.body_markdown = clean_text(data.body_markdown, "body_markdown", MAX_BODY)
    page.image_alt = clean_text(data.image_alt, "image_alt", 300)
    page.published = bool(data.published)
    chosen = data.form.strip()
    if chosen:
        try:
            form = get_form(session, workspace_id, chosen)
        except NotFound:
            raise InvalidInput(f"form: no form {chosen[:80]!r} in this workspace", field="form") from None
        if form.archived_at is not None and form.id != page.form_id:
            raise InvalidInput(f"form: the form {chosen!r} is archived", field="form")
        page.form_id = form.id
    else:
        page.form_id = None
    if image is not None:
        checked = check_image(image.content, image.file_name)
        page.image, page.image_type = checked.content, checked.content_type
    elif data.remove_image:
        page.image, page.image_type = None, None


def create_page(
    session: Session, workspace_id: int, data: PageInput, image: Upload | None = None
) -> LandingPage:
    """A new landing page; the slug defaults to one made from the title."""
    slug = clean_slug(data.slug, data.title)
    if slug in RESERVED_SLUGS:
        raise InvalidInput(f"slug: {slug!r} is reserved; choose another", field="slug")
    if session.scalar(select(LandingPage.id).where(LandingPage.slug == slug)) is not None:
        raise Conflict(f"slug: {slug!r} is already taken; choose another", field="slug")
    page = LandingPage(workspace_id=workspace_id, slug=slug, title="")
    _apply(session, workspace_id, page, data, image)
    session.add(page)
    session.flush()
    return page


def update_page(
    session: Session, workspace_id: int, slug: str, data: PageInput, image: Upload | None = None
) -> LandingPage:
    """Change a landing page; its slug stays (links and page view events use it)."""
    page = get_page(session, workspace_id, slug)
    _apply(session, workspace_id, page, data, image)
    page.updated_at = utcnow()
    session.flush()
    return page


def remove_page(session: Session, workspace_id: int, slug: str) -> str:
    """Delete a page nobody submitted a form on, or unpublish one that has submissions."""
    page = get_page(session, workspace_id, slug)
    used = select(FormSubmission.id).where(FormSubmission.landing_page_id == page.id).limit(1)
    if session.scalar(used) is not None:
        page.published = False
        return "unpublished"
    session.delete(page)
    session.flush()
    return "deleted"
