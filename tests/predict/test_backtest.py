"""Backtests: ranking metrics against hand-computed values, and a generated workspace where a
profile's must-have finds the buyers, one of its nice-to-haves misleads, replies matter, and a
model trained before the period ranks the leads too."""

from __future__ import annotations

import random
from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.models import PredictiveModel, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.icp.definition import load_toml
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition
from leadwell.predict.artifact import dump
from leadwell.predict.backtest import (
    Backtest,
    Signal,
    backtest,
    default_period,
    expected_hits,
    grade_key,
    report_lines,
    two_proportion_z,
)
from leadwell.predict.engine import train
from leadwell.predict.features import CATEGORICAL, NUMERIC, Feature
from leadwell.predict.table import Table
from tests import factories
from tests.predict.planted_workspace import END, PROFILE, START, plant_period

runner = CliRunner()


def test_expected_hits_share_a_tie_at_the_cut() -> None:
    # Ten leads; the top 20 % is two places. Three tie at the top, two of them won: 2 × 2/3.
    scores = [5, 5, 5, 4, 3, 3, 2, 1, 1, 0]
    wins = [1, 1, 0, 1, 0, 0, 0, 0, 1, 0]
    assert expected_hits(scores, wins, 0.2) == pytest.approx(4 / 3)
    assert expected_hits(scores, wins, 0.1) == pytest.approx(2 / 3)
    assert expected_hits(scores, wins, 0.4) == pytest.approx(3.0)  # the whole tie and the 4
    assert expected_hits([1.0] * 10, wins, 0.2) == pytest.approx(0.8)  # all tied: random, 20 % of 4


def test_two_proportion_z_against_a_worked_value() -> None:
    # 30 of 100 against 20 of 100: pooled 0.25, spread √(0.25·0.75·0.02) = 0.061237.
    assert two_proportion_z(30, 100, 20, 100) == pytest.approx(0.1 / 0.0612372, rel=1e-5)
    assert two_proportion_z(0, 0, 3, 10) == 0.0


def test_a_signal_misleads_when_its_leads_win_less() -> None:
    good = Signal("profile", "p", "must employees ≥ 100", met=100, met_wins=30, rest=100, rest_wins=5)
    bad = Signal("profile", "p", "nice country in DE", met=100, met_wins=10, rest=100, rest_wins=12)
    negative = Signal("engagement", "engagement", "Unsubscribed (-50)", 50, 10, 50, 2, expects_more=False)
    assert not good.misleads and good.clearly
    assert bad.misleads and not bad.clearly  # 10 % against 12 %: could be chance
    assert negative.misleads and negative.clearly


def test_signals_with_nothing_to_compare_are_listed_apart() -> None:
    compared = Signal("profile", "p", "must employees ≥ 100", 10, 3, 10, 1)
    nobody = Signal("engagement", "engagement", "Booked a meeting (+50)", 0, 0, 20, 4)
    everyone = Signal("profile", "p", "must country is set", 20, 4, 0, 0)
    result = Backtest(START, END, 20, 4, [], [compared, nobody, everyone])
    assert (result.compared, result.unmet, result.universal) == ([compared], [nobody], [everyone])
    lines = report_lines(result)
    assert lines[-2:] == [
        "met by no open lead: Booked a meeting (+50)",
        "met by every open lead: must country is set",
    ]


def test_grades_order_a_first_then_score_and_f_last() -> None:
    keys = [grade_key("A", 90), grade_key("A", 80), grade_key("E", 10), grade_key(None, 0), grade_key("F", 0)]
    assert keys == sorted(keys, reverse=True)


def test_the_period_defaults_and_is_checked() -> None:
    start, end = default_period(None, None)
    assert end - start == timedelta(days=180)
    with pytest.raises(InvalidInput, match="must start before it ends"):
        default_period(END, START)
    with pytest.raises(InvalidInput, match="must start in the past"):
        default_period(utcnow() + timedelta(days=1), utcnow() + timedelta(days=2))


@cache
def _artifact(seed: int) -> tuple[bytes, str, int]:
    """A model over the workspace's "employees" and "country" columns, trained once on generated
    rows: (artifact, algorithm, wins)."""
    rng = random.Random(seed)
    employees = [rng.choice([20, 50, 80, 150, 400, 900]) for _ in range(400)]
    countries = [rng.choice(["DE", "US"]) for _ in range(400)]
    labels = [int(rng.random() < (0.5 if size >= 100 else 0.05)) for size in employees]
    table = Table(["employees", "country"], [[str(e), c] for e, c in zip(employees, countries, strict=True)])
    trained = train(table, labels, [Feature("employees", NUMERIC), Feature("country", CATEGORICAL)])
    return dump(trained), trained.algorithm, sum(labels)


def _model(session: Session, workspace: Workspace, version: int, days_before_start: int) -> None:
    artifact, algorithm, wins = _artifact(version)
    session.add(
        PredictiveModel(
            workspace_id=workspace.id,
            version=version,
            source="workspace",
            status="ready",
            algorithm=algorithm,
            rows=400,
            positives=wins,
            artifact=artifact,
            trained_at=START - timedelta(days=days_before_start),
        )
    )
    session.flush()


def _planted(db: Database) -> tuple[Workspace, Backtest]:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        plant_period(session, workspace)
        applied = apply_definition(session, workspace.id, load_toml(PROFILE))
        grade_all(session, workspace.id, applied.icp)
        _model(session, workspace, 1, days_before_start=10)
        _model(
            session, workspace, 2, days_before_start=-5
        )  # trained after the start: it has seen the answers
    with db.session() as session:
        return workspace, backtest(session, workspace.id, START, END)


def test_backtest_finds_what_ranks_the_buyers_and_what_misleads(db: Database) -> None:
    _workspace, result = _planted(db)
    assert result.leads == 228  # 240 created, every twentieth decided before the period
    assert 40 <= result.wins <= 80
    methods = {method.key: method for method in result.methods}
    assert list(methods) == ["profile:consulting", "engagement", "queue", "model:1", "random"]
    assert methods["random"].shares == pytest.approx((0.1, 0.2))
    profile = methods["profile:consulting"]
    assert profile.leads == 228 and profile.wins == result.wins
    # The must-have separates buyers (AUC well above 0.5), but the misleading nice-to-have grades
    # the German leads, who seldom buy, A: the profile's top fifth holds no more wins than chance.
    assert profile.auc is not None and profile.auc > 0.6
    assert methods["model:1"].shares[1] > 0.3 > profile.shares[1]
    assert methods["engagement"].auc is not None and methods["engagement"].auc > 0.5
    signals = {signal.label: signal for signal in result.signals}
    must = signals["must employees ≥ 100"]
    assert must.met_rate is not None and must.rest_rate is not None and must.met_rate > must.rest_rate
    assert not must.misleads and must.clearly
    country = signals["nice country in DE"]
    assert country.misleads
    replied = signals["Replied to an email (+40)"]
    assert replied.met > 40 and not replied.misleads


def test_the_backtest_report_in_words(db: Database) -> None:
    _workspace, result = _planted(db)
    lines = report_lines(result)
    assert lines[0] == f"228 leads open on 2026-03-01; {result.wins} of them won by 2026-07-01"
    assert lines[1].split() == ["method", "top", "10", "%", "wins", "top", "20", "%", "wins", "AUC"]
    assert any(line.startswith("Random order (expected)") and line.endswith("0.50") for line in lines)
    flagged = [line for line in lines if line.startswith("  ! ")]
    assert any(
        "profile consulting: nice country in DE — met by" in line and "MISLEADS" in line for line in flagged
    )


def test_backtest_from_the_command_line(db: Database, db_url: str) -> None:
    workspace, _result = _planted(db)
    args = ["icp", "backtest", "-w", workspace.slug, "--database-url", db_url]
    done = runner.invoke(app, [*args, "--since", "2026-03-01", "--until", "2026-07-01"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("228 leads open on 2026-03-01;")
    assert "Model version 1 (trained 2026-02-19)" in done.output
    as_json = runner.invoke(
        app, [*args, "--since", "2026-03-01", "--until", "2026-07-01", "--format", "json"]
    )
    assert '"method": "Random order (expected)"' in as_json.output
    bad = runner.invoke(app, [*args, "--since", "March"])
    assert bad.exit_code == 2 and "--since: 'March' is not a date" in bad.output


def test_an_empty_period(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        result = backtest(session, workspace.id, START, END)
    assert result.leads == 0 and result.methods == []
    assert result.notes == ["no lead was open at the start of the period"]
