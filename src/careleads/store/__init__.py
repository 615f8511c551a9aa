"""The operational store: SQLAlchemy tables, the engine and sessions, and Alembic migrations.

SQLite by default (a file in the data folder), PostgreSQL through ``CARELEADS_DATABASE_URL``. Direct
identifiers are stored encrypted, free text redacted; model inputs and outputs go to the analytics layer
(Parquet, pseudonymised), not to these tables. The use cases that read and write these tables live in
:mod:`careleads.service`.
"""

from __future__ import annotations

from careleads.store._engine import (
    clear_wal,
    current_revision,
    end_session,
    has_tables,
    head_revision,
    insert_row,
    make_engine,
    make_sessionmaker,
    session_scope,
    upgrade,
)
from careleads.store._gathered import Gathered
from careleads.store._models import (
    AnalyticsPending,
    ApiToken,
    AuditEntry,
    AuditHead,
    Base,
    BatchJob,
    CrmCursor,
    CrmRecord,
    Event,
    Feedback,
    JobLock,
    JobRun,
    Lead,
    OutboxRecord,
    Outcome,
    OwnerLoad,
    ReviewTask,
    ScoreEntry,
    TargetScoreEntry,
    User,
    WebSignIn,
)
from careleads.store._owner_load import OPEN, close_open_tasks, holder, open_loads, pending_loads, shift_load

__all__ = [
    "OPEN",
    "AnalyticsPending",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "BatchJob",
    "CrmCursor",
    "CrmRecord",
    "Event",
    "Feedback",
    "Gathered",
    "JobLock",
    "JobRun",
    "Lead",
    "OutboxRecord",
    "Outcome",
    "OwnerLoad",
    "ReviewTask",
    "ScoreEntry",
    "TargetScoreEntry",
    "User",
    "WebSignIn",
    "current_revision",
    "has_tables",
    "head_revision",
    "insert_row",
    "clear_wal",
    "close_open_tasks",
    "end_session",
    "holder",
    "make_engine",
    "make_sessionmaker",
    "open_loads",
    "pending_loads",
    "session_scope",
    "shift_load",
    "upgrade",
]
