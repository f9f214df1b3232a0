"""``leadwell model train --from | score | report | list``: the CSV interface end to end."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leadwell.cli import app
from leadwell.db.models import PredictiveModel
from leadwell.db.session import Database
from leadwell.predict.artifact import load
from tests import factories
from tests.predict.generated import leads_csv

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


@pytest.fixture
def slug(db: Database) -> str:
    with db.session() as session:
        return factories.make_workspace(session, "Spreadsheet Sales").slug


def _train(db_url: str, slug: str, file: Path, *extra: str, code: int = 0) -> str:
    return run("model", "train", "--from", str(file), *extra, "--database-url", db_url, "-w", slug, code=code)


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_train_stores_a_csv_model_and_prints_its_figures(
    db: Database, db_url: str, slug: str, tmp_path: Path
) -> None:
    file = _write(tmp_path, "history.csv", leads_csv(600))
    output = _train(db_url, slug, file, "--target", "won", "--positive", "Yes", "--id-column", "lead_id")
    assert "model version 1 (csv: history.csv), ready" in output
    assert "learned from 600 rows, 166 positive (won = Yes)" in output
    assert "AUC 0." in output and "top 20 %:" in output and "lift" in output
    assert "not a feature: name (different in 600 of 600 rows" in output
    _train(db_url, slug, file, "--target", "WON", "--positive", "yes", "--categorical", "roi_months")
    with db.session() as session:
        models = session.scalars(select(PredictiveModel).order_by(PredictiveModel.version)).all()
        assert [(m.version, m.source, m.status, m.active) for m in models] == [
            (1, "csv", "ready", False),
            (2, "csv", "ready", False),
        ]
        first, second = models
        assert (first.name, first.target, first.positive, first.rows, first.positives) == (
            "history.csv",
            "won",
            "Yes",
            600,
            166,
        )
        assert first.spec["id_columns"] == ["lead_id"]
        assert [f["name"] for f in first.spec["features"]] == [
            "employees",
            "roi_months",
            "industry",
            "colour",
        ]
        assert {"name": "roi_months", "kind": "categorical"} in second.spec["features"]
        assert first.metrics["auc"] > 0.7
        assert first.artifact is not None
        assert load(first.artifact).algorithm == first.algorithm


def test_score_adds_probability_rank_and_reasons_and_passes_the_rest_through(
    db_url: str, slug: str, tmp_path: Path
) -> None:
    _train(
        db_url, slug, _write(tmp_path, "history.csv", leads_csv(600)), "--target", "won", "--positive", "yes"
    )
    # New leads, written with semicolons and every cell quoted, without the outcome column.
    fresh = list(csv.reader(io.StringIO(leads_csv(80, seed=9, drop=("won",)).decode())))
    content = "".join(";".join(f'"{cell}"' for cell in row) + "\r\n" for row in fresh).encode()
    out = tmp_path / "scored.csv"
    message = run("model", "score", str(_write(tmp_path, "new.csv", content)), "--out", str(out),
                  "--database-url", db_url, "-w", slug)  # fmt: skip
    assert message.strip() == f"scored 80 rows with model version 1: {out}"
    written = out.read_bytes()
    assert written.startswith(b'"lead_id";"name";"employees";"roi_months";"industry";"colour";"probability";')
    assert written.endswith(b'"\r\n')
    rows = list(csv.reader(io.StringIO(written.decode()), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header == [*fresh[0], "probability", "rank", "reasons"]
    assert [row[:6] for row in body] == fresh[1:]  # every input cell as it was, in order
    probabilities = [float(row[6]) for row in body]
    ranks = [int(row[7]) for row in body]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert sorted(ranks) == list(range(1, 81))
    by_rank = [p for _rank, p in sorted(zip(ranks, probabilities, strict=True))]
    assert by_rank == sorted(probabilities, reverse=True)
    assert all(row[8] and len(row[8].split("; ")) <= 3 for row in body)
    assert all(reason.endswith(("(+)", "(\u2212)")) for row in body for reason in row[8].split("; "))


def test_a_scored_file_keeps_columns_the_model_does_not_use(db_url: str, slug: str, tmp_path: Path) -> None:
    history = _write(tmp_path, "history.csv", leads_csv(600))
    _train(db_url, slug, history, "--target", "won", "--positive", "yes", "--id-column", "lead_id")
    out = tmp_path / "scored.csv"
    run(
        "model",
        "score",
        str(history),
        "--out",
        str(out),
        "--version",
        "1",
        "--database-url",
        db_url,
        "-w",
        slug,
    )
    original = history.read_text().splitlines()
    scored = out.read_text().splitlines()
    assert len(scored) == len(original)
    assert all(line.startswith(before + ",") for before, line in zip(original, scored, strict=True))


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (leads_csv(600), ("--target", "outcome", "--positive", "yes"),
         "--target outcome: the file has no column"),
        (leads_csv(600), ("--target", "won", "--positive", "maybe"),
         "--positive maybe: no row has this value in won"),
        (b"a,won\n1,yes\n2,yes\n", ("--target", "won", "--positive", "yes"),
         "--target won: every row has the value"),
        (b"", ("--target", "won", "--positive", "yes"), "file: empty.csv is empty"),
        (b"a,won\n", ("--target", "won", "--positive", "yes"), "file: empty.csv has a header but no rows"),
        (leads_csv(600), ("--target", "won"), "--positive: say which column holds the outcome"),
        (leads_csv(600), ("--target", "won", "--positive", "yes", "--numeric", "industry"),
         "--numeric industry: line 2: "),
        (leads_csv(600), ("--target", "won", "--positive", "yes", "--id-column", "ref"),
         "--id-column ref: the file has no column"),
        (leads_csv(80), ("--target", "won", "--positive", "yes"),
         "won: 22 rows are yes; a model needs at least 30"),
    ],
)  # fmt: skip
def test_bad_training_input_exits_2_naming_the_problem(
    db: Database,
    db_url: str,
    slug: str,
    tmp_path: Path,
    content: bytes,
    options: tuple[str, ...],
    message: str,
) -> None:
    output = _train(db_url, slug, _write(tmp_path, "empty.csv", content), *options, code=2)
    assert f"error: {message}" in output
    with db.session() as session:
        assert session.scalars(select(PredictiveModel)).first() is None  # nothing stored


def test_scoring_errors_exit_2(db_url: str, slug: str, tmp_path: Path) -> None:
    no_industry = _write(tmp_path, "partial.csv", leads_csv(30, drop=("industry",)))
    output = run("model", "score", str(no_industry), "--out", str(tmp_path / "o.csv"),
                 "--database-url", db_url, "-w", slug, code=2)  # fmt: skip
    assert "error: version: no model trained from a file in this workspace yet" in output
    _train(
        db_url, slug, _write(tmp_path, "history.csv", leads_csv(600)), "--target", "won", "--positive", "yes"
    )
    output = run("model", "score", str(no_industry), "--out", str(tmp_path / "o.csv"),
                 "--database-url", db_url, "-w", slug, code=2)  # fmt: skip
    assert "error: industry: the model reads this column but the file has none of this name" in output
    assert not (tmp_path / "o.csv").exists()
    output = run("model", "score", str(no_industry), "--out", str(tmp_path / "o.csv"), "--version", "7",
                 "--database-url", db_url, "-w", slug, code=2)  # fmt: skip
    assert "error: version: no model version 7 in this workspace" in output
    scored_before = _write(
        tmp_path, "again.csv", b"employees,roi_months,industry,colour,rank\n10,3,Retail,red,1\n"
    )
    output = run("model", "score", str(scored_before), "--out", str(tmp_path / "o.csv"),
                 "--database-url", db_url, "-w", slug, code=2)  # fmt: skip
    assert "error: rank: the file already has a column of this name" in output


def test_models_stay_in_their_workspace(db: Database, db_url: str, slug: str, tmp_path: Path) -> None:
    _train(
        db_url, slug, _write(tmp_path, "history.csv", leads_csv(600)), "--target", "won", "--positive", "yes"
    )
    with db.session() as session:
        other = factories.make_workspace(session, "Elsewhere").slug
    output = run("model", "score", str(tmp_path / "history.csv"), "--out", str(tmp_path / "o.csv"),
                 "--version", "1", "--database-url", db_url, "-w", other, code=2)  # fmt: skip
    assert "no model version 1 in this workspace" in output
    assert "(none)" in run("model", "list", "--database-url", db_url, "-w", other)


def test_list_and_report(db_url: str, slug: str, tmp_path: Path) -> None:
    _train(
        db_url, slug, _write(tmp_path, "history.csv", leads_csv(600)), "--target", "won", "--positive", "yes"
    )
    listed = json.loads(run("model", "list", "--format", "json", "--database-url", db_url, "-w", slug))
    assert [(row["version"], row["source"], row["name"], row["status"], row["active"]) for row in listed] == [
        (1, "csv", "history.csv", "ready", False)
    ]
    assert float(listed[0]["auc"]) > 0.7
    report = run("model", "report", "--database-url", db_url, "-w", slug)
    assert "model version 1 (csv: history.csv), ready" in report
    assert "calibration (rows by predicted probability, in tenths):" in report
    assert len([line for line in report.splitlines() if line.strip().endswith("%")]) >= 10
    document = json.loads(
        run("model", "report", "--version", "1", "--format", "json", "--database-url", db_url, "-w", slug)
    )
    assert document["metrics"]["top20"]["rows"] > 0 and document["spec"]["target"] == "won"
    output = run("model", "report", "--version", "3", "--database-url", db_url, "-w", slug, code=2)
    assert "no model version 3" in output


def test_file_options_need_a_file(db_url: str, slug: str) -> None:
    output = run("model", "train", "--target", "won", "--database-url", db_url, "-w", slug, code=2)
    assert "need --from FILE" in output
