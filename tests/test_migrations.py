"""The one Alembic history builds exactly the models' schema, up and down, on each database."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from leadwell.db.migrate import current_revision, downgrade, head_revision, upgrade
from leadwell.db.models import Base
from leadwell.db.session import Database, normalize_url
from tests.conftest import BACKENDS, PG_URL


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema at all (its own file, or its own PostgreSQL schema)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
        return
    assert PG_URL
    schema = f"lw_migrate_{os.getpid()}"
    admin = create_engine(normalize_url(PG_URL))
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(normalize_url(PG_URL) + "?options=" + quote(f"-csearch_path={schema}"))
    yield db
    db.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


EXPRESSION_INDEXES = {"ix_organizations_workspace_lower_name"}


def schema_differences(db: Database) -> list[object]:
    """What autogenerate would change. SQLite's reflection cannot read expression indexes (it warns
    and skips them), so there they are checked by name and SQL text instead."""
    with db.engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = list(compare_metadata(context, Base.metadata))
        if connection.dialect.name != "sqlite":
            return differences
        rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
        stored: dict[str, str | None] = {name: sql for name, sql in rows}
    missing = [name for name in EXPRESSION_INDEXES if "lower(name)" not in (stored.get(name) or "")]
    skipped = [d for d in differences if not (d[0] == "add_index" and d[1].name in EXPRESSION_INDEXES)]
    return skipped + missing


def test_upgrade_matches_models_and_downgrade_removes_everything(empty_db: Database) -> None:
    assert current_revision(empty_db) is None
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision(empty_db)
    assert schema_differences(empty_db) == []
    downgrade(empty_db, "base")
    assert set(inspect(empty_db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_db)
    assert schema_differences(empty_db) == []


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    db.dispose()


def test_urls_pick_psycopg_3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_upgrading_keeps_existing_rows(empty_db: Database) -> None:
    """Each revision applies to a database that already holds data, as operators' databases do."""
    upgrade(empty_db, "0001")
    with empty_db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO workspaces (name, slug, created_at) VALUES ('A', 'a', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO contacts (workspace_id, first_name, last_name, phones, consent, stage, custom, "
                "created_at, updated_at) "
                "SELECT id, 'Ada', 'L', '[]', 'unknown', 'lead', '{}', :t, :t FROM workspaces"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
    upgrade(empty_db)
    with empty_db.engine.connect() as connection:
        tags = connection.execute(text("SELECT tags FROM contacts")).scalar_one()
    assert tags in ([], "[]")
