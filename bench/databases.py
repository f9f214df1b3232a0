"""Throw-away databases for benchmarks: a temp SQLite file, or a PostgreSQL schema dropped afterwards."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from leadwell.db.migrate import upgrade
from leadwell.db.session import Database, normalize_url

DATABASES = ("sqlite", "postgres")
_counter = itertools.count(1)


@dataclass(frozen=True)
class DatabaseTarget:
    """A database kind under test; ``url`` is the PostgreSQL server to make schemas in (None: SQLite)."""

    name: str
    url: str | None = None

    @property
    def dialect(self) -> str:
        return "sqlite" if self.name == "sqlite" else "postgresql"


def postgres_url_from_env() -> str | None:
    """``LEADWELL_BENCH_DATABASE_URL``, else ``LEADWELL_TEST_DATABASE_URL``, else None."""
    for name in ("LEADWELL_BENCH_DATABASE_URL", "LEADWELL_TEST_DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def targets(choice: str) -> list[DatabaseTarget]:
    """The databases to measure for ``--database`` ``sqlite``, ``postgres`` or ``all``.

    ``all`` means SQLite plus PostgreSQL when a URL is configured; ``postgres`` without one is an error.
    """
    pg_url = postgres_url_from_env()
    if choice == "sqlite":
        return [DatabaseTarget("sqlite")]
    if choice == "postgres":
        if pg_url is None:
            raise ValueError(
                "--database postgres needs LEADWELL_BENCH_DATABASE_URL or LEADWELL_TEST_DATABASE_URL"
            )
        return [DatabaseTarget("postgres", pg_url)]
    if choice == "all":
        found = [DatabaseTarget("sqlite")]
        return found + [DatabaseTarget("postgres", pg_url)] if pg_url else found
    raise ValueError(f"--database: one of sqlite, postgres, all (not {choice!r})")


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + "options=" + quote(f"-csearch_path={schema}")


def _migrate(url: str) -> None:
    db = Database(url)
    try:
        upgrade(db)
    finally:
        db.dispose()


@contextmanager
def _sqlite_database(workdir: Path) -> Iterator[str]:
    path = workdir / f"bench-{os.getpid()}-{next(_counter)}.db"
    url = f"sqlite:///{path}"
    _migrate(url)
    try:
        yield url
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def _postgres_schema(server_url: str) -> Iterator[str]:
    schema = f"lw_bench_{os.getpid()}_{next(_counter)}"
    admin = create_engine(normalize_url(server_url))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = _with_search_path(normalize_url(server_url), schema)
            _migrate(url)
            yield url
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


def fresh_database(target: DatabaseTarget, workdir: Path) -> AbstractContextManager[str]:
    """Yield the URL of a new migrated database of ``target``'s kind; remove it on exit."""
    if target.name == "sqlite":
        return _sqlite_database(workdir)
    assert target.url is not None, "a PostgreSQL target needs a server URL"
    return _postgres_schema(target.url)
