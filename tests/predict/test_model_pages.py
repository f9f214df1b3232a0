"""The model page and the contact's "Likelihood to buy" panel over HTTP: who may do what, training
in the request or in the worker, activation refused with a reason, notices told from the stored
models, the panel's three cases, and the links that lead to the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadwell.db.models import PredictiveModel
from leadwell.db.session import Database
from leadwell.ids import IdCodec
from leadwell.predict import model_pages
from leadwell.predict.jobs import training_requested
from tests.factories import make_contact, make_user, make_workspace
from tests.predict.trait_history import Planted, plant_history
from tests.test_pages import csrf_of, logged_in

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def post(client: TestClient, path: str, **data: str) -> tuple[int, str]:
    token = csrf_of(client.get("/predict").text)
    reply = client.post(path, data={"csrf_token": token, **data})
    return reply.status_code, reply.text


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match, element_id
    return " ".join(match.group(1).split())


def test_salespeople_read_and_owners_train(app: FastAPI, db: Database) -> None:
    with db.session() as session:
        ws = make_workspace(session, "Acme")
        seller, owner = make_user(session, ws, role="sales"), make_user(session, ws, role="owner")
    sales = logged_in(app, seller.email)
    page = sales.get("/predict").text
    assert "No model has been trained yet" in page and "Train now" not in page
    assert post(sales, "/predict/train")[0] == 403
    assert post(sales, "/predict/activate", version="1")[0] == 403
    boss = logged_in(app, owner.email)
    assert boss.post("/predict/train", data={}).status_code == 403  # no CSRF token
    status, page = post(boss, "/predict/train")
    assert status == 200
    assert text_of(page, "notice") == (
        "Trained version 1: 0 won deals so far: a model needs at least 30; the queue ranks by fit × "
        "engagement until then"
    )
    assert "version-1" in page and text_of(page, "details-message").startswith("0 won deals so far")
    assert "0 won deals so far" in sales.get("/predict").text  # everyone sees why
    assert 'id="predict-link"' in boss.get("/dashboard").text and 'id="predict-link"' in boss.get("/icp").text
    crafted = boss.get("/predict?done=trained&version=99").text
    assert 'id="notice"' not in crafted


def test_a_large_workspace_trains_in_the_worker(
    app: FastAPI, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session() as session:
        ws = make_workspace(session, "Acme")
        owner = make_user(session, ws)
    monkeypatch.setattr(model_pages, "IN_REQUEST_OUTCOMES", -1)
    boss = logged_in(app, owner.email)
    status, page = post(boss, "/predict/train")
    assert status == 200 and text_of(page, "notice").startswith("Training queued")
    assert 'id="queued"' in page
    with db.session() as session:
        assert training_requested(session, ws.id)
        assert session.query(PredictiveModel).count() == 0


@pytest.fixture
def planted(db: Database) -> tuple[int, str, Planted]:
    with db.session() as session:
        ws = make_workspace(session, "Northwind")
        owner = make_user(session, ws)
        return ws.id, owner.email, plant_history(session, ws, NOW, decided=120, open_leads=6)


def test_train_activate_and_the_contact_panel(
    app: FastAPI, db: Database, codec: IdCodec, planted: tuple[int, str, Planted]
) -> None:
    workspace_id, email, history = planted
    boss = logged_in(app, email)
    lead = codec.encode("contact", history.trait_leads[0])
    before = boss.get(f"/predict/contacts/{lead}", headers={"HX-Request": "true"}).text
    assert "No predictive model is active" in before and "<html" not in before
    status, page = post(boss, "/predict/train")
    assert status == 200
    assert text_of(page, "notice") == "Trained version 1: it is now active and every open lead was rescored."
    assert 'id="calibration"' in page and 'id="top-features"' in page and "Version 1" in page
    panel = boss.get(f"/predict/contacts/{lead}", headers={"HX-Request": "true"}).text
    assert re.search(r"P\(sale\) \d+(\.\d)? %", panel) and "expected value <strong" in panel
    assert "model version 1" in panel and 'id="likelihood-reasons"' in panel
    assert "Likelihood to buy" in boss.get(f"/predict/contacts/{lead}").text  # without scripts: a page
    assert 'id="likelihood"' in boss.get(f"/contacts/{lead}").text  # included in the contact page
    with db.session() as session:
        session.add(
            PredictiveModel(workspace_id=workspace_id, version=2, source="csv", name="a.csv", status="ready")
        )
        stranger = make_contact(session, make_workspace(session, "Other"))
    status, page = post(boss, "/predict/activate", version="2")
    assert status == 422 and "trained on the file &#39;a.csv&#39;" in text_of(page, "error")
    assert post(boss, "/predict/activate", version="x")[0] == 422
    assert post(boss, "/predict/activate", version="5")[0] == 404
    status, page = post(boss, "/predict/activate", version="1")
    assert text_of(page, "notice") == "Version 1 is active; every open lead was rescored with it."
    status, page = post(boss, "/predict/deactivate")
    assert text_of(page, "notice") == "No model is active: the call queue ranks by fit × engagement."
    assert boss.get(f"/predict/contacts/{codec.encode('contact', stranger.id)}").status_code == 404
    assert boss.get("/predict/contacts/ct_bogus").status_code == 404
