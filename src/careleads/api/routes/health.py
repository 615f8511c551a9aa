"""Health: open to everyone, no data."""

from __future__ import annotations

from fastapi import APIRouter, Request

from careleads.service.health import service_health
from careleads.service.http import ContextDep
from careleads.service.schemas import HealthPublic

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Service health (no token needed)")
def health(request: Request, ctx: ContextDep) -> HealthPublic:
    """Whether the database answers, its schema revision, and which model version scores leads."""
    return service_health(engine=request.app.state.engine, ctx=ctx)
