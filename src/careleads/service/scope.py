"""Which leads a caller may see: the part of the leads each role is limited to, on every surface.

The role sets of :mod:`careleads.service.access` say which roles may do an action at all; this module says on
which leads. Integrations (``OWN_LEADS_ONLY``) see only the leads they created (``leads.created_by``), and
another integration's lead answers as if it did not exist. Reviewers (``QUEUE_LEADS_ONLY``) see only the
leads whose open review task is in a queue the routing names them in, as owner or member, and the leads they
labelled themselves in the last ``worked_lead_hours`` (so they can undo, add a follow-up note or check a lead
they just worked after its task closed); admins and analysts see every lead (analysts pseudonymised). The API
and the pages call the same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.errors import NotFoundError
from careleads.service._records import utcnow
from careleads.service.access import OWN_LEADS_ONLY, QUEUE_LEADS_ONLY, PermissionDenied
from careleads.service.context import ServiceContext
from careleads.store import Feedback, Lead, ReviewTask

__all__ = ["check_lead_scope", "in_queues", "queues_for", "worked_lately"]


def queues_for(*, ctx: ServiceContext, actor: str, role: str) -> frozenset[str] | None:
    """The queues whose leads the caller may see; None when the role is not limited to queues."""
    if role not in QUEUE_LEADS_ONLY:
        return None
    return frozenset(name for name, spec in ctx.routing.queues.items() if spec.works(actor))


def in_queues(*, session: Session, lead_id: int, queues: frozenset[str] | None) -> bool:
    """Whether the lead has an open review task, in one of `queues` when given."""
    query = select(ReviewTask.id).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open")
    if queues is not None:
        if not queues:
            return False
        query = query.where(ReviewTask.queue.in_(sorted(queues)))
    return session.scalar(query.limit(1)) is not None


def worked_lately(
    *, session: Session, ctx: ServiceContext, lead_id: int, actor: str, now: datetime | None = None
) -> bool:
    """Whether `actor` labelled the lead within the last ``worked_lead_hours``."""
    hours = ctx.settings.worked_lead_hours
    if hours <= 0:
        return False
    since = (now or utcnow()) - timedelta(hours=hours)
    query = select(Feedback.id).where(
        Feedback.lead_id == lead_id, Feedback.reviewer == actor, Feedback.created_at >= since
    )
    return session.scalar(query.limit(1)) is not None


def check_lead_scope(*, session: Session, ctx: ServiceContext, lead: Lead, actor: str, role: str) -> None:
    """Pass when the caller may see `lead`.

    Raises
    ------
    NotFoundError
        For an integration and a lead it did not create (named like a lead that does not exist).
    PermissionDenied
        For a reviewer and a lead without an open review task in a queue the reviewer works, which the
        reviewer did not label lately either.
    """
    if role in OWN_LEADS_ONLY and lead.created_by != actor:
        raise NotFoundError(f"no lead with id {lead.id}; use the id returned when the lead was created")
    if role in QUEUE_LEADS_ONLY:
        queues = queues_for(ctx=ctx, actor=actor, role=role)
        if not in_queues(session=session, lead_id=lead.id, queues=queues) and not worked_lately(
            session=session, ctx=ctx, lead_id=lead.id, actor=actor
        ):
            raise PermissionDenied(
                f"lead {lead.id} is not in the review queue of a queue you work (owner or member)"
            )
