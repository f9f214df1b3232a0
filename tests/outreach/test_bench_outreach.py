"""The outreach benchmark, run as ``make bench`` runs it, at a tiny scale on SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_tiny_outreach_run_measures_queueing_and_sending(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.002", "--database", "sqlite", "--only", "outreach",
         "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parent.parent.parent,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = json.loads(output.read_text())
    assert results["errors"] == []
    measures = {record["name"]: record for record in results["results"]}
    assert set(measures) == {"outreach_queue", "outreach_send"}
    for record in measures.values():
        assert record["unit"] == "messages/s" and record["value"] > 0 and record["baseline"] > 0
