"""The site tracking script in chromium, on a site of the user's spread over two domains.

Chromium resolves the site's domains to loopback (``--host-resolver-rules``), where a small HTTP
server plays the user's website; leadwell runs as the live server. The script must count page
views, keep one visitor in a first-party cookie, carry it across to the other domain and hand it
to embedded form frames.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Playwright
from sqlalchemy import select
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.capture.tracking_support import make_prospect, make_site

from leadwell.capture.processing import process_pending
from leadwell.db.models import Event, TrackingHit
from leadwell.db.session import Database

pytestmark = pytest.mark.browser

SITE_KEY = "site-browser-1"


def _site_page(live: str, port: int, title: str) -> str:
    return f"""<!doctype html><html><head><title>{title}</title>
<script src="{live}/t/{SITE_KEY}.js" async></script></head>
<body><h1>{title}</h1>
<a id="shop" href="http://acme-shop.example:{port}/cart">Shop</a>
<a id="pricing" href="/pricing">Pricing</a>
<a id="elsewhere" href="http://elsewhere.example:{port}/">Elsewhere</a>
<iframe id="form" src="{live}/f/newsletter/frame?ref=home" width="300" height="100"></iframe>
</body></html>"""


@pytest.fixture
def users_site(live_server: str) -> Iterator[int]:
    """The user's own website on loopback, answering for any host name; yields its port."""
    holder: dict[str, int] = {}

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            title = "Cart" if self.path.startswith("/cart") else "Home"
            body = _site_page(live_server, holder["port"], title).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    holder["port"] = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["port"]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def mapped_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with the site's domains pointing at loopback."""
    rules = "MAP acme.example 127.0.0.1, MAP *.acme.example 127.0.0.1, MAP *.example 127.0.0.1"
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"]
    )
    yield browser
    browser.close()


def _views(db: Database) -> list[TrackingHit]:
    with db.session() as session:
        return list(
            session.scalars(select(TrackingHit).where(TrackingHit.kind == "view").order_by(TrackingHit.id))
        )


def _eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_one_visitor_is_followed_across_the_sites_domains(
    mapped_browser: Browser, live_server: str, users_site: int, db: Database
) -> None:
    prospect = make_prospect(db)
    make_site(db, prospect.workspace, SITE_KEY, ["acme.example", "acme-shop.example"])
    context = mapped_browser.new_context()
    page = context.new_page()
    home = f"http://www.acme.example:{users_site}/"
    page.goto(home)
    page.wait_for_function("window.leadwellTracker !== undefined")
    _eventually(lambda: len(_views(db)) == 1)
    [first] = _views(db)
    cookies = {cookie["name"]: cookie for cookie in context.cookies(home)}
    key = cookies["lw_vid"]["value"]
    assert len(key) == 22 and cookies["lw_vid"]["sameSite"] == "Lax"
    # Two years asked; Chromium keeps no cookie longer than 400 days.
    assert cookies["lw_vid"]["expires"] > time.time() + 390 * 24 * 3600
    assert first.payload["v"] == key
    assert (first.payload["u"], first.payload["t"]) == (home, "Home")
    # The embedded form frame learns who is filling it in.
    frame_src = page.get_attribute("#form", "src") or ""
    assert f"vid={key}" in frame_src and "ref=home" in frame_src

    page.click("#shop")
    page.wait_for_url(f"http://acme-shop.example:{users_site}/cart")  # the key was taken out again
    _eventually(lambda: len(_views(db)) == 2)
    second = _views(db)[1]
    assert second.payload["v"] == key
    assert second.payload["u"] == f"http://acme-shop.example:{users_site}/cart"
    shop_cookies = {cookie["name"]: cookie["value"] for cookie in context.cookies(second.payload["u"])}
    assert shop_cookies["lw_vid"] == key

    # A link off the site's domains carries nothing along.
    href = page.eval_on_selector(
        "#elsewhere",
        "a => { a.addEventListener('click', e => e.preventDefault());"
        " a.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true})); return a.href; }",
    )
    assert "lw_vid" not in href
    context.close()

    process_pending(db)
    with db.session() as session:
        viewed = list(session.scalars(select(Event).where(Event.type == "page_viewed").order_by(Event.id)))
    assert len(viewed) == 2
    assert viewed[0].visitor_id == viewed[1].visitor_id is not None
    assert [event.properties["title"] for event in viewed] == ["Home", "Cart"]


def test_a_new_browser_is_a_new_visitor(
    mapped_browser: Browser, live_server: str, users_site: int, db: Database
) -> None:
    prospect = make_prospect(db)
    make_site(db, prospect.workspace, SITE_KEY, ["acme.example", "acme-shop.example"])
    keys = []
    for _ in range(2):
        context = mapped_browser.new_context()
        page = context.new_page()
        page.goto(f"http://acme.example:{users_site}/")
        page.wait_for_function("window.leadwellTracker !== undefined")
        keys.append(page.evaluate("window.leadwellTracker.visitor"))
        context.close()
    _eventually(lambda: len(_views(db)) == 2)
    assert keys[0] != keys[1]
    assert [hit.payload["v"] for hit in _views(db)] == keys
