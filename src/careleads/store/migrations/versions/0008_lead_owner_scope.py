"""Who created each lead (``leads.created_by``), so an integration reads only the leads it created.

Leads stored before this revision take the creator from their ``lead.create`` audit entry.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("created_by", sa.String(length=120), nullable=True))
    op.execute(
        "UPDATE leads SET created_by = (SELECT a.actor FROM audit_log a WHERE a.action = 'lead.create' "
        "AND a.subject = 'lead:' || CAST(leads.id AS VARCHAR) ORDER BY a.id LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("created_by")
