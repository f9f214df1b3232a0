"""The background worker: claims work from the database and does it, without cron or a second store.

Today its work is the tracking inbox: hits stored by the public endpoints become events
(:func:`leadwell.capture.processing.process_pending`). ``leadwell worker`` runs the loop in its own
process; ``leadwell serve`` runs the same loop in a thread, so the embedded default stays one
command. On PostgreSQL any number of workers share the inbox (rows are claimed with
``FOR UPDATE SKIP LOCKED``); on SQLite one is enough, as there is one writer at a time anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from leadwell.capture.processing import Outcome, default_batch, process_pending
from leadwell.db.session import Database

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
# After an error (database restarting, disk full) wait longer before trying again.
ERROR_BACKOFF_SECONDS = 5.0


@dataclass
class Worker:
    """Runs batches until told to stop; ``stop`` may be set from any thread or a signal handler."""

    db: Database
    batch: int | None = None  # hits per transaction; None: the database's default
    idle_seconds: float = IDLE_SECONDS
    # Whether to rest between full batches as long as each took, leaving the tracking endpoints
    # half of what the two share: SQLite's one write lock, or (in the web process) the interpreter.
    # None: rest on SQLite only.
    rest: bool | None = None

    def __post_init__(self) -> None:
        if self.batch is None:
            self.batch = default_batch(self.db)
        if self.rest is None:
            self.rest = self.db.dialect == "sqlite"
        self.stop = threading.Event()
        self.total = Outcome()

    def run_once(self) -> Outcome:
        """Work until nothing is pending; what was done."""
        done = Outcome()
        batch = self.batch or default_batch(self.db)
        while not self.stop.is_set():
            started = time.monotonic()
            outcome = process_pending(self.db, batch)
            done.add(outcome)
            if outcome.processed + outcome.failed < batch:
                break
            if self.rest:
                # Back to back, batches would leave the endpoints one commit per batch on SQLite.
                self.stop.wait(time.monotonic() - started)
        self.total.add(done)
        return done

    def run(self) -> None:
        """Work, then wait for more, until :attr:`stop` is set."""
        log.info("worker started")
        while not self.stop.is_set():
            try:
                self.run_once()
            except DBAPIError as error:
                log.warning("worker: database error, retrying in %.0fs: %s", ERROR_BACKOFF_SECONDS, error)
                self.stop.wait(ERROR_BACKOFF_SECONDS)
                continue
            self.stop.wait(self.idle_seconds)
        log.info("worker stopped")


class WorkerThread:
    """A :class:`Worker` in a background thread of the web process (``leadwell serve``)."""

    def __init__(self, db: Database, idle_seconds: float = IDLE_SECONDS) -> None:
        self.worker = Worker(db, idle_seconds=idle_seconds, rest=True)
        self.thread = threading.Thread(target=self._run, name="leadwell-worker", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        except Exception:  # a bug: say so, and leave the web process serving
            log.exception("the in-process worker stopped on an error")

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop after its current batch, and wait for it."""
        self.worker.stop.set()
        self.thread.join(timeout)
