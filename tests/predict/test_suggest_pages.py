"""The suggestions and backtest pages through the real login form, on each database: rules, the
profile draft in the editor (nothing saved), roles, CSRF, tampered conditions, isolation, and the
backtest's tables and period errors."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI
from sqlalchemy import func, select

from leadwell.db.models import Icp, Workspace
from leadwell.db.session import Database
from leadwell.icp.definition import load_toml
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition
from tests.factories import make_user, make_workspace
from tests.predict.planted_workspace import PROFILE, plant_outcomes, plant_period
from tests.test_pages import csrf_of, logged_in

SELECTED = re.compile(r'<option value="([^"]+)" data-kind="[^"]*" selected>')
DRAFT_FORM = re.compile(r'<form method="post" action="/icp/suggest/draft".*?</form>', re.DOTALL)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def seed(db: Database, role: str = "marketer", profile: bool = False) -> tuple[Workspace, str]:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        user = make_user(session, workspace, role=role)
        plant_outcomes(session, workspace)
        if profile:
            apply_definition(session, workspace.id, load_toml(PROFILE))
        return workspace, user.email


def first_draft_form(page: str) -> dict[str, str]:
    match = DRAFT_FORM.search(page)
    assert match, "no draft button on the page"
    return {name: html.unescape(value) for name, value in HIDDEN.findall(match.group(0))}


def profiles(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Icp)) or 0)


def test_rules_and_a_profile_draft_in_the_editor(app: FastAPI, db: Database) -> None:
    _workspace, email = seed(db)
    client = logged_in(app, email)
    page = client.get("/icp/suggest")
    assert page.status_code == 200
    assert "240 decided contacts" in page.text
    first = re.search(r'<tr id="rule-1">.*?</tr>', page.text, re.DOTALL)
    assert first and "employees ≥" in first.group(0) and "custom.roi_months ≤ 3" in first.group(0)
    form = first_draft_form(page.text)
    assert (form["column-0"], form["op-0"]) == ("employees", "gte")
    assert (form["column-1"], form["op-1"], form["value-1"]) == ("custom.roi_months", "lte", "3")
    editor = client.post("/icp/suggest/draft", data=form)
    assert editor.status_code == 200
    assert "New ideal client profile" in editor.text
    assert 'value="suggested"' in editor.text  # a free slug
    assert SELECTED.findall(editor.text) == ["organization.employees", "custom.roi_months"]
    assert "Suggested by the wins: employees ≥" in html.unescape(editor.text)
    assert 'action="/icp/new"' in editor.text  # saving creates it; until then nothing is stored
    assert profiles(db) == 0


def test_a_draft_as_a_new_version_of_a_profile(app: FastAPI, db: Database) -> None:
    _workspace, email = seed(db, profile=True)
    client = logged_in(app, email)
    form = first_draft_form(client.get("/icp/suggest").text) | {"profile": "consulting"}
    editor = client.post("/icp/suggest/draft", data=form)
    assert editor.status_code == 200
    assert 'action="/icp/consulting/edit"' in editor.text
    # The profile's own must-have on employees gives way to the rule's; its nice-to-have stays.
    assert SELECTED.findall(editor.text) == ["organization.employees", "custom.roi_months", "contact.country"]


def test_tampered_or_unmappable_conditions_are_refused_politely(app: FastAPI, db: Database) -> None:
    _workspace, email = seed(db)
    client = logged_in(app, email)
    token = csrf_of(client.get("/icp/suggest").text)
    bad_op = {"csrf_token": token, "column-0": "employees", "op-0": "gt", "value-0": "5"}
    refused = client.post("/icp/suggest/draft", data=bad_op)
    assert refused.status_code == 422 and "condition 1.op: one of" in refused.text
    engagement = {"csrf_token": token, "column-0": "replies", "op-0": "gte", "value-0": "1"}
    refused = client.post("/icp/suggest/draft", data=engagement)
    assert refused.status_code == 422
    assert "no condition of it is a profile criterion: replies ≥ 1 (engagement" in html.unescape(refused.text)
    unknown = {"csrf_token": token, "column-0": "employees", "op-0": "gte", "value-0": "5", "profile": "nope"}
    assert client.post("/icp/suggest/draft", data=unknown).status_code == 404
    assert client.post("/icp/suggest/draft", data=bad_op | {"csrf_token": "forged"}).status_code == 403
    assert profiles(db) == 0


def test_sales_read_the_rules_but_make_no_drafts(app: FastAPI, db: Database) -> None:
    _workspace, email = seed(db, role="sales")
    client = logged_in(app, email)
    page = client.get("/icp/suggest")
    assert page.status_code == 200 and 'id="rule-1"' in page.text
    assert "Make a profile draft" not in page.text
    only = client.get("/icp/suggest?fields=profile")
    assert 'name="fields" value="profile" checked' in only.text and 'id="rule-1"' in only.text
    data = {"csrf_token": csrf_of(page.text), "column-0": "employees", "op-0": "gte", "value-0": "100"}
    assert client.post("/icp/suggest/draft", data=data).status_code == 403


def test_too_few_wins_and_other_workspaces(app: FastAPI, db: Database) -> None:
    seed(db)  # a workspace with a history the other must not see
    with db.session() as session:
        other = make_workspace(session, "Other")
        email = make_user(session, other, role="owner").email
    page = logged_in(app, email).get("/icp/suggest?top=99&conditions=abc")
    assert page.status_code == 200
    assert "Not enough outcomes yet: 0 wins in this workspace; finding rules needs at least 10" in page.text
    assert 'id="rule-1"' not in page.text


def test_the_backtest_page(app: FastAPI, db: Database) -> None:
    with db.session() as session:
        workspace = make_workspace(session, "Acme")
        email = make_user(session, workspace, role="sales").email
        plant_period(session, workspace)
        grade_all(session, workspace.id, apply_definition(session, workspace.id, load_toml(PROFILE)).icp)
    client = logged_in(app, email)
    page = client.get("/icp/backtest?since=2026-03-01&until=2026-07-01")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "228 leads were open on 2026-03-01;" in text
    for row in ("method-profile-consulting", "method-engagement", "method-queue", "method-random"):
        assert f'id="{row}"' in page.text
    assert "1 of your criteria and rules point the wrong way" in text
    misleads = re.findall(r'<tr class="misleads">(.*?)</tr>', page.text, re.DOTALL)
    assert len(misleads) == 1 and "country in DE" in misleads[0]
    refused = client.get("/icp/backtest?since=soon")
    assert refused.status_code == 422 and "since: &#39;soon&#39; is not a date" in refused.text
    backwards = client.get("/icp/backtest?since=2026-07-01&until=2026-03-01")
    assert backwards.status_code == 422 and "must start before it ends" in backwards.text
    assert client.get("/icp/backtest").status_code == 200  # the last 180 days by default
