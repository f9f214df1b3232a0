"""The worker's experiments job: bandit shares, stop rules, monitoring, idempotence, two workers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from leadwell.db.locks import try_lock, unlock
from leadwell.db.models import (
    Event,
    Experiment,
    ExperimentAssignment,
    ExperimentCheck,
    ExperimentVariant,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.experiments.definitions import promote, variants_of
from leadwell.experiments.jobs import exclusive, experiments_due, run_experiment_jobs
from leadwell.worker import Worker
from tests.experiments.factories import (
    NOW,
    add_units,
    conversion,
    make_experiment,
    new_workspace,
    plant,
    variant,
)

EXPOSED = NOW - timedelta(days=40)


@pytest.fixture
def workspace(db: Database) -> Workspace:
    return new_workspace(db)


def _experiment(db: Database, workspace: Workspace, counts: dict[str, tuple[int, int]], **fields: Any) -> int:
    with db.session() as session:
        experiment = make_experiment(
            session, workspace, "channel_offer", primary_metric="meeting_booked", **fields
        )
        plant(session, experiment, counts, exposed_at=fields.get("started_at", EXPOSED))
        return experiment.id


def _state(
    db: Database, experiment_id: int
) -> tuple[Experiment, list[ExperimentVariant], list[ExperimentCheck]]:
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        checks = session.scalars(
            select(ExperimentCheck)
            .where(ExperimentCheck.experiment_id == experiment_id)
            .order_by(ExperimentCheck.id)
        ).all()
        return experiment, variants_of(session, experiment), list(checks)


def test_the_bandit_moves_new_units_towards_the_better_arm_once(db: Database, workspace: Workspace) -> None:
    experiment_id = _experiment(db, workspace, {"A": (200, 10), "B": (200, 20)}, allocation="bandit")
    assert run_experiment_jobs(db, NOW) == 1
    experiment, variants, checks = _state(db, experiment_id)
    shares = [variant.share or 0.0 for variant in variants]
    assert shares[1] > 0.85 and shares[0] >= 0.05 and sum(shares) == pytest.approx(1.0)
    assert [check.kind for check in checks] == ["allocation"] and checks[0].units == 400
    assert checks[0].message.startswith(f"Shares of new units: A {shares[0]:.0%}, B {shares[1]:.0%} (")
    assert experiment.state == "running"  # too few for the sequential test to conclude yet
    assert run_experiment_jobs(db, NOW) == 0  # the same numbers: the same shares, nothing written
    assert len(_state(db, experiment_id)[2]) == 1


def test_the_sequential_test_stops_an_experiment_it_finds_conclusive(
    db: Database, workspace: Workspace
) -> None:
    decided = _experiment(db, workspace, {"A": (1000, 50), "B": (1000, 120)})
    undecided = _experiment(db, workspace, {"A": (1000, 50), "B": (1000, 52)})
    assert run_experiment_jobs(db, NOW) == 1
    experiment, _, checks = _state(db, decided)
    assert (experiment.state, experiment.stopped_at, experiment.winner_key) == ("stopped", NOW, None)
    assert [check.kind for check in checks] == ["stop"]
    assert checks[0].message.startswith("Conclusive by the sequential test: B beats A on meetings booked")
    assert checks[0].units == 2000
    assert _state(db, undecided)[0].state == "running" and _state(db, undecided)[2] == []
    assert run_experiment_jobs(db, NOW + timedelta(minutes=5)) == 0


def test_a_fixed_horizon_test_stops_only_when_the_planned_units_are_in(
    db: Database, workspace: Workspace
) -> None:
    fields: dict[str, Any] = {"statistic": "frequentist", "minimum_effect": 1.0, "baseline_rate": 0.05}
    early = _experiment(db, workspace, {"A": (300, 10), "B": (300, 40)}, **fields)  # significant, but early
    assert run_experiment_jobs(db, NOW) == 0 and _state(db, early)[0].state == "running"
    done = _experiment(db, workspace, {"A": (700, 35), "B": (700, 40)}, **fields)  # no difference, all in
    assert run_experiment_jobs(db, NOW) == 1
    experiment, _, checks = _state(db, done)
    assert experiment.state == "stopped"
    assert checks[0].message.startswith("The planned ") and "No difference yet" in checks[0].message


def test_max_days_stops_an_experiment(db: Database, workspace: Workspace) -> None:
    experiment_id = _experiment(db, workspace, {"A": (50, 1), "B": (50, 2)}, max_days=30)
    assert run_experiment_jobs(db, NOW - timedelta(days=31)) == 0  # day 29 of 30
    assert run_experiment_jobs(db, NOW) == 1
    experiment, _, checks = _state(db, experiment_id)
    assert experiment.state == "stopped" and checks[0].message.startswith("Ran its 30 days: Too early")


def test_a_conclusive_bandit_promotes_its_winner_unless_it_breached_a_guardrail(
    db: Database, workspace: Workspace
) -> None:
    promoted = _experiment(db, workspace, {"A": (1000, 50), "B": (1000, 120)}, allocation="bandit")
    guarded = _experiment(
        db,
        workspace,
        {"A": (1000, 50), "B": (1000, 120)},
        allocation="bandit",
        guardrails=[{"metric": "deal_won"}],
    )
    _deals_for_a(db, guarded)
    assert run_experiment_jobs(db, NOW) == 4  # two reallocations, a promotion and a stop
    experiment, _, checks = _state(db, promoted)
    assert (experiment.state, experiment.winner_key) == ("scaled", "B")
    assert [check.kind for check in checks] == ["allocation", "stop"]
    assert checks[1].message.endswith("Promoted B (bandit).")
    experiment, _, checks = _state(db, guarded)
    assert (experiment.state, experiment.winner_key) == ("stopped", None)
    assert checks[-1].message.endswith("Not promoted: B breached a guardrail.")


def _deals_for_a(db: Database, experiment_id: int) -> None:
    """Every tenth unit of A wins a deal; none of B's: B is worse on deals won."""
    with db.session() as session:
        experiment = session.get(Experiment, experiment_id)
        assert experiment is not None
        control = variant(session, experiment, "A")
        contacts = session.scalars(
            select(ExperimentAssignment.contact_id).where(ExperimentAssignment.variant_id == control.id)
        ).all()
        event_type, properties = conversion(session, experiment, "A", "deal_won")
        at = EXPOSED + timedelta(days=3)
        common = {
            "workspace_id": experiment.workspace_id,
            "type": event_type,
            "occurred_at": at,
            "received_at": at,
        }
        rows = [
            {**common, "contact_id": contact_id, "properties": properties} for contact_id in contacts[::10]
        ]
        session.execute(insert(Event), rows)


def _scaled(db: Database, workspace: Workspace, recent: tuple[int, int]) -> int:
    """A winner tested at 10 % (B, promoted 70 days ago), then ``recent`` (units, conversions)."""
    with db.session() as session:
        experiment = make_experiment(
            session,
            workspace,
            "channel_offer",
            primary_metric="meeting_booked",
            started_at=NOW - timedelta(days=120),
        )
        plant(session, experiment, {"A": (1000, 50), "B": (1000, 100)}, exposed_at=NOW - timedelta(days=110))
        promote(session, experiment, "B", NOW - timedelta(days=70))
        add_units(
            session, experiment, "B", recent[0], exposed_at=NOW - timedelta(days=45), converting=recent[1]
        )
        add_units(
            session, experiment, "B", 500, exposed_at=NOW - timedelta(days=5)
        )  # window still open: not read
        return experiment.id


def test_the_monitor_alerts_on_a_drifted_winner_once_a_day(db: Database, workspace: Workspace) -> None:
    drifted = _scaled(db, workspace, (1000, 40))
    holding = _scaled(db, workspace, (1000, 95))
    assert run_experiment_jobs(db, NOW) == 2
    experiment, _, checks = _state(db, drifted)
    (check,) = checks
    assert (check.kind, check.alert, check.units, check.rate) == ("monitor", True, 1000, 0.04)
    assert check.high is not None and experiment.tested_low is not None and check.high < experiment.tested_low
    assert (
        check.message
        == f"Drifted: 4.0% now, 10.0% when tested (at least {experiment.tested_low * 100:.1f}%)."
    )
    (check,) = _state(db, holding)[2]
    assert not check.alert and check.message.startswith("Holding: 9.5% now (")
    assert run_experiment_jobs(db, NOW + timedelta(hours=6)) == 0  # one reading a day
    assert run_experiment_jobs(db, NOW + timedelta(days=1)) == 2
    assert len(_state(db, drifted)[2]) == 2


def test_the_monitor_waits_for_complete_windows_after_the_promotion(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", primary_metric="meeting_booked")
        plant(session, experiment, {"A": (100, 5), "B": (100, 10)}, exposed_at=EXPOSED)
        promote(session, experiment, "B", NOW - timedelta(days=10))
        experiment_id = experiment.id
    assert run_experiment_jobs(db, NOW) == 1
    (check,) = _state(db, experiment_id)[2]
    assert not check.alert and check.rate is None
    assert check.message == "Waiting: no unit exposed since the promotion has had its 30-day window yet."


def test_a_workspace_another_worker_holds_is_left_to_it(db: Database, workspace: Workspace) -> None:
    experiment_id = _experiment(db, workspace, {"A": (200, 10), "B": (200, 20)}, allocation="bandit")
    if db.dialect != "postgresql":
        with exclusive(db, workspace.id) as mine:
            assert mine  # one worker on SQLite: nothing to share
        return
    with db.engine.connect() as other:
        assert try_lock(other, "experiments", workspace.id)
        assert run_experiment_jobs(db, NOW) == 0
        assert _state(db, experiment_id)[2] == []
        unlock(other, "experiments", workspace.id)
        other.commit()
    assert run_experiment_jobs(db, NOW) == 1


def test_two_workers_at_once_record_each_change_once(db: Database, db_url: str, workspace: Workspace) -> None:
    bandit = _experiment(db, workspace, {"A": (200, 10), "B": (200, 20)}, allocation="bandit")
    scaled = _scaled(db, new_workspace(db), (500, 20))
    databases = [Database(db_url) for _ in range(2)]
    done: list[int] = []
    if db.dialect == "postgresql":
        barrier = threading.Barrier(2)

        def work(database: Database) -> None:
            barrier.wait()
            done.append(run_experiment_jobs(database, NOW))

        threads = [threading.Thread(target=work, args=(database,)) for database in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    else:  # one worker at a time on SQLite
        done.extend(run_experiment_jobs(database, NOW) for database in databases)
    for database in databases:
        database.dispose()
    assert sum(done) == 2
    assert [check.kind for check in _state(db, bandit)[2]] == ["allocation"]
    assert [check.kind for check in _state(db, scaled)[2]] == ["monitor"]


def test_the_worker_runs_the_job_every_few_minutes(db: Database, workspace: Workspace) -> None:
    assert "experiments" in [job.name for job in Worker(db).jobs()]
    _experiment(db, workspace, {"A": (200, 10), "B": (200, 20)}, allocation="bandit")
    assert experiments_due(db, NOW) == 1
    with db.session() as session:  # A catches up: the shares even out
        experiment = session.scalars(select(Experiment)).one()
        add_units(session, experiment, "A", 100, exposed_at=EXPOSED, converting=20)
    assert experiments_due(db, NOW + timedelta(minutes=4)) == 0  # ran less than 5 minutes ago
    assert experiments_due(db, NOW + timedelta(minutes=5)) == 1
