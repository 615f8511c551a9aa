"""Owners' open load in a table of its own (``owner_loads``), so assigning a lead reads one row per owner
instead of counting the open review tasks; filled from the review tasks. The owner assigned last in a queue
is found through an index of the ledger entries that have an owner (``ix_scores_queue_owned_id``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from careleads.store._owner_load import recount

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "owner_loads",
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("n_open", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner"),
    )
    recount(op.get_bind())  # the rule of careleads.store._owner_load (holder), not a copy of it
    op.drop_index("ix_scores_queue_id", table_name="scores")
    owned = sa.text("owner IS NOT NULL")
    op.create_index(
        "ix_scores_queue_owned_id", "scores", ["queue", "id"], sqlite_where=owned, postgresql_where=owned
    )


def downgrade() -> None:
    op.drop_index("ix_scores_queue_owned_id", table_name="scores")
    op.create_index("ix_scores_queue_id", "scores", ["queue", "id"], unique=False)
    op.drop_table("owner_loads")
