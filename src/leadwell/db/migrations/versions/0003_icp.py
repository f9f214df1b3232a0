"""ideal client profiles, versions and fits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:11:23.880960
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadwell.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# Reads a custom field's text as a number ("1,200", "1.2k", "3 months") exactly as
# leadwell.icp.units.text_quantity does; SQLite gets the Python function on each connection instead.
# The grammar is frozen here (a test checks it equals leadwell.icp.units.POSTGRES_PATTERN): changing
# it needs a new revision.
QUANTITY_PATTERN = r"^[ \t]*(-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)[ \t]*([a-z]*)[ \t]*([a-z]*)[ \t]*$"
QUANTITY_FUNCTION = r"""
CREATE FUNCTION leadwell_quantity(value text, bare numeric, durations boolean)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    m text[];
    unit text;
    factor numeric := 1;
BEGIN
    IF length(value) > 64 THEN
        RETURN NULL;
    END IF;
    m := regexp_match(lower(value COLLATE "C"), $re$PATTERN$re$);
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    unit := m[2];
    IF unit = 'k' THEN
        factor := 1000;
        unit := m[3];
    ELSIF unit = 'm' THEN
        factor := 1000000;
        unit := m[3];
    ELSIF m[3] <> '' THEN
        RETURN NULL;
    END IF;
    IF unit = '' THEN
        factor := factor * bare;
    ELSIF NOT durations THEN
        RETURN NULL;
    ELSE
        factor := factor * CASE unit
            WHEN 'd' THEN 1 WHEN 'day' THEN 1 WHEN 'days' THEN 1
            WHEN 'w' THEN 7 WHEN 'wk' THEN 7 WHEN 'wks' THEN 7 WHEN 'week' THEN 7 WHEN 'weeks' THEN 7
            WHEN 'mo' THEN 30 WHEN 'mos' THEN 30 WHEN 'month' THEN 30 WHEN 'months' THEN 30
            WHEN 'y' THEN 365 WHEN 'yr' THEN 365 WHEN 'yrs' THEN 365 WHEN 'year' THEN 365 WHEN 'years' THEN 365
        END;
    END IF;
    RETURN (replace(m[1], ',', '')::numeric * factor)::double precision;
END
$fn$
""".replace("PATTERN", QUANTITY_PATTERN)


def upgrade() -> None:
    op.create_table(
        "icps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_icps_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icps")),
        sa.UniqueConstraint("workspace_id", "slug", name=op.f("uq_icps_workspace_id_slug")),
    )
    op.create_table(
        "icp_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("icp_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_icp_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["icp_id"], ["icps.id"], name=op.f("fk_icp_versions_icp_id_icps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_icp_versions")),
        sa.UniqueConstraint("icp_id", "version", name=op.f("uq_icp_versions_icp_id_version")),
    )
    op.create_table(
        "fits",
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("icp_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("grade", sa.CHAR(length=1), nullable=False),
        sa.Column("qualified_out", sa.Boolean(), nullable=False),
        sa.Column(
            "unknown",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("graded_at", leadwell.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_fits_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["icp_id"], ["icps.id"], name=op.f("fk_fits_icp_id_icps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("contact_id", "icp_id", name=op.f("pk_fits")),
    )
    with op.batch_alter_table("fits", schema=None) as batch_op:
        batch_op.create_index("ix_fits_workspace_grade", ["workspace_id", "icp_id", "grade"], unique=False)
        batch_op.create_index("ix_fits_workspace_score", ["workspace_id", "icp_id", "score"], unique=False)

    if op.get_context().dialect.name == "postgresql":
        op.execute(QUANTITY_FUNCTION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS leadwell_quantity(text, numeric, boolean)")
    with op.batch_alter_table("fits", schema=None) as batch_op:
        batch_op.drop_index("ix_fits_workspace_score")
        batch_op.drop_index("ix_fits_workspace_grade")

    op.drop_table("fits")
    op.drop_table("icp_versions")
    op.drop_table("icps")
