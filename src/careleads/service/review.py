"""The review queue: clinical triage first, then by SLA due time, then tier; contact details for reviewers.

The queue filters by the intent of the lead's message (``intent``: a label such as ``spam``, or
:data:`NO_INTENT` for the leads without a message), in the store, so paging works on the filtered queue. A
reviewer's queue holds only the tasks of the queues the routing names them in, as owner or member
(:func:`careleads.service.scope.queues_for`); an admin's holds every task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from careleads.service._records import current_entry, decrypt_identifiers, utcnow
from careleads.service.access import REVIEW_QUEUE_READ, authorize
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.service.schemas import ReviewItemPublic, ReviewQueuePublic, decision_public
from careleads.service.scope import queues_for
from careleads.store import Lead, ReviewTask, ScoreEntry

__all__ = [
    "NO_INTENT",
    "QUEUE_LIMIT",
    "in_review_queue",
    "open_review_task",
    "queue_rows",
    "read_review_queue",
    "record_queue_read",
    "review_queue",
]

#: open review tasks read for one queue page (filters and counts work on these)
QUEUE_LIMIT = 2000
_SNIPPET_CHARS = 160
#: the intent filter's value for leads without a message (no intent)
NO_INTENT = "none"


def _intent_is(intent: str | None) -> list[ColumnElement[bool]]:
    """The filter on the intent of the lead's message (none: every task)."""
    if intent is None:
        return []
    return [ReviewTask.intent.is_(None) if intent == NO_INTENT else ReviewTask.intent == intent]


def review_queue(
    *,
    session: Session,
    limit: int = 100,
    offset: int = 0,
    intent: str | None = None,
    queues: frozenset[str] | None = None,
) -> list[tuple[ReviewTask, Lead]]:
    """Open review tasks: clinical triage first (whatever its tier: a patient who may need a clinician
    must never wait behind a good sales lead), then the earliest SLA due time (tasks without one last),
    then the best tier. `intent` keeps the tasks of leads whose message has that intent (:data:`NO_INTENT`:
    no message); `queues`, when given, the tasks of those queues only."""
    if queues is not None and not queues:
        return []
    in_queues = [] if queues is None else [ReviewTask.queue.in_(sorted(queues))]
    no_due = case((ReviewTask.sla_due.is_(None), 1), else_=0)
    rows = session.execute(
        select(ReviewTask, Lead)
        .join(Lead, Lead.id == ReviewTask.lead_id)
        .where(ReviewTask.status == "open", Lead.erased.is_(False), *_intent_is(intent), *in_queues)
        .order_by(ReviewTask.urgent.desc(), no_due, ReviewTask.sla_due, ReviewTask.tier_rank, ReviewTask.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(task, lead) for task, lead in rows]


def in_review_queue(*, session: Session, lead_id: int) -> bool:
    """Whether the lead has an open review task."""
    found = session.scalar(
        select(ReviewTask.id).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open").limit(1)
    )
    return found is not None


def open_review_task(*, session: Session, lead_id: int) -> dict[str, Any] | None:
    """The lead's open review task (queue, owner, tier, SLA due time), or None."""
    task = session.scalar(
        select(ReviewTask).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open").limit(1)
    )
    if task is None:
        return None
    return {"queue": task.queue, "owner": task.owner, "tier": task.tier, "sla_due": task.sla_due}


def record_queue_read(
    *, session: Session, actor: str, role: str, lead_ids: list[int], via: str | None = None
) -> None:
    """Audit a read of the review queue: who saw which leads (``via`` names a surface other than the API)."""
    details: dict[str, Any] = {"lead_ids": lead_ids}
    if via is not None:
        details["via"] = via
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="review_queue.read",
        subject="review_queue",
        details=details,
    )


def read_review_queue(
    *,
    session: Session,
    ctx: ServiceContext,
    actor: str,
    role: str,
    limit: int = 100,
    offset: int = 0,
    intent: str | None = None,
) -> ReviewQueuePublic:
    """Open review tasks with each lead's decision, contact details and redacted texts; the read is audited.

    `intent` keeps the leads whose message has that intent (:data:`NO_INTENT`: leads without a message).

    A reviewer gets the tasks of the queues they work (owner or member) only.

    Raises
    ------
    PermissionDenied
        For a role that does not work the queue.
    """
    authorize(role, REVIEW_QUEUE_READ)
    items = []
    queues = queues_for(ctx=ctx, actor=actor, role=role)
    tasks = review_queue(session=session, limit=limit, offset=offset, intent=intent, queues=queues)
    entries = _latest_entries(session, [lead.id for _task, lead in tasks])  # one query for the page
    for task, lead in tasks:
        entry = decision_public(entries.get(lead.id) or current_entry(session=session, lead=lead))
        items.append(
            ReviewItemPublic(
                task_id=task.id,
                lead_id=lead.id,
                queue=task.queue,
                owner=task.owner,
                tier=task.tier,
                sla_due=task.sla_due,
                score=entry.score,
                route=entry.route.name,
                action=entry.action,
                reasons=entry.reasons,
                overrides=entry.overrides,
                contact=decrypt_identifiers(ctx, lead),
                texts=dict(lead.texts or {}),
                intent=entry.intent,
                intent_probability=entry.intent_probability,
            )
        )
    record_queue_read(session=session, actor=actor, role=role, lead_ids=[i.lead_id for i in items])
    return ReviewQueuePublic(data=items, count=len(items))


def _latest_entries(session: Session, lead_ids: list[int]) -> dict[int, ScoreEntry]:
    if not lead_ids:
        return {}
    latest = (
        select(func.max(ScoreEntry.id)).where(ScoreEntry.lead_id.in_(lead_ids)).group_by(ScoreEntry.lead_id)
    )
    return {e.lead_id: e for e in session.scalars(select(ScoreEntry).where(ScoreEntry.id.in_(latest)))}


def _snippet(texts: dict[str, Any] | None) -> str | None:
    for value in (texts or {}).values():
        if value:
            text = " ".join(str(value).split())
            return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "\u2026"
    return None


def queue_rows(
    *,
    session: Session,
    show_texts: bool,
    now: datetime | None = None,
    limit: int = QUEUE_LIMIT,
    intent: str | None = None,
    queues: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """The first `limit` open review tasks (of leads whose message has `intent`, and in `queues`, when
    given) as rows of the queue page: lead fields, decision, intent, SLA, question.

    Reading them is not audited here: the page audits the rows it shows (:func:`record_queue_read`).
    """
    now = now or utcnow()
    pairs = review_queue(session=session, limit=limit, intent=intent, queues=queues)
    entries = _latest_entries(session, [lead.id for _, lead in pairs])
    rows = []
    for task, lead in pairs:
        entry = entries.get(lead.id)
        fields = dict(lead.fields or {})
        rows.append(
            {
                "task_id": task.id,
                "lead_id": lead.id,
                "tier": task.tier,
                "score": entry.score if entry else None,
                "lead_type": fields.get("lead_type"),
                "service_line": fields.get("service_line"),
                "region": fields.get("region"),
                "queue": task.queue,
                "owner": task.owner,
                "sla_due": task.sla_due,
                "overdue": task.sla_due is not None and task.sla_due < now,
                "route": entry.route.get("name") if entry else None,
                "action": entry.route.get("action") if entry else None,
                "top_reason": str(entry.reasons[0]) if entry and entry.reasons else None,
                "overrides": [str(o.get("rule")) for o in entry.overrides] if entry else [],
                "intent": task.intent,
                "intent_probability": entry.route.get("intent_probability") if entry else None,
                "question": _snippet(lead.texts) if show_texts else None,
            }
        )
    return rows
