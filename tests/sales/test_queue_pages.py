"""The call queue page over HTTP: salespeople land on it, it lists the leads with why now and what
to ask, logging a call redirects with the next lead selected and a notice, a refused form comes back
with its values, the owner filter and the CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.db.models import Contact, User, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.sales.why_now import day_words
from tests.factories import make_event, make_organization
from tests.sales.queue_data import graded_profile, make_lead
from tests.test_pages import csrf_of, logged_in, login, make_account

LEAD_RE = re.compile(r'<li class="lead[^"]*" id="lead-(ct_[0-9a-z]+_[0-9a-f]+)"')
SELECTED_RE = re.compile(r'id="lead-(ct_[0-9a-z]+_[0-9a-f]+)"[^>]*aria-current="true"')


def selected(page: str) -> list[str]:
    return SELECTED_RE.findall(page)


def seed(db: Database, role: str = "sales") -> tuple[str, list[int]]:
    account = make_account(db, role=role)
    now = utcnow()
    with db.session() as session:
        workspace = session.get(Workspace, account.workspace_id)
        assert workspace is not None
        org = make_organization(session, workspace, name="Analytical Engines", employees=250)
        ada = make_lead(
            session, workspace, grade=None, score=80, scored_at=now, first_name="Ada", last_name="Lovelace",
            organization_id=org.id, custom={"roi_months": 2}, phones=["+441234567890"], title="CTO",
        )  # fmt: skip
        make_event(
            session,
            ada,
            "webinar_attended",
            now - timedelta(hours=1),
            {"webinar": "ROI clinic", "minutes": 45},
        )
        grace = make_lead(
            session, workspace, grade=None, first_name="Grace", last_name="Hopper", custom={"roi_months": 1}
        )
        alan = make_lead(
            session, workspace, grade=None, first_name="Alan", last_name="Turing", organization_id=org.id
        )
        graded_profile(session, workspace)
        return account.email, [ada.id, grace.id, alan.id]


def test_salespeople_land_on_the_queue(app: FastAPI, db: Database) -> None:
    email, _ = seed(db)
    client = logged_in(app, email)
    landing = client.get("/", follow_redirects=False)
    assert landing.headers["location"] == "/queue"
    owner = make_account(db, "Owned")
    assert logged_in(app, owner.email).get("/", follow_redirects=False).headers["location"] == "/dashboard"
    assert client.get("/queue").status_code == 200
    anonymous = TestClient(app).get("/queue", follow_redirects=False)
    assert anonymous.headers["location"] == "/login?next=/queue"
    # Logging in with the queue as the next page, as the bench does.
    assert login(TestClient(app), email, next="/queue").headers["location"] == "/queue"


def test_the_page_lists_leads_with_why_now_and_what_to_ask(
    app: FastAPI, db: Database, codec: IdCodec
) -> None:
    email, (ada, grace, alan) = seed(db)
    page = logged_in(app, email).get("/queue")
    text = html.unescape(page.text)
    ids = LEAD_RE.findall(page.text)
    assert ids == [codec.encode("contact", n) for n in (ada, grace, alan)]
    assert 'aria-current="page">Call queue</a>' in page.text
    when = day_words(utcnow() - timedelta(hours=1), utcnow())  # "today", or "yesterday" just after midnight
    assert f"attended 'ROI clinic' for 45 minutes {when}" in text
    assert "grade A: employees 250 ≥ 100, roi_months 2 ≤ 3" in text
    assert "<strong>Ask:</strong> employees, title" in text  # Grace: no organization, no title
    assert 'name="learned.organization.employees"' in page.text
    assert 'href="tel:+441234567890"' in page.text
    assert selected(page.text) == ids[:1]


def test_logging_a_call_moves_on_to_the_next_lead(app: FastAPI, db: Database, codec: IdCodec) -> None:
    email, (ada, grace, alan) = seed(db)
    client = logged_in(app, email)
    page = client.get("/queue").text
    token = csrf_of(page)
    ada_id, grace_id = codec.encode("contact", ada), codec.encode("contact", grace)
    form = {
        "csrf_token": token,
        "outcome": "no_answer",
        "note": "",
        "next": grace_id,
        "learned.contact.title": "",
    }
    posted = client.post(f"/queue/{ada_id}/outcome", data=form, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/queue?logged={ada_id}&select={grace_id}#lead-{grace_id}"
    after = client.get(posted.headers["location"].split("#")[0])
    assert "Logged: no answer — Ada Lovelace, back in the queue tomorrow" in html.unescape(after.text)
    assert LEAD_RE.findall(after.text) == [grace_id, codec.encode("contact", alan)]
    assert selected(after.text) == [grace_id]
    # Not a fit, with what was learned: Grace is disqualified and leaves the queue.
    form = {
        "csrf_token": token, "outcome": "not_a_fit", "reason": "Sole trader", "next": "",
        "learned.organization.employees": "", "learned.contact.title": "Owner",
    }  # fmt: skip
    done = client.post(f"/queue/{grace_id}/outcome", data=form)
    assert "Logged: not a fit — Grace Hopper, now Disqualified and out of the queue" in html.unescape(
        done.text
    )
    with db.session() as session:
        contact = session.get(Contact, grace)
        assert contact is not None and (contact.stage, contact.title) == ("disqualified", "Owner")
    # A reload shows the same notice, and nothing is logged twice; an unknown id shows none.
    assert "Logged: not a fit" in html.unescape(client.get(f"/queue?logged={grace_id}").text)
    assert "Logged:" not in client.get("/queue?logged=ct_1_0000000000").text


def test_a_refused_call_comes_back_with_its_values(app: FastAPI, db: Database, codec: IdCodec) -> None:
    email, (ada, _, _) = seed(db)
    client = logged_in(app, email)
    token = csrf_of(client.get("/queue").text)
    ada_id = codec.encode("contact", ada)
    form = {
        "csrf_token": token,
        "outcome": "not_now",
        "reason": "after the audit",
        "revisit_on": "2001-01-01",
    }
    refused = client.post(f"/queue/{ada_id}/outcome", data=form)
    assert refused.status_code == 422
    assert "revisit_on: 2001-01-01 is not in the future" in refused.text
    assert 'value="after the audit"' in refused.text and 'value="not_now" checked' in refused.text
    assert f'id="call-{ada_id}" aria-label="Log a call with Ada Lovelace" >' in refused.text  # open
    bad_date = client.post(f"/queue/{ada_id}/outcome", data={**form, "revisit_on": "soon"})
    assert bad_date.status_code == 422 and "is not a date" in bad_date.text
    assert client.post(f"/queue/{ada_id}/outcome", data={**form, "csrf_token": "x"}).status_code == 403
    assert client.post("/queue/ct_1_0000000000/outcome", data=form).status_code == 404


def test_owner_filter_open_panel_and_csv(app: FastAPI, db: Database, codec: IdCodec) -> None:
    email, (ada, grace, alan) = seed(db)
    with db.session() as session:
        contact = session.get(Contact, alan)
        assert contact is not None
        contact.owner_id = session.scalar(select(User.id).where(User.email == email))
    client = logged_in(app, email)
    mine = client.get("/queue", params={"owner": "me"})
    assert LEAD_RE.findall(mine.text) == [codec.encode("contact", alan)]
    assert len(LEAD_RE.findall(client.get("/queue", params={"limit": 2}).text)) == 2
    assert len(LEAD_RE.findall(client.get("/queue", params={"limit": 0}).text)) == 3  # the default
    opened = client.get("/queue", params={"open": codec.encode("contact", grace)})
    assert (
        f'id="call-{codec.encode("contact", grace)}" aria-label="Log a call with Grace Hopper" >'
        in opened.text
    )
    exported = client.get("/queue.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["name"] for row in rows] == ["Ada Lovelace", "Grace Hopper", "Alan Turing"]
    assert rows[0]["grade"] == "A" and rows[0]["phones"] == "'+441234567890"  # defused for spreadsheets
    assert rows[1]["ask"] == "employees; title"
    assert [row["name"] for row in csv.DictReader(io.StringIO(client.get("/queue.csv?owner=me").text))] == [
        "Alan Turing"
    ]
