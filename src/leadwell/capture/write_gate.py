"""Taking turns at SQLite's single write lock inside one process.

On SQLite only one transaction writes at a time. A writer that finds the lock taken polls for it
with sleeps that grow to 100 ms, and a busy neighbour that commits and at once starts again wins
nearly every time: with the worker's batches back to back, the tracking inbox could wait seconds
for its commit, and every tracking request with it. Within a process, the inbox writer and the
worker therefore queue for the database at this gate, first come first served: the inbox's next
commit waits for at most one worker batch. PostgreSQL needs no gate (rows are locked, not the
database), so there it is a no-op.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType

from leadwell.db.session import Database


class FairLock:
    """A lock granted in the order it was asked for."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next_ticket = 0
        self._now_serving = 0

    def __enter__(self) -> FairLock:
        with self._turns:
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._now_serving:
                self._turns.wait()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with self._turns:
            self._now_serving += 1
            self._turns.notify_all()


_gates: weakref.WeakKeyDictionary[Database, FairLock] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def write_gate(db: Database) -> AbstractContextManager[object]:
    """The gate writers to ``db`` in this process pass one at a time (SQLite), or no gate at all."""
    if db.dialect != "sqlite":
        return nullcontext()
    with _gates_lock:
        gate = _gates.get(db)
        if gate is None:
            gate = _gates[db] = FairLock()
        return gate
