"""The audit log, for auditors: entries and chain verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careleads.api.deps import Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS
from careleads.api.schemas import AuditEntryPublic, AuditPublic, AuditVerifyPublic
from careleads.store.audit import append_audit, audit_entries, verify_audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPublic, responses=_ERRORS, summary="Audit log entries")
def read_audit(
    session: SessionDep,
    user: Annotated[Principal, Depends(require_role("auditor"))],
    since: Annotated[datetime | None, Query(description="Only entries at or after this time (UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> AuditPublic:
    """Entries in log order; reading the log is itself audited (as an export)."""
    rows = [
        AuditEntryPublic(**r) for r in audit_entries(session=session, since=since, limit=limit, offset=offset)
    ]
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="export.audit",
        subject="audit_log",
        details={"n": len(rows), "since": since.isoformat() if since else None},
    )
    return AuditPublic(data=rows, count=len(rows))


@router.get("/verify", response_model=AuditVerifyPublic, responses=_ERRORS, summary="Verify the hash chain")
def verify(
    session: SessionDep,
    _user: Annotated[Principal, Depends(require_role("auditor"))],
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
