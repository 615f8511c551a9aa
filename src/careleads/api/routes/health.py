"""Health: open to everyone, no data."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from careleads.service.health import service_health
from careleads.service.http import ContextDep, TransactionRoute
from careleads.service.schemas import HealthPublic

router = APIRouter(route_class=TransactionRoute, prefix="/v1", tags=["health"])


@router.get(
    "/health",
    response_model=HealthPublic,
    summary="Service health (no token needed)",
    responses={503: {"model": HealthPublic, "description": "The database does not answer (degraded)"}},
)
def health(request: Request, response: Response, ctx: ContextDep) -> HealthPublic:
    """Whether the database answers, its schema revision, and which model version scores leads.

    503 while the database does not answer: a check that reads only the status code (a load balancer,
    an uptime monitor) sees the outage, during which no lead reaches the queue.
    """
    answer = service_health(engine=request.app.state.engine, ctx=ctx)
    if answer.status != "ok":
        response.status_code = 503
    return answer
