"""Acknowledge-after-commit storage for the tracking endpoints, with group commit.

``submit_hit`` returns once the hit is committed, so a 2xx answer means the hit survives a crash of
the process (SQLite in WAL mode, PostgreSQL's commit). Committing each hit on its own would cap the
endpoints at the disk's commit rate, so every process has one writer thread: a request enqueues its
hit and awaits a future; the writer takes everything queued so far, inserts it in one transaction,
commits, and only then resolves the futures. Under load each commit carries many hits; when idle a
hit waits for nothing but its own commit.

The queue is bounded: when the database cannot keep up, new hits are refused (:class:`InboxFull`,
answered 503 with Retry-After) instead of piling up in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from leadwell.capture.hits import store_hits
from leadwell.capture.write_gate import write_gate
from leadwell.db.session import Database

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 10_000
# One transaction's worth: big enough that a burst is a few commits, small enough to stay quick.
MAX_BATCH = 2_000
RETRY_AFTER_SECONDS = 1


class InboxFull(RuntimeError):
    """The inbox holds as many uncommitted hits as it may; the client should retry shortly."""


class InboxClosed(RuntimeError):
    """The process is shutting down and takes no new hits."""


@dataclass
class _Pending:
    hit: dict[str, Any]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


def _settle(items: list[tuple[_Pending, BaseException | None]]) -> None:
    """Resolve the futures of one loop (runs on that loop)."""
    for item, error in items:
        if item.future.done():  # the request was cancelled (client went away)
            continue
        if error is None:
            item.future.set_result(None)
        else:
            item.future.set_exception(error)


class Inbox:
    """One process's queue of hits waiting for their commit, and the thread that commits them."""

    def __init__(self, db: Database, capacity: int = DEFAULT_CAPACITY, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.capacity = capacity
        self.max_batch = max_batch
        self._queue: deque[_Pending] = deque()
        self._ready = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.commits = 0  # how many transactions the writer committed (group commit at work)
        self._writing = 0  # hits the writer has taken and not yet settled

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="leadwell-inbox", daemon=True)
            self._thread.start()

    async def submit(self, hit: dict[str, Any]) -> None:
        """Queue ``hit`` and return once it is committed; raises InboxFull, InboxClosed or the
        database's error (nothing of the hit is stored then)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._ready:
            if self._closing:
                raise InboxClosed("the server is shutting down")
            if len(self._queue) >= self.capacity:
                raise InboxFull("too many hits waiting to be stored")
            self._start()
            self._queue.append(_Pending(hit, future, loop))
            self._ready.notify()
        # Shielded: a client hanging up must not leave the batch half-acknowledged; the hit is
        # stored either way, like any request the server already accepted.
        await asyncio.shield(future)

    def _take(self) -> list[_Pending] | None:
        """Everything queued (up to a batch), waiting for some; None once closed and drained."""
        with self._ready:
            while not self._queue:
                if self._closing:
                    return None
                self._ready.wait()
            count = min(len(self._queue), self.max_batch)
            self._writing = count
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            outcomes = self._write(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending, BaseException | None]]] = {}
            for item, error in zip(batch, outcomes, strict=True):
                by_loop.setdefault(item.loop, []).append((item, error))
            for loop, items in by_loop.items():
                # A loop that has closed has nobody waiting on it any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, items)
            with self._ready:
                self._writing = 0

    def _write(self, batch: list[_Pending]) -> list[BaseException | None]:
        """Commit the batch; each hit's error (None: stored). When the batch's transaction fails, the
        hits are committed one by one, so a hit the database refuses fails alone."""
        try:
            with write_gate(self.db):
                store_hits(self.db, [item.hit for item in batch])
            self.commits += 1
            return [None] * len(batch)
        except Exception as failure:
            if len(batch) == 1:
                log.warning("a tracking hit could not be stored: %s", failure)
                return [failure]
            log.warning("storing %d tracking hits failed; storing them one by one", len(batch))
        return [self._write([item])[0] for item in batch]

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new hits, commit every queued one, and stop the writer."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def waiting(self) -> int:
        """Hits queued and not yet taken by the writer."""
        with self._ready:
            return len(self._queue)

    @property
    def writing(self) -> int:
        """Hits in the transaction the writer is committing now."""
        with self._ready:
            return self._writing


def inbox_of(app: Any) -> Inbox:
    """The application's inbox, made on first use (the lifespan closes it)."""
    state = app.state
    inbox: Inbox | None = getattr(state, "tracking_inbox", None)
    if inbox is None:
        settings = state.leadwell.settings
        inbox = Inbox(state.leadwell.db, capacity=settings.tracking_queue_size)
        state.tracking_inbox = inbox
    return inbox


@asynccontextmanager
async def inbox_lifespan(app: Any) -> AsyncIterator[None]:
    """Flush and stop the inbox when the server stops, so no acknowledged-to-be hit is dropped."""
    yield
    inbox: Inbox | None = getattr(app.state, "tracking_inbox", None)
    if inbox is not None:
        await asyncio.get_running_loop().run_in_executor(None, inbox.close)
        app.state.tracking_inbox = None


async def submit_hit(request: Request, workspace_id: int, kind: str, payload: dict[str, Any]) -> None:
    """Store one hit of ``kind`` for ``workspace_id`` and return when it is committed."""
    ip = request.client.host if request.client else None
    hit = {"workspace_id": workspace_id, "kind": kind, "payload": payload, "ip": ip}
    await inbox_of(request.app).submit(hit)
