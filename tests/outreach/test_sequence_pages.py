"""The Outreach pages over HTTP with a real login: who may change what, CSRF on every POST, building a
sequence step by step with refusals shown at their field, enrolling and handling contacts by hand,
the contact page's panel, segments with their live count, newsletters, and the people behind numbers."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import Broadcast, Enrollment, Segment, Sequence, SequenceStep, Workspace
from leadwell.db.session import Database
from leadwell.ids import IdCodec
from tests import factories
from tests.conftest import TEST_SECRET
from tests.outreach.sequence_support import make_mailbox, make_template
from tests.test_pages import Account, Reply, csrf_of, logged_in, make_account

CODEC = IdCodec(TEST_SECRET)


@pytest.fixture
def owner(db: Database) -> Account:
    return make_account(db, "Acme", role="marketer")


@pytest.fixture
def client(app: FastAPI, owner: Account) -> TestClient:
    return logged_in(app, owner.email)


def _post(client: TestClient, page: str, path: str, data: Mapping[str, Any]) -> Reply:
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _text(reply: Reply) -> str:
    return html.unescape(reply.text)


def _seed(db: Database, account: Account) -> None:
    with db.session() as session:
        ws = session.get_one(Workspace, account.workspace_id)
        make_mailbox(session, ws)
        make_template(session, ws, slug="hello")
        make_template(session, ws, slug="broken", html="<p>Hi {{ frist_name }}</p>")
        for stage in ("lead", "lead", "nurture"):
            factories.make_contact(session, ws, stage=stage)
        session.add(Segment(workspace_id=ws.id, slug="leads", name="Leads", filters={"stage": ["lead"]}))


def test_salespeople_read_outreach_but_change_nothing(app: FastAPI, db: Database, owner: Account) -> None:
    _seed(db, owner)
    client = logged_in(app, owner.email)
    _post(
        client,
        "/outreach/sequences/new",
        "/outreach/sequences/new",
        {"name": "Welcome", "weekdays": ["1", "2"]},
    )
    with db.session() as session:
        seller = factories.make_user(session, session.get_one(Workspace, owner.workspace_id), role="sales")
    sales = logged_in(app, seller.email)
    overview = sales.get("/outreach")
    assert overview.status_code == 200 and '/outreach" aria-current="page"' in overview.text
    assert "New sequence" not in overview.text and "Welcome" in overview.text
    page = sales.get("/outreach/sequences/welcome")
    assert page.status_code == 200 and "Add a step" not in page.text and "<fieldset disabled>" in page.text
    assert sales.get("/outreach/sequences/new").status_code == 403
    refused = _post(sales, "/outreach/segments", "/outreach/sequences/welcome/status", {"status": "active"})
    assert refused.status_code == 403
    assert sales.get("/outreach/segments").status_code == 200


def test_posts_without_the_csrf_token_are_refused(client: TestClient, db: Database) -> None:
    for path in ("/outreach/sequences/new", "/outreach/segments/new", "/outreach/broadcasts/new"):
        assert client.post(path, data={"name": "x", "csrf_token": "forged"}).status_code == 403, path
    with db.session() as session:
        assert session.scalar(select(Sequence.id)) is None and session.scalar(select(Segment.id)) is None


def test_a_sequence_is_built_step_by_step_and_refusals_name_their_field(
    client: TestClient, db: Database, owner: Account
) -> None:
    _seed(db, owner)
    created = _post(client, "/outreach/sequences/new", "/outreach/sequences/new", {
        "name": "Welcome", "timezone": "Europe/Paris", "window_start": "09:00", "window_end": "17:00",
        "weekdays": ["1", "2", "3", "4", "5"],
    })  # fmt: skip
    assert created.headers["location"] == "/outreach/sequences/welcome?done=created"
    page = "/outreach/sequences/welcome"
    bad = _post(client, page, f"{page}/steps", {"kind": "email", "template": "broken"})
    assert bad.status_code == 422
    assert "Not saved: steps[1].template: 'broken' variant a, html line 1" in _text(bad)
    assert 'name="template" aria-invalid="true"' in bad.text
    for step in (
        {"kind": "email", "template": "hello"},
        {"kind": "wait", "wait_days": "2"},
        {"kind": "task", "note": "Ask about budget"},
    ):
        assert _post(client, page, f"{page}/steps", step).status_code == 303
    no_days = _post(client, page, f"{page}/steps", {"kind": "wait", "wait_days": ""})
    assert "steps[4].wait_days: a whole number is needed" in _text(no_days)

    inactive = _post(client, page, f"{page}/status", {"status": "active"})
    assert "mailbox: an active sequence needs a mailbox" in _text(inactive)
    settings = {"name": "Welcome", "mailbox": "sales", "timezone": "Europe/Paris", "window_start": "09:00",
                "window_end": "17:00", "weekdays": ["1", "2", "3", "4", "5"]}  # fmt: skip
    assert _post(client, page, page, settings).status_code == 303
    assert _post(client, page, f"{page}/status", {"status": "active"}).status_code == 303

    assert _post(client, page, f"{page}/steps/3/move", {"direction": "up"}).status_code == 303
    assert _post(client, page, f"{page}/steps/1/remove", {}).status_code == 303
    edited = _post(client, f"{page}/steps/2", f"{page}/steps/2", {"kind": "wait", "wait_days": "3"})
    assert edited.status_code == 303
    with db.session() as session:
        sequence = session.scalars(select(Sequence)).one()
        steps = session.scalars(select(SequenceStep).order_by(SequenceStep.position)).all()
        assert sequence.status == "active"
        assert [(s.kind, s.wait_days, s.note) for s in steps] == [
            ("task", 0, "Ask about budget"),
            ("wait", 3, ""),
        ]
    shown = client.get(page).text
    assert "Wait 3 business days" in shown and 'id="sequence-status">Active' in shown
    only_wait = _post(client, page, f"{page}/steps/1/remove", {})
    assert "steps: an active sequence needs at least one email or call task step" in _text(only_wait)


def test_enrolling_from_the_page_and_handling_contacts_by_hand(
    client: TestClient, db: Database, owner: Account
) -> None:
    _seed(db, owner)
    _post(
        client, "/outreach/sequences/new", "/outreach/sequences/new", {"name": "Welcome", "weekdays": ["1"]}
    )
    page = "/outreach/sequences/welcome"
    _post(client, page, f"{page}/steps", {"kind": "email", "template": "hello"})
    reply = _post(client, page, f"{page}/enroll", {"segment": "leads", "emails": "nobody@example.org"})
    assert reply.headers["location"].startswith(f"{page}?enrolled=2")
    shown = client.get(reply.headers["location"]).text
    assert "2 enrolled; skipped: 1 not in this workspace" in html.unescape(shown)
    contact_id = re.findall(r'data-contact="(ct_[^"]+)"', shown)[0]
    assert _post(client, page, f"{page}/contacts/{contact_id}/pause", {}).status_code == 303
    held = client.get(f"{page}?state=paused").text
    assert held.count("data-contact=") == 1 and ">held<" in held
    assert _post(client, page, f"{page}/contacts/{contact_id}/resume", {}).status_code == 303
    assert _post(client, page, f"{page}/contacts/{contact_id}/stop", {}).status_code == 303
    again = _post(client, page, f"{page}/contacts/{contact_id}/stop", {})
    assert "contact: not active in this sequence" in _text(again)
    with db.session() as session:
        reasons = sorted(str(e.stop_reason) for e in session.scalars(select(Enrollment)))
        assert reasons == ["None", "manual"]
    people = client.get(f"{page}/people?metric=stopped")
    assert people.status_code == 200 and re.search(r"id=\"people-total\">1</span> person", people.text)
    assert client.get(f"{page}/people?metric=bogus").status_code == 400
    assert client.get("/outreach/sequences/nope").status_code == 404


def test_the_contact_page_adds_a_contact_to_a_sequence(
    client: TestClient, db: Database, owner: Account
) -> None:
    _seed(db, owner)
    _post(
        client, "/outreach/sequences/new", "/outreach/sequences/new", {"name": "Welcome", "weekdays": ["1"]}
    )
    with db.session() as session:
        contact = factories.make_contact(session, session.get_one(Workspace, owner.workspace_id))
        public_id = CODEC.encode("contact", contact.id)
    detail = client.get(f"/contacts/{public_id}").text
    assert f'hx-get="/outreach/contacts/{public_id}/sequences?' in detail
    panel = client.get(f"/outreach/contacts/{public_id}/sequences", headers={"HX-Request": "true"}).text
    assert (
        panel.lstrip().startswith("<section")
        and "Add to sequence" in panel
        and "Not in any sequence" in panel
    )
    added = _post(
        client,
        f"/outreach/contacts/{public_id}/sequences",
        f"/outreach/contacts/{public_id}/enroll",
        {"sequence": "welcome"},
    )
    assert added.headers["location"] == f"/contacts/{public_id}?enrolled=1&again=0#sequences"
    after = client.get(f"/outreach/contacts/{public_id}/sequences?enrolled=1&again=0").text
    assert "1 enrolled" in after and "Welcome" in after
    full = client.get(f"/outreach/contacts/{public_id}/sequences").text
    assert "<html" in full and "Welcome" in full


def test_segments_are_edited_with_a_live_count(client: TestClient, db: Database, owner: Account) -> None:
    _seed(db, owner)
    count = client.get("/outreach/segments/count?stage=lead&stage=nurture")
    assert count.status_code == 200 and "<strong>3</strong> contacts match" in count.text
    wrong = client.get("/outreach/segments/count?min_score=lots").text
    assert "min_score: &#39;lots&#39; is not a number" in wrong
    refused = _post(client, "/outreach/segments/new", "/outreach/segments/new", {"name": "Bad", "grade": "Z"})
    assert refused.status_code == 422 and "grade: &#39;Z&#39; is not one of" in refused.text
    created = _post(
        client, "/outreach/segments/new", "/outreach/segments/new", {"name": "Nurture", "stage": ["nurture"]}
    )
    assert created.headers["location"] == "/outreach/segments/nurture?done=created"
    listing = client.get("/outreach/segments").text
    assert 'href="/outreach/segments/nurture/people" class="count">1<' in listing
    assert "stage: nurture" in listing
    people = client.get("/outreach/segments/nurture/people").text
    assert re.search(r"id=\"people-total\">1</span> person", people)
    deleted = _post(client, "/outreach/segments/nurture", "/outreach/segments/nurture/delete", {})
    assert deleted.headers["location"] == "/outreach/segments?done=deleted"


def test_a_newsletter_is_scheduled_then_cancelled(client: TestClient, db: Database, owner: Account) -> None:
    _seed(db, owner)
    form = {"name": "March news", "template": "hello", "audience": "segment:leads", "mailbox": "sales",
            "send_at": "2099-03-14T09:00", "timezone": "Europe/Paris", "action": "schedule"}  # fmt: skip
    far = _post(client, "/outreach/broadcasts/new", "/outreach/broadcasts/new", form)
    assert "send_at: at most a year ahead" in _text(far)
    missing = _post(client, "/outreach/broadcasts/new", "/outreach/broadcasts/new", {**form, "send_at": ""})
    assert "send_at: choose when to send it" in _text(missing)
    draft = _post(client, "/outreach/broadcasts/new", "/outreach/broadcasts/new", {**form, "action": "draft"})
    location = draft.headers["location"]
    assert re.fullmatch(r"/outreach/broadcasts/bc_[0-9a-z]+_[0-9a-f]+\?done=created", location)
    page = location.split("?")[0]
    shown = client.get(location).text
    assert "Saved as a draft." in shown and 'id="audience">2<' in shown
    cancelled = _post(client, page, f"{page}/cancel", {})
    assert cancelled.headers["location"] == f"{page}?done=cancelled"
    with db.session() as session:
        assert session.scalars(select(Broadcast.status)).one() == "cancelled"
    assert client.get("/outreach/broadcasts/bc_1_0000000000").status_code == 404
    assert "March news" in client.get("/outreach/broadcasts").text
    assert client.get(f"{page}/people?metric=opened").status_code == 200
