"""A reviewer's work loop on the lead page: the next lead of their queue, undo a label, a follow-up note, and
the leads they worked lately.

A label closes the lead's review task; for ``feedback_undo_minutes`` the reviewer who gave it (or an admin)
may undo it: the feedback is removed and the task it closed reopens, both audited. A follow-up note is added
to the reviewer's latest label on the lead (redacted like every note) and triaged like every text: a note
that may describe an emergency puts the lead back at the top of the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careleads.errors import InputError
from careleads.service._ledger import rescore_for_text
from careleads.service._records import decrypt_identifiers, get_lead, redact_known, utcnow
from careleads.service.access import FEEDBACK_CREATE, authorize
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.service.review import review_queue
from careleads.service.schemas import FeedbackUndonePublic, FollowUpPublic
from careleads.service.scope import check_lead_scope, queues_for
from careleads.store import Feedback, ReviewTask
from careleads.text import default_detector

__all__ = [
    "RECENT_LEADS",
    "Undoable",
    "add_follow_up_note",
    "next_in_queue",
    "recently_worked",
    "undo_feedback",
    "undoable_feedback",
]

log = logging.getLogger("careleads.service")

#: leads listed as recently worked
RECENT_LEADS = 10


@dataclass(frozen=True)
class Undoable:
    """A label that may still be undone, and until when."""

    feedback_id: int
    lead_id: int
    label: str
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "feedback_id": self.feedback_id,
            "lead_id": self.lead_id,
            "label": self.label,
            "until": self.until,
        }


def next_in_queue(
    *, session: Session, ctx: ServiceContext, actor: str, role: str, skip: int | None = None
) -> int | None:
    """The lead at the top of the caller's review queue (:func:`careleads.service.review.review_queue`'s
    order, the queues the caller works), other than `skip`; None when the queue is empty."""
    queues = queues_for(ctx=ctx, actor=actor, role=role)
    for _task, lead in review_queue(session=session, limit=2, queues=queues):
        if lead.id != skip:
            return lead.id
    return None


def recently_worked(*, session: Session, actor: str, limit: int = RECENT_LEADS) -> list[dict[str, Any]]:
    """The leads `actor` labelled last, newest first: lead id, the latest label and when it was given."""
    latest = (
        select(func.max(Feedback.id))
        .where(Feedback.reviewer == actor)
        .group_by(Feedback.lead_id)
        .order_by(func.max(Feedback.id).desc())
        .limit(limit)
    )
    rows = session.scalars(select(Feedback).where(Feedback.id.in_(latest)).order_by(Feedback.id.desc()))
    return [{"lead_id": f.lead_id, "label": f.label, "at": f.created_at} for f in rows]


def _latest(session: Session, lead_id: int, actor: str | None) -> Feedback | None:
    query = select(Feedback).where(Feedback.lead_id == lead_id)
    if actor is not None:
        query = query.where(Feedback.reviewer == actor)
    return session.scalar(query.order_by(Feedback.id.desc()).limit(1))


def undoable_feedback(
    *, session: Session, ctx: ServiceContext, lead_id: int, actor: str, role: str, now: datetime | None = None
) -> Undoable | None:
    """The lead's latest label, when the caller may still undo it: given by the caller (an admin: by
    anyone) less than ``feedback_undo_minutes`` ago, without a route change (a route change is undone by
    changing the route back, which the ledger and the CRM record) and without a note that may describe an
    emergency (kept, so the lead stays triaged)."""
    if role not in FEEDBACK_CREATE:
        return None
    feedback = _latest(session, lead_id, None)
    if feedback is None or feedback.route_action != "confirmed":
        return None
    if role != "admin" and feedback.reviewer != actor:
        return None
    if feedback.note and default_detector().detect(feedback.note).level != "none":
        # the note may describe an emergency: it stays, so every later decision keeps triaging it
        return None
    until = feedback.created_at + timedelta(minutes=ctx.settings.feedback_undo_minutes)
    if (now or utcnow()) >= until:
        return None
    return Undoable(feedback_id=feedback.id, lead_id=lead_id, label=feedback.label, until=until)


def undo_feedback(
    *, session: Session, ctx: ServiceContext, lead_id: int, actor: str, role: str, now: datetime | None = None
) -> FeedbackUndonePublic:
    """Undo the lead's latest label: remove it and reopen the review task it closed (unless the lead has an
    open task again); audited.

    Raises
    ------
    PermissionDenied
        For a role that does not label leads, or a reviewer and a lead outside their scope.
    InputError
        When there is no label the caller may undo (someone else's, older than ``feedback_undo_minutes``, or
        one that changed the route).
    """
    authorize(role, FEEDBACK_CREATE)
    lead = get_lead(session=session, lead_id=lead_id)
    check_lead_scope(session=session, ctx=ctx, lead=lead, actor=actor, role=role)
    undoable = undoable_feedback(session=session, ctx=ctx, lead_id=lead_id, actor=actor, role=role, now=now)
    if undoable is None:
        minutes = f"{ctx.settings.feedback_undo_minutes:g}"
        raise InputError(
            f"lead {lead_id} has no label you may undo: a label is undone within {minutes} minutes, by the "
            "reviewer who gave it or an admin; a route change by changing the route back; a label whose note "
            "may describe an emergency stays"
        )
    feedback = session.get(Feedback, undoable.feedback_id)
    assert feedback is not None
    reopened = None
    has_open = session.scalar(
        select(ReviewTask.id).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open").limit(1)
    )
    if has_open is None:
        task = session.scalar(
            select(ReviewTask)
            .where(
                ReviewTask.lead_id == lead_id,
                ReviewTask.status == "done",
                ReviewTask.closed_at == feedback.created_at,
            )
            .order_by(ReviewTask.id.desc())
            .limit(1)
        )
        if task is not None:
            task.status, task.closed_at, reopened = "open", None, task.id
    session.delete(feedback)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="feedback.undo",
        subject=f"lead:{lead_id}",
        details={
            "feedback_id": undoable.feedback_id,
            "label": undoable.label,
            "reviewer": feedback.reviewer,
            "reopened_task": reopened,
        },
    )
    log.info("lead %s feedback %s undone", lead_id, undoable.feedback_id)
    return FeedbackUndonePublic(
        feedback_id=undoable.feedback_id, lead_id=lead_id, label=undoable.label, reviewer=feedback.reviewer
    )


def add_follow_up_note(
    *,
    session: Session,
    ctx: ServiceContext,
    lead_id: int,
    note: str,
    actor: str,
    role: str,
    now: datetime | None = None,
) -> FollowUpPublic:
    """Add a follow-up note to the caller's latest label on the lead (redacted; triaged like every note).

    Returns
    -------
    FollowUpPublic
        The label's id and the triage level of the note (``none``, or the level that put the lead back in
        the queue).

    Raises
    ------
    PermissionDenied
        For a role that does not label leads, or a reviewer and a lead outside their scope.
    InputError
        For an empty note, or a lead the caller has not labelled.
    """
    authorize(role, FEEDBACK_CREATE)
    now = now or utcnow()
    lead = get_lead(session=session, lead_id=lead_id)
    check_lead_scope(session=session, ctx=ctx, lead=lead, actor=actor, role=role)
    if not note.strip():
        raise InputError("the follow-up note is empty; write what happened since the label")
    feedback = _latest(session, lead_id, actor)
    if feedback is None:
        raise InputError(f"you have not labelled lead {lead_id}; give a label first, with the note")
    text = redact_known([note.strip()], decrypt_identifiers(ctx, lead))[0] or ""
    stamp = now.strftime("%Y-%m-%d %H:%M")
    feedback.note = f"{feedback.note}\n\n" if feedback.note else ""
    feedback.note += f"Follow-up {stamp} UTC: {text}"
    session.flush()
    level = "none"
    if default_detector().detect(text).level != "none":
        # like a note given with the label: a possible emergency goes back to the top of the queue
        _entry, _changed, level = rescore_for_text(
            session=session,
            ctx=ctx,
            lead=lead,
            reason=f"feedback {feedback.id} follow-up note",
            now=now,
            source=f"feedback:{feedback.id}",
        )
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="feedback.follow_up",
        subject=f"lead:{lead_id}",
        details={"feedback_id": feedback.id, "triage": level},
    )
    log.info("lead %s feedback %s follow-up note (triage %s)", lead_id, feedback.id, level)
    return FollowUpPublic(feedback_id=feedback.id, lead_id=lead_id, triage=level)
