"""imports merges duplicates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:26:36.067280
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadwell.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("list_name", sa.String(length=120), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "mapping",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("started_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_imports_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_imports_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index("ix_imports_workspace_file", ["workspace_id", "sha256"], unique=False)

    op.create_table(
        "import_issues",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=300), nullable=True),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"], ["imports.id"], name=op.f("fk_import_issues_import_id_imports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_issues")),
    )
    with op.batch_alter_table("import_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_issues_import_id"), ["import_id"], unique=False)

    op.create_table(
        "contact_merges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merged_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "snapshot",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("merged_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_by_id"],
            ["users.id"],
            name=op.f("fk_contact_merges_merged_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["contacts.id"],
            name=op.f("fk_contact_merges_merged_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["contacts.id"],
            name=op.f("fk_contact_merges_survivor_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_merges_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merges")),
    )
    with op.batch_alter_table("contact_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_merges_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "duplicate_candidates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_a_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_b_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_a_id"],
            ["contacts.id"],
            name=op.f("fk_duplicate_candidates_contact_a_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_b_id"],
            ["contacts.id"],
            name=op.f("fk_duplicate_candidates_contact_b_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_duplicate_candidates_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_candidates")),
        sa.UniqueConstraint(
            "workspace_id",
            "contact_a_id",
            "contact_b_id",
            name=op.f("uq_duplicate_candidates_workspace_id_contact_a_id_contact_b_id"),
        ),
    )
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_candidates_contact_b_id"), ["contact_b_id"], unique=False
        )
        batch_op.create_index(
            "ix_duplicate_candidates_open", ["workspace_id", "status", "score"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tags",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),  # rows that exist before this revision get no tags
            )
        )
        batch_op.add_column(sa.Column("identity_key", sa.String(length=400), nullable=True))
        batch_op.add_column(
            sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_contacts_import_id"), ["import_id"], unique=False)
        batch_op.create_index(
            "ix_contacts_workspace_identity", ["workspace_id", "identity_key"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_contacts_import_id_imports"), "imports", ["import_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employees_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("employees_max", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("employees_max")
        batch_op.drop_column("employees_min")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contacts_import_id_imports"), type_="foreignkey")
        batch_op.drop_index("ix_contacts_workspace_identity")
        batch_op.drop_index(batch_op.f("ix_contacts_import_id"))
        batch_op.drop_column("import_id")
        batch_op.drop_column("identity_key")
        batch_op.drop_column("tags")

    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_duplicate_candidates_open")
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_contact_b_id"))

    op.drop_table("duplicate_candidates")
    with op.batch_alter_table("contact_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_merges_workspace_id"))

    op.drop_table("contact_merges")
    with op.batch_alter_table("import_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_issues_import_id"))

    op.drop_table("import_issues")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index("ix_imports_workspace_file")

    op.drop_table("imports")
