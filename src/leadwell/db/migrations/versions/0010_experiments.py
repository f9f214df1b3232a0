"""experiments: variants, assignments and the worker's checks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:05:41.800238
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadwell.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "experiments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hypothesis", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sequence_step_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("landing_page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("form_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("primary_metric", sa.String(length=30), nullable=False),
        sa.Column(
            "guardrails",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("statistic", sa.String(length=20), nullable=False),
        sa.Column("alpha", sa.Double(), nullable=False),
        sa.Column("power", sa.Double(), nullable=False),
        sa.Column("minimum_effect", sa.Double(), nullable=True),
        sa.Column("baseline_rate", sa.Double(), nullable=True),
        sa.Column("allocation", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("max_days", sa.Integer(), nullable=True),
        sa.Column("started_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scaled_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("winner_key", sa.String(length=16), nullable=True),
        sa.Column("tested_rate", sa.Double(), nullable=True),
        sa.Column("tested_low", sa.Double(), nullable=True),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_experiments_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"], ["forms.id"], name=op.f("fk_experiments_form_id_forms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["landing_page_id"],
            ["landing_pages.id"],
            name=op.f("fk_experiments_landing_page_id_landing_pages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sequence_step_id"],
            ["sequence_steps.id"],
            name=op.f("fk_experiments_sequence_step_id_sequence_steps"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("fk_experiments_template_id_email_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_experiments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("workspace_id", "slug", name=op.f("uq_experiments_workspace_id_slug")),
    )
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experiments_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "experiment_checks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("experiment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("checked_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rate", sa.Double(), nullable=True),
        sa.Column("low", sa.Double(), nullable=True),
        sa.Column("high", sa.Double(), nullable=True),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_checks_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_checks")),
    )
    with op.batch_alter_table("experiment_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_checks_experiment_id"), ["experiment_id"], unique=False
        )

    op.create_table(
        "experiment_variants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("experiment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_control", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("share", sa.Double(), nullable=True),
        sa.Column("template_variant_key", sa.String(length=16), nullable=True),
        sa.Column("template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "overrides",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_experiment_variants_asset_id_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_variants_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("fk_experiment_variants_template_id_email_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_variants")),
        sa.UniqueConstraint("experiment_id", "key", name=op.f("uq_experiment_variants_experiment_id_key")),
    )
    with op.batch_alter_table("experiment_variants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_variants_experiment_id"), ["experiment_id"], unique=False
        )

    op.create_table(
        "experiment_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("experiment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("visitor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("assigned_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_exposed_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_exposed_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exposures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_experiment_assignments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_assignments_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["experiment_variants.id"],
            name=op.f("fk_experiment_assignments_variant_id_experiment_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_experiment_assignments_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_experiment_assignments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_assignments")),
        sa.UniqueConstraint(
            "experiment_id", "contact_id", name=op.f("uq_experiment_assignments_experiment_id_contact_id")
        ),
        sa.UniqueConstraint(
            "experiment_id", "visitor_id", name=op.f("uq_experiment_assignments_experiment_id_visitor_id")
        ),
    )
    with op.batch_alter_table("experiment_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experiment_assignments_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ix_experiment_assignments_exposed",
            ["experiment_id", "variant_id", "first_exposed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_experiment_assignments_visitor_id"), ["visitor_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("experiment_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_assignments_visitor_id"))
        batch_op.drop_index("ix_experiment_assignments_exposed")
        batch_op.drop_index(batch_op.f("ix_experiment_assignments_contact_id"))

    op.drop_table("experiment_assignments")
    with op.batch_alter_table("experiment_variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_variants_experiment_id"))

    op.drop_table("experiment_variants")
    with op.batch_alter_table("experiment_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_checks_experiment_id"))

    op.drop_table("experiment_checks")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiments_workspace_id"))

    op.drop_table("experiments")
