"""Stateless scoring: decisions for one or many leads, nothing stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service.access import SCORE, Principal
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.leads import score_without_storing
from careleads.service.schemas import ScoredLead, ScoreRequest, ScoresPublic

router = APIRouter(route_class=TransactionRoute, prefix="/v1", tags=["score"])


@router.post(
    "/score", response_model=ScoresPublic, responses=ERRORS, summary="Score leads without storing them"
)
def post_score(
    request: ScoreRequest,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(SCORE))],
) -> ScoresPublic:
    """Check, score and decide each lead like ``POST /v1/leads``, but store nothing and assign no owner
    (only the audit log records that a scoring took place, with the number of leads).

    ``segment`` chooses the leads: new patient leads (default), returning leads (with their ``events``:
    scored 24 hours after their return) or partnership leads (checked against the partnership fields and
    routed to business development). Each segment is scored by its own published model, or by its rule
    baseline when none is published (``fallback: true`` and a note)."""
    decisions = score_without_storing(
        session=session,
        ctx=ctx,
        records=[lead.record() for lead in request.leads],
        actor=user.name,
        role=user.role,
        segment=request.segment,
        events=[event.record() for event in request.events],
    )
    data = [ScoredLead(**d) for d in decisions]
    return ScoresPublic(data=data, count=len(data))
