"""Models: list the registry, publish a version, roll back to the previous one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from careleads.api.deps import ContextDep, Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS
from careleads.api.schemas import ModelPublic, ModelsPublic, PublishResult
from careleads.store._scoring import target_of
from careleads.store.audit import append_audit

router = APIRouter(prefix="/v1/models", tags=["models"])

Version = Annotated[str, Path(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.get("", response_model=ModelsPublic, responses=_ERRORS, summary="Model versions in the registry")
def list_models(
    ctx: ContextDep,
    _user: Annotated[Principal, Depends(require_role("analyst"))],
) -> ModelsPublic:
    """Every registered version with its test figures, and which one scores leads now."""
    data = [ModelPublic(**m.to_dict()) for m in ctx.registry.versions()]
    target = ctx.settings.target
    return ModelsPublic(
        data=data, count=len(data), target=target, published_version=ctx.registry.published_version(target)
    )


@router.post(
    "/{version}/publish", response_model=PublishResult, responses=_ERRORS, summary="Publish a version"
)
def publish_model(
    version: Version,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role("analyst"))],
) -> PublishResult:
    """Make `version` the model that scores leads for its target; audited with the version before."""
    ctx.registry.card(version)  # NotFoundError (404) for an unknown version
    target = target_of(ctx.registry, version)
    before = ctx.registry.published_version(target)
    ctx.registry.publish(version, actor=user.name, note="api")
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="model.publish",
        subject=f"model:{version}",
        details={"target": target, "before": before, "after": version},
    )
    return PublishResult(target=target, published_version=version, history=ctx.registry.history(target))


@router.post(
    "/rollback", response_model=PublishResult, responses=_ERRORS, summary="Roll back a target's model"
)
def rollback_model(
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role("analyst"))],
    target: Annotated[
        str | None,
        Query(max_length=120, description="Target, e.g. appointment_scheduled_30d (default: served)"),
    ] = None,
) -> PublishResult:
    """Return to the version published before the current one; audited with before and after."""
    name = target or ctx.settings.target
    before = ctx.registry.published_version(name)
    version = ctx.registry.rollback(name, actor=user.name)  # NotFoundError (404) with fewer than two
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="model.rollback",
        subject=f"model:{version}",
        details={"target": name, "before": before, "after": version},
    )
    return PublishResult(target=name, published_version=version, history=ctx.registry.history(name))
