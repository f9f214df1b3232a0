"""Experiments on landing pages, forms and lead magnets over real HTTP: one variant per browser on
every visit, the exposure when shown, the same variant at render and at submit, and the contact a
form creates holding the browser's assignment, its submission a conversion for that variant."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.capture import public_pages
from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Asset, Contact, Event, Experiment, Form, LandingPage, Visitor, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.experiments.results import experiment_report
from tests import factories
from tests.capture.public_support import form_inputs, hidden_values, make_asset, make_form, make_page
from tests.conftest import TEST_SECRET
from tests.experiments.integration_support import (
    assignments,
    exposure_events,
    make_experiment,
    variant,
    variant_keys,
)

ORIGIN = {"Origin": "http://testserver"}
PERSON = {"email": "ada@engines.example", "first_name": "Ada"}
SHARPER = "A sharper offer"
BROWSERS = 30  # fresh browsers tried before one is given the variant wanted


def _title(html: str) -> str:
    found = re.search(r"<h1>([^<]*)</h1>", html)
    assert found is not None
    return found.group(1)


def _fresh_browser_seeing(client: TestClient, url: str, wanted: Callable[[str], bool]) -> str:
    """Visit ``url`` as new browsers (no cookie) until one is shown what ``wanted`` accepts; that
    browser's page (its cookie stays in ``client``)."""
    for _ in range(BROWSERS):
        client.cookies.clear()
        response = client.get(url)
        assert response.status_code == 200, response.text
        if wanted(response.text):
            return response.text
    pytest.fail(f"none of {BROWSERS} new browsers was shown the variant wanted")


def _submit(client: TestClient, html: str, fields: dict[str, str]) -> str:
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action is not None
    response = client.post(action.group(1), data={**hidden_values(html), **fields}, headers=ORIGIN)
    assert response.status_code == 200, response.text
    return response.text


def _page_experiment(db: Database) -> tuple[Workspace, LandingPage, int]:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        page = make_page(session, workspace, make_form(session, workspace))
        specs = [variant("A"), variant("B", overrides={"title": SHARPER, "body_markdown": "Why **now**."})]
        experiment = make_experiment(session, workspace, "landing_page", page.id, specs)
    return workspace, page, experiment.id


def test_a_browser_sees_one_variant_on_every_visit_and_is_exposed_each_time(
    client: TestClient, db: Database
) -> None:
    _workspace, page, experiment_id = _page_experiment(db)
    first = _title(client.get(f"/p/{page.slug}").text)
    for _ in range(3):
        assert _title(client.get(f"/p/{page.slug}").text) == first
    (row,) = assignments(db, experiment_id)
    assert row.exposures == 4 and row.contact_id is None and row.visitor_id is not None
    (event,) = exposure_events(db)
    assert (event.visitor_id, event.contact_id) == (row.visitor_id, None)
    assert event.properties["variant"] == variant_keys(db, experiment_id)[row.variant_id]
    with db.session() as session:
        views = session.scalars(select(Event).where(Event.type == "page_viewed")).all()
        assert {view.properties["title"] for view in views} == {first}


def test_two_browsers_can_see_different_variants(client: TestClient, db: Database) -> None:
    _workspace, page, experiment_id = _page_experiment(db)
    sharper = _fresh_browser_seeing(client, f"/p/{page.slug}", lambda html: _title(html) == SHARPER)
    assert "Why <strong>now</strong>." in sharper and "how to price" not in sharper
    usual = _fresh_browser_seeing(client, f"/p/{page.slug}", lambda html: _title(html) != SHARPER)
    assert _title(usual) == "The 2027 pricing guide" and "<strong>how to price</strong>" in usual
    keys = variant_keys(db, experiment_id)
    seen = {keys[row.variant_id] for row in assignments(db, experiment_id)}
    assert seen == {"A", "B"}
    with db.session() as session:
        assert session.get(LandingPage, page.id).title == "The 2027 pricing guide"  # type: ignore[union-attr]


def test_past_the_new_visitor_limit_the_page_shows_the_control_and_records_nothing(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _workspace, page, experiment_id = _page_experiment(db)
    monkeypatch.setattr(public_pages, "NEW_VISITORS_PER_IP_PER_HOUR", 0)
    for _ in range(BROWSERS):
        client.cookies.clear()
        assert _title(client.get(f"/p/{page.slug}").text) == "The 2027 pricing guide"
    assert assignments(db, experiment_id) == [] and exposure_events(db) == []


def test_the_contact_a_form_creates_holds_the_browsers_variant_and_converts_for_it(
    client: TestClient, db: Database
) -> None:
    workspace, page, experiment_id = _page_experiment(db)
    html = _fresh_browser_seeing(client, f"/p/{page.slug}", lambda html: _title(html) == SHARPER)
    thanks = _submit(client, html, PERSON)
    assert _title(thanks) == SHARPER  # the thank-you page is the variant's too
    keys = variant_keys(db, experiment_id)
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        visitor = session.scalars(select(Visitor).where(Visitor.contact_id == contact.id)).one()
        held = [row for row in assignments(db, experiment_id) if row.contact_id == contact.id]
        assert len(held) == 1 and keys[held[0].variant_id] == "B" and held[0].visitor_id == visitor.id
        exposed = session.scalars(select(Event).where(Event.type == "experiment_exposed")).all()
        assert [event.contact_id for event in exposed if event.visitor_id == visitor.id] == [contact.id]
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        report = experiment_report(session, experiment, utcnow() + timedelta(minutes=1))
    rows = {row.key: row for row in report.variants}
    assert (rows["B"].exposed, rows["B"].conversions) == (1, 1)
    assert rows["A"].conversions == 0


def test_a_form_variant_hides_optional_fields_and_answers_with_its_own_words(
    client: TestClient, db: Database
) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        form = make_form(session, workspace)
        page = make_page(session, workspace, form)
        overrides = {
            "submit_label": "Send it to me",
            "thank_you": "Look in your inbox.",
            "hide_fields": ["phone"],
        }
        specs = [variant("A"), variant("B", overrides=overrides)]
        experiment_id = make_experiment(session, workspace, "form", form.id, specs).id
    url = f"/p/{page.slug}"
    html = _fresh_browser_seeing(client, url, lambda html: "Send it to me" in html)
    inputs = form_inputs(html)
    assert "phone" not in inputs and "email" in inputs and "company" in inputs
    thanks = _submit(client, html, {**PERSON, "phone": "not a phone number"})  # hidden: not even read
    assert "Look in your inbox." in thanks and "Thanks! Your guide is ready." not in thanks
    control = _fresh_browser_seeing(client, url, lambda html: "Send it to me" not in html)
    assert "phone" in form_inputs(control) and "Get the guide" in control
    refused = client.post(
        f"/f/{form.slug}", data={**hidden_values(control), **PERSON, "phone": "not a phone"}, headers=ORIGIN
    )
    assert refused.status_code == 422  # the control still has the field, and checks it
    answered = _submit(client, control, {**PERSON, "email": "grace@navy.example"})
    assert "Thanks! Your guide is ready." in answered
    keys = variant_keys(db, experiment_id)
    with db.session() as session:
        stored = session.get(Form, form.id)
        assert stored is not None and any(field["key"] == "phone" for field in stored.fields)
        people = {c.email: c.id for c in session.scalars(select(Contact))}
    by_contact = {row.contact_id: keys[row.variant_id] for row in assignments(db, experiment_id)}
    assert by_contact[people["ada@engines.example"]] == "B"
    assert by_contact[people["grace@navy.example"]] == "A"


def _delivered_asset(html: str) -> int:
    link = re.search(r'href="http://testserver/r/([^"]+)"', html)
    assert link is not None
    payload = TokenSigner(TEST_SECRET).verify("deliver", link.group(1))
    return int(payload["a"])


def test_a_magnet_variant_delivers_its_own_asset_on_the_page_and_in_the_frame(
    client: TestClient, db: Database
) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        usual, other = make_asset(session, workspace, "pdf"), make_asset(session, workspace, "pdf")
        form = make_form(session, workspace, asset_id=usual.id, allowed_origins=["http://testserver"])
        page = make_page(session, workspace, form)
        specs = [variant("A", asset_id=usual.id), variant("B", asset_id=other.id)]
        experiment_id = make_experiment(session, workspace, "magnet", form.id, specs).id
        slugs = {usual.id: usual.slug, other.id: other.slug}
    keys = variant_keys(db, experiment_id)
    delivered: dict[str, int] = {}
    for number, url in enumerate([f"/p/{page.slug}"] * 4 + [f"/f/{form.slug}/frame"] * 4):
        client.cookies.clear()
        html = client.get(url).text
        assert hidden_values(html).get("lw_vid"), url  # the frame starts a visitor for the test too
        thanks = _submit(client, html, {**PERSON, "email": f"reader{number}@example.org"})
        delivered[f"reader{number}@example.org"] = _delivered_asset(thanks)
    with db.session() as session:
        people = {c.id: c.email for c in session.scalars(select(Contact))}
        forms = {
            people[event.contact_id or 0]: event.properties["asset"]
            for event in session.scalars(select(Event).where(Event.type == "form_submitted"))
        }
        assert session.get(Form, form.id).asset_id == usual.id  # type: ignore[union-attr]
        assert session.scalar(select(Asset.id).where(Asset.id == other.id)) == other.id
    by_email = {people[row.contact_id or 0]: keys[row.variant_id] for row in assignments(db, experiment_id)}
    wanted = {"A": usual.id, "B": other.id}
    assert delivered == {email: wanted[key] for email, key in by_email.items()}
    assert forms == {email: slugs[asset_id] for email, asset_id in delivered.items()}
    assert set(by_email.values()) == {"A", "B"}
    assert all(row.exposures == 1 for row in assignments(db, experiment_id))
