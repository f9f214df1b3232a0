"""The tracking benchmark's pieces: seeded tokens, `leadwell serve` in a subprocess, wrk and its output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from bench.server import ServerFailed, free_port, server_env
from bench.tracking_load import Request
from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Contact, TrackingHit, Workspace
from leadwell.db.session import Database

STARTUP_TIMEOUT = 60.0
LUA_SCRIPT = Path(__file__).parent / "tracking.lua"
# The per-address limit stays on (its cost is in the figures) but above what one loopback client sends.
BENCH_RATE_LIMIT = 100_000_000


def seed_requests(url: str, secret: str, contacts: int) -> list[Request]:
    """A workspace with ``contacts`` contacts, and for each a signed open pixel, click and read beacon."""
    db = Database(url)
    try:
        with db.session() as session:
            workspace = Workspace(name="Tracking bench", slug="tracking-bench")
            session.add(workspace)
            session.flush()
            rows = [
                {
                    "workspace_id": workspace.id,
                    "first_name": "Reader",
                    "last_name": str(n),
                    "email": f"reader{n}@bench.example",
                    "phones": [],
                    "custom": {},
                    "stage": "lead",
                    "consent": "unknown",
                }
                for n in range(contacts)
            ]
            session.execute(insert(Contact), rows)
            ids = list(session.scalars(select(Contact.id).where(Contact.workspace_id == workspace.id)))
            workspace_id = workspace.id
    finally:
        db.dispose()
    signer = TokenSigner(secret)
    requests: list[Request] = []
    for number, contact_id in enumerate(ids):
        who = {"w": workspace_id, "c": contact_id}
        pixel = signer.sign("open", {**who, "m": f"bench-{number % 50}"})
        link = signer.sign(
            "click", {**who, "m": f"bench-{number % 50}", "u": f"https://bench.example/o/{number}"}
        )
        reading = signer.sign("deliver", {**who, "a": 1 + number % 5})
        beacon = {"pages": list(range(1, 2 + number % 12)), "of": 18, "active": 30 + number % 600}
        body = json.dumps({**beacon, "s": f"bench-session-{number}", "seq": 1}, separators=(",", ":"))
        requests += [
            Request("GET", f"/t/o/{pixel}.gif"),
            Request("GET", f"/t/c/{link}"),
            Request("POST", f"/t/r/{reading}", body.encode()),
        ]
    return requests


def write_requests(requests: list[Request], path: Path) -> Path:
    """The requests as the Lua script reads them: METHOD, PATH and BODY separated by tabs."""
    path.write_text("".join(f"{r.method}\t{r.path}\t{r.body.decode()}\n" for r in requests))
    return path


def count_hits(url: str) -> int:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(TrackingHit)) or 0)
    finally:
        db.dispose()


def settled_hits(url: str) -> int:
    """The stored hits once the count stops moving (requests in flight when the load stopped)."""
    count = count_hits(url)
    while True:
        time.sleep(0.3)
        again = count_hits(url)
        if again == count:
            return count
        count = again


@dataclass
class Served:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]


def _wait_ready(served: Served, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise ServerFailed(f"server exited with {served.process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            httpx.get(f"{served.base_url}/login", timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ServerFailed(f"server did not answer within {STARTUP_TIMEOUT:.0f}s:\n{log.read_text()[-4000:]}")


@contextmanager
def tracking_server(url: str, secret: str, workdir: Path, port: int | None = None) -> Iterator[Served]:
    """``leadwell serve --no-worker --no-access-log`` on a migrated database, as an operator runs it."""
    port = port or free_port()
    env = server_env(url, secret)
    env["LEADWELL_TRACKING_REQUESTS_PER_MINUTE"] = str(BENCH_RATE_LIMIT)
    command = [
        sys.executable,
        "-m",
        "leadwell",
        "serve",
        "--port",
        str(port),
        "--no-worker",
        "--no-access-log",
    ]
    log = workdir / f"tracking-server-{port}.log"
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", port, process)
    try:
        _wait_ready(served, log)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class WrkResult:
    rate: float  # requests per second
    p99_ms: float
    requests: int  # responses received
    not_ok: int  # responses other than 2xx/3xx
    socket_errors: int

    @property
    def acknowledged(self) -> int:
        return self.requests - self.not_ok


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> WrkResult:
    """The figures of ``wrk --latency`` output."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rate and p99 and total):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    not_ok = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        rate=float(rate.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)],
        requests=int(total.group(1)),
        not_ok=int(not_ok.group(1)) if not_ok else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk_path() -> str:
    """wrk's path; as root on Debian a missing wrk is installed first (as ``make browser-deps`` does)."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
            subprocess.run(install, env=env, capture_output=True, check=False)
        found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (Debian package)")
    return found


def run_wrk(url: str, seconds: int, connections: int, requests_file: Path | None = None) -> WrkResult:
    """``wrk --latency`` against ``url`` (with the tracking script over ``requests_file`` if given)."""
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if requests_file is not None:
        command += ["-s", str(LUA_SCRIPT), url, str(requests_file)]
    else:
        command.append(url)
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(result.stdout)
