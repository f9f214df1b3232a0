"""The prediction benchmarks' generated leads, and a tiny run of the timing benchmarks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from bench.bench_predict import generated_leads, predict_score, predict_train
from bench.databases import DatabaseTarget
from bench.harness import Context


def test_generated_leads_are_deterministic_spreadsheet_text() -> None:
    content, numbers = generated_leads(500, seed=4)
    again, same = generated_leads(500, seed=4)
    assert content == again and np.array_equal(numbers, same)
    assert generated_leads(500, seed=5)[0] != content
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert len(rows) == 500 == numbers.shape[0]
    assert list(rows[0])[-1] == "won" and {row["won"] for row in rows} == {"yes", "no"}
    assert any("," in row["employees"] for row in rows) and any(row["employees"] == "" for row in rows)
    assert all(row["budget"].startswith("$") and row["budget"].endswith("k") for row in rows)
    assert all(row["reply_rate"].endswith("%") for row in rows)
    # The numbers the baselines use: 8 numeric columns, 12 + 30 + 8 + 6 one-hot, the outcome last.
    assert numbers.shape[1] == 8 + 12 + 30 + 8 + 6 + 1
    assert numbers[:, -1].sum() == sum(row["won"] == "yes" for row in rows)
    scoring, scoring_numbers = generated_leads(200, seed=4, with_target=False)
    assert b"won" not in scoring.splitlines()[0] and scoring_numbers.shape[1] == numbers.shape[1] - 1


def test_timing_benchmarks_measure_against_their_baselines(tmp_path: Path) -> None:
    context = Context(scale=0.0001, target=DatabaseTarget("sqlite"), workdir=tmp_path)
    (train,) = predict_train(context)
    (score,) = predict_score(context)
    assert (train.name, train.unit, train.better) == ("predict_train", "s", "lower")
    assert (score.name, score.unit, score.better) == ("predict_score", "s", "lower")
    for measure in (train, score):
        assert measure.baseline > 0 and 0 < measure.value < 600
