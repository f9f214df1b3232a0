"""contact_emails.workspace_id without its foreign key

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 04:00:00.000000

An address's ``workspace_id`` is copied from its contact for the unique (workspace, email) index;
the contact's own cascade already removes the address with its workspace, so the second check on
every inserted address only cost time (PostgreSQL: a quarter of writing 200,000 addresses).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NAME = "fk_contact_emails_workspace_id_workspaces"


def upgrade() -> None:
    # On SQLite the table is copied (batch mode); nothing refers to contact_emails, so dropping the
    # old copy cascades to nothing.
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("contact_emails", schema=None) as batch_op:
        batch_op.create_foreign_key(NAME, "workspaces", ["workspace_id"], ["id"], ondelete="CASCADE")
