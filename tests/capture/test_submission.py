"""Accepted submissions over real HTTP: the contact, the submission, the consent, the events."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import (
    Consent,
    Contact,
    ContactEmail,
    Engagement,
    Event,
    Form,
    FormSubmission,
    LandingPage,
    Organization,
    Visitor,
    Workspace,
)
from leadwell.db.session import Database
from tests import factories
from tests.capture.public_support import CONSENT_TEXT, counts, hidden_values, make_asset, make_form, make_page
from tests.conftest import TEST_SECRET

ORIGIN = {"Origin": "http://testserver"}
PERSON = {
    "email": "Grace.Hopper@Navy-Research.example",
    "first_name": "Grace",
    "last_name": "Hopper",
    "phone": "+44 20 7946 0958",
    "company": "Navy Research",
    "country": "United Kingdom",
    "size": "11-50",
    "budget": "12500",
    "site": "https://navy-research.example/about",
    "note": "Line one\nLine two",
    "newsletter": "yes",
}


@pytest.fixture
def landing(db: Database) -> tuple[Workspace, Form, LandingPage]:
    with db.session() as session:
        workspace = factories.make_workspace(session, "Acme")
        asset = make_asset(session, workspace, "pdf", pages=12)
        form = make_form(session, workspace, asset_id=asset.id)
        page = make_page(session, workspace, form)
    return workspace, form, page


def open_page(client: TestClient, page: LandingPage, query: str = "") -> str:
    response = client.get(f"/p/{page.slug}{query}", headers={"Referer": "https://news.example/story"})
    assert response.status_code == 200, response.text
    return response.text


def submit(
    client: TestClient, html: str, fields: dict[str, str], headers: dict[str, str] | None = None
) -> Any:
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action is not None
    body = {**hidden_values(html), **fields}
    return client.post(action.group(1), data=body, headers={**ORIGIN, **(headers or {})})


def test_a_prospect_becomes_a_contact_with_source_utm_consent_and_score(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    workspace, form, page = landing
    html = open_page(client, page, "?utm_source=newsletter&utm_medium=email&utm_campaign=spring-27")
    before = datetime.now(UTC)
    response = submit(client, html, {**PERSON, "lw_consent": "yes"}, {"User-Agent": "Firefox/130"})
    after = datetime.now(UTC)

    assert response.status_code == 200, response.text
    assert "Thanks! Your guide is ready." in response.text
    link = re.search(r'href="(http://testserver/r/[^"]+)"', response.text)
    assert link is not None and "Read it now" in response.text
    assert response.cookies.get("lw_vid")
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert (contact.email, contact.first_name, contact.last_name) == (
            "grace.hopper@navy-research.example",
            "Grace",
            "Hopper",
        )
        assert contact.source == f"form:{form.slug}"
        assert contact.phones == ["+442079460958"]
        assert contact.country == "GB"
        assert contact.custom["team_size"] == "11-50"
        assert contact.custom["budget"] == 12500
        assert contact.custom["note"] == "Line one\nLine two"
        assert contact.custom["newsletter"] is True
        organization = session.get(Organization, contact.organization_id)
        assert organization is not None and organization.domain == "navy-research.example"
        assert organization.name == "Navy Research"
        assert contact.consent == "opted_in" and contact.consent_at is not None

        submission = session.scalars(select(FormSubmission)).one()
        assert submission.utm == {
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "spring-27",
        }
        assert submission.referrer == "https://news.example/story"
        query = "utm_source=newsletter&utm_medium=email&utm_campaign=spring-27"
        assert submission.page_url == f"http://testserver/p/{page.slug}?{query}"
        assert submission.landing_page_id == page.id
        assert submission.ip == "testclient" and submission.user_agent == "Firefox/130"
        assert submission.contact_id == contact.id

        consent = session.scalars(select(Consent)).one()
        assert consent.text == CONSENT_TEXT and consent.ip == "testclient" and consent.state == "opted_in"
        assert before <= consent.given_at <= after and consent.submission_id == submission.id

        event = session.scalars(select(Event).where(Event.type == "form_submitted")).one()
        assert event.contact_id == contact.id and event.source == "form" and event.campaign == "spring-27"
        assert event.properties["form"] == form.slug and event.properties["page"] == page.slug
        assert event.properties["asset"].startswith("guide-")
        assert event.properties["fields"]["email"] == "grace.hopper@navy-research.example"
        engagement = session.get(Engagement, contact.id)
        assert engagement is not None and engagement.score > 0

        visitor = session.scalars(select(Visitor).where(Visitor.key == response.cookies["lw_vid"])).one()
        assert visitor.contact_id == contact.id and submission.visitor_id == visitor.id
        # The anonymous view of the landing page joined the contact's history.
        view = session.scalars(select(Event).where(Event.type == "page_viewed")).one()
        assert view.contact_id == contact.id and view.visitor_id == visitor.id
    assert workspace.id == contact.workspace_id


def test_an_existing_contact_is_matched_by_a_secondary_email_and_updated(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    workspace, _form, page = landing
    with db.session() as session:
        known = factories.make_contact(
            session,
            workspace,
            first_name="G.",
            email="grace@home.example",
            phones=["+15551230000"],
            custom={"vip": True},
        )
        session.add(
            ContactEmail(
                workspace_id=workspace.id,
                contact_id=known.id,
                email="grace.hopper@navy-research.example",
                position=1,
            )
        )
        known_id = known.id
    before = counts(db)
    response = submit(client, open_page(client, page), PERSON)
    assert response.status_code == 200, response.text
    after = counts(db)
    assert after.contacts == before.contacts
    assert after.submissions == before.submissions + 1
    assert after.consents == before.consents  # the box was not ticked
    with db.session() as session:
        contact = session.get(Contact, known_id)
        assert contact is not None
        assert contact.first_name == "Grace" and contact.last_name == "Hopper"
        assert contact.email == "grace@home.example"  # the primary address stays
        assert contact.phones == ["+442079460958", "+15551230000"]
        assert contact.custom["vip"] is True and contact.custom["team_size"] == "11-50"
        assert contact.consent == "unknown"
        assert session.scalars(select(FormSubmission)).one().contact_id == known_id


def test_posting_the_same_rendered_form_twice_stores_one_submission(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    html = open_page(client, page)
    first = submit(client, html, {**PERSON, "lw_consent": "yes"})
    middle = counts(db)
    second = submit(client, html, {**PERSON, "lw_consent": "yes", "first_name": "Changed"})
    assert first.status_code == second.status_code == 200
    assert counts(db) == middle
    # The same thank-you: the link delivers the same magnet to the same person (a link signed a
    # second later differs in its time stamp only).
    signer = TokenSigner(TEST_SECRET)
    delivered = [signer.verify("deliver", delivery_token(answer.text)) for answer in (first, second)]
    assert delivered[0] == delivered[1]
    with db.session() as session:
        assert session.scalars(select(Contact.first_name)).one() == "Grace"
        assert len(session.scalars(select(Event).where(Event.type == "form_submitted")).all()) == 1


def delivery_token(html: str) -> str:
    found = re.search(r'href="http://testserver/r/([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_json_client_gets_the_delivery_link(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    response = submit(client, open_page(client, page), PERSON, {"Accept": "application/json"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["delivery_url"].startswith("http://testserver/r/")


def test_a_form_without_a_magnet_thanks_with_its_own_words_and_no_link(
    client: TestClient, db: Database
) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(
            session, workspace, thank_you="We will call you.\n\nHave a good day.", consent_text=None
        )
        page = make_page(session, workspace, form)
    html = open_page(client, page)
    assert "lw_consent" not in html
    response = submit(client, html, {"email": "ada@gmail.com", "first_name": "Ada"})
    assert response.status_code == 200
    assert "<p>We will call you.</p>" in response.text and "<p>Have a good day.</p>" in response.text
    assert "/r/" not in response.text
    with db.session() as session:
        assert session.scalar(select(Consent.id)) is None
        contact = session.scalars(select(Contact)).one()
        # A free-mail address names no company: no organization is made up from it.
        assert contact.organization_id is None


def test_a_webinar_form_registers_the_contact_and_shows_the_date(client: TestClient, db: Database) -> None:
    starts = datetime(2027, 3, 9, 15, 0, tzinfo=UTC)
    with db.session() as session:
        workspace = factories.make_workspace(session)
        webinar = make_asset(
            session, workspace, "webinar", starts_at=starts, location="Online", slug="q2-pricing"
        )
        form = make_form(session, workspace, asset_id=webinar.id, source="webinar signup")
        page = make_page(session, workspace, form)
    response = submit(client, open_page(client, page), PERSON)
    assert response.status_code == 200
    assert "Tuesday 09 March 2027, 15:00 UTC" in response.text
    with db.session() as session:
        types = sorted(session.scalars(select(Event.type).where(Event.contact_id.is_not(None))))
        assert types == ["form_submitted", "page_viewed", "stage_changed", "webinar_registered"]
        registered = session.scalars(select(Event).where(Event.type == "webinar_registered")).one()
        assert registered.properties["webinar"] == "q2-pricing"
        assert session.scalars(select(Contact.source)).one() == "webinar signup"


def test_a_browser_already_tied_to_someone_else_starts_a_new_visitor(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    first = submit(client, open_page(client, page), PERSON)
    first_key = first.cookies["lw_vid"]
    client.cookies.set("lw_vid", first_key)
    second = submit(client, open_page(client, page), {**PERSON, "email": "someone.else@example.org"})
    assert second.status_code == 200
    assert second.cookies["lw_vid"] != first_key
    with db.session() as session:
        owners = {key: owner for key, owner in session.execute(select(Visitor.key, Visitor.contact_id))}
        assert owners[first_key] != owners[second.cookies["lw_vid"]]
        assert len(set(owners.values())) == 2


def test_old_submissions_do_not_block_new_ones(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    """Each rendering is a new nonce: a person who comes back a day later is stored again."""
    _workspace, _form, page = landing
    submit(client, open_page(client, page), PERSON)
    submit(client, open_page(client, page), PERSON)
    with db.session() as session:
        submissions = session.scalars(select(FormSubmission)).all()
        assert len(submissions) == 2 and len({row.nonce for row in submissions}) == 2
        assert len(session.scalars(select(Contact)).all()) == 1


def test_a_full_name_a_national_phone_number_and_a_website_are_read_like_imports(
    client: TestClient, db: Database
) -> None:
    fields = [
        {"key": "email", "label": "Email", "type": "email", "maps_to": "email", "required": True},
        {"key": "full_name", "label": "Name", "type": "text", "maps_to": "name"},
        {"key": "phone", "label": "Phone", "type": "tel", "maps_to": "phone"},
        {"key": "country", "label": "Country", "type": "text", "maps_to": "country"},
        {"key": "website", "label": "Website", "type": "url", "maps_to": "website"},
        {"key": "role", "label": "Role", "type": "text", "maps_to": "title"},
    ]
    with db.session() as session:
        workspace = factories.make_workspace(session)
        existing = factories.make_organization(session, workspace, name="Old name", domain="babbage.example")
        form = make_form(session, workspace, fields=fields)
        page = make_page(session, workspace, form)
    person = {
        "email": "ada@gmail.com",
        "full_name": "DR. ADA LOVELACE",
        "phone": "020 7946 0958",
        "country": "uk",
        "website": "https://www.babbage.example/engines",
        "role": "Analyst",
    }
    response = submit(client, open_page(client, page), person)
    assert response.status_code == 200, response.text
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
        assert contact.phones == ["+442079460958"] and contact.country == "GB"
        assert contact.organization_id == existing.id and contact.title == "Analyst"
        assert contact.custom == {"website": "https://www.babbage.example/engines"}
        assert session.scalar(select(func.count()).select_from(Organization)) == 1


def test_twin_posts_of_one_rendered_form_racing_each_other_store_one_submission(
    client: TestClient, db: Database, landing: tuple[Workspace, Form, LandingPage]
) -> None:
    _workspace, _form, page = landing
    html = open_page(client, page)
    start = threading.Barrier(2)
    answers: list[Any] = []

    def post_once() -> None:
        start.wait()
        answers.append(submit(client, html, PERSON, {"Accept": "application/json"}))

    threads = [threading.Thread(target=post_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200, 200]
    signer = TokenSigner(TEST_SECRET)
    links = [answer.json()["delivery_url"].rpartition("/r/")[2] for answer in answers]
    assert signer.verify("deliver", links[0]) == signer.verify("deliver", links[1])
    after = counts(db)
    assert (after.contacts, after.submissions) == (1, 1)
    with db.session() as session:
        assert len(session.scalars(select(Event).where(Event.type == "form_submitted")).all()) == 1


def test_a_visitor_key_from_the_tracking_script_is_kept_for_its_waiting_page_views(
    client: TestClient, db: Database
) -> None:
    """The frame is given the tracking script's key before any of its page views was processed."""
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(session, workspace, allowed_origins=["https://www.acme.example"])
    key = "TrackedBrowser00000001"
    frame = client.get(
        f"/f/{form.slug}/frame", params={"vid": key, "ref": "https://www.acme.example/pricing"}
    )
    response = client.post(
        f"/f/{form.slug}",
        data={**hidden_values(frame.text), "email": "lin@acme.example", "first_name": "Lin"},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 200 and response.cookies["lw_vid"] == key
    with db.session() as session:
        visitor = session.scalars(select(Visitor)).one()
        contact = session.scalars(select(Contact)).one()
        assert visitor.key == key and visitor.contact_id == contact.id
        submission = session.scalars(select(FormSubmission)).one()
        assert (
            submission.page_url == "https://www.acme.example/pricing" and submission.visitor_id == visitor.id
        )
