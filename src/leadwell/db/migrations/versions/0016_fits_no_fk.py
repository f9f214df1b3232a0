"""fits without foreign keys to their contact and profile

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 05:00:00.000000

A full grading writes a fit for every contact, and on PostgreSQL each row's two foreign-key checks
were a large share of that write. Profiles are never deleted, and erasing a contact now deletes its
fits itself (leadwell.contacts.service), as it does its cap totals.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KEYS = {
    "fk_fits_contact_id_contacts": ("contacts", "contact_id"),
    "fk_fits_icp_id_icps": ("icps", "icp_id"),
}


def _drop_orphans() -> None:
    op.execute("DELETE FROM fits WHERE contact_id NOT IN (SELECT id FROM contacts)")
    op.execute("DELETE FROM fits WHERE icp_id NOT IN (SELECT id FROM icps)")


def upgrade() -> None:
    _drop_orphans()
    # On SQLite the table is copied (batch mode); nothing refers to fits, so dropping the old copy
    # cascades to nothing.
    with op.batch_alter_table("fits", schema=None) as batch_op:
        for name in KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    _drop_orphans()
    with op.batch_alter_table("fits", schema=None) as batch_op:
        for name, (table, column) in KEYS.items():
            batch_op.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
