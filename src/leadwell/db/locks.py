"""Advisory locks that let one of several worker processes own a workspace's job for a while.

The key is a 64-bit hash of the job's name, the schema and the workspace id: installations (and
test runs) that share one PostgreSQL database in separate schemas never block each other, as keys
built from the workspace id alone would (every schema has a workspace 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from leadwell.db.session import Database

_KEY = (
    "hashtextextended('leadwell.' || :job || ':' || current_schema() || ':' || CAST(:workspace AS text), 0)"
)


def try_lock(connection: Connection, job: str, workspace_id: int) -> bool:
    """Take the session-level lock of ``job`` on the workspace (PostgreSQL) if it is free."""
    taken = connection.execute(
        text(f"SELECT pg_try_advisory_lock({_KEY})"), {"job": job, "workspace": workspace_id}
    )
    return bool(taken.scalar())


def unlock(connection: Connection, job: str, workspace_id: int) -> None:
    connection.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"job": job, "workspace": workspace_id})


@contextmanager
def workspace_lock(db: Database, job: str, workspace_id: int) -> Iterator[bool]:
    """Whether this process may run ``job`` for the workspace now: on PostgreSQL the advisory lock,
    held for the block on a connection of its own; on SQLite (one worker) always."""
    if db.dialect != "postgresql":
        yield True
        return
    with db.engine.connect() as connection:
        got = try_lock(connection, job, workspace_id)
        try:
            yield got
        finally:
            if got:
                unlock(connection, job, workspace_id)
            connection.commit()
