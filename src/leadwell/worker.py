"""The background worker: claims work from the database and does it, without cron or a second store.

Its work is a list of *jobs*, each a name and a function ``(db) -> int`` that does one batch of
due work and says how much it handled: the tracking inbox (hits stored by the public endpoints
become events, :func:`leadwell.capture.processing.process_pending`) and the outbox (due emails go
to their SMTP servers, :func:`leadwell.outreach.outbox.send_due`), with replies and bounces read
over IMAP, due sequence steps and scheduled newsletters before it; then the predictive models'
upkeep and, every few minutes, the experiments' (bandit shares, stop rules, watching winners:
:func:`leadwell.experiments.jobs.experiments_due`). A round runs every job once;
rounds repeat while any job found work, then the worker waits ``idle_seconds``. Adding a kind of
work is one :class:`Job` in :meth:`Worker.jobs`.

``leadwell worker`` runs the loop in its own process; ``leadwell serve`` runs the same loop in a
thread, so the embedded default stays one command. On PostgreSQL any number of workers share the
work (rows are claimed with ``FOR UPDATE SKIP LOCKED``); on SQLite one is enough, as there is one
writer at a time anyway. Each worker has a name unique to its process (``host:pid:random``): the
outbox records who claimed what, and takes back a dead worker's messages.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from leadwell.capture.processing import Outcome, default_batch, process_pending
from leadwell.channels.monitor import channel_checks_due
from leadwell.config import Settings
from leadwell.db.session import Database
from leadwell.experiments.jobs import experiments_due
from leadwell.outreach.broadcasts import release_due_broadcasts
from leadwell.outreach.imap_poll import poll_mailboxes
from leadwell.outreach.links import LinkMaker
from leadwell.outreach.outbox import default_links, send_due, stop_worker
from leadwell.outreach.runner import advance_due
from leadwell.outreach.signing import Signing, signing_for
from leadwell.predict.jobs import retrain_due

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
# After an error (database restarting, disk full) wait longer before trying again.
ERROR_BACKOFF_SECONDS = 5.0
SEND_BATCH = 50


def worker_name() -> str:
    """A name no other worker process has, now or later: ``host:pid:random`` (at most 100 characters)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Job:
    """One kind of background work: ``run(db)`` does a batch and returns how much it handled."""

    name: str
    run: Callable[[Database], int]


@dataclass
class Worker:
    """Runs rounds of jobs until told to stop; ``stop`` may be set from any thread or a signal handler."""

    db: Database
    batch: int | None = None  # tracking hits per transaction; None: the database's default
    idle_seconds: float = IDLE_SECONDS
    # Whether to rest after a full batch of tracking hits as long as it took, leaving the tracking
    # endpoints half of what the two share: SQLite's one write lock, or (in the web process) the
    # interpreter. None: rest on SQLite only.
    rest: bool | None = None
    settings: Settings | None = None  # for the links in emails; None: read when first needed
    name: str = field(default_factory=worker_name)
    send_batch: int = SEND_BATCH

    def __post_init__(self) -> None:
        if self.batch is None:
            self.batch = default_batch(self.db)
        if self.rest is None:
            self.rest = self.db.dialect == "sqlite"
        self.stop = threading.Event()
        self.total = Outcome()
        self.counts: Counter[str] = Counter()
        self._links: LinkMaker | None = None
        self._sign: Signing | None = None

    def jobs(self) -> list[Job]:
        """The work, in the order each round does it."""
        # Replies first, so a reply read this round stops the steps the next ones would queue.
        return [
            Job("tracking", self._tracking),
            Job("replies", poll_mailboxes),
            Job("sequences", self._sequences),
            Job("newsletters", self._newsletters),
            Job("outbox", self._outbox),
            Job("models", lambda db: retrain_due(db, self.settings)),
            Job("experiments", experiments_due),
            Job("channel_checks", channel_checks_due),
        ]

    def _signing(self, db: Database) -> Signing:
        if self._sign is None:
            self._sign = signing_for(db, self.settings)
        return self._sign

    def _sequences(self, db: Database) -> int:
        return advance_due(db, signing=self._signing(db))

    def _newsletters(self, db: Database) -> int:
        return release_due_broadcasts(db, signing=self._signing(db))

    def _tracking(self, db: Database) -> int:
        batch = self.batch or default_batch(db)
        started = time.monotonic()
        outcome = process_pending(db, batch)
        self.total.add(outcome)
        handled = outcome.processed + outcome.failed
        if handled >= batch and self.rest:
            # Back to back, batches would leave the endpoints one commit per batch on SQLite.
            self.stop.wait(time.monotonic() - started)
        return handled

    def _outbox(self, db: Database) -> int:
        if self._links is None and self.settings is not None:
            self._links = default_links(db, self.settings)
        return send_due(db, self.name, self.send_batch, links=self._links)

    def run_round(self, contain: bool = False) -> int:
        """Every job once; how much they handled together. With ``contain``, a job failing on
        anything but the database is logged and the others still run (a bug in one kind of work
        must not stop the rest); database errors always propagate (the caller backs off)."""
        handled = 0
        for job in self.jobs():
            if self.stop.is_set():
                break
            try:
                done = job.run(self.db)
            except DBAPIError:
                raise
            except Exception:
                if not contain:
                    raise
                log.exception("worker: the %s job failed", job.name)
                done = 0
            self.counts[job.name] += done
            handled += done
        return handled

    def run_once(self, contain: bool = False) -> Outcome:
        """Work until no job finds anything due; the tracking inbox's part of what was done."""
        before = Outcome(self.total.processed, self.total.failed, self.total.events)
        while not self.stop.is_set() and self.run_round(contain) > 0:
            pass
        return Outcome(
            self.total.processed - before.processed,
            self.total.failed - before.failed,
            self.total.events - before.events,
        )

    def run(self) -> None:
        """Work, then wait for more, until :attr:`stop` is set."""
        log.info("worker %s started", self.name)
        try:
            while not self.stop.is_set():
                try:
                    self.run_once(contain=True)
                except DBAPIError as error:
                    log.warning("worker: database error, retrying in %.0fs: %s", ERROR_BACKOFF_SECONDS, error)
                    self.stop.wait(ERROR_BACKOFF_SECONDS)
                    continue
                self.stop.wait(self.idle_seconds)
        finally:
            self.close()
        log.info("worker %s stopped", self.name)

    def close(self) -> None:
        """Give up what the worker holds (its outbox lease)."""
        stop_worker(self.db, self.name)


class WorkerThread:
    """A :class:`Worker` in a background thread of the web process (``leadwell serve``)."""

    def __init__(
        self, db: Database, idle_seconds: float = IDLE_SECONDS, settings: Settings | None = None
    ) -> None:
        self.worker = Worker(db, idle_seconds=idle_seconds, rest=True, settings=settings)
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
