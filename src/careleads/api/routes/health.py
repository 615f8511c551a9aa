"""Health: open to everyone, no data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from careleads.api.deps import ContextDep
from careleads.api.schemas import HealthPublic
from careleads.store import current_revision

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Service health (no token needed)")
def health(request: Request, ctx: ContextDep) -> HealthPublic:
    """Whether the database answers, its schema revision, and which model version scores leads."""
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database, revision = "ok", current_revision(engine)
    except SQLAlchemyError:
        database, revision = "unreachable", None
    return HealthPublic(
        status="ok" if database == "ok" else "degraded",
        database=database,
        schema_revision=revision,
        published_model=ctx.registry.published_version(ctx.settings.target),
    )
