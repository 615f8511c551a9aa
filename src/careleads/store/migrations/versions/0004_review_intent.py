"""Review tasks know the intent of the lead's message, so the queue filters by it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("review_tasks", sa.Column("intent", sa.String(length=60), nullable=True))
    # open tasks take the intent their lead's latest decision recorded (decisions made before intents were
    # recorded have none, as a lead without a message)
    bind = op.get_bind()
    tasks = sa.table(
        "review_tasks", sa.column("id"), sa.column("lead_id"), sa.column("status"), sa.column("intent")
    )
    scores = sa.table("scores", sa.column("id"), sa.column("lead_id"), sa.column("route", sa.JSON()))
    latest = (
        sa.select(scores.c.lead_id, sa.func.max(scores.c.id).label("id"))
        .group_by(scores.c.lead_id)
        .subquery()
    )
    rows = bind.execute(
        sa.select(tasks.c.id, scores.c.route)
        .join(latest, latest.c.lead_id == tasks.c.lead_id)
        .join(scores, scores.c.id == latest.c.id)
        .where(tasks.c.status == "open")
    ).all()
    for task_id, route in rows:
        intent = route.get("intent") if isinstance(route, dict) else None
        if isinstance(intent, str):
            bind.execute(sa.update(tasks).where(tasks.c.id == task_id).values(intent=intent))


def downgrade() -> None:
    op.drop_column("review_tasks", "intent")
