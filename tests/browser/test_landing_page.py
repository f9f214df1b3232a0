"""A prospect in chromium: fills a hosted landing page's form, and a form embedded on another
site (a second loopback server, so another origin), and leadwell holds what they did."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import select
from tests.browser.conftest import ACTION_TIMEOUT_MS, free_port
from tests.browser.test_pages_browser import screenshot
from tests.capture.public_support import CONSENT_TEXT, make_asset, make_form, make_page
from tests.factories import make_workspace

from leadwell.db.models import Consent, Contact, Event, FormSubmission, Visitor
from leadwell.db.session import Database
from leadwell.db.types import utcnow

pytestmark = pytest.mark.browser


def _blocked_or_broken(message: ConsoleMessage) -> bool:
    """A console error other than an HTTP status (the 422 shown on purpose, the absent favicon)."""
    return message.type == "error" and not message.text.startswith("Failed to load resource")


VISITOR_KEY = "hostSiteVisitor0000001"  # 22 characters, as the tracking script makes them


def test_a_prospect_fills_the_landing_page_form_and_gets_the_guide(
    page: Page, live_server: str, db: Database
) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        guide = make_asset(session, workspace, "pdf", title="Pricing guide", pages=18)
        form = make_form(session, workspace, asset_id=guide.id, min_fill_seconds=1, consent_required=True)
        landing = make_page(session, workspace, form)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if _blocked_or_broken(message) else None)
    page.goto(f"/p/{landing.slug}?utm_source=linkedin&utm_medium=social&utm_campaign=launch")
    expect(page.get_by_role("heading", name="The 2027 pricing guide")).to_be_visible()
    expect(page.locator("#lw-website")).not_to_be_in_viewport()  # the honeypot is off-screen
    page.get_by_label("Work email").fill("grace@navy-research.example")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Phone").fill("+1 415 555 0100")
    page.get_by_label("Team size").select_option("11-50")
    page.wait_for_timeout(1100)  # past the form's minimum fill time
    page.get_by_role("button", name="Get the guide").click()
    # Without the required consent the form comes back with its message, and what was typed.
    expect(page.get_by_text("Consent: tick this box to continue")).to_be_visible()
    screenshot(page, "landing-page-problem")
    expect(page.get_by_label("Work email")).to_have_value("grace@navy-research.example")
    expect(page.get_by_label("Team size")).to_have_value("11-50")
    page.get_by_label(CONSENT_TEXT).check()
    page.get_by_role("button", name="Get the guide").click()

    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    screenshot(page, "landing-page-thanks")
    link = page.get_by_role("button", name="Read it now")
    assert (link.get_attribute("href") or "").startswith(f"{live_server}/r/")
    assert problems == []  # nothing the content policy blocked, no script error
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.email == "grace@navy-research.example" and contact.source == f"form:{form.slug}"
        assert contact.phones == ["+14155550100"] and contact.custom["team_size"] == "11-50"
        submission = session.scalars(select(FormSubmission)).one()
        assert submission.utm == {"utm_source": "linkedin", "utm_medium": "social", "utm_campaign": "launch"}
        assert submission.ip == "127.0.0.1" and "Chrome" in (submission.user_agent or "")
        consent = session.scalars(select(Consent)).one()
        assert consent.text == CONSENT_TEXT and consent.ip == "127.0.0.1"
        types = set(session.scalars(select(Event.type).where(Event.contact_id == contact.id)))
        assert {"page_viewed", "form_submitted"} <= types


class _HostSite(BaseHTTPRequestHandler):
    """The user's own website: one page carrying the embed snippet, and the tracking cookie."""

    snippet = ""

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body = (
            "<!doctype html><html><head><title>Partner offer</title></head><body>"
            "<h1>Our partner's offer</h1>"
            f"<script>document.cookie = 'lw_vid={VISITOR_KEY}; path=/';</script>"
            f"{self.snippet}</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


@pytest.fixture
def host_site() -> Iterator[tuple[str, type[_HostSite]]]:
    """A second loopback server on another port (another origin); yields its base URL."""
    port = free_port()
    handler = type("HostSite", (_HostSite,), {})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_prospect_submits_a_form_embedded_on_another_site(
    browser: Browser, live_server: str, db: Database, host_site: tuple[str, type[_HostSite]]
) -> None:
    host, handler = host_site
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        form = make_form(session, workspace, allowed_origins=[host], min_fill_seconds=1)
        # The tracking script saw this browser before, anonymously.
        visitor = Visitor(
            workspace_id=workspace.id, key=VISITOR_KEY, first_seen_at=utcnow(), last_seen_at=utcnow()
        )
        session.add(visitor)
        session.flush()
        visitor_id = visitor.id
    handler.snippet = (
        f'<div data-leadwell-form="{form.slug}"></div>'
        f'<script src="{live_server}/f/{form.slug}/embed.js" async></script>'
    )
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda message: problems.append(message.text) if _blocked_or_broken(message) else None)
    try:
        host_page = f"{host}/offer.html?utm_source=partner&utm_campaign=co-marketing"
        tab.goto(host_page)
        frame = tab.frame_locator(f'div[data-leadwell-form="{form.slug}"] iframe')
        frame.get_by_label("Work email").fill("ada@analytical.example")
        frame.get_by_label("First name").fill("Ada")
        # The frame reported its height and the host page sized it to fit the whole form.
        expect(tab.locator("iframe")).not_to_have_css("height", "480px")
        screenshot(tab, "embedded-form")
        tab.wait_for_timeout(1100)
        frame.get_by_role("button", name="Get the guide").click()
        expect(frame.get_by_role("heading", name="Thank you")).to_be_visible()
        expect(frame.get_by_text("Thanks! Your guide is ready.")).to_be_visible()
        screenshot(tab, "embedded-form-thanks")
        assert problems == []
    finally:
        context.close()
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.email == "ada@analytical.example"
        submission = session.scalars(select(FormSubmission)).one()
        assert submission.page_url == host_page and submission.landing_page_id is None
        assert submission.utm == {"utm_source": "partner", "utm_campaign": "co-marketing"}
        assert submission.visitor_id == visitor_id
        assert session.get(Visitor, visitor_id).contact_id == contact.id  # type: ignore[union-attr]
