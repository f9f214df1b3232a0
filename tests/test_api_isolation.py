"""Workspace isolation over HTTP, for every API endpoint the app declares.

The endpoint list is read from the OpenAPI document the app serves, so a new endpoint is covered
(or fails this test for want of a sample id) without anyone remembering to add it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Deal, Event, Experiment, Organization
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.experiments.definitions import ExperimentSpec, VariantSpec, create_experiment, start
from leadwell.ids import IdCodec
from leadwell.scoring.rows import ensure_engagements
from tests import factories
from tests.conftest import Tenant

BODIES = {
    "PATCH": {
        "/api/v1/contacts/": {"first_name": "Hijacked"},
        "/api/v1/organizations/": {"name": "Hijacked"},
        "/api/v1/deals/": {"name": "Hijacked", "status": "lost"},
    },
    "POST": {
        "/api/v1/contacts/{contact_id}/calls": {"outcome": "not_a_fit", "reason": "hijacked"},
        "/api/v1/experiments/": {"contact_id": "ct_1_0123456789"},
    },
}


@dataclass
class Owned:
    """Public ids of one object of each kind in a workspace."""

    contact_id: str
    organization_id: str
    event_id: str
    deal_id: str
    slug: str  # an experiment's


def seed(db: Database, tenant: Tenant, codec: IdCodec) -> Owned:
    with db.session() as session:
        org = factories.make_organization(session, tenant.workspace, name="Secret Org")
        contact = factories.make_contact(
            session, tenant.workspace, first_name="Secret", organization_id=org.id
        )
        ensure_engagements(session, tenant.workspace.id, {contact.id: contact.stage})  # in the queue
        event = factories.make_event(session, contact)
        deal = factories.make_deal(session, contact, organization_id=org.id)
        experiment = _offer(session, tenant)
        return Owned(
            codec.encode("contact", contact.id),
            codec.encode("organization", org.id),
            codec.encode("event", event.id),
            codec.encode("deal", deal.id),
            experiment.slug,
        )


def _offer(session: Session, tenant: Tenant) -> Experiment:
    """A running channel offer experiment whose slug names its workspace."""
    slug = f"offer-of-{tenant.workspace.name.split()[0].lower()}"
    specs = [VariantSpec("A", "Audit"), VariantSpec("B", "Trial")]
    spec = ExperimentSpec(slug, "Offer", "channel_offer", None, "meeting_booked", specs)
    return start(session, create_experiment(session, tenant.workspace.id, spec, None), utcnow())


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the API, from the OpenAPI document the app serves."""
    paths = app.openapi()["paths"]
    return [(method.upper(), path) for path, operations in paths.items() for method in operations]


def snapshot(db: Database, workspace_id: int) -> tuple[object, ...]:
    with db.session() as session:
        return tuple(
            session.execute(
                select(
                    func.count(), func.max(model.updated_at if hasattr(model, "updated_at") else model.id)
                ).where(model.workspace_id == workspace_id)
            ).one()
            for model in (Contact, Organization, Event, Deal)
        )


def test_every_object_endpoint_answers_404_across_workspaces(
    app: FastAPI, client: TestClient, db: Database, codec: IdCodec, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = seed(db, other_tenant, codec)
    seed(db, tenant, codec)
    before = snapshot(db, other_tenant.workspace.id)
    checked = 0
    for method, path in api_routes(app):
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        url = path
        for name in params:
            if not hasattr(theirs, name):
                pytest.fail(f"{method} {path}: no sample object for {{{name}}}; extend Owned/seed")
            url = url.replace(f"{{{name}}}", getattr(theirs, name))
        bodies = BODIES.get(method, {})
        body = bodies.get(path, bodies.get(path.split("{")[0]))
        response = client.request(method, url, json=body, headers=tenant.headers)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        checked += 1
    assert checked >= 10
    assert snapshot(db, other_tenant.workspace.id) == before


def test_collections_never_show_or_accept_another_workspaces_objects(
    app: FastAPI, client: TestClient, db: Database, codec: IdCodec, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = seed(db, other_tenant, codec)
    mine = seed(db, tenant, codec)
    collections = [path for method, path in api_routes(app) if method == "GET" and "{" not in path]
    assert set(collections) == {
        "/api/v1/contacts",
        "/api/v1/organizations",
        "/api/v1/events",
        "/api/v1/deals",
        "/api/v1/queue",
        "/api/v1/experiments",
    }
    for path in collections:
        for params in (
            {},
            {"contact_id": theirs.contact_id},
            {"organization_id": theirs.organization_id},
            {"q": "Secret"},
        ):
            response = client.get(path, params=params, headers=tenant.headers)
            assert response.status_code == 200, (path, params, response.text)
            text = response.text
            for foreign in vars(theirs).values():
                assert foreign not in text, (path, params)
        assert any(
            mine_id in client.get(path, headers=tenant.headers).text for mine_id in vars(mine).values()
        )
    before = snapshot(db, other_tenant.workspace.id)
    refusals = [
        ("/api/v1/events", {"contact_id": theirs.contact_id, "type": "email_opened"}, "contact_id"),
        (
            "/api/v1/events/batch",
            {"events": [{"contact_id": theirs.contact_id, "type": "email_opened"}]},
            "events[0].contact_id",
        ),
        (
            "/api/v1/contacts",
            {"first_name": "X", "organization_id": theirs.organization_id},
            "organization_id",
        ),
        ("/api/v1/deals", {"name": "X", "contact_id": theirs.contact_id}, "contact_id"),
        ("/api/v1/deals", {"name": "X", "organization_id": theirs.organization_id}, "organization_id"),
    ]
    for path, body, field in refusals:
        response = client.post(path, json=body, headers=tenant.headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["field"] == field
        assert "no such" in response.json()["detail"]
    assert snapshot(db, other_tenant.workspace.id) == before


def test_an_id_is_not_accepted_as_another_kind(
    client: TestClient, db: Database, codec: IdCodec, tenant: Tenant
) -> None:
    mine = seed(db, tenant, codec)
    assert client.get(f"/api/v1/contacts/{mine.contact_id}", headers=tenant.headers).status_code == 200
    assert client.get(f"/api/v1/deals/{mine.contact_id}", headers=tenant.headers).status_code == 404
    forged = mine.contact_id.rsplit("_", 1)[0] + "_0123456789"
    assert client.get(f"/api/v1/contacts/{forged}", headers=tenant.headers).status_code == 404
