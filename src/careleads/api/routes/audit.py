"""The audit log, for auditors: entries and chain verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service.access import AUDIT_READ, Principal
from careleads.service.audit import read_audit_log, verify_audit
from careleads.service.http import SessionDep, TransactionRoute
from careleads.service.schemas import AuditEntryPublic, AuditPublic, AuditVerifyPublic

router = APIRouter(route_class=TransactionRoute, prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPublic, responses=ERRORS, summary="Audit log entries")
def read_audit(
    session: SessionDep,
    user: Annotated[Principal, Depends(require_role(AUDIT_READ))],
    since: Annotated[
        datetime | None,
        Query(description="Only entries at or after this time (UTC unless it has an offset, e.g. +05:00)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> AuditPublic:
    """Entries in log order; reading the log is itself audited (as an export)."""
    rows = read_audit_log(
        session=session, actor=user.name, role=user.role, since=since, limit=limit, offset=offset
    )
    data = [AuditEntryPublic(**r) for r in rows]
    return AuditPublic(data=data, count=len(data))


@router.get("/verify", response_model=AuditVerifyPublic, responses=ERRORS, summary="Verify the hash chain")
def verify(
    session: SessionDep,
    _user: Annotated[Principal, Depends(require_role(AUDIT_READ))],
) -> AuditVerifyPublic:
    """Check every link of the chain; names the first broken entry."""
    result = verify_audit(session=session)
    return AuditVerifyPublic(
        ok=result.ok,
        n_entries=result.n_entries,
        broken_index=result.broken_index,
        broken_id=result.broken_id,
        reason=result.reason,
        message=result.message,
    )
