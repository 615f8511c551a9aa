"""Models: list the registry, publish a version, roll back to the previous one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service import publishing
from careleads.service.access import MODELS_PUBLISH, MODELS_READ, Principal
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.schemas import ModelsPublic, PublishResult

router = APIRouter(route_class=TransactionRoute, prefix="/v1/models", tags=["models"])

Version = Annotated[str, Path(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")]
Reason = Annotated[
    str,
    Query(
        min_length=5, max_length=500, description="Why (kept in the publication history and the audit log)"
    ),
]
_NO_REASON = "no reason given (API)"


@router.get("", response_model=ModelsPublic, responses=ERRORS, summary="Model versions in the registry")
def list_models(
    ctx: ContextDep,
    _user: Annotated[Principal, Depends(require_role(MODELS_READ))],
) -> ModelsPublic:
    """Every registered version with its test figures, and which one scores leads now."""
    return publishing.list_models(registry=ctx.registry, target=ctx.settings.target)


@router.post(
    "/{version}/publish", response_model=PublishResult, responses=ERRORS, summary="Publish a version"
)
def publish_model(
    version: Version,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(MODELS_PUBLISH))],
    reason: Reason = _NO_REASON,
) -> PublishResult:
    """Make `version` the model that scores leads for its target; audited with the version before and the
    reason."""
    return publishing.publish_model(
        session=session, registry=ctx.registry, version=version, actor=user.name, role=user.role, note=reason
    )


@router.post(
    "/rollback", response_model=PublishResult, responses=ERRORS, summary="Roll back a target's model"
)
def rollback_model(
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(MODELS_PUBLISH))],
    target: Annotated[
        str | None,
        Query(max_length=120, description="Target, e.g. appointment_scheduled_30d (default: served)"),
    ] = None,
    reason: Reason = _NO_REASON,
) -> PublishResult:
    """Return to the version published before the current one; audited with before and after and the
    reason."""
    return publishing.rollback_model(
        session=session,
        registry=ctx.registry,
        target=target or ctx.settings.target,
        actor=user.name,
        role=user.role,
        note=reason,
    )
