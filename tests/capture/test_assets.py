"""Magnets, landing pages and tracking sites through their service functions: what they accept, what
they refuse (with the field named), and that a refusal writes nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from leadwell.capture.assets import (
    AssetInput,
    Upload,
    create_asset,
    get_asset,
    list_assets,
    remove_asset,
    restore_asset,
    update_asset,
)
from leadwell.capture.files import MAX_IMAGE_BYTES, image_type, pdf_page_count
from leadwell.capture.form_defs import FormInput, create_form, default_fields
from leadwell.capture.page_defs import PageInput, create_page, remove_page, update_page
from leadwell.capture.sites import SiteInput, create_site, update_site
from leadwell.db.models import Asset, AssetFile, LandingPage, TrackingSite, Workspace
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput
from tests.factories import make_contact, make_event, make_workspace

LIMIT = 5 * 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def pdf_bytes(pages: int = 3, password: str | None = None) -> bytes:
    """A real PDF of blank pages, optionally encrypted."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def epub_bytes(mimetype: bytes = b"application/epub+zip") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype)
        archive.writestr("META-INF/container.xml", "<container/>")
    return buffer.getvalue()


def make_pdf_asset(db: Database, workspace_id: int, title: str = "ROI white paper", pages: int = 3) -> str:
    with db.session() as session:
        asset = create_asset(
            session, workspace_id, AssetInput("pdf", title), Upload(pdf_bytes(pages), "roi.pdf"), LIMIT
        )
        return asset.slug


@pytest.fixture
def workspace_id(db: Database) -> int:
    with db.session() as session:
        return make_workspace(session, "Acme").id


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def refused(db: Database, workspace_id: int, data: AssetInput, upload: Upload | None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught, db.session() as session:
        create_asset(session, workspace_id, data, upload, LIMIT)
    return caught.value


def test_a_pdf_is_stored_with_its_page_count_size_and_digest(db: Database, workspace_id: int) -> None:
    content = pdf_bytes(7)
    with db.session() as session:
        asset = create_asset(
            session,
            workspace_id,
            AssetInput("pdf", "The ROI Playbook!"),
            Upload(content, "C:\\x\\play.pdf"),
            LIMIT,
        )
        asset_id = asset.id
    with db.session() as session:
        stored = session.get(Asset, asset_id)
        assert stored is not None
        assert (stored.slug, stored.pages, stored.size_bytes) == ("the-roi-playbook", 7, len(content))
        assert stored.file_name == "play.pdf" and stored.content_type == "application/pdf"
        assert stored.sha256 is not None and len(stored.sha256) == 64
        file = session.get(AssetFile, asset_id)
        assert file is not None and file.content == content


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<html>not a pdf</html>", "not a PDF"),
        (b"%PDF-1.7\n% truncated garbage \x00\x01", "damaged"),
        (pdf_bytes(2, password="secret"), "encrypted"),
        (b"", "empty"),
    ],
)
def test_bad_pdfs_are_refused_and_nothing_is_stored(
    db: Database, workspace_id: int, content: bytes, words: str
) -> None:
    error = refused(db, workspace_id, AssetInput("pdf", "Paper"), Upload(content, "x.pdf"))
    assert error.field == "file" and words in error.detail
    assert count(db, Asset) == 0 and count(db, AssetFile) == 0


def test_a_pdf_over_the_upload_limit_is_refused(db: Database, workspace_id: int) -> None:
    content = pdf_bytes(1)
    with pytest.raises(InvalidInput, match="the limit is 200 bytes"), db.session() as session:
        create_asset(session, workspace_id, AssetInput("pdf", "Big"), Upload(content, "big.pdf"), 200)


def test_a_document_needs_its_file(db: Database, workspace_id: int) -> None:
    assert refused(db, workspace_id, AssetInput("pdf", "Paper"), None).field == "file"
    assert refused(db, workspace_id, AssetInput("book", "Paper"), None).field == "kind"
    assert refused(db, workspace_id, AssetInput("pdf", "  "), Upload(pdf_bytes(), "a.pdf")).field == "title"


def test_epubs_are_checked_by_their_mimetype_entry(db: Database, workspace_id: int) -> None:
    with db.session() as session:
        book = create_asset(
            session, workspace_id, AssetInput("epub", "Book"), Upload(epub_bytes(), "b.epub"), LIMIT
        )
        assert book.content_type == "application/epub+zip" and book.pages is None
    wrong = refused(
        db, workspace_id, AssetInput("epub", "B2"), Upload(epub_bytes(b"application/zip"), "b.epub")
    )
    assert "mimetype says 'application/zip'" in wrong.detail
    assert (
        "zip archive"
        in refused(db, workspace_id, AssetInput("epub", "B3"), Upload(pdf_bytes(), "b.epub")).detail
    )


def test_videos_take_a_url_or_an_mp4_or_webm_file(db: Database, workspace_id: int) -> None:
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32
    webm = b"\x1a\x45\xdf\xa3" + b"\x00" * 32
    with db.session() as session:
        linked = create_asset(
            session,
            workspace_id,
            AssetInput("video", "Lesson 1", video_url="https://videos.example/1.mp4"),
            None,
            LIMIT,
        )
        uploaded = create_asset(
            session, workspace_id, AssetInput("video", "Lesson 2"), Upload(mp4, "l2.mp4"), LIMIT
        )
        other = create_asset(
            session, workspace_id, AssetInput("video", "Lesson 3"), Upload(webm, "l3.webm"), LIMIT
        )
        assert linked.video_url == "https://videos.example/1.mp4"
        assert (uploaded.content_type, other.content_type) == ("video/mp4", "video/webm")
    assert refused(db, workspace_id, AssetInput("video", "L4"), None).field == "video_url"
    bad_url = refused(db, workspace_id, AssetInput("video", "L5", video_url="javascript:alert(1)"), None)
    assert bad_url.field == "video_url"
    wrong_magic = refused(db, workspace_id, AssetInput("video", "L6"), Upload(PNG, "fake.mp4"))
    assert wrong_magic.field == "file" and "MP4 or WebM" in wrong_magic.detail


def test_webinars_need_a_zoned_start_a_duration_and_a_place(db: Database, workspace_id: int) -> None:
    data = AssetInput(
        "webinar", "ROI clinic", starts_at="2026-12-10T15:00", timezone="Europe/Berlin",
        duration_minutes="60", location="https://meet.example/roi",
    )  # fmt: skip
    with db.session() as session:
        webinar = create_asset(session, workspace_id, data, None, LIMIT)
        assert webinar.starts_at == datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
        assert (webinar.duration_minutes, webinar.location) == (60, "https://meet.example/roi")
    naive = AssetInput(
        "seminar", "S1", starts_at="2026-12-10T15:00", duration_minutes="90", location="Berlin"
    )
    assert refused(db, workspace_id, naive, None).field == "timezone"
    offset = AssetInput(
        "seminar", "S2", starts_at="2026-12-10T15:00+01:00", duration_minutes="90", location="Hall 3, Berlin"
    )
    with db.session() as session:
        assert create_asset(session, workspace_id, offset, None, LIMIT).starts_at == datetime(
            2026, 12, 10, 14, tzinfo=UTC
        )
    seminar = {"starts_at": "2026-12-10T15:00Z", "duration_minutes": "60", "location": "x"}
    for changes, field in (
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"duration_minutes": "0"}, "duration_minutes"),
        ({"location": ""}, "location"),
        ({"starts_at": "2026-12-10 15:00", "timezone": "Mars/Olympus"}, "timezone"),
    ):
        broken = AssetInput("seminar", "S3", **(seminar | changes))
        assert refused(db, workspace_id, broken, None).field == field


def test_slugs_are_unique_per_workspace_and_fixed(db: Database, workspace_id: int) -> None:
    slug = make_pdf_asset(db, workspace_id, "ROI white paper")
    with pytest.raises(Conflict, match="already taken"), db.session() as session:
        create_asset(
            session, workspace_id, AssetInput("pdf", "ROI white paper"), Upload(pdf_bytes(), "a.pdf"), LIMIT
        )
    bad = refused(db, workspace_id, AssetInput("pdf", "x", slug="Not A Slug"), Upload(pdf_bytes(), "a.pdf"))
    assert bad.field == "slug"
    with db.session() as session:
        other = make_workspace(session, "Other").id
    assert make_pdf_asset(db, other, "ROI white paper") == slug  # another workspace may use it
    with db.session() as session:
        changed = update_asset(
            session, workspace_id, slug, AssetInput("pdf", "New title", slug="zzz"), None, LIMIT
        )
        assert (changed.slug, changed.title, changed.pages) == (slug, "New title", 3)


def test_unused_magnets_are_deleted_and_used_ones_archived(db: Database, workspace_id: int) -> None:
    unused = make_pdf_asset(db, workspace_id, "Unused")
    used = make_pdf_asset(db, workspace_id, "Used")
    with db.session() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        make_event(session, make_contact(session, workspace), "asset_downloaded", properties={"asset": used})
    with db.session() as session:
        assert remove_asset(session, workspace_id, unused) == "deleted"
        assert remove_asset(session, workspace_id, used) == "archived"
    with db.session() as session:
        assert [a.slug for a in list_assets(session, workspace_id)] == []
        assert [a.slug for a in list_assets(session, workspace_id, archived=True)] == [used]
        restore_asset(session, workspace_id, used)
    with db.session() as session:
        assert get_asset(session, workspace_id, used).archived_at is None
    assert count(db, AssetFile) == 1


def test_landing_pages_check_their_image_form_and_slug(db: Database, workspace_id: int) -> None:
    with db.session() as session:
        form = create_form(session, workspace_id, FormInput("Download form", fields=default_fields()))
        page = create_page(
            session, workspace_id, PageInput("Get the playbook", body_markdown="# Hi", form=form.slug),
            Upload(PNG, "hero.png"),
        )  # fmt: skip
        assert (page.slug, page.image_type, page.form_id) == ("get-the-playbook", "image/png", form.id)
    for data, image, field in (
        (PageInput("Get the playbook"), None, "slug"),
        (PageInput("P2", form="nope"), None, "form"),
        (PageInput("P3"), Upload(b"GIF8" + b"\x00" * 10, "x.gif"), "image"),
        (PageInput("P4"), Upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, "big.png"), "image"),
        (PageInput("P5", slug="static"), None, "slug"),
    ):
        with pytest.raises((InvalidInput, Conflict)) as caught, db.session() as session:
            create_page(session, workspace_id, data, image)
        assert caught.value.field == field
    with db.session() as session:
        other = make_workspace(session, "Other").id
    with pytest.raises(Conflict, match="already taken"), db.session() as session:
        create_page(session, other, PageInput("Get the playbook"))
    with db.session() as session:
        changed = update_page(session, workspace_id, "get-the-playbook", PageInput("New", remove_image=True))
        assert (changed.image_type, changed.form_id) == (None, None)
        assert remove_page(session, workspace_id, "get-the-playbook") == "deleted"
    assert count(db, LandingPage) == 0


def test_image_types_are_found_by_magic_bytes() -> None:
    assert image_type(b"\xff\xd8\xff\xe0" + b"\x00" * 8) == "image/jpeg"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"GIF89a" + b"\x00" * 8) == "image/gif"
    assert image_type(b"<svg onload=alert(1)>") is None
    assert pdf_page_count(pdf_bytes(4)) == 4


def test_tracking_sites_normalise_their_domains(db: Database, workspace_id: int) -> None:
    with db.session() as session:
        site = create_site(
            session,
            workspace_id,
            SiteInput("Main site", "https://WWW.Example.com/about\nshop.example.com, www.example.com"),
        )
        assert site.domains == ["www.example.com", "shop.example.com"]
        assert len(site.key) == 24 and site.key.isalnum()
        key = site.key
    for domains, field in (
        ("", "domains"),
        ("exa mple.com", "domains[0]"),
        ("ok.example\nlocal", "domains[1]"),
    ):
        with pytest.raises(InvalidInput) as caught, db.session() as session:
            update_site(session, workspace_id, key, SiteInput("Main site", domains))
        assert caught.value.field == field
    with db.session() as session:
        assert update_site(session, workspace_id, key, SiteInput("Blog", "bücher.example")).domains == [
            "xn--bcher-kva.example"
        ]
    assert count(db, TrackingSite) == 1
