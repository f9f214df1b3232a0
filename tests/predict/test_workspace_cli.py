"""``leadwell model train`` on the workspace, ``model activate`` and ``model report`` without a
version: the workspace model from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from leadwell.auth.accounts import find_workspace
from leadwell.cli import app
from leadwell.db.models import PredictiveModel
from leadwell.db.session import Database
from tests import factories
from tests.predict.trait_history import plant_history

runner = CliRunner()
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def run(db_url: str, slug: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["model", *args, "--database-url", db_url, "-w", slug])
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_too_few_wins_on_the_command_line(db: Database, db_url: str) -> None:
    with db.session() as session:
        slug = factories.make_workspace(session).slug
    output = run(db_url, slug, "train")
    assert "model version 1 (workspace: Workspace history), too_few" in output
    assert "0 won deals so far: a model needs at least 30" in output
    assert "not active: the call queue ranks by fit × engagement" in output
    assert "error: version: version 1 is not ready" in run(db_url, slug, "activate", "1", code=2)
    assert "no model version 7" in run(db_url, slug, "activate", "7", code=2)
    assert "--from: --target" in run(db_url, slug, "train", "--target", "won", code=2)


@pytest.fixture
def trained(db: Database, db_url: str) -> str:
    with db.session() as session:
        ws = factories.make_workspace(session)
        plant_history(session, ws, NOW, decided=120, open_leads=4)
        slug = ws.slug
    output = run(db_url, slug, "train")
    assert "model version 1 (workspace: Workspace history), ready" in output
    assert "active: the call queue now ranks open leads by this model" in output
    return slug


def test_train_activate_and_report(db: Database, db_url: str, trained: str) -> None:
    second = run(db_url, trained, "train")  # the same outcomes and seed: as good, so it takes over
    assert "model version 2" in second and "active: the call queue now ranks" in second
    with db.session() as session:
        workspace_id = find_workspace(session, trained).id
        session.add(
            PredictiveModel(workspace_id=workspace_id, version=3, source="csv", name="x.csv", status="ready")
        )
    assert "model version 1 is active" in run(db_url, trained, "activate", "1")
    report = run(db_url, trained, "report")  # the active workspace model, not the newer CSV one
    assert report.startswith("model version 1 (workspace: Workspace history), ready")
    assert "calibration" in report
    assert "trained on the file 'x.csv'" in run(db_url, trained, "activate", "3", code=2)
