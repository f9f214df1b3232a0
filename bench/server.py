"""A real leadwell server in a subprocess (uvicorn, as operators run it) on a free local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 60.0
LOG_TAIL = 4000


class ServerFailed(RuntimeError):
    """The server exited or never answered; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "leadwell.web.app:app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def server_env(database_url: str, secret_key: str) -> dict[str, str]:
    """The caller's environment minus other ``LEADWELL_*`` settings, so every run measures defaults."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEADWELL_")}
    env["LEADWELL_DATABASE_URL"] = database_url
    env["LEADWELL_SECRET_KEY"] = secret_key
    return env


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-LOG_TAIL:]
    except OSError:
        return "(no log)"


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"server exited with {process.returncode}:\n{_tail(log)}")
        try:
            httpx.get(f"{base_url}/api/v1/events", timeout=2.0)  # any answer (401) means it is up
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ServerFailed(f"server did not answer within {STARTUP_TIMEOUT:.0f}s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def api_server(database_url: str, secret_key: str, workdir: Path) -> Iterator[str]:
    """Run ``uvicorn leadwell.web.app:app_from_env --factory`` on a migrated database; yield its base URL.

    The server runs in ``workdir`` so no ``leadwell.toml`` of the caller's is picked up.
    """
    port = free_port()
    log = workdir / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            server_command(port),
            env=server_env(database_url, secret_key),
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, base_url, log)
        yield base_url
        if process.poll() is not None:
            raise ServerFailed(f"server exited with {process.returncode} during the run:\n{_tail(log)}")
    finally:
        _stop(process)
