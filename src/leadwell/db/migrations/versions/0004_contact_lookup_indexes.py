"""contact and organization lookup indexes sized for million-row imports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:00:00

- ``ix_contacts_workspace_email`` goes: nothing searches contacts by their denormalised primary
  address (exact look-ups use ``contact_emails``' unique index, search uses ``LIKE '%…%'``), and
  keeping it cost every insert a random write into a large index.
- ``ix_contacts_workspace_identity`` covers only the rows that have an identity key (people without
  an email address), a small fraction.
- ``ix_organizations_workspace_lower_name`` replaces ``ix_organizations_workspace_name``: an import
  finds an organization by its name in any case, and with the plain index SQLite read every
  organization of the workspace for each chunk (nothing looks organizations up by exact name).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

IDENTITY_SET = sa.text("identity_key IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_workspace_email")
        batch_op.drop_index("ix_contacts_workspace_identity")
        batch_op.create_index(
            "ix_contacts_workspace_identity",
            ["workspace_id", "identity_key"],
            unique=False,
            sqlite_where=IDENTITY_SET,
            postgresql_where=IDENTITY_SET,
        )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("ix_organizations_workspace_name")
        batch_op.create_index(
            "ix_organizations_workspace_lower_name", ["workspace_id", sa.text("lower(name)")], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("ix_organizations_workspace_lower_name")
        batch_op.create_index("ix_organizations_workspace_name", ["workspace_id", "name"], unique=False)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_workspace_identity")
        batch_op.create_index(
            "ix_contacts_workspace_identity", ["workspace_id", "identity_key"], unique=False
        )
        batch_op.create_index("ix_contacts_workspace_email", ["workspace_id", "email"], unique=False)
