"""Engines and sessions, tuned per database."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from leadwell.db.models import InstanceSetting
from leadwell.icp.regex import sqlite_regexp
from leadwell.icp.units import sqlite_quantity

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str) -> str:
    """Pick psycopg 3 for PostgreSQL whatever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while a worker writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Profile grading in SQL: REGEXP with the same engine and flags as the Python grader, and the
    # unit-aware number reader (PostgreSQL has both natively / from migration 0003). Deterministic,
    # so SQLite may use them in indexes and skip re-evaluating them.
    dbapi_connection.create_function("regexp", 2, sqlite_regexp, deterministic=True)
    dbapi_connection.create_function("leadwell_quantity", 3, sqlite_quantity, deterministic=True)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the connection settings leadwell relies on."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """An engine plus a session factory; one per process and database URL."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = engine or make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def stored_secret_key(db: Database, create: bool = True) -> str | None:
    """The installation's secret key from the database, generated on first use when ``create``."""
    try:
        with db.session() as session:
            row = session.get(InstanceSetting, "secret_key")
            if row is not None:
                return row.value
            if not create:
                return None
            session.add(InstanceSetting(key="secret_key", value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another process or thread stored one first
    # Whoever won the race, the stored row is the key.
    with db.session() as session:
        return session.scalars(select(InstanceSetting.value).where(InstanceSetting.key == "secret_key")).one()


T = TypeVar("T")
WRITE_ATTEMPTS = 3


def is_write_conflict(error: DBAPIError) -> bool:
    """A unique-index race (both databases) or SQLite's stale-snapshot/locked write: retry-worthy."""
    if isinstance(error, IntegrityError):
        return True
    text = str(error.orig).lower()
    return isinstance(error, OperationalError) and ("locked" in text or "busy" in text)


def with_retries(db: Database, work: Callable[[Session], T], attempts: int = WRITE_ATTEMPTS) -> T:
    """Run ``work`` in a transaction, again from the start when it lost a race with another writer.

    Two clients sending the same idempotency key at once both pass the "seen before?" check; the
    unique index stops the second, and its retry then finds the first one's row.
    """
    for attempt in range(1, attempts + 1):
        try:
            with db.session() as session:
                return work(session)
        except DBAPIError as error:
            if attempt == attempts or not is_write_conflict(error):
                raise
    raise AssertionError("unreachable")
