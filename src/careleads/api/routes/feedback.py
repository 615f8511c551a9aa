"""Reviewer feedback on a lead: label, note, route confirmed or changed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from careleads.api.convert import decision_public
from careleads.api.deps import ContextDep, Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS, LeadId
from careleads.api.schemas import FeedbackCreate, FeedbackPublic
from careleads.store.leads import get_lead
from careleads.store.review import add_feedback, in_review_queue

router = APIRouter(prefix="/v1/leads", tags=["feedback"])


@router.post(
    "/{lead_id}/feedback",
    response_model=FeedbackPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
    summary="Label a reviewed lead",
)
def post_feedback(
    lead_id: LeadId,
    feedback_in: FeedbackCreate,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role("reviewer"))],
) -> FeedbackPublic:
    """Store the label and the (redacted) note, confirm or change the route, and close the review task.

    Labels become training data: scheduled counts as converted, not_a_fit and unreachable as not converted.
    """
    get_lead(session=session, lead_id=lead_id)
    if user.role == "reviewer" and not in_review_queue(session=session, lead_id=lead_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="reviewers may label only leads in the review queue"
        )
    feedback, entry = add_feedback(
        session=session,
        ctx=ctx,
        lead_id=lead_id,
        label=feedback_in.label,
        note=feedback_in.note,
        reviewer=user.name,
        role=user.role,
        route_change=feedback_in.route.model_dump() if feedback_in.route else None,
    )
    return FeedbackPublic(
        id=feedback.id,
        lead_id=feedback.lead_id,
        label=feedback.label,
        note=feedback.note,
        reviewer=feedback.reviewer,
        route_action=feedback.route_action,
        created_at=feedback.created_at,
        decision=decision_public(entry),
    )
