"""Stateless scoring: decisions for one or many leads, nothing stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from careleads.api.deps import ContextDep, Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS
from careleads.api.schemas import ScoredLead, ScoreRequest, ScoresPublic
from careleads.store.audit import append_audit
from careleads.store.leads import score_records

router = APIRouter(prefix="/v1", tags=["score"])


@router.post(
    "/score", response_model=ScoresPublic, responses=_ERRORS, summary="Score leads without storing them"
)
def post_score(
    request: ScoreRequest,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role("integration", "analyst"))],
) -> ScoresPublic:
    """Check, score and decide each lead like ``POST /v1/leads``, but store nothing and assign no owner
    (only the audit log records that a scoring took place, with the number of leads)."""
    decisions = score_records(ctx=ctx, records=[lead.record() for lead in request.leads])
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="score.stateless",
        subject="score",
        details={"n_leads": len(decisions)},
    )
    data = [ScoredLead(**d) for d in decisions]
    return ScoresPublic(data=data, count=len(data))
