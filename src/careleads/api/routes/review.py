"""The review queue: open review tasks by tier and SLA due time, with contact details for reviewers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careleads.api.convert import decision_public
from careleads.api.deps import ContextDep, Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS
from careleads.api.schemas import ReviewItemPublic, ReviewQueuePublic
from careleads.store.audit import append_audit
from careleads.store.leads import current_entry, decrypt_identifiers
from careleads.store.review import review_queue

router = APIRouter(prefix="/v1", tags=["review"])


@router.get("/review-queue", response_model=ReviewQueuePublic, responses=_ERRORS, summary="The review queue")
def read_review_queue(
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role("reviewer"))],
    limit: Annotated[int, Query(ge=1, le=500, description="Most items to return")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> ReviewQueuePublic:
    """Open review tasks, best tier first, then the earliest SLA due time; reading it is audited."""
    items = []
    for task, lead in review_queue(session=session, limit=limit, offset=offset):
        entry = decision_public(current_entry(session=session, lead=lead))
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
            )
        )
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="review_queue.read",
        subject="review_queue",
        details={"lead_ids": [i.lead_id for i in items]},
    )
    return ReviewQueuePublic(data=items, count=len(items))
