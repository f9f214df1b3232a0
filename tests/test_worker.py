"""The background worker: `leadwell worker`, the in-process worker of `leadwell serve`, and several
workers sharing one inbox without taking the same hit twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from leadwell.capture.hits import store_hits
from leadwell.capture.processing import Outcome
from leadwell.capture.tokens import TokenSigner
from leadwell.capture.tracking_routes import open_pixel_url
from leadwell.db.models import Event, TrackingHit
from leadwell.db.session import Database
from leadwell.worker import Worker, WorkerThread
from tests.capture.tracking_support import Prospect, make_prospect
from tests.test_serve import free_port

LEADWELL = [sys.executable, "-m", "leadwell"]


def _store_opens(db: Database, prospect: Prospect, count: int) -> None:
    rows = [
        {
            "workspace_id": prospect.workspace.id,
            "kind": "open",
            "payload": {**prospect.ids, "m": f"m{n}"},
            "ip": None,
        }
        for n in range(count)
    ]
    store_hits(db, rows)


def _counts(db: Database) -> tuple[int, int]:
    """(pending hits, email_opened events)."""
    with db.session() as session:
        pending = session.scalar(select(func.count()).where(TrackingHit.processed_at.is_(None)))
        events = session.scalar(select(func.count()).where(Event.type == "email_opened"))
    return pending or 0, events or 0


def _eventually(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.1)


def test_worker_once_processes_everything_pending_and_says_so(db_url: str, db: Database) -> None:
    prospect = make_prospect(db)
    _store_opens(db, prospect, 12)
    result = subprocess.run(
        [*LEADWELL, "worker", "--once", "--batch", "5", "--database-url", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "12 hits processed, 0 set aside, 12 events stored" in result.stdout
    assert _counts(db) == (0, 12)


def test_worker_refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    result = subprocess.run(
        [*LEADWELL, "worker", "--once", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "leadwell init" in result.stderr


def test_worker_runs_until_sigterm_then_stops_cleanly(db_url: str, db: Database) -> None:
    prospect = make_prospect(db)
    process = subprocess.Popen(
        [*LEADWELL, "worker", "--idle", "0.1", "--database-url", db_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _store_opens(db, prospect, 3)
        _eventually(lambda: _counts(db) == (0, 3))
        _store_opens(db, make_prospect(db, "Later Ltd"), 2)  # work arriving while it waits
        _eventually(lambda: _counts(db) == (0, 5))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stopped: 5 hits processed" in out


def test_two_workers_share_the_inbox_and_never_take_the_same_hit(db: Database, db_url: str) -> None:
    prospect = make_prospect(db)
    _store_opens(db, prospect, 600)
    databases = [Database(db_url), Database(db_url)]
    workers = [Worker(database, batch=20) for database in databases]
    start = threading.Barrier(2)
    results: list[Outcome] = []

    def run(worker: Worker) -> None:
        start.wait()
        results.append(worker.run_once())

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for database in databases:
        database.dispose()
    assert len(results) == 2
    # A hit taken twice would be counted twice (its second event would be a duplicate and dropped).
    assert sum(result.processed for result in results) == 600
    if db.dialect == "postgresql":
        # SKIP LOCKED lets them work side by side; SQLite has them take turns on its write lock,
        # where one may well get everything.
        assert all(result.processed > 0 for result in results), results
    assert _counts(db) == (0, 600)


def test_the_worker_thread_processes_hits_and_stops_with_its_process(db: Database) -> None:
    prospect = make_prospect(db)
    background = WorkerThread(db, idle_seconds=0.05)
    background.start()
    try:
        _store_opens(db, prospect, 4)
        _eventually(lambda: _counts(db) == (0, 4))
    finally:
        background.stop()
    assert not background.thread.is_alive()
    assert background.worker.total.processed == 4


def _serve(tmp_path: Path, port: int, *flags: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LEADWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"}
    env["LEADWELL_SECRET_KEY"] = "serve-worker-secret"
    with (tmp_path / f"serve-{port}.log").open("wb") as log:
        return subprocess.Popen(
            [*LEADWELL, "serve", "--port", str(port), "--no-access-log", *flags],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _opened(db: Database, prospect: Prospect) -> bool:
    with db.session() as session:
        query = select(func.count()).where(
            Event.type == "email_opened", Event.contact_id == prospect.contact.id
        )
        return session.scalar(query) == 1


@pytest.mark.parametrize(("flags", "processed"), [((), True), (("--no-worker",), False)])
def test_serve_runs_the_worker_in_process_unless_told_not_to(
    tmp_path: Path, flags: tuple[str, ...], processed: bool
) -> None:
    port = free_port()
    process = _serve(tmp_path, port, *flags)
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
            try:
                httpx.get(f"{base}/login", timeout=1)
                return True
            except httpx.TransportError:
                return False

        _eventually(up, 60)
        db = Database(f"sqlite:///{tmp_path / 'served.db'}")
        prospect = make_prospect(db)
        signer = TokenSigner("serve-worker-secret")
        pixel = open_pixel_url(signer, base, prospect.workspace.id, prospect.contact.id, "hello")
        assert httpx.get(pixel).status_code == 200
        if processed:
            _eventually(lambda: _opened(db, prospect))
        else:
            time.sleep(2.5)  # longer than the in-process worker's idle wait: it would have run
            assert not _opened(db, prospect)
            assert _counts(db) == (1, 0)
        db.dispose()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0


def test_batches_and_rests_suit_the_database(db: Database) -> None:
    worker = Worker(db)
    sqlite = db.dialect == "sqlite"
    assert (worker.batch, worker.rest) == ((100, True) if sqlite else (500, False))
    assert WorkerThread(db).worker.rest is True  # it shares the web process with the endpoints
    assert Worker(db, batch=7, rest=False).batch == 7
