"""Which worker sends which message: claiming due rows, and taking back a dead worker's rows.

**Claiming.** For each mailbox in use, in one short transaction: lock the mailbox's claim
(``pg_advisory_xact_lock`` on PostgreSQL, so two workers never count the same allowance twice;
SQLite's one write lock does the same there), count what it has sent today and has in flight,
read the oldest due ``queued`` rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: rows another
transaction holds are passed over, not waited for), set aside those whose address was suppressed or
whose sequence stopped since they were queued, take as many of the rest as the daily allowance and
each recipient domain's per-minute room permit, and mark them ``claimed`` by this worker
(``attempts`` + 1). Commit.

**Leases.** On PostgreSQL a worker holds, for its whole life, a session-level advisory lock on a
key derived from its name, on a connection of its own. A row ``claimed`` or ``releasing`` by a
worker whose lock another worker *can* take belongs to a dead worker (or one that lost its database
connection): its ``claimed`` rows go back to ``queued`` (never handed over: the server discarded
the unfinished data) and its ``releasing`` rows become ``sent`` (handed over, see
:mod:`leadwell.outreach.outbox`). Workers look for such rows when they start and every
:data:`RECOVERY_SECONDS` after. On SQLite there is one worker: it takes back every such row when it
starts.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.orm import Session

from leadwell.db.models import Enrollment, Mailbox, OutboxMessage
from leadwell.db.session import Database
from leadwell.outreach.mailboxes import IN_FLIGHT, daily_limit, usage
from leadwell.outreach.suppressions import suppressed_among

# Advisory lock keys: the first of the two-key form for a mailbox's claim ("LO", leadwell outbox);
# workers' leases use the one-key (bigint) form, a separate key space in PostgreSQL.
CLAIM_LOCK_CLASS = 0x4C4F
RECOVERY_SECONDS = 30.0
# How many due rows one claim reads for each one it may take: rows for a throttled domain are
# passed over and others behind them taken.
SCAN_FACTOR = 4
MAX_SCAN = 1000

Settle = Callable[[Session, str | None, datetime], int]


def worker_key(worker: str) -> int:
    """The worker's advisory lock key: 64 bits of a hash of its name, signed like PostgreSQL's bigint."""
    digest = hashlib.sha256(f"leadwell-outbox-worker:{worker}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass
class Lease:
    """This process's hold on a worker name (PostgreSQL: the lock's own connection)."""

    worker: str
    connection: Connection | None = None
    recovered_at: float = field(default=float("-inf"))
    # Set while a batch is under way: a batch that ended early may have left rows of its own.
    unfinished: bool = False


_leases: dict[tuple[int, str], Lease] = {}
_leases_lock = threading.Lock()


def _try_lock(connection: Connection, key: int) -> bool:
    return bool(connection.execute(select(func.pg_try_advisory_lock(key))).scalar())


def _unlock(connection: Connection, key: int) -> None:
    connection.execute(select(func.pg_advisory_unlock(key)))


def _alive(connection: Connection) -> bool:
    try:
        connection.execute(select(1))
        return True
    except Exception:
        return False


def lease(db: Database, worker: str) -> Lease | None:
    """This process's lease on ``worker`` (taken, or taken again after a lost connection); None
    when it cannot be held right now (another process holds the name: try again later)."""
    with _leases_lock:
        held = _leases.get((id(db), worker))
        if held is not None and (held.connection is None or _alive(held.connection)):
            return held
        if held is not None and held.connection is not None:
            held.connection.invalidate()
            held.connection.close()
        if db.dialect != "postgresql":
            held = Lease(worker)
        else:
            connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if not _try_lock(connection, worker_key(worker)):
                connection.close()
                return None
            held = Lease(worker, connection, unfinished=held is not None)
        _leases[(id(db), worker)] = held
        return held


def release(db: Database, worker: str) -> None:
    """Give up the lease (the worker stops): its lock and connection go."""
    with _leases_lock:
        held = _leases.pop((id(db), worker), None)
    if held is not None and held.connection is not None:
        # Closed for real, not returned to the pool: a pooled connection would keep the lock.
        held.connection.invalidate()
        held.connection.close()


def recover(db: Database, held: Lease, settle: Settle, now: datetime, force: bool = False) -> int:
    """Take back the rows of dead workers, at most every :data:`RECOVERY_SECONDS` unless ``force``
    (SQLite: every claimed row, once, when the worker starts), and this worker's own leftovers
    after an unfinished batch; returns how many. ``settle(session, dead_worker, now)`` does it for
    one worker's rows (None: anyone's)."""
    done = 0
    if held.unfinished:
        with db.session() as session:
            done += settle(session, held.worker, now)
        held.unfinished = False
    connection = held.connection
    if connection is None:
        # One worker on SQLite: whatever a previous run left claimed is its own, once, at start.
        if held.recovered_at == float("-inf"):
            with db.session() as session:
                done += settle(session, None, now)
            held.recovered_at = time.monotonic()
        return done
    if not force and time.monotonic() - held.recovered_at < RECOVERY_SECONDS:
        return done
    held.recovered_at = time.monotonic()
    with db.session() as session:
        owners = session.scalars(
            select(OutboxMessage.claimed_by)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.state.in_(IN_FLIGHT))
            .distinct()
        ).all()
    for owner in owners:
        if owner is None or owner == held.worker:
            continue
        key = worker_key(owner)
        if not _try_lock(connection, key):
            continue  # alive
        try:
            with db.session() as session:
                done += settle(session, owner, now)
        finally:
            _unlock(connection, key)
    return done


def mailboxes_with_work(db: Database, now: datetime) -> list[Mailbox]:
    """Mailboxes in use, in random order (fair turns), when any message is due at all."""
    with db.session() as session:
        due = session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.state == "queued", OutboxMessage.due_at <= now)
            .limit(1)
        )
        if due is None:
            return []
        found = list(session.scalars(select(Mailbox).where(Mailbox.archived_at.is_(None))))
    random.shuffle(found)
    return found


def _lock_claims(session: Session, mailbox_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK_CLASS, mailbox_id)))
    else:
        # SQLite: take the write lock first, so the counts below cannot go stale before the update.
        session.execute(text("UPDATE outbox_messages SET id = id WHERE 0"))


def _set_aside(session: Session, workspace_id: int, rows: list[tuple[int, str, str, int | None]]) -> set[int]:
    """Mark due rows to suppressed addresses or stopped enrollments; their ids."""
    suppressed = suppressed_among(session, workspace_id, [row[2] for row in rows])
    enrollment_ids = {row[3] for row in rows if row[3] is not None}
    stopped = set(
        session.scalars(
            select(Enrollment.id).where(Enrollment.id.in_(enrollment_ids), Enrollment.status == "stopped")
        )
    )
    aside: set[int] = set()
    for row_id, _domain, email, enrollment_id in rows:
        if email in suppressed:
            values = {"state": "suppressed", "last_error": f"suppressed: {suppressed[email]}"}
        elif enrollment_id in stopped:
            values = {"state": "cancelled", "last_error": "sequence stopped before sending"}
        else:
            continue
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
        aside.add(row_id)
    return aside


def claim(
    session: Session, mailbox: Mailbox, worker: str, limit: int, now: datetime
) -> tuple[list[int], int]:
    """Claim up to ``limit`` due messages of ``mailbox`` within its limits, in the session's
    transaction (commit it at once). Returns (claimed ids, how many were set aside)."""
    _lock_claims(session, mailbox.id)
    used = usage(session, mailbox.id, now)
    room = min(limit, used.allowance(daily_limit(mailbox, now.date())))
    if room <= 0:
        return [], 0
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.recipient_domain,
            OutboxMessage.to_email,
            OutboxMessage.enrollment_id,
        )
        .where(
            OutboxMessage.mailbox_id == mailbox.id,
            OutboxMessage.state == "queued",
            OutboxMessage.due_at <= now,
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(min(room * SCAN_FACTOR, MAX_SCAN))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [(row[0], row[1], row[2], row[3]) for row in session.execute(query)]
    aside = _set_aside(session, mailbox.workspace_id, rows)
    picked: list[int] = []
    per_domain = used.domain_minute
    for row_id, domain, _email, _enrollment in rows:
        if row_id in aside or len(picked) >= room or per_domain[domain] >= mailbox.per_domain_per_minute:
            continue
        per_domain[domain] += 1
        picked.append(row_id)
    if not picked:
        return [], len(aside)
    claimed = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(picked), OutboxMessage.state == "queued")
        .values(state="claimed", claimed_by=worker, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    ).all()
    return sorted(claimed), len(aside)


def claim_one(session: Session, message_id: int, worker: str, now: datetime) -> bool:
    """Claim one queued message whatever its due time and its mailbox's limits (a test message
    sent from the command line); whether it was claimed."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == "queued")
        .values(state="claimed", claimed_by=worker, claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    return bool(getattr(result, "rowcount", 0))
