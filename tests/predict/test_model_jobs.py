"""The worker's model upkeep: trainings asked for, retraining on schedule only when outcomes changed,
the setting that turns it off, new leads scored within a round, the daily rescore, and the job in
the worker's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from leadwell.config import Settings
from leadwell.db.models import Engagement, PredictiveModel
from leadwell.db.session import Database
from leadwell.predict.jobs import request_training, retrain_due, training_requested
from leadwell.predict.train_workspace import train_workspace
from leadwell.scoring.rows import engagement_of
from leadwell.worker import Worker
from tests.conftest import Tenant
from tests.factories import make_contact, make_deal
from tests.predict.trait_history import plant_history

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def versions(db: Database, workspace_id: int) -> list[tuple[int, str]]:
    with db.session() as session:
        rows = session.execute(
            select(PredictiveModel.version, PredictiveModel.status)
            .where(PredictiveModel.workspace_id == workspace_id)
            .order_by(PredictiveModel.version)
        )
        return [(version, status) for version, status in rows]


def add_outcome(db: Database, tenant: Tenant, won: bool, at: datetime) -> None:
    with db.session() as session:
        person = make_contact(session, tenant.workspace, created_at=at - timedelta(days=20))
        make_deal(
            session, person, status="won" if won else "lost", closed_at=at, created_at=at - timedelta(days=5)
        )


def test_retraining_follows_the_schedule_and_the_outcomes(
    db: Database, tenant: Tenant, settings: Settings
) -> None:
    ws = tenant.workspace.id
    assert retrain_due(db, settings, NOW) == 0  # nothing decided: nothing to learn
    add_outcome(db, tenant, True, NOW - timedelta(days=3))
    assert retrain_due(db, settings, NOW) == 0  # looked an hour ago at most: not again
    assert retrain_due(db, settings, NOW + timedelta(hours=1)) == 1
    assert versions(db, ws) == [(1, "too_few")]
    add_outcome(db, tenant, False, NOW + timedelta(days=2))
    assert retrain_due(db, settings, NOW + timedelta(days=3)) == 0  # changed, but the model is 2 days old
    assert retrain_due(db, settings, NOW + timedelta(days=8)) == 1  # a week old, and changed
    assert versions(db, ws) == [(1, "too_few"), (2, "too_few")]
    assert retrain_due(db, settings, NOW + timedelta(days=16)) == 0  # a week later, nothing new to learn
    never = settings.model_copy(update={"model_retrain_days": 0})
    add_outcome(db, tenant, True, NOW + timedelta(days=9))
    assert retrain_due(db, never, NOW + timedelta(days=30)) == 0


def test_a_requested_training_runs_at_once_and_once(db: Database, tenant: Tenant, settings: Settings) -> None:
    ws = tenant.workspace.id
    with db.session() as session:
        request_training(session, ws, tenant.user.id)
        request_training(session, ws, tenant.user.id)  # asked twice: trained once
        assert training_requested(session, ws)
    assert settings.model_retrain_days == 7  # the default
    never = settings.model_copy(update={"model_retrain_days": 0})
    assert retrain_due(db, never, NOW) == 1  # asked for: trained even with the schedule off
    with db.session() as session:
        assert not training_requested(session, ws)
        model = session.scalars(select(PredictiveModel)).one()
        assert (model.status, model.trained_by_id) == ("too_few", tenant.user.id)
    assert retrain_due(db, never, NOW + timedelta(minutes=1)) == 0


def test_new_leads_are_scored_each_round_and_everyone_daily(
    db: Database, tenant: Tenant, settings: Settings
) -> None:
    ws = tenant.workspace
    with db.session() as session:
        plant_history(session, ws, NOW, decided=120, open_leads=6)
    model = train_workspace(db, ws.id, now=NOW)
    assert model.active
    quiet = settings.model_copy(update={"model_retrain_days": 0})
    assert retrain_due(db, quiet, NOW + timedelta(minutes=1)) == 0  # every lead has its score
    with db.session() as session:
        newcomer = make_contact(session, ws, created_at=NOW)
        engagement_of(session, ws.id, newcomer.id, "lead")
    assert retrain_due(db, quiet, NOW + timedelta(minutes=2)) == 1
    with db.session() as session:
        row = session.get(Engagement, newcomer.id)
        assert row is not None and row.predicted_model_id == model.id
        in_queue = session.scalar(
            select(func.count()).where(
                Engagement.workspace_id == ws.id, Engagement.queue_state.in_(("open", "parked"))
            )
        )
    assert retrain_due(db, quiet, NOW + timedelta(days=1, minutes=1)) == in_queue  # the daily rescore
    with db.session() as session:
        oldest = session.scalar(
            select(func.min(Engagement.predicted_at)).where(Engagement.predicted_model_id == model.id)
        )
    assert oldest == NOW + timedelta(days=1, minutes=1)


def test_the_worker_runs_the_job(db: Database, tenant: Tenant) -> None:
    worker = Worker(db)
    assert "models" in [job.name for job in worker.jobs()]
    add_outcome(db, tenant, True, NOW)
    worker.run_once()
    assert worker.counts["models"] == 1
    assert versions(db, tenant.workspace.id) == [(1, "too_few")]
