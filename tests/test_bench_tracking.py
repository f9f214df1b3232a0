"""The tracking benchmark, run as ``make bench`` runs it at a tiny scale, and its counting pieces."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench.tracking_load import Request, Tally, drive
from bench.tracking_server import parse_wrk, seed_requests, tracking_server
from fastapi.testclient import TestClient

from leadwell.db.session import Database
from tests.conftest import TEST_SECRET, run_apart
from tests.test_bench import ROOT

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.22ms    5.01ms  41.99ms   83.99%
    Req/Sec     4.40k   300.00     4.80k    70.00%
  Latency Distribution
     50%    5.67ms
     75%    8.10ms
     90%   12.00ms
     99%    1.20s
  8802 requests in 2.00s, 1.98MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:   4401.00
Transfer/sec:    0.99MB
"""


def test_wrk_output_is_read_with_its_units() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert (result.rate, result.p99_ms, result.requests) == (4401.0, 1200.0, 8802)
    assert (result.not_ok, result.socket_errors, result.acknowledged) == (12, 3, 8790)
    with pytest.raises(RuntimeError, match="unexpected wrk output"):
        parse_wrk("wrk: connection refused")


def test_seeded_requests_are_genuine_tracking_hits(client: TestClient, db: Database, db_url: str) -> None:
    requests = seed_requests(db_url, TEST_SECRET, 4)
    assert [request.method for request in requests[:3]] == ["GET", "GET", "POST"]
    statuses = [
        client.request(
            request.method,
            request.path,
            content=request.body,
            headers={"Content-Type": "text/plain"},
            follow_redirects=False,
        )
        for request in requests
    ]
    assert [response.status_code for response in statuses] == [200, 302, 204] * 4


def test_the_load_generator_counts_only_complete_answers(tmp_path: Path, db_url: str) -> None:
    requests = [
        Request("GET", "/t/o/forged.gif"),  # 200, stored nothing: a pixel always answers
        Request("POST", "/t/r/forged", b"{}"),  # 400
    ]
    with tracking_server(db_url, "load-secret", tmp_path) as served:

        async def run() -> Tally:
            stop = asyncio.Event()
            task = asyncio.create_task(drive("127.0.0.1", served.port, requests, 2, stop))
            await asyncio.sleep(0.5)
            stop.set()
            return await task

        tally = run_apart(run())
    assert tally.acknowledged > 0 and tally.refused > 0
    assert set(tally.statuses) == {200, 400}
    assert tally.acknowledged + tally.refused == sum(tally.statuses.values())


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
def test_tiny_tracking_run_keeps_every_acknowledged_hit(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "0.002", "--database", "sqlite", "--only", "tracking"]
        + ["--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    document: dict[str, Any] = json.loads(output.read_text())
    assert document["errors"] == []
    records = {record["name"]: record for record in document["results"]}
    assert set(records) == {"tracking_rate", "tracking_p99", "tracking_kept", "tracking_kept_after_kill"}
    assert records["tracking_rate"]["value"] > 0 and records["tracking_p99"]["better"] == "lower"
    for name in ("tracking_kept", "tracking_kept_after_kill"):
        assert records[name]["baseline"] > 1  # some hits were acknowledged
        assert records[name]["met"], records[name]  # and every one of them was stored
    assert "SIGKILL on sqlite" in run.stderr and ", 0 lost" in run.stderr
