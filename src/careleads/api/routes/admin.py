"""Administration: users, tokens (shown once), the write-back outbox (list, deliver, CSV export), the
values leads hold that the data dictionary does not know (list, map to a known value), and the scheduled jobs
with their latest runs."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service.access import ADMIN_ONLY, Principal
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.outbox import deliver_configured, list_outbox, requeue_outbox
from careleads.service.outbox import export_outbox as export_outbox_file
from careleads.service.scheduling import JobsPublic, list_jobs
from careleads.service.schemas import (
    USER_NAME_PATTERN,
    DeliveryPublic,
    MappingPublic,
    OutboxPublic,
    OutboxRequeue,
    RequeuedPublic,
    TokenCreate,
    TokenCreated,
    TokenRevoke,
    TokensRevoked,
    UnknownValuePublic,
    UnknownValuesPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
    ValueMapping,
)
from careleads.service.unknowns import map_unknown_value, unknown_values
from careleads.service.users import (
    create_token,
    create_user,
    deactivate_user,
    get_user,
    list_users,
    revoke_tokens,
)
from careleads.store import User

router = APIRouter(route_class=TransactionRoute, prefix="/v1/admin", tags=["admin"])
AdminUser = Annotated[Principal, Depends(require_role(ADMIN_ONLY))]
OutboxStatus = Annotated[
    str | None,
    Query(pattern=r"^(pending|delivered|dead|erased)$", description="Only records with this status"),
]


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id, name=user.name, role=user.role, active=user.active, created_at=user.created_at
    )


@router.get("/users", response_model=UsersPublic, responses=ERRORS, summary="Users and roles")
def read_users(session: SessionDep, _user: AdminUser) -> UsersPublic:
    """Every user with its role."""
    users = [_user_public(u) for u in list_users(session=session)]
    return UsersPublic(data=users, count=len(users))


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
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
    responses=ERRORS,
    summary="Create an API token",
)
def post_token(token_in: TokenCreate, session: SessionDep, user: AdminUser) -> TokenCreated:
    """Create a token for a user; the token is in this answer only (its hash is stored); audited."""
    token = create_token(session=session, user_name=token_in.user, actor=user.name, actor_role=user.role)
    owner = get_user(session=session, name=token_in.user)
    return TokenCreated(user=owner.name, role=owner.role, token=token)


@router.post(
    "/users/{name}/deactivate",
    response_model=UserPublic,
    responses={**ERRORS, 404: {"description": "No such user"}},
    summary="Take a user's access away",
)
def post_deactivate_user(
    name: Annotated[str, Path(min_length=1, max_length=120, pattern=USER_NAME_PATTERN)],
    session: SessionDep,
    user: AdminUser,
) -> UserPublic:
    """Deactivate a user: their tokens and web sessions are refused from now on; audited."""
    return _user_public(deactivate_user(session=session, name=name, actor=user.name, actor_role=user.role))


@router.post(
    "/tokens/revoke",
    response_model=TokensRevoked,
    responses={**ERRORS, 404: {"description": "No such user, or no token of theirs with that prefix"}},
    summary="Revoke API tokens",
)
def post_revoke_tokens(revoke_in: TokenRevoke, session: SessionDep, user: AdminUser) -> TokensRevoked:
    """Revoke a user's tokens (all, or the one starting with ``prefix``); web sessions signed in with them
    end too; audited."""
    n = revoke_tokens(
        session=session,
        user_name=revoke_in.user,
        prefix=revoke_in.prefix,
        actor=user.name,
        actor_role=user.role,
    )
    return TokensRevoked(user=revoke_in.user, revoked=n)


@router.get("/outbox", response_model=OutboxPublic, responses=ERRORS, summary="Write-back records")
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
    return list_outbox(session=session, status=status_filter, limit=limit)


@router.post(
    "/outbox/deliver", response_model=DeliveryPublic, responses=ERRORS, summary="Deliver due records"
)
def post_deliver(session: SessionDep, ctx: ContextDep, _user: AdminUser) -> DeliveryPublic:
    """Deliver the due write-back records to the configured webhook now (the worker does this on its own)."""
    report = deliver_configured(session=session, settings=ctx.settings, mapping=ctx.mapping)
    return DeliveryPublic(**report.to_dict())


@router.post(
    "/outbox/requeue", response_model=RequeuedPublic, responses=ERRORS, summary="Requeue write-back records"
)
def post_requeue(requeue_in: OutboxRequeue, session: SessionDep, user: AdminUser) -> RequeuedPublic:
    """Give dead (or given pending) records new attempts, due now; delivered and erased records are never
    sent again. Audited."""
    n = requeue_outbox(
        session=session, actor=user.name, role=user.role, ids=requeue_in.ids, dead=requeue_in.dead
    )
    return RequeuedPublic(n_requeued=n)


@router.get(
    "/outbox/export",
    response_class=FileResponse,
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "Outbox records as CSV"}},
    summary="Export the outbox as CSV",
)
def export_outbox(
    session: SessionDep, ctx: ContextDep, user: AdminUser, status_filter: OutboxStatus = None
) -> FileResponse:
    """The write-back records as CSV, with the configured CRM field names; the export is audited."""
    handle = tempfile.NamedTemporaryFile(prefix="careleads-outbox-", suffix=".csv", delete=False)  # noqa: SIM115
    handle.close()
    path = FilePath(handle.name)
    export_outbox_file(
        session=session, out=path, mapping=ctx.mapping, status=status_filter, actor=user.name, role=user.role
    )
    return FileResponse(
        path, media_type="text/csv", filename="outbox.csv", background=BackgroundTask(path.unlink)
    )


@router.get(
    "/unknown-values",
    response_model=UnknownValuesPublic,
    responses=ERRORS,
    summary="Values the data dictionary does not know",
)
def read_unknown_values(session: SessionDep, ctx: ContextDep, user: AdminUser) -> UnknownValuesPublic:
    """Values stored leads hold that the dictionary could not read, per field, with counts and a few lead
    ids (values of identifying or sensitive fields are counted, not shown); the read is audited."""
    items = unknown_values(session=session, ctx=ctx, actor=user.name, role=user.role)
    return UnknownValuesPublic(data=[UnknownValuePublic(**u.to_dict()) for u in items], count=len(items))


@router.post(
    "/unknown-values/map",
    response_model=MappingPublic,
    responses=ERRORS,
    summary="Map a value to a known value (or add it)",
)
def post_value_mapping(
    mapping: ValueMapping, session: SessionDep, ctx: ContextDep, user: AdminUser
) -> MappingPublic:
    """Add the value to the clinic's dictionary extension as a spelling of `to` (a new value when the field
    does not list it): later leads are read with it, and with `renormalise` the stored leads with this value
    get it and are scored again. Audited."""
    result = map_unknown_value(
        session=session,
        ctx=ctx,
        field=mapping.field,
        value=mapping.value,
        to=mapping.to,
        renormalise=mapping.renormalise,
        actor=user.name,
        role=user.role,
    )
    return MappingPublic(**result.to_dict())


@router.get("/jobs", response_model=JobsPublic, responses=ERRORS, summary="Scheduled jobs and their runs")
def read_jobs(request: Request, session: SessionDep, _user: AdminUser) -> JobsPublic:
    """Each scheduled job (schedule, last run, next due) and the latest runs of all jobs, newest first."""
    return list_jobs(session=session, settings=request.app.state.settings, jobs=request.app.state.jobs)
