"""The operational store's tables (SQLAlchemy 2, typed), shared by SQLite and PostgreSQL.

What lives where: direct identifiers only encrypted (``leads.identifiers``), free text only redacted,
model inputs and raw outputs in the analytics layer (Parquet), never here. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
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
]

JSONValue = dict[str, Any]
_OWNED = text("owner IS NOT NULL")


class Base(DeclarativeBase):
    """Declarative base of every careleads table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Lead(Base):
    """A lead: pseudonym, encrypted identifiers, redacted texts and the dictionary's allowed fields."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # keyed pseudonym of the external id: idempotency key, analytics key, and the tombstone after erasure
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    identifiers: Mapped[str | None] = mapped_column(Text)  # Fernet token of a JSON object
    identifier_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)  # which ones exist, not values
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # redacted free text by field
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    # the user who created the lead (an integration reads only its own leads)
    created_by: Mapped[str | None] = mapped_column(String(120))


class Event(Base):
    """Engagement: something a lead did; ``event_id`` is unique per lead (idempotency)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("lead_id", "event_id", name="uq_events_lead_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    event_type: Mapped[str] = mapped_column(String(60))
    page: Mapped[str | None] = mapped_column(String(60))
    message_text: Mapped[str | None] = mapped_column(Text)  # redacted
    received_at: Mapped[datetime] = mapped_column(DateTime)


class Outcome(Base):
    """A funnel step the lead reached."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(60))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime)


class ScoreEntry(Base):
    """One entry of the ledger: a score a lead had from ``at`` on, who made it, and why it changed."""

    __tablename__ = "scores"
    __table_args__ = (
        Index("ix_scores_lead_id_id", "lead_id", "id"),
        # the owner assigned last in a queue: only entries with an owner, so the leads waiting for one (all
        # owners at capacity) are not read on the way back to it
        Index("ix_scores_queue_owned_id", "queue", "id", sqlite_where=_OWNED, postgresql_where=_OWNED),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    scored_by: Mapped[str] = mapped_column(String(20))  # model | rules
    model_version: Mapped[str] = mapped_column(String(120))
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(20))
    queue: Mapped[str | None] = mapped_column(String(120))
    owner: Mapped[str | None] = mapped_column(String(120))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    route: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overrides: Mapped[list[Any]] = mapped_column(JSON, default=list)
    review_required: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    change_reason: Mapped[str] = mapped_column(String(200))


class TargetScoreEntry(Base):
    """A lead's score for a target other than the one that routes it, from ``at`` on, and the model that
    made it (``cohort``: the FIELD=VALUE of a cohort model, None for the target's model of every lead)."""

    __tablename__ = "target_scores"
    __table_args__ = (Index("ix_target_scores_lead_target_id", "lead_id", "target", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    target: Mapped[str] = mapped_column(String(120))
    scored_by: Mapped[str] = mapped_column(String(20))  # model
    model_version: Mapped[str] = mapped_column(String(120))
    cohort: Mapped[str | None] = mapped_column(String(200))
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    change_reason: Mapped[str] = mapped_column(String(200))


class ReviewTask(Base):
    """A lead waiting for a person: queue, owner, tier and when the SLA runs out."""

    __tablename__ = "review_tasks"
    __table_args__ = (
        Index("ix_review_tasks_status_due", "status", "sla_due"),
        Index("ix_review_tasks_owner_status", "owner", "status"),  # open tasks per owner (capacity)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    queue: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str | None] = mapped_column(String(120))
    tier: Mapped[str] = mapped_column(String(20))
    tier_rank: Mapped[int] = mapped_column(Integer, default=0)
    # clinical triage: listed before every other task, whatever its tier
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the intent of the lead's message (None: no message), so the queue filters by it
    intent: Mapped[str | None] = mapped_column(String(60))
    sla_due: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    created_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class OwnerLoad(Base):
    """How many open review tasks an owner holds, changed with every task that opens, closes or moves
    (:mod:`careleads.store._owner_load` keeps it and defines the rule)."""

    __tablename__ = "owner_loads"

    owner: Mapped[str] = mapped_column(String(120), primary_key=True)
    n_open: Mapped[int] = mapped_column(Integer, default=0)


class Feedback(Base):
    """A reviewer's label on a lead, the (redacted) note, and whether the route was confirmed or changed."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    label: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(120))
    route_action: Mapped[str] = mapped_column(String(20))  # confirmed | changed
    route_before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    route_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class OutboxRecord(Base):
    """A write-back message to the CRM, delivered at least once with the same idempotency key."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    score_id: Mapped[int | None] = mapped_column(ForeignKey("scores.id"))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | dead | erased
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


class AnalyticsPending(Base):
    """An analytics row of one scoring, written with it, until the analytics writer has put it in a part.

    ``part`` names the Parquet part the row is being written to (None: not claimed yet); the writer deletes
    the row once that part is on disk, and erasure deletes a lead's rows with its other data.
    """

    __tablename__ = "analytics_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_key: Mapped[str] = mapped_column(String(64), index=True)  # the lead's pseudonym
    row: Mapped[dict[str, Any]] = mapped_column(JSON)  # inputs (no identifiers, no free text) and outputs
    part: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class User(Base):
    """A person or system that holds API tokens, with one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSignIn(Base):
    """A signed-in session of the pages: its cookie names it, sign-out ends it here, on the server."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """One hash-chained audit entry; ``at`` and ``details`` are kept exactly as hashed (text)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that serialises appends: the last entry's number and hash."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class BatchJob(Base):
    """A file scored in the background: status, counts and where the result is."""

    __tablename__ = "batch_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    source_name: Mapped[str] = mapped_column(String(200))
    n_rows: Mapped[int | None] = mapped_column(Integer)
    n_scored: Mapped[int | None] = mapped_column(Integer)
    n_quarantined: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    result_file: Mapped[str | None] = mapped_column(String(500))


class CrmCursor(Base):
    """Where the last pull from a CRM stopped: the last modification time taken (ISO 8601 UTC text)."""

    __tablename__ = "crm_cursors"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)  # hubspot
    cursor: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class CrmRecord(Base):
    """A CRM record linked to the lead it became: the version pulled, outcomes recorded, the score written.

    ``(source, record_id)`` is unique, so a pull run twice never makes a second lead of one record.
    """

    __tablename__ = "crm_records"
    __table_args__ = (UniqueConstraint("source", "record_id", name="uq_crm_records_source_record"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    version: Mapped[str] = mapped_column(String(40))  # the record's updatedAt, ISO 8601 UTC
    outcomes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # careleads outcomes recorded from it
    written_score_id: Mapped[int | None] = mapped_column(Integer)  # the ledger entry last written back
    # the newest other-target score (target_scores) written back with it
    written_target_score_id: Mapped[int | None] = mapped_column(Integer)
    written_at: Mapped[datetime | None] = mapped_column(DateTime)


class JobLock(Base):
    """A scheduled job's lease: which runner holds it until when, and when the job last started.

    A runner takes the lease with one conditional UPDATE (free or expired, and due), so across server
    processes a due job starts once; a runner that died leaves a lease that expires and is taken over.
    """

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120))  # the runner holding the lease, None when free
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)


class JobRun(Base):
    """One run of a scheduled job: when, how it ended, its counts, an error message without patient data."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_id", "job", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual
    runner: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))  # running | ok | failed | skipped
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
