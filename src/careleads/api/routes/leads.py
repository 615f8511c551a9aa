"""Leads: create and score (idempotent on the external id), read with decision and ledger, erase."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from careleads.api.deps import require_role
from careleads.service.access import LEAD_CREATE, LEAD_ERASE, LEAD_READ, Principal
from careleads.service.erasure import erase_lead
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.leads import LeadValidationError, create_lead, lead_scores
from careleads.service.leads import read_lead as lead_for_caller
from careleads.service.schemas import (
    LEAD_EXAMPLE,
    ErasurePublic,
    FlaggedFieldPublic,
    LeadCreate,
    LeadCreated,
    LeadPublic,
    decision_public,
    segment_field_problem,
)

router = APIRouter(route_class=TransactionRoute, prefix="/v1/leads", tags=["leads"])


def read_body(body: bytes) -> Any:
    """The request body as JSON, or as text when it is not JSON: clinical triage reads its texts before
    anything else, so even a body that is not a lead reaches the check (and, if it may describe an
    emergency, a human). The schema (``LeadCreate``) is documented rather than enforced here."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


async def request_body(request: Request) -> bytes:
    """The raw body, read on the event loop (the endpoint itself runs on the thread pool)."""
    return await request.body()


LeadId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The lead's id in careleads")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API token"},
    403: {"description": "The token's role may not do this"},
}


@router.post(
    "",
    response_model=LeadCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        **ERRORS,
        200: {"description": "A lead with this external id exists: its current decision"},
        202: {
            "description": "The record could not be identified, but a text may describe an emergency: "
            "kept under a generated id for the triage line (``unidentified``)"
        },
        422: {
            "description": "The record cannot be identified (no id, not a lead) and holds no alarming text"
        },
    },
    summary="Create a lead and score it",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": LeadCreate.model_json_schema(ref_template="#/components/schemas/{model}"),
                    "example": LEAD_EXAMPLE,
                }
            },
        }
    },
)
def post_lead(
    body: Annotated[bytes, Depends(request_body)],
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(LEAD_CREATE))],
) -> LeadCreated:
    """Check the lead against the data dictionary, store it (identifiers encrypted, free text redacted) and
    score it at once: calibrated score 0-100, tier, reasons, route, overrides and who scored.

    Idempotent on ``lead_id`` (the external id): a repeat returns 200 with the current decision and changes
    nothing. A value the dictionary does not know (a new service line, say) does not refuse the lead: it is
    stored as written, scored as unknown and listed in ``flagged_fields``. Only a record that cannot be
    identified is refused (422), unless a text of it may describe an emergency: it is then kept for the
    triage line under a generated id (202, ``unidentified``).
    """
    lead_in = read_body(body)
    problem = segment_field_problem(lead_in) if isinstance(lead_in, dict) else None
    if problem is not None:  # returning and partnership leads are scored through POST /v1/score
        raise LeadValidationError(problem, [{"field": "segment", "message": problem}])
    result = create_lead(session=session, ctx=ctx, lead_in=lead_in, actor=user.name, role=user.role)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    elif result.unidentified:
        response.status_code = status.HTTP_202_ACCEPTED
    return LeadCreated(
        id=result.lead.id,
        external_id=result.lead.external_id,
        created=result.created,
        ignored_fields=result.ignored_fields,
        flagged_fields=[FlaggedFieldPublic(**f.to_dict()) for f in result.flagged_fields],
        unidentified=result.unidentified,
        decision=decision_public(result.entry),
        scores=lead_scores(
            session=session, ctx=ctx, lead=result.lead, entry=result.entry, others=result.other_scores
        ),
    )


@router.get(
    "/{lead_id}", response_model=LeadPublic, responses=ERRORS, summary="A lead, its decision and ledger"
)
def read_lead(
    lead_id: LeadId,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(LEAD_READ))],
) -> LeadPublic:
    """The lead as the caller's role may see it: analysts get the pseudonymised view, reviewers see contact
    details only for leads in the review queue, integrations get ids and decisions. The read is audited."""
    return lead_for_caller(session=session, ctx=ctx, lead_id=lead_id, actor=user.name, role=user.role)


@router.delete("/{lead_id}", response_model=ErasurePublic, responses=ERRORS, summary="Erase a lead")
def delete_lead(
    lead_id: LeadId,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(LEAD_ERASE))],
) -> ErasurePublic:
    """Remove the lead's identifiers and free text from the store, the analytics layer and the outbox; a
    tombstone (id, pseudonym, ledger) stays and the erasure is audited."""
    report = erase_lead(session=session, ctx=ctx, lead_id=lead_id, actor=user.name, role=user.role)
    return ErasurePublic(**report.to_dict())


@router.delete(
    "/external/{external_id}",
    response_model=ErasurePublic,
    responses=ERRORS,
    summary="Erase a lead by its external (CRM) id",
)
def delete_lead_by_external_id(
    external_id: Annotated[str, Path(min_length=1, max_length=200, description="The lead's id in the CRM")],
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(LEAD_ERASE))],
) -> ErasurePublic:
    """As ``DELETE /v1/leads/{lead_id}``, for the lead with this external id (the ``lead_id`` it was
    created with); an erased lead is found by the pseudonym of its external id and erasing it again
    removes nothing new."""
    report = erase_lead(
        session=session, ctx=ctx, reference=f"external:{external_id}", actor=user.name, role=user.role
    )
    return ErasurePublic(**report.to_dict())
