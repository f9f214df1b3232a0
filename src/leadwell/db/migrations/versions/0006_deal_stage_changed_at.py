"""deals remember when they entered their pipeline stage

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00

The pipeline board shows how long each deal has sat in its stage. Existing deals get their last
change (``updated_at``) as a conservative guess: they have been in their stage at least that long.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadwell.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stage_changed_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE deals SET stage_changed_at = COALESCE(updated_at, created_at)")


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): batch mode would copy the whole table.
    op.drop_column("deals", "stage_changed_at")
