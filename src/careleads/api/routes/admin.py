"""Administration: users, tokens (shown once), the write-back outbox (list, deliver, CSV export)."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask

from careleads.api.deps import ContextDep, Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS
from careleads.api.schemas import (
    DeliveryPublic,
    OutboxItemPublic,
    OutboxPublic,
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserPublic,
    UsersPublic,
)
from careleads.store._models import OutboxRecord, User
from careleads.store.audit import append_audit
from careleads.store.outbox import deliver_configured, export_outbox_csv
from careleads.store.users import create_token, create_user, list_users

router = APIRouter(prefix="/v1/admin", tags=["admin"])
AdminUser = Annotated[Principal, Depends(require_role())]
OutboxStatus = Annotated[
    str | None,
    Query(pattern=r"^(pending|delivered|dead|erased)$", description="Only records with this status"),
]


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id, name=user.name, role=user.role, active=user.active, created_at=user.created_at
    )


@router.get("/users", response_model=UsersPublic, responses=_ERRORS, summary="Users and roles")
def read_users(session: SessionDep, _user: AdminUser) -> UsersPublic:
    """Every user with its role."""
    users = [_user_public(u) for u in list_users(session=session)]
    return UsersPublic(data=users, count=len(users))


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
    summary="Add a user",
)
def post_user(user_in: UserCreate, session: SessionDep, user: AdminUser) -> UserPublic:
    """Add a user with one role (admin, analyst, reviewer, auditor, integration); audited."""
    created = create_user(
        session=session, name=user_in.name, role=user_in.role, actor=user.name, actor_role=user.role
    )
    return _user_public(created)


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
    summary="Create an API token",
)
def post_token(token_in: TokenCreate, session: SessionDep, user: AdminUser) -> TokenCreated:
    """Create a token for a user; the token is in this answer only (its hash is stored); audited."""
    token = create_token(session=session, user_name=token_in.user, actor=user.name, actor_role=user.role)
    owner = session.scalar(select(User).where(User.name == token_in.user))
    assert owner is not None  # create_token checked
    return TokenCreated(user=owner.name, role=owner.role, token=token)


@router.get("/outbox", response_model=OutboxPublic, responses=_ERRORS, summary="Write-back records")
def read_outbox(
    session: SessionDep,
    _user: AdminUser,
    status_filter: Annotated[
        str | None,
        Query(alias="status", pattern=r"^(pending|delivered|dead|erased)$", description="Only this status"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> OutboxPublic:
    """Outbox records, newest first."""
    query = select(OutboxRecord).order_by(OutboxRecord.id.desc()).limit(limit)
    if status_filter:
        query = query.where(OutboxRecord.status == status_filter)
    items = [
        OutboxItemPublic(
            id=r.id,
            lead_id=r.lead_id,
            idempotency_key=r.idempotency_key,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            payload=r.payload,
        )
        for r in session.scalars(query)
    ]
    return OutboxPublic(data=items, count=len(items))


@router.post(
    "/outbox/deliver", response_model=DeliveryPublic, responses=_ERRORS, summary="Deliver due records"
)
def post_deliver(session: SessionDep, ctx: ContextDep, _user: AdminUser) -> DeliveryPublic:
    """Deliver the due write-back records to the configured webhook now (the worker does this on its own)."""
    settings = ctx.settings
    report = deliver_configured(session, settings, ctx.mapping)
    return DeliveryPublic(**report.to_dict())


@router.get(
    "/outbox/export",
    response_class=FileResponse,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}, "description": "Outbox records as CSV"}},
    summary="Export the outbox as CSV",
)
def export_outbox(
    session: SessionDep, ctx: ContextDep, user: AdminUser, status_filter: OutboxStatus = None
) -> FileResponse:
    """The write-back records as CSV, with the configured CRM field names; the export is audited."""
    handle = tempfile.NamedTemporaryFile(prefix="careleads-outbox-", suffix=".csv", delete=False)  # noqa: SIM115
    handle.close()
    path = FilePath(handle.name)
    n = export_outbox_csv(session=session, out=path, mapping=ctx.mapping, status=status_filter)
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="export.outbox",
        subject="outbox",
        details={"n": n, "status": status_filter, "mapping": ctx.mapping.name},
    )
    return FileResponse(
        path, media_type="text/csv", filename="outbox.csv", background=BackgroundTask(path.unlink)
    )
