"""Reviewer feedback on a lead: label, note, route confirmed or changed; undo a label; a follow-up note."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS, LeadId
from careleads.service.access import FEEDBACK_CREATE, Principal
from careleads.service.feedback import give_feedback
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.schemas import (
    FeedbackCreate,
    FeedbackPublic,
    FeedbackUndonePublic,
    FollowUpCreate,
    FollowUpPublic,
)
from careleads.service.worklist import add_follow_up_note, undo_feedback

router = APIRouter(route_class=TransactionRoute, prefix="/v1/leads", tags=["feedback"])


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


@router.post(
    "/{lead_id}/feedback/undo",
    response_model=FeedbackUndonePublic,
    responses=ERRORS,
    summary="Undo the latest label on a lead",
)
def post_feedback_undo(
    lead_id: LeadId,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(FEEDBACK_CREATE))],
) -> FeedbackUndonePublic:
    """Remove the lead's latest label and reopen the review task it closed (audited).

    Within ``feedback_undo_minutes`` of the label, by the reviewer who gave it or an admin; a label that
    changed the route is undone by changing the route back, and one whose note may describe an emergency
    stays (422 otherwise).
    """
    return undo_feedback(session=session, ctx=ctx, lead_id=lead_id, actor=user.name, role=user.role)


@router.post(
    "/{lead_id}/feedback/notes",
    response_model=FollowUpPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Add a follow-up note to your latest label on a lead",
)
def post_follow_up(
    lead_id: LeadId,
    note_in: FollowUpCreate,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(FEEDBACK_CREATE))],
) -> FollowUpPublic:
    """Append a (redacted) note to the caller's latest label on the lead; a note that may describe an
    emergency puts the lead back at the top of the review queue (audited)."""
    return add_follow_up_note(
        session=session, ctx=ctx, lead_id=lead_id, note=note_in.note, actor=user.name, role=user.role
    )
