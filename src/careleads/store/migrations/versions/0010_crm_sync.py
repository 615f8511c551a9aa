"""CRM connectors: the pull cursor per CRM (``crm_cursors``) and each CRM record's lead (``crm_records``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_cursors",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("cursor", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "crm_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("written_score_id", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "record_id", name="uq_crm_records_source_record"),
    )
    op.create_index(op.f("ix_crm_records_lead_id"), "crm_records", ["lead_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_records_lead_id"), table_name="crm_records")
    op.drop_table("crm_records")
    op.drop_table("crm_cursors")
