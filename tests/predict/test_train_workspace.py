"""Training on the workspace's history: too few wins, a planted trait the model must rank higher,
versions and activation, scores with reasons on every open lead, and clearing them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest
from sqlalchemy import select

from leadwell.db.models import Engagement, PredictiveModel
from leadwell.db.session import Database
from leadwell.errors import InvalidInput, NotFound
from leadwell.predict.scoring import score_workspace
from leadwell.predict.train_workspace import (
    activate_version,
    deactivate,
    should_activate,
    too_few_message,
    train_workspace,
)
from leadwell.scoring.rows import engagement_of
from tests.conftest import Tenant
from tests.factories import make_contact, make_deal
from tests.predict.trait_history import Planted, plant_history

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def predictions(db: Database, workspace_id: int) -> dict[int, Engagement]:
    with db.session() as session:
        rows = session.scalars(select(Engagement).where(Engagement.workspace_id == workspace_id)).all()
        session.expunge_all()
    return {row.contact_id: row for row in rows}


def test_too_few_wins_keeps_fit_and_engagement(db: Database, tenant: Tenant) -> None:
    ws = tenant.workspace
    with db.session() as session:
        for n in range(40):
            person = make_contact(session, ws, created_at=NOW - timedelta(days=100 - n))
            won = n < 12
            make_deal(
                session, person, status="won" if won else "lost", closed_at=NOW - timedelta(days=50 - n)
            )
        lead = make_contact(session, ws)
        engagement_of(session, ws.id, lead.id, "lead")
    model = train_workspace(db, ws.id, tenant.user.id, now=NOW)
    assert (model.status, model.version, model.active, model.artifact) == ("too_few", 1, False, None)
    assert model.message == (
        "12 won deals so far: a model needs at least 30; the queue ranks by fit × engagement until then"
    )
    assert (model.rows, model.positives, model.trained_by_id) == (40, 12, tenant.user.id)
    assert model.spec["outcomes"]["wins"] == 12
    assert predictions(db, ws.id)[lead.id].predicted_p is None
    assert too_few_message(1, 0) is not None and "1 won deal so far" in (too_few_message(1, 0) or "")
    assert "lost or disqualified" in (too_few_message(30, 29) or "")
    assert too_few_message(30, 30) is None


@pytest.fixture
def planted(db: Database, tenant: Tenant) -> Planted:
    with db.session() as session:
        return plant_history(session, tenant.workspace, NOW)


def test_a_planted_trait_is_learned_and_its_leads_rank_higher(
    db: Database, tenant: Tenant, planted: Planted
) -> None:
    ws = tenant.workspace
    model = train_workspace(db, ws.id, tenant.user.id, now=NOW)
    assert (model.status, model.version, model.active, model.message) == ("ready", 1, True, None)
    assert model.rows == planted.decided and model.positives == planted.wins >= 30
    assert model.metrics["split"] == "time" and model.metrics["auc"] > 0.75
    assert model.metrics["calibration"] and model.metrics["top_features"]
    assert {f["name"] for f in model.spec["features"]} >= {"industry", "webinars attended"}
    scored = predictions(db, ws.id)
    trait = [scored[contact_id] for contact_id in planted.trait_leads]
    plain = [scored[contact_id] for contact_id in planted.plain_leads]
    assert mean(row.predicted_p or 0 for row in trait) > 2 * mean(row.predicted_p or 0 for row in plain)
    ranked = sorted(trait + plain, key=lambda row: -(row.predicted_value or 0))
    assert sum(row.contact_id in planted.trait_leads for row in ranked[: len(trait)]) >= len(trait) - 2
    for row in trait + plain:
        assert row.predicted_model_id == model.id and row.predicted_at == NOW
        assert row.predicted_value == pytest.approx((row.predicted_p or 0) * 8000)  # mean of won deals
        assert row.predicted_reasons and len(row.predicted_reasons) <= 3
    said = [reason for row in trait + plain for reason in row.predicted_reasons or []]
    assert all(reason.endswith(("(+)", "(\u2212)")) for reason in said)
    assert any(reason.startswith(("industry = ", "webinars attended ")) for reason in said)
    closed = [row for row in scored.values() if row.queue_state == "closed"]
    assert closed and all(row.predicted_p is None for row in closed)


def test_versions_activation_by_hand_and_clearing(db: Database, tenant: Tenant, planted: Planted) -> None:
    ws = tenant.workspace
    first = train_workspace(db, ws.id, now=NOW)
    second = train_workspace(db, ws.id, now=NOW + timedelta(hours=1))
    assert second.version == 2 and second.active  # as good on the same outcomes: the newer one wins
    with db.session() as session:
        states = dict(session.execute(select(PredictiveModel.version, PredictiveModel.active)).all())
        session.add(
            PredictiveModel(workspace_id=ws.id, version=3, source="csv", name="leads.csv", status="ready")
        )
    assert states == {1: False, 2: True}
    activate_version(db, ws.id, 1, now=NOW + timedelta(hours=2))
    assert {
        row.predicted_model_id for row in predictions(db, ws.id).values() if row.queue_state == "open"
    } == {first.id}
    with pytest.raises(InvalidInput, match="trained on the file 'leads.csv'"):
        activate_version(db, ws.id, 3)
    with pytest.raises(NotFound, match="no model version 9"):
        activate_version(db, ws.id, 9)
    # A lead that leaves the queue loses its prediction at the next scoring.
    leaving = planted.trait_leads[0]
    with db.session() as session:
        row = session.get(Engagement, leaving)
        assert row is not None
        row.queue_state = "closed"
    result = score_workspace(db, ws.id, NOW + timedelta(days=1))
    in_queue = [row for row in predictions(db, ws.id).values() if row.queue_state in ("open", "parked")]
    assert (result.version, result.scored, result.cleared) == (1, len(in_queue), 1)
    assert len(in_queue) > 19  # nurture contacts are scored too: they come back to the queue
    assert predictions(db, ws.id)[leaving].predicted_p is None
    deactivate(db, ws.id)
    assert all(row.predicted_model_id is None for row in predictions(db, ws.id).values())
    assert score_workspace(db, ws.id, NOW).version is None


def test_new_leads_are_scored_alone(db: Database, tenant: Tenant, planted: Planted) -> None:
    ws = tenant.workspace
    train_workspace(db, ws.id, now=NOW)
    with db.session() as session:
        newcomer = make_contact(session, ws, created_at=NOW)
        engagement_of(session, ws.id, newcomer.id, "lead")
    later = NOW + timedelta(minutes=5)
    result = score_workspace(db, ws.id, later, unscored=True)
    assert result.scored == 1 and result.cleared == 0
    scored = predictions(db, ws.id)
    assert scored[newcomer.id].predicted_at == later
    assert scored[planted.trait_leads[0]].predicted_at == NOW  # the others keep theirs
    assert score_workspace(db, ws.id, later, unscored=True).scored == 0


def test_the_activation_rule() -> None:
    def model(status: str, auc: float | None) -> PredictiveModel:
        return PredictiveModel(status=status, metrics={} if auc is None else {"auc": auc})

    assert should_activate(model("ready", 0.7), None)
    assert should_activate(model("ready", 0.7), model("ready", 0.7))
    assert not should_activate(model("ready", 0.69), model("ready", 0.7))
    assert should_activate(model("ready", 0.6), model("failed", None))
    assert not should_activate(model("too_few", None), None)
