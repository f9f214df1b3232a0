"""Reading depth on the contact's page: the "Lead magnets" panel and the milestones in the timeline."""

from __future__ import annotations

from fastapi.testclient import TestClient

from leadwell.capture.reading import process_progress_hits
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from tests import factories
from tests.capture.reader_support import make_asset, pdf_bytes, read_hit, video_hit
from tests.test_pages import login


def test_the_contact_page_shows_how_far_each_magnet_got(
    client: TestClient, db: Database, codec: IdCodec
) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        user = factories.make_user(session, workspace)
        contact = factories.make_contact(session, workspace)
        paper = make_asset(session, workspace, "pdf", pdf_bytes(1), pages=18, title="Pricing <b>paper</b>")
        video = make_asset(session, workspace, "video", b"\x00" * 8, title="Intro talk")
        book = make_asset(session, workspace, "epub", b"PK", title="The book")
        factories.make_event(session, contact, "asset_downloaded", properties={"asset": book.slug})
        ids = (workspace.id, contact.id)
        email, public_id = user.email, codec.encode("contact", contact.id)
    with db.session() as session:
        hits = [
            read_hit(*ids, paper.id, list(range(1, 10)), 6 * 60),
            read_hit(*ids, paper.id, list(range(1, 15)), 16 * 60, "second-load"),
            video_hit(*ids, video.id, 75, 130),
        ]
        process_progress_hits(session, hits, utcnow())
    login(client, email)
    page = client.get(f"/contacts/{public_id}").text
    panel = page.split('<section id="lead-magnets">')[1].split("</section>")[0]
    assert "Pricing &lt;b&gt;paper&lt;/b&gt;" in panel
    assert "Read 14 of 18 pages, 22 minutes active" in panel
    assert "Watched 75%" in panel
    assert "The book" in panel and "Downloaded" in panel
    timeline = page.split('<ol class="timeline">')[1]
    assert f"Read {paper.slug} — 50% (9 of 18 pages, 6 minutes active)" in timeline
    assert f"Read {paper.slug} — 75% (14 of 18 pages, 22 minutes active)" in timeline
    assert f"Watched {video.slug} — 75% (2 min watched)" in timeline


def test_no_panel_without_magnets(client: TestClient, db: Database, codec: IdCodec) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        user = factories.make_user(session, workspace)
        contact = factories.make_contact(session, workspace)
        email, public_id = user.email, codec.encode("contact", contact.id)
    login(client, email)
    assert 'id="lead-magnets"' not in client.get(f"/contacts/{public_id}").text
