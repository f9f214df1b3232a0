"""The hosted reader in chromium: pdf.js shows the pages, the reader pages through them, and the
beacons it sends become a Reading with the pages seen, the active time and a 50 % milestone."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import select
from tests import factories
from tests.browser.test_pages_browser import log_in
from tests.capture.public_support import CONSENT_TEXT, make_form, make_page
from tests.capture.reader_support import events_of, make_asset, pdf_bytes
from tests.conftest import TEST_SECRET

from leadwell.capture.processing import process_pending
from leadwell.capture.reader_pages import delivery_url
from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Consent, Contact, FormSubmission, Reading, TrackingHit
from leadwell.db.session import Database
from leadwell.ids import IdCodec

pytestmark = pytest.mark.browser
FIRST_RENDER_MS = 20_000
BEACON_WAIT_SECONDS = 10.0


def _read_hits(db: Database) -> list[TrackingHit]:
    with db.session() as session:
        return list(session.scalars(select(TrackingHit).where(TrackingHit.kind == "read")))


def _wait_for_final_beacon(db: Database, pages: int) -> None:
    """Until a read hit reports ``pages`` pages (sendBeacon delivers after the page is gone)."""
    deadline = time.monotonic() + BEACON_WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(len(hit.payload["pages"]) == pages for hit in _read_hits(db)):
            return
        time.sleep(0.1)
    raise AssertionError(f"no read beacon with {pages} pages arrived: {[h.payload for h in _read_hits(db)]}")


def test_paging_through_the_reader_is_measured(page: Page, live_server: str, db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        asset = make_asset(session, workspace, "pdf", pdf_bytes(6), pages=6, title="Six page guide")
        ids = (workspace.id, contact.id, asset.id)
    problems: list[str] = []
    page.on("console", lambda message: _note_error(message, problems))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: _note_failure(response.url, response.status, problems))

    started = time.monotonic()
    page.goto(delivery_url(TokenSigner(TEST_SECRET), live_server, *ids))
    reader = page.locator("#reader")
    expect(reader).to_have_attribute("data-shown", "1", timeout=FIRST_RENDER_MS)
    expect(page.locator("#reader-status")).to_have_text("Page 1 of 6")
    expect(page.locator("#reader-prev")).to_be_disabled()

    page.get_by_role("button", name="Next").click()
    expect(reader).to_have_attribute("data-shown", "2")
    page.keyboard.press("ArrowRight")
    expect(reader).to_have_attribute("data-shown", "3")
    page.get_by_role("button", name="Next").click()
    expect(reader).to_have_attribute("data-shown", "4")
    expect(page.locator("#reader-status")).to_have_text("Page 4 of 6")
    canvas_width = page.locator("#reader-canvas").evaluate("canvas => canvas.width")
    assert canvas_width > 100  # a page was drawn, not an empty canvas

    for _ in range(3):  # reading page 4 for a few seconds, moving the pointer now and then
        page.mouse.move(300, 400)
        page.wait_for_timeout(1000)
    page.goto(f"{live_server}/login")  # leaving the reader: pagehide sends the final beacon
    elapsed = time.monotonic() - started
    _wait_for_final_beacon(db, 4)

    process_pending(db)
    with db.session() as session:
        reading = session.scalar(select(Reading).where(Reading.contact_id == contact.id))
        assert reading is not None
        assert (reading.pages_seen, reading.pages_total) == ([1, 2, 3, 4], 6)
        assert 3 <= reading.active_seconds <= elapsed + 1
        milestones = events_of(session, contact.id, "read_progress")
        assert [event.properties["percent"] for event in milestones] == [25, 50]
        assert milestones[1].properties["pages_viewed"] == 4
        assert milestones[1].properties["pages_total"] == 6
        assert len(events_of(session, contact.id, "asset_downloaded")) == 1
    assert problems == []


def _note_error(message: ConsoleMessage, problems: list[str]) -> None:
    # The browser asks for /favicon.ico on its own; leadwell has none.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        problems.append(f"{message.text} ({message.location.get('url')})")


def _note_failure(url: str, status: int, problems: list[str]) -> None:
    if status >= 400:
        problems.append(f"{status} {url}")


def test_the_webinar_page_shows_the_viewers_own_time(
    browser: Browser, live_server: str, db: Database
) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        starts = datetime(2026, 12, 10, 15, 30, tzinfo=UTC)
        webinar = make_asset(session, workspace, "webinar", starts_at=starts, duration_minutes=45)
        ids = (workspace.id, contact.id, webinar.id)
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    try:
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda message: _note_error(message, problems))
        tab.goto(delivery_url(TokenSigner(TEST_SECRET), live_server, *ids))
        start = tab.locator("#event-start")
        expect(start).to_contain_text("10:30")  # 15:30 UTC in New York in December
        expect(start).to_contain_text("EST")
        assert problems == []
    finally:
        context.close()


# Records a canvas for the given milliseconds and answers the WebM file, base64-encoded: a real
# video made by the browser itself, since the machine has no video tools.
RECORD_WEBM = """async (ms) => {
  const canvas = document.createElement("canvas");
  canvas.width = 160;
  canvas.height = 120;
  document.body.append(canvas);
  const context = canvas.getContext("2d");
  const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: "video/webm;codecs=vp8" });
  const chunks = [];
  recorder.ondataavailable = (event) => chunks.push(event.data);
  let frame = 0;
  const painter = setInterval(() => {
    context.fillStyle = `hsl(${(frame += 10) % 360}, 80%, 50%)`;
    context.fillRect(0, 0, 160, 120);
  }, 40);
  recorder.start(100);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.stop();
  await stopped;
  clearInterval(painter);
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}"""


def _video_hits(db: Database) -> list[TrackingHit]:
    with db.session() as session:
        return list(session.scalars(select(TrackingHit).where(TrackingHit.kind == "video")))


def test_watching_a_video_to_the_end_is_measured(page: Page, live_server: str, db: Database) -> None:
    page.set_content("<html><body></body></html>")
    webm = base64.b64decode(page.evaluate(RECORD_WEBM, 2000))
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        video = make_asset(session, workspace, "video", webm, content_type="video/webm", duration_seconds=2)
        ids = (workspace.id, contact.id, video.id)
    page.goto(delivery_url(TokenSigner(TEST_SECRET), live_server, *ids))
    player = page.locator("#player")
    player.evaluate("video => { video.muted = true; return video.play(); }")
    # (wait_for_function evaluates a string, which the page's CSP rightly forbids: poll instead)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not player.evaluate("video => video.ended"):
        page.wait_for_timeout(100)
    assert player.evaluate("video => video.ended")
    page.goto(f"{live_server}/login")
    deadline = time.monotonic() + BEACON_WAIT_SECONDS
    while time.monotonic() < deadline and not any(h.payload["percent"] == 100 for h in _video_hits(db)):
        time.sleep(0.1)
    process_pending(db)
    with db.session() as session:
        reading = session.scalar(select(Reading).where(Reading.contact_id == contact.id))
        assert reading is not None
        assert reading.percent == 100.0
        assert 1 <= reading.active_seconds <= 3
        watched = events_of(session, contact.id, "video_progress")
        assert [event.properties["percent"] for event in watched] == [25, 50, 75, 100]


def test_from_the_landing_page_to_the_contacts_timeline(page: Page, live_server: str, db: Database) -> None:
    """The whole path: a prospect fills the form, reads part of the guide, and the contact's page
    shows the reading with the numbers the prospect produced."""
    with db.session() as session:
        workspace = factories.make_workspace(session)
        owner = factories.make_user(session, workspace)
        guide = make_asset(session, workspace, "pdf", pdf_bytes(6), pages=6, title="Six page guide")
        form = make_form(session, workspace, asset_id=guide.id, min_fill_seconds=1)
        landing = make_page(session, workspace, form)
        email, guide_slug, form_slug = owner.email, guide.slug, form.slug
    page.goto(f"/p/{landing.slug}?utm_source=newsletter&utm_campaign=spring")
    page.get_by_label("Work email").fill("ada@engines.example")
    page.get_by_label("First name").fill("Ada")
    page.locator("#lw-consent").check()
    page.wait_for_timeout(1100)  # past the form's minimum fill time
    page.get_by_role("button", name="Get the guide").click()
    started = time.monotonic()
    page.get_by_role("button", name="Read it now").click()
    reader = page.locator("#reader")
    expect(reader).to_have_attribute("data-shown", "1", timeout=FIRST_RENDER_MS)
    for shown in ("2", "3"):
        page.keyboard.press("ArrowRight")
        expect(reader).to_have_attribute("data-shown", shown)
    page.wait_for_timeout(2000)
    log_in(page, email)  # leaving the reader sends its last beacon
    elapsed = time.monotonic() - started
    _wait_for_final_beacon(db, 3)
    process_pending(db)

    with db.session() as session:
        contact = session.scalars(select(Contact).where(Contact.email == "ada@engines.example")).one()
        reading = session.scalar(select(Reading).where(Reading.contact_id == contact.id))
        assert reading is not None and reading.pages_seen == [1, 2, 3]
        active = reading.active_seconds
        assert 2 <= active <= elapsed + 1
        public_id = IdCodec(TEST_SECRET).encode("contact", contact.id)
        assert contact.source == f"form:{form_slug}" and contact.consent == "opted_in"
        submission = session.scalars(
            select(FormSubmission).where(FormSubmission.contact_id == contact.id)
        ).one()
        assert submission.utm == {"utm_source": "newsletter", "utm_campaign": "spring"}
        consent = session.scalars(select(Consent).where(Consent.contact_id == contact.id)).one()
        assert (consent.text, consent.state, consent.ip) == (CONSENT_TEXT, "opted_in", "127.0.0.1")
    page.goto(f"/contacts/{public_id}")
    forms_panel = page.locator("#forms-and-consent")
    expect(forms_panel).to_contain_text("source: newsletter, campaign: spring")
    expect(forms_panel.locator(".consent-text")).to_have_text(CONSENT_TEXT)
    minutes = "under a minute active" if active < 60 else f"{round(active / 60)} minute"
    expect(page.locator("#lead-magnets")).to_contain_text(f"Read 3 of 6 pages, {minutes}")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text(f"Read {guide_slug} — 50% (3 of 6 pages, {minutes}")
    expect(timeline).to_contain_text(f"Read {guide_slug} — 25% (")
    expect(timeline).to_contain_text(f"Downloaded {guide_slug}")
    expect(timeline).to_contain_text("Submitted a form")
