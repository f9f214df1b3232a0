"""engagement_caps.contact_id without its foreign key

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 04:30:00.000000

A full recompute writes every cap total again (4.3 million for ten million events), and the
foreign-key check on each inserted row was a third of that write on PostgreSQL (8–12 s of each
half). Erasing a contact now deletes its cap totals itself (leadwell.contacts.service).
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NAME = "fk_engagement_caps_contact_id_contacts"


def upgrade() -> None:
    # Orphans would only come from a contact deleted outside the application; none are expected,
    # and a cap total nobody reads is harmless, but leave none behind.
    op.execute("DELETE FROM engagement_caps WHERE contact_id NOT IN (SELECT id FROM contacts)")
    # On SQLite the table is copied (batch mode); nothing refers to engagement_caps, so dropping
    # the old copy cascades to nothing.
    with op.batch_alter_table("engagement_caps", schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM engagement_caps WHERE contact_id NOT IN (SELECT id FROM contacts)")
    with op.batch_alter_table("engagement_caps", schema=None) as batch_op:
        batch_op.create_foreign_key(NAME, "contacts", ["contact_id"], ["id"], ondelete="CASCADE")
