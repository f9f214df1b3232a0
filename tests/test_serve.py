"""`leadwell serve` as an operator runs it: a real process answering real HTTP on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

LEADWELL = [sys.executable, "-m", "leadwell"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh SQLite file served by `leadwell serve`, which must create the schema itself."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    port = free_port()
    env = {**os.environ, "LEADWELL_DATABASE_URL": url}
    env.pop("LEADWELL_SECRET_KEY", None)
    process = subprocess.Popen(
        [*LEADWELL, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"leadwell serve did not start:\n{output}")
                time.sleep(0.2)
        yield base, url
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout:
            process.stdout.close()


def test_serve_on_a_fresh_sqlite_file_creates_the_schema_and_answers(served: tuple[str, str]) -> None:
    base, url = served
    assert httpx.get(f"{base}/login").status_code == 200
    assert httpx.get(f"{base}/static/vendor/htmx/htmx.min.js").status_code == 200
    assert httpx.get(f"{base}/api/v1/openapi.json").json()["info"]["title"] == "leadwell API"
    anonymous = httpx.get(f"{base}/contacts", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    problem = httpx.get(f"{base}/api/v1/contacts")
    assert problem.status_code == 401 and problem.headers["content-type"] == "application/problem+json"


def test_serve_fails_cleanly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    env = {**os.environ, "LEADWELL_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [*LEADWELL, "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "error:" in result.stderr
