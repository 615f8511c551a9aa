"""Several targets served together: each lead's scores for the targets other than the one that routes it, and
the newest of them a CRM record was written with.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "target_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("scored_by", sa.String(length=20), nullable=False),
        sa.Column("model_version", sa.String(length=120), nullable=False),
        sa.Column("cohort", sa.String(length=200), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("change_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_target_scores_lead_target_id", "target_scores", ["lead_id", "target", "id"], unique=False
    )
    with op.batch_alter_table("crm_records") as batch:
        batch.add_column(sa.Column("written_target_score_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crm_records") as batch:
        batch.drop_column("written_target_score_id")
    op.drop_index("ix_target_scores_lead_target_id", table_name="target_scores")
    op.drop_table("target_scores")
