"""Service health: whether the store answers, its schema revision, and which model scores leads."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from careleads.service.context import ServiceContext
from careleads.service.schemas import HealthPublic
from careleads.store import current_revision

__all__ = ["service_health"]


def service_health(*, engine: Engine, ctx: ServiceContext) -> HealthPublic:
    """``ok`` when the database answers (``degraded`` otherwise), with no data of any lead."""
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
