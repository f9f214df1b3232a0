"""Landing pages, form frames and the embed script as strangers' browsers get them."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import Event, Form, LandingPage, Visitor, Workspace
from leadwell.db.session import Database
from tests import factories
from tests.capture.public_support import CONSENT_TEXT, form_inputs, hidden_values, make_form, make_page

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def landing(db: Database) -> tuple[Workspace, Form, LandingPage]:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(
            session, workspace, allowed_origins=["https://partner.example", "http://localhost:8001"]
        )
        page = make_page(session, workspace, form, image=PNG, image_type="image/png", image_alt="A chart")
    return workspace, form, page


def assert_secure(response: object, ancestors: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert policy.endswith(f"frame-ancestors {ancestors}")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_a_landing_page_shows_its_title_body_image_and_form(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, page = landing
    response = client.get(f"/p/{page.slug}?utm_source=ads&utm_campaign=q1&utm_term=pricing&other=x")
    assert response.status_code == 200
    assert_secure(response, "'none'")
    html = response.text
    assert "<h1>The 2027 pricing guide</h1>" in html
    assert "<strong>how to price</strong>" in html and "<li>one</li>" in html
    assert f'src="/p/{page.slug}/image" alt="A chart"' in html
    assert "<script>" not in html  # no inline script anywhere
    inputs = form_inputs(html)
    assert inputs["email"]["type"] == "email" and "required" in inputs["email"]
    assert inputs["last_name"]["type"] == "text" and "required" not in inputs["last_name"]
    assert inputs["note"]["tag"] == "textarea" and inputs["size"]["tag"] == "select"
    assert inputs["budget"]["type"] == "number" and inputs["site"]["type"] == "url"
    assert inputs["phone"]["type"] == "tel" and inputs["newsletter"]["type"] == "checkbox"
    assert (
        '<label for="lw-f-email">Work email <span class="lw-required" title="required">*</span></label>'
        in html
    )
    assert f'<span class="lw-consent-text">{CONSENT_TEXT}</span>' in html
    honeypot = inputs["lw_website"]
    assert honeypot["tabindex"] == "-1" and honeypot["autocomplete"] == "off"
    assert re.search(r'<div class="lw-trap" aria-hidden="true">\s*<label for="lw-website">', html)
    hidden = hidden_values(html)
    assert (
        hidden["utm_source"] == "ads" and hidden["utm_campaign"] == "q1" and hidden["utm_term"] == "pricing"
    )
    assert "other" not in hidden and "utm_medium" not in hidden
    assert hidden["lw_page_url"].startswith(f"http://testserver/p/{page.slug}?utm_source=ads")
    assert hidden["lw_vid"] == response.cookies["lw_vid"]
    assert hidden["lw_token"] and form.submit_label in html


def test_a_visit_sets_the_visitor_cookie_and_records_an_anonymous_view(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    response = client.get(
        f"/p/{page.slug}?utm_campaign=spring", headers={"Referer": "https://search.example/?q=x"}
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("lw_vid=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Max-Age=63072000" in cookie and "Secure" not in cookie  # plain http here
    again = client.get(f"/p/{page.slug}")
    assert again.cookies.get("lw_vid", response.cookies["lw_vid"]) == response.cookies["lw_vid"]
    with db.session() as session:
        visitor = session.scalars(select(Visitor)).one()
        assert visitor.key == response.cookies["lw_vid"] and visitor.contact_id is None
        views = session.scalars(select(Event).where(Event.type == "page_viewed").order_by(Event.id)).all()
        assert len(views) == 2 and all(
            view.visitor_id == visitor.id and view.contact_id is None for view in views
        )
        first = views[0]
        assert first.properties == {
            "url": f"http://testserver/p/{page.slug}?utm_campaign=spring",
            "title": "The 2027 pricing guide",
            "referrer": "https://search.example/?q=x",
            "page": page.slug,
        }
        assert first.campaign == "spring"


def test_https_visits_get_a_secure_cookie(app: FastAPI, landing: tuple[Workspace, Form, LandingPage]) -> None:
    _workspace, _form, page = landing
    with TestClient(app, base_url="https://leads.example") as secure_client:
        response = secure_client.get(f"/p/{page.slug}")
    assert "Secure" in response.headers["set-cookie"]


def test_unknown_and_unpublished_pages_are_a_friendly_404(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    with db.session() as session:
        hidden = make_page(
            session, session.get(Workspace, page.workspace_id) or _workspace, None, published=False
        )
    for path in ("/p/nothing-here", f"/p/{hidden.slug}", f"/p/{hidden.slug}/image", "/p/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404
        assert "<h1>Not found</h1>" in response.text and "Traceback" not in response.text
        assert_secure(response, "'none'")
    with db.session() as session:
        assert session.scalar(select(Event.id)) is None  # no view of a page that is not there


def test_the_page_image_is_served_with_its_type_and_nosniff(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    response = client.get(f"/p/{page.slug}/image")
    assert response.status_code == 200 and response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    with db.session() as session:
        stored = session.get(LandingPage, page.id)
        assert stored is not None
        stored.image_type = "image/svg+xml"  # never served: an SVG can carry script
    assert client.get(f"/p/{page.slug}/image").status_code == 404


def test_markdown_labels_consent_and_thank_you_text_are_escaped(client: TestClient, db: Database) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    body = f"Hello {evil}\n\n[click](javascript:alert(1)) [ok](https://example.com) ![t](https://tracker.example/p.gif)"
    with db.session() as session:
        workspace = factories.make_workspace(session)
        fields = [
            {"key": "email", "label": f"Email {evil}", "type": "email", "maps_to": "email", "required": True},
            {"key": "pick", "label": "Pick", "type": "select", "options": [evil], "maps_to": None},
        ]
        form = make_form(
            session, workspace, fields=fields, consent_text=f"I agree {evil}", thank_you=f"Bye {evil}"
        )
        page = make_page(session, workspace, form, title=f"Title {evil}", body_markdown=body)
    html = client.get(f"/p/{page.slug}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html
    assert 'href="javascript:' not in html and "[click](javascript:alert(1))" in html
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">ok</a>' in html
    assert "tracker.example" not in html  # a picture from elsewhere shows as its text
    assert html.count("&lt;script&gt;") >= 5  # title twice, body, label, option, consent
    response = client.post(
        f"/f/{form.slug}",
        data={**hidden_values(html), "email": "eve@example.org", "pick": evil},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 200, response.text
    assert "<script>alert" not in response.text and "Bye &lt;script&gt;" in response.text


def test_the_form_frame_may_be_framed_by_the_allowed_origins_only(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, _page = landing
    response = client.get(
        f"/f/{form.slug}/frame",
        params={
            "vid": "A" * 22,
            "utm_source": "partner",
            "ref": "https://partner.example/offer?x=1",
            "rf": "https://search.example/",
        },
    )
    assert response.status_code == 200
    assert_secure(response, "'self' http://localhost:8001 https://partner.example")
    assert '<script src="http://testserver/static/public/frame.js" defer></script>' in response.text
    hidden = hidden_values(response.text)
    assert hidden["lw_vid"] == "A" * 22 and hidden["utm_source"] == "partner"
    assert hidden["lw_page_url"] == "https://partner.example/offer?x=1"
    assert hidden["lw_referrer"] == "https://search.example/"
    assert "set-cookie" not in response.headers  # showing a frame writes nothing
    bad_key = client.get(f"/f/{form.slug}/frame", params={"vid": "<script>"})
    assert "lw_vid" not in hidden_values(bad_key.text)


def test_the_embed_script_is_static_cacheable_and_secret_free(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, form, _page = landing
    response = client.get(f"/f/{form.slug}/embed.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=3600" in response.headers["cache-control"]
    assert "data-leadwell-form" in response.text and "event.origin !== source.origin" in response.text
    with db.session() as session:
        other = make_form(session, session.get(Workspace, form.workspace_id) or _workspace)
    assert client.get(f"/f/{other.slug}/embed.js").text == response.text  # nothing of one form in it
    assert client.get("/f/no-such-form/embed.js").status_code == 404
    assert client.get("/f/no-such-form/frame").status_code == 404
