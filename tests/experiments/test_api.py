"""The experiments API over HTTP: listing and reading experiments with their report, asking a
contact's variant of a channel or offer experiment and recording that they met it, and every refusal
(unknown slug, another workspace, a draft or stopped experiment, a kind that assigns by itself)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from leadwell.contacts.merge import merge_contacts
from leadwell.db.models import Event, Experiment
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.experiments.definitions import stop
from leadwell.ids import IdCodec
from tests import factories
from tests.capture.public_support import make_form, make_page
from tests.conftest import Tenant
from tests.experiments.integration_support import assignments, exposure_events, make_experiment, variant

OFFERS = {"A": {"offer": "free audit"}, "B": {"offer": "two weeks free"}}


def _offer(db: Database, tenant: Tenant, slug: str = "spring-offer", running: bool = True) -> int:
    with db.session() as session:
        specs = [variant(key, overrides=overrides) for key, overrides in OFFERS.items()]
        return make_experiment(
            session,
            tenant.workspace,
            "channel_offer",
            None,
            specs,
            slug=slug,
            running=running,
            metric="meeting_booked",
        ).id


def _contact(db: Database, tenant: Tenant, codec: IdCodec, **fields: Any) -> str:
    with db.session() as session:
        return codec.encode("contact", factories.make_contact(session, tenant.workspace, **fields).id)


def _problem(response: Any, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    return str(response.json()["detail"])


def test_experiments_are_listed_newest_first_with_their_variants_and_subjects(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    _offer(db, tenant, "first-offer")
    with db.session() as session:
        page = make_page(session, tenant.workspace, make_form(session, tenant.workspace))
        specs = [variant("A"), variant("B", overrides={"title": "Sharper"})]
        make_experiment(
            session, tenant.workspace, "landing_page", page.id, specs, slug="page-test", running=False
        )
        page_slug = page.slug
    listed = client.get("/api/v1/experiments", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [item["slug"] for item in items] == ["page-test", "first-offer"]
    assert (items[0]["kind"], items[0]["subject"], items[0]["state"]) == ("landing_page", page_slug, "draft")
    assert items[1]["subject"] is None and items[1]["state"] == "running"
    assert [v["key"] for v in items[1]["variants"]] == ["A", "B"]
    assert items[1]["variants"][1]["overrides"] == OFFERS["B"] and items[1]["variants"][0]["is_control"]
    first = client.get("/api/v1/experiments", params={"limit": 1}, headers=tenant.headers).json()
    assert [item["slug"] for item in first["items"]] == ["page-test"]
    rest = client.get("/api/v1/experiments", params={"cursor": first["next_cursor"]}, headers=tenant.headers)
    assert [item["slug"] for item in rest.json()["items"]] == ["first-offer"]
    assert rest.json()["next_cursor"] is None


def test_an_experiment_is_read_with_its_report(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    _offer(db, tenant)
    contact_id = _contact(db, tenant, codec)
    client.post(
        "/api/v1/experiments/spring-offer/exposures", json={"contact_id": contact_id}, headers=tenant.headers
    )
    response = client.get("/api/v1/experiments/spring-offer", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["slug"], body["kind"], body["primary_metric"]) == (
        "spring-offer",
        "channel_offer",
        "meeting_booked",
    )
    report = body["report"]
    assert sum(row["exposed"] for row in report["variants"]) == 1
    assert {row["key"] for row in report["variants"]} == {"A", "B"}
    assert isinstance(report["verdict"], str) and report["verdict"]
    _offer(db, tenant, "not-started", running=False)
    draft = client.get("/api/v1/experiments/not-started", headers=tenant.headers)
    assert draft.status_code == 200 and draft.json()["state"] == "draft"
    assert all(row["exposed"] == 0 for row in draft.json()["report"]["variants"])


def test_a_contact_gets_one_variant_of_an_offer_however_often_asked(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    experiment_id = _offer(db, tenant)
    contact_id = _contact(db, tenant, codec)
    url = "/api/v1/experiments/spring-offer/assignments"
    first = client.post(url, json={"contact_id": contact_id}, headers=tenant.headers)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["experiment"] == "spring-offer" and answer["contact_id"] == contact_id
    assert answer["variant"]["overrides"] == OFFERS[answer["variant"]["key"]]
    assert (answer["exposures"], answer["first_exposed_at"]) == (0, None)
    again = client.post(url, json={"contact_id": contact_id}, headers=tenant.headers)
    assert again.status_code == 200 and again.json()["variant"] == answer["variant"]
    keyed = {**tenant.headers, "Idempotency-Key": "ask-once"}
    replayed = [client.post(url, json={"contact_id": contact_id}, headers=keyed) for _ in range(2)]
    assert replayed[1].headers["Idempotent-Replayed"] == "true"
    assert replayed[1].json() == replayed[0].json()
    assert len(assignments(db, experiment_id)) == 1 and exposure_events(db) == []


def test_recording_an_exposure_counts_it_and_writes_the_event_once(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    experiment_id = _offer(db, tenant)
    contact_id = _contact(db, tenant, codec)
    url = "/api/v1/experiments/spring-offer/exposures"
    before = utcnow()
    answers = [client.post(url, json={"contact_id": contact_id}, headers=tenant.headers) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 201]
    last = answers[-1].json()
    assert last["exposures"] == 3 and last["first_exposed_at"] == answers[0].json()["first_exposed_at"]
    (row,) = assignments(db, experiment_id)
    assert row.first_exposed_at is not None and before <= row.first_exposed_at <= utcnow() + timedelta(
        seconds=1
    )
    (event,) = exposure_events(db)
    assert event.properties == {"experiment": "spring-offer", "variant": last["variant"]["key"]}
    assert codec.encode("contact", event.contact_id or 0) == contact_id


def test_a_merged_contacts_id_reaches_the_contact_it_was_merged_into(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    _offer(db, tenant)
    with db.session() as session:
        survivor = factories.make_contact(session, tenant.workspace)
        merged = factories.make_contact(session, tenant.workspace)
        merge_contacts(session, tenant.workspace.id, survivor.id, merged.id)
        ids = codec.encode("contact", survivor.id), codec.encode("contact", merged.id)
    url = "/api/v1/experiments/spring-offer/assignments"
    answer = client.post(url, json={"contact_id": ids[1]}, headers=tenant.headers)
    assert answer.status_code == 201 and answer.json()["contact_id"] == ids[0]


def test_unknown_slugs_and_contacts_are_refused_by_name(
    client: TestClient, db: Database, tenant: Tenant, other_tenant: Tenant, codec: IdCodec
) -> None:
    _offer(db, tenant)
    _offer(db, other_tenant, "their-offer")
    mine, theirs = _contact(db, tenant, codec), _contact(db, other_tenant, codec)
    for path in ("", "/assignments", "/exposures"):
        method = client.get if not path else client.post
        kwargs: dict[str, Any] = {"json": {"contact_id": mine}} if path else {}
        for slug in ("no-such-offer", "their-offer"):
            response = method(f"/api/v1/experiments/{slug}{path}", headers=tenant.headers, **kwargs)
            assert "no experiment" in _problem(response, 404, "experiment")
    for contact_id in (theirs, "ct_nonsense", mine.rsplit("_", 1)[0] + "_0123456789"):
        response = client.post(
            "/api/v1/experiments/spring-offer/assignments",
            json={"contact_id": contact_id},
            headers=tenant.headers,
        )
        assert "no such contact" in _problem(response, 422, "contact_id")
    bad = client.post(
        "/api/v1/experiments/spring-offer/assignments", json={"contact": mine}, headers=tenant.headers
    )
    assert bad.status_code == 422
    assert exposure_events(db) == []


def test_a_draft_or_stopped_experiment_assigns_nobody_and_says_why(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    _offer(db, tenant, "not-yet", running=False)
    stopped_id = _offer(db, tenant, "over")
    with db.session() as session:
        stopped = session.get(Experiment, stopped_id)
        assert stopped is not None
        stop(session, stopped, utcnow())
    contact_id = _contact(db, tenant, codec)
    for slug, state in (("not-yet", "draft"), ("over", "stopped")):
        for action in ("assignments", "exposures"):
            response = client.post(
                f"/api/v1/experiments/{slug}/{action}",
                json={"contact_id": contact_id},
                headers=tenant.headers,
            )
            assert f"is {state}" in _problem(response, 409, "experiment")
    with db.session() as session:
        assert session.scalar(select(Event.id).where(Event.type == "experiment_exposed")) is None
    assert assignments(db, stopped_id) == []


def test_only_channel_and_offer_experiments_are_assigned_through_the_api(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        page = make_page(session, tenant.workspace, make_form(session, tenant.workspace))
        specs = [variant("A"), variant("B", overrides={"title": "Sharper"})]
        experiment_id = make_experiment(
            session, tenant.workspace, "landing_page", page.id, specs, slug="page"
        ).id
    contact_id = _contact(db, tenant, codec)
    for action in ("assignments", "exposures"):
        response = client.post(
            f"/api/v1/experiments/page/{action}", json={"contact_id": contact_id}, headers=tenant.headers
        )
        detail = _problem(response, 409, "experiment")
        assert "landing_page experiment" in detail and "only channel_offer" in detail
    assert assignments(db, experiment_id) == []


def test_a_read_only_token_may_read_but_not_assign(
    client: TestClient, db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    _offer(db, tenant)
    with db.session() as session:
        token = factories.make_token(session, tenant.workspace, scopes=("read",))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/experiments/spring-offer", headers=headers).status_code == 200
    contact_id = _contact(db, tenant, codec)
    response = client.post(
        "/api/v1/experiments/spring-offer/assignments", json={"contact_id": contact_id}, headers=headers
    )
    assert response.status_code == 403
    assert client.get("/api/v1/experiments").status_code == 401
