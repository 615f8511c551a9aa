"""Analytics rows written in the scoring's own transaction (``analytics_outbox``), so a crash loses none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_key", sa.String(length=64), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("part", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_analytics_outbox_lead_key"), "analytics_outbox", ["lead_key"], unique=False)
    op.create_index(op.f("ix_analytics_outbox_part"), "analytics_outbox", ["part"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_analytics_outbox_part"), table_name="analytics_outbox")
    op.drop_index(op.f("ix_analytics_outbox_lead_key"), table_name="analytics_outbox")
    op.drop_table("analytics_outbox")
