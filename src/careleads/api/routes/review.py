"""The review queue: open review tasks by tier and SLA due time, with contact details for reviewers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service.access import REVIEW_QUEUE_READ, Principal
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.review import NO_INTENT
from careleads.service.review import read_review_queue as queue_for_caller
from careleads.service.schemas import ReviewQueuePublic

router = APIRouter(route_class=TransactionRoute, prefix="/v1", tags=["review"])


@router.get("/review-queue", response_model=ReviewQueuePublic, responses=ERRORS, summary="The review queue")
def read_review_queue(
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(REVIEW_QUEUE_READ))],
    limit: Annotated[int, Query(ge=1, le=500, description="Most items to return")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
    intent: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            description=f"Only leads whose message has this intent (e.g. spam); {NO_INTENT!r}: no message",
        ),
    ] = None,
) -> ReviewQueuePublic:
    """Open review tasks, clinical triage first, then the earliest SLA due time, then tier; filtered by the
    intent of the lead's message when asked; reading it is audited."""
    return queue_for_caller(
        session=session,
        ctx=ctx,
        actor=user.name,
        role=user.role,
        limit=limit,
        offset=offset,
        intent=intent,
    )
