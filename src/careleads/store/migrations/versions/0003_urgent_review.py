"""Review tasks know whether they are clinical triage, so the queue lists them first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "review_tasks", sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    # open tasks whose lead's latest decision sent it to a clinical route are urgent
    bind = op.get_bind()
    tasks = sa.table(
        "review_tasks", sa.column("id"), sa.column("lead_id"), sa.column("status"), sa.column("urgent")
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
    urgent = [
        task_id for task_id, route in rows if isinstance(route, dict) and route.get("kind") == "clinical"
    ]
    if urgent:
        bind.execute(sa.update(tasks).where(tasks.c.id.in_(urgent)).values(urgent=True))


def downgrade() -> None:
    op.drop_column("review_tasks", "urgent")
