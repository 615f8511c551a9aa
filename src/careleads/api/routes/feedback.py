"""Reviewer feedback on a lead: label, note, route confirmed or changed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS, LeadId
from careleads.service.access import FEEDBACK_CREATE, Principal
from careleads.service.feedback import give_feedback
from careleads.service.http import ContextDep, SessionDep
from careleads.service.schemas import FeedbackCreate, FeedbackPublic

router = APIRouter(prefix="/v1/leads", tags=["feedback"])


@router.post(
    "/{lead_id}/feedback",
    response_model=FeedbackPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Label a reviewed lead",
)
def post_feedback(
    lead_id: LeadId,
    feedback_in: FeedbackCreate,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(FEEDBACK_CREATE))],
) -> FeedbackPublic:
    """Store the label and the (redacted) note, confirm or change the route, and close the review task.

    Labels become training data: scheduled counts as converted, not_a_fit and unreachable as not converted.
    Reviewers may label only leads in the review queue.
    """
    return give_feedback(
        session=session, ctx=ctx, lead_id=lead_id, feedback_in=feedback_in, actor=user.name, role=user.role
    )
