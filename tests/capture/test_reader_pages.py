"""The delivery pages at /r/{token}: what each kind of asset shows, the first-open download event,
refused links, and the file itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from leadwell.capture.reader_pages import REQUESTS_PER_MINUTE, delivery_url
from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Asset, Contact, Event
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from tests import factories
from tests.capture.reader_support import events_of, make_asset, pdf_bytes, score_of


@dataclass(frozen=True)
class Delivered:
    workspace_id: int
    contact_id: int
    asset_id: int
    path: str


def _signer(app: FastAPI) -> TokenSigner:
    signer: TokenSigner = app.state.leadwell.signer
    return signer


def _deliver(
    app: FastAPI, db: Database, kind: str = "pdf", content: bytes | None = None, **fields: Any
) -> Delivered:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        asset = make_asset(session, workspace, kind, content, **fields)
        ids = (workspace.id, contact.id, asset.id)
    url = delivery_url(_signer(app), "http://testserver/", *ids)
    return Delivered(*ids, url.removeprefix("http://testserver"))


def _downloads(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(Event.type == "asset_downloaded")) or 0


def _no_inline_script(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script found"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler found"
    assert "style=" not in html


def test_the_pdf_reader_page(app: FastAPI, db: Database, client: TestClient) -> None:
    delivered = _deliver(app, db, "pdf", pdf_bytes(3), pages=3, title="ROI <b>guide</b>")
    response = client.get(delivered.path)
    assert response.status_code == 200
    html = response.text
    token = delivered.path.removeprefix("/r/")
    assert f'data-beacon-url="/t/r/{token}"' in html
    assert f'data-file-url="/r/{token}/file"' in html
    assert "ROI &lt;b&gt;guide&lt;/b&gt;" in html
    assert 'Page <span id="reader-page">1</span> of <span id="reader-total">3</span>' in html
    assert "/static/reader/reader.js" in html and 'type="module"' in html
    _no_inline_script(html)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "worker-src 'self' blob:" in csp and "style-src 'self'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "private" in response.headers["cache-control"]


def test_the_first_open_records_one_download_and_moves_the_score(
    app: FastAPI, db: Database, client: TestClient
) -> None:
    delivered = _deliver(app, db, "pdf", pdf_bytes(2), pages=2)
    for _ in range(3):
        assert client.get(delivered.path).status_code == 200
    assert client.get(delivered.path + "/file").status_code == 200
    with db.session() as session:
        events = events_of(session, delivered.contact_id, "asset_downloaded")
        asset = session.get(Asset, delivered.asset_id)
        assert asset is not None
        assert [e.properties for e in events] == [{"asset": asset.slug}]
        assert events[0].idempotency_key == f"download:{delivered.asset_id}:{delivered.contact_id}"
        assert score_of(session, delivered.contact_id) > 0


def _altered(token: str) -> str:
    """The token with one character of its payload changed."""
    index = 3
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


@pytest.mark.parametrize("how", ["forged", "altered", "other purpose", "bad payload", "overlong"])
def test_refused_links_get_a_friendly_page_and_store_nothing(
    app: FastAPI, db: Database, client: TestClient, how: str
) -> None:
    delivered = _deliver(app, db, "pdf", pdf_bytes(1), pages=1)
    token = delivered.path.removeprefix("/r/")
    payload = {"w": delivered.workspace_id, "c": delivered.contact_id, "a": delivered.asset_id}
    bad = {
        "forged": "eyJ3IjoxLCJjIjoxLCJhIjoxfQ.Zz9x7A.not-a-real-signature",
        "altered": _altered(token),
        "other purpose": _signer(app).sign("open", payload),
        "bad payload": _signer(app).sign("deliver", {"w": delivered.workspace_id, "c": "me"}),
        "overlong": "x" * 2100,
    }[how]
    for suffix in ("", "/file", "/event.ics"):
        response = client.get(f"/r/{bad}{suffix}")
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")
        assert "This link is not valid" in response.text
        assert "Traceback" not in response.text
    assert _downloads(db) == 0


def test_gone_assets_and_contacts_get_a_404_page(app: FastAPI, db: Database, client: TestClient) -> None:
    archived = _deliver(app, db, "pdf", pdf_bytes(1), pages=1, archived_at=utcnow())
    deleted_contact = _deliver(app, db, "pdf", pdf_bytes(1), pages=1)
    with db.session() as session:
        session.execute(delete(Contact).where(Contact.id == deleted_contact.contact_id))
    elsewhere = _deliver(app, db, "pdf", pdf_bytes(1), pages=1)
    other = _deliver(app, db, "pdf", pdf_bytes(1), pages=1)
    # A genuine token naming one workspace and another workspace's asset.
    crossed = delivery_url(_signer(app), "", elsewhere.workspace_id, elsewhere.contact_id, other.asset_id)
    for path in (archived.path, deleted_contact.path, crossed):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "no longer available" in response.text
    assert _downloads(db) == 0


def test_the_file_headers(app: FastAPI, db: Database, client: TestClient) -> None:
    content = pdf_bytes(2)
    delivered = _deliver(
        app, db, "pdf", content, pages=2, file_name="Überblick 2026.pdf", content_type="text/html"
    )
    refused = client.get(delivered.path + "/file?download=yes")
    assert refused.status_code == 400 and "download: use 1" in refused.text
    assert _downloads(db) == 0  # a refused request records nothing
    inline = client.get(delivered.path + "/file")
    assert inline.status_code == 200
    assert inline.content == content
    assert inline.headers["content-type"] == "application/pdf"  # by kind, never the claimed type
    assert inline.headers["content-disposition"] == (
        "inline; filename=\"_berblick 2026.pdf\"; filename*=UTF-8''%C3%9Cberblick%202026.pdf"
    )
    assert inline.headers["x-content-type-options"] == "nosniff"
    assert inline.headers["cache-control"].startswith("private")
    attachment = client.get(delivered.path + "/file?download=1")
    assert attachment.headers["content-disposition"].startswith("attachment;")
    assert _downloads(db) == 1


def test_byte_ranges(app: FastAPI, db: Database, client: TestClient) -> None:
    content = bytes(range(256)) * 4
    delivered = _deliver(app, db, "video", content, content_type="video/mp4")
    part = client.get(delivered.path + "/file", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(content)}"
    assert part.headers["content-type"] == "video/mp4"
    tail = client.get(delivered.path + "/file", headers={"Range": "bytes=-5"})
    assert tail.content == content[-5:]
    beyond = client.get(delivered.path + "/file", headers={"Range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(content)}"


def test_the_epub_page_offers_the_download(app: FastAPI, db: Database, client: TestClient) -> None:
    delivered = _deliver(app, db, "epub", b"PK\x03\x04epub", description="A book <i>about</i> leads")
    response = client.get(delivered.path)
    assert response.status_code == 200
    assert f'href="{delivered.path}/file?download=1"' in response.text
    assert "A book &lt;i&gt;about&lt;/i&gt; leads" in response.text
    _no_inline_script(response.text)
    file = client.get(delivered.path + "/file?download=1")
    assert file.headers["content-type"] == "application/epub+zip"
    assert _downloads(db) == 1


def test_an_uploaded_video_plays_from_the_file(app: FastAPI, db: Database, client: TestClient) -> None:
    delivered = _deliver(app, db, "video", b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
    response = client.get(delivered.path)
    token = delivered.path.removeprefix("/r/")
    assert f'src="/r/{token}/file"' in response.text
    assert f'data-beacon-url="/t/v/{token}"' in response.text
    assert "/static/reader/player.js" in response.text
    _no_inline_script(response.text)


def test_a_video_url_plays_from_its_host_and_a_page_url_is_a_link(
    app: FastAPI, db: Database, client: TestClient
) -> None:
    hosted = _deliver(app, db, "video", video_url="https://cdn.example.com/talks/intro.mp4?v=2")
    response = client.get(hosted.path)
    assert 'src="https://cdn.example.com/talks/intro.mp4?v=2"' in response.text
    assert "media-src 'self' https://cdn.example.com" in response.headers["content-security-policy"]
    page = _deliver(app, db, "video", video_url="https://video.example.com/watch?v=abc")
    response = client.get(page.path)
    assert "<video" not in response.text
    assert 'href="https://video.example.com/watch?v=abc"' in response.text
    smuggling = _deliver(app, db, "video", video_url="https://cdn.example.com;script-src:*/clip.mp4")
    response = client.get(smuggling.path)
    assert "<video" not in response.text
    assert "media-src" not in response.headers["content-security-policy"]
    hostile = _deliver(app, db, "video", video_url="javascript:alert(1)")
    response = client.get(hostile.path)
    assert "javascript:" not in response.text
    assert "not ready yet" in response.text


def test_one_address_is_limited_per_minute(app: FastAPI, db: Database, client: TestClient) -> None:
    delivered = _deliver(app, db, "pdf", pdf_bytes(1), pages=1)
    for _ in range(REQUESTS_PER_MINUTE - 1):
        assert client.get("/r/forged.token").status_code == 400
    assert client.get(delivered.path).status_code == 200  # the last one this minute
    refused = client.get(delivered.path)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "Please wait a minute" in refused.text
