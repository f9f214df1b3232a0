"""events' type index carries the contact: distinct people per type read from the index alone

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 21:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_type_time", table_name="events")
    op.create_index("ix_events_type_time", "events", ["workspace_id", "type", "occurred_at", "contact_id"])


def downgrade() -> None:
    op.drop_index("ix_events_type_time", table_name="events")
    op.create_index("ix_events_type_time", "events", ["workspace_id", "type", "occurred_at"])
