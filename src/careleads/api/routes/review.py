"""The review queue: open review tasks by tier and SLA due time, with contact details for reviewers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service.access import REVIEW_QUEUE_READ, Principal
from careleads.service.http import ContextDep, SessionDep
from careleads.service.review import read_review_queue as queue_for_caller
from careleads.service.schemas import ReviewQueuePublic

router = APIRouter(prefix="/v1", tags=["review"])


@router.get("/review-queue", response_model=ReviewQueuePublic, responses=ERRORS, summary="The review queue")
def read_review_queue(
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(REVIEW_QUEUE_READ))],
    limit: Annotated[int, Query(ge=1, le=500, description="Most items to return")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> ReviewQueuePublic:
    """Open review tasks, best tier first, then the earliest SLA due time; reading it is audited."""
    return queue_for_caller(
        session=session, ctx=ctx, actor=user.name, role=user.role, limit=limit, offset=offset
    )
