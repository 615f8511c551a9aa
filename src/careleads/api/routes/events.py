"""Engagement events (re-score on each) and outcomes of a lead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS, LeadId
from careleads.service.access import EVENT_CREATE, OUTCOME_CREATE, Principal
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.leads import record_event, record_outcome
from careleads.service.schemas import (
    EventCreate,
    EventRecorded,
    FlaggedFieldPublic,
    OutcomeCreate,
    OutcomePublic,
    decision_public,
)

router = APIRouter(route_class=TransactionRoute, prefix="/v1/leads", tags=["events"])


@router.post(
    "/{lead_id}/events",
    response_model=EventRecorded,
    status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, 200: {"description": "This event id was recorded before: nothing changed"}},
    summary="Record engagement and re-score",
)
def post_event(
    lead_id: LeadId,
    event_in: EventCreate,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(EVENT_CREATE))],
) -> EventRecorded:
    """Record an event (idempotent on ``event_id``) and re-score the lead; the ledger gains an entry only
    when the score, tier or route changes (``ledger_changed``)."""
    result = record_event(
        session=session, ctx=ctx, lead_id=lead_id, event_in=event_in.record(), actor=user.name, role=user.role
    )
    if not result.event_created:
        response.status_code = status.HTTP_200_OK
    return EventRecorded(
        lead_id=result.lead.id,
        event_created=result.event_created,
        ledger_changed=result.ledger_changed,
        flagged_fields=[FlaggedFieldPublic(**f.to_dict()) for f in result.flagged_fields],
        decision=decision_public(result.entry),
    )


@router.post(
    "/{lead_id}/outcomes",
    response_model=OutcomePublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    summary="Record a funnel step the lead reached",
)
def post_outcome(
    lead_id: LeadId,
    outcome_in: OutcomeCreate,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(OUTCOME_CREATE))],
) -> OutcomePublic:
    """Record an outcome (appointment scheduled, intake call completed, ...) for monitoring and training."""
    outcome = record_outcome(
        session=session,
        ctx=ctx,
        lead_id=lead_id,
        outcome_in=outcome_in.record(),
        actor=user.name,
        role=user.role,
    )
    return OutcomePublic(
        id=outcome.id, lead_id=outcome.lead_id, outcome=outcome.outcome, occurred_at=outcome.occurred_at
    )
