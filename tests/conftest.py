"""Fixtures: one database per backend, fresh for every test.

SQLite tests copy a file migrated once per session; PostgreSQL tests (when
``LEADWELL_TEST_DATABASE_URL`` is set) use one schema per pytest worker, migrated once, and
empty every table after each test. Both run the real Alembic history.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from leadwell.auth.passwords import use_hasher
from leadwell.config import Settings
from leadwell.db.migrate import upgrade
from leadwell.db.models import Base, User, Workspace
from leadwell.db.session import Database, normalize_url
from leadwell.ids import IdCodec
from leadwell.web.app import create_app
from tests import factories

T = TypeVar("T")

# Time limits per example turn a busy machine into failures; speed is measured in bench/.
hypothesis_settings.register_profile("leadwell", deadline=None)
hypothesis_settings.load_profile("leadwell")

# argon2id at its production cost spends ~150 ms of CPU on every hash and every log-in; thousands
# of tests create users and log in. Strength is argon2's business, not these tests'.
use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))

PG_URL = os.environ.get("LEADWELL_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
TEST_SECRET = "test-secret-key-not-for-production"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI both databases must be tested: a missing PostgreSQL is a failure, not a skip."""
    if os.environ.get("CI") == "true" and not PG_URL:
        raise pytest.UsageError(
            "CI=true but LEADWELL_TEST_DATABASE_URL is not set: PostgreSQL would go untested"
        )


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not PG_URL:
        pytest.fail("PostgreSQL fixture used without LEADWELL_TEST_DATABASE_URL")
    schema = f"lw_test_{_worker()}_{os.getpid()}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = normalize_url(PG_URL) + separator + "options=" + quote(f"-csearch_path={schema}")
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _empty_all(db: Database) -> None:
    """Empty every table a test wrote to and restart the sequences it used.

    A ``TRUNCATE`` of all tables costs ~140 ms (a new file per table); most tests touch a handful
    of small tables, which ``DELETE`` (children before parents) empties in ~10 ms.
    """
    names = [table.name for table in reversed(Base.metadata.sorted_tables)]
    probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in names)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        written = {row[0] for row in connection.exec_driver_sql(probe)}
        for name in names:
            if name in written:
                connection.exec_driver_sql(f'DELETE FROM "{name}"')
        used = connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences"
            " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
        )
        for (sequence,) in used.all():
            connection.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, migrated database of each backend under test."""
    if request.param == "sqlite":
        path = tmp_path / "leadwell.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    cleaner = Database(url)
    _empty_all(cleaner)
    cleaner.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key=TEST_SECRET)


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def codec() -> IdCodec:
    return IdCodec(TEST_SECRET)


@dataclass
class Tenant:
    """A workspace with an owner and a read-write token, as an API client sees it."""

    workspace: Workspace
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_tenant(db: Database, name: str) -> Tenant:
    with db.session() as session:
        workspace = factories.make_workspace(session, name)
        user = factories.make_user(session, workspace)
        token = factories.make_token(session, workspace)
    return Tenant(workspace, user, token)


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "Acme Consulting")


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return make_tenant(db, "Rival Agency")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on a fresh event loop in its own thread: the browser tests'
    Playwright keeps an event loop current on this process's main thread, where ``asyncio.run``
    would be refused."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-apart") as pool:
        return pool.submit(asyncio.run, coroutine).result()
