"""The benchmark harness, run as ``make bench`` runs it, at a tiny scale on SQLite."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.run import main as bench_main

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"name", "database", "value", "unit", "baseline", "ratio", "target", "better", "met"}


def bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_tiny_run_on_sqlite(tmp_path: Path) -> None:
    """One run (so the suite pays for it once): JSON metadata, records and the printed table."""
    output = tmp_path / "results.json"
    run = bench("--scale", "0.002", "--database", "sqlite", "--only", "event_ingest", "--output", str(output))
    assert run.returncode == 0, run.stderr
    document: dict[str, Any] = json.loads(output.read_text())
    check_metadata(document)
    check_records(document["results"])
    check_table(run.stdout)


def check_metadata(document: dict[str, Any]) -> None:
    meta = document["meta"]
    assert meta["scale"] == 0.002
    assert meta["scale_name"] == "custom"
    assert meta["python"] == ".".join(str(part) for part in sys.version_info[:3])
    assert meta["databases"] == ["sqlite"]
    assert meta["time"]
    assert document["errors"] == []


def check_records(records: list[dict[str, Any]]) -> None:
    assert [(r["name"], r["database"]) for r in records] == [
        ("event_ingest", "sqlite"),
        ("event_ingest.p95_batch", "sqlite"),
    ]
    for record in records:
        assert set(record) == FIELDS
        assert record["value"] > 0 and record["baseline"] > 0 and record["target"] > 0
        assert math.isclose(record["ratio"], record["value"] / record["baseline"], rel_tol=1e-12)
        if record["better"] == "higher":
            assert record["met"] is (record["ratio"] >= record["target"])
        else:
            assert record["better"] == "lower"
            assert record["met"] is (record["ratio"] <= record["target"])
    rate, latency = records
    assert (rate["unit"], latency["unit"]) == ("events/s", "ms")
    # 2,000 events in batches of 1,000 cannot take under a millisecond per batch, nor ten minutes.
    assert 1 < latency["value"] < 600_000
    assert rate["value"] < 2_000 / 0.001


def check_table(stdout: str) -> None:
    header, rule, *rows = stdout.splitlines()[:4]
    assert header.split() == ["benchmark", "database", "value", "baseline", "ratio", "target", "met"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert rows[0].startswith("event_ingest ") and "events/s" in rows[0]
    assert rows[1].startswith("event_ingest.p95_batch ") and " ms " in rows[1]


# The argument checks run in-process: starting the harness in a subprocess costs seconds a case.
def test_list_names_the_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("--list") == 0
    assert "event_ingest" in capsys.readouterr().out.split()


@pytest.mark.parametrize(
    "args",
    [
        ["--only", "no_such_benchmark"],
        ["--only", "event_ingest,no_such_benchmark"],
        ["--scale", "0"],
        ["--scale", "huge"],
        ["--database", "oracle"],
    ],
)
def test_bad_arguments_exit_2(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "results.json"
    with pytest.raises(SystemExit) as exit_:
        run_main(*args, "--output", str(output))
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert not output.exists()


def run_main(*args: str) -> int:
    return bench_main(list(args))
