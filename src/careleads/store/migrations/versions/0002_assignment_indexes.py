"""Indexes for owner assignment: the newest entry per queue, open tasks per owner.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 22:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_scores_queue_id", "scores", ["queue", "id"], unique=False)
    op.create_index("ix_review_tasks_owner_status", "review_tasks", ["owner", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_review_tasks_owner_status", table_name="review_tasks")
    op.drop_index("ix_scores_queue_id", table_name="scores")
