"""Alembic environment: runs against the engine leadwell hands over, in batch mode for SQLite."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Engine

from leadwell.db.models import Base

config = context.config
engine: Engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # Batch mode on SQLite reflects the tables a copied table refers to, and SQLAlchemy cannot
    # reflect the organizations' lower(name) index: it warns and skips it (the index is untouched).
    with context.begin_transaction(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        context.run_migrations()
    connection.commit()
