"""The HTTP API (FastAPI): one router per resource under ``/v1``, roles on every route, one transaction per
request. :func:`install` adds it to the app that :func:`careleads.app.create_app` builds."""

from __future__ import annotations

from fastapi import FastAPI

from careleads.api._docs import install_docs
from careleads.api.deps import TokenCache
from careleads.api.limits import ConcurrencyLimit
from careleads.api.routes import admin, audit, batches, events, feedback, health, leads, models, review, score

__all__ = ["DESCRIPTION", "install"]

DESCRIPTION = """
Lead scoring for healthcare teams: each lead is checked against the data dictionary, scored (calibrated
score 0-100, tier, reasons in plain words), passed through hard rules and routing, and queued for review
where a person should look. Every change of score, tier or route is written back to the CRM via an outbox.

Authentication: `Authorization: Bearer <token>` (create tokens with `careleads tokens create`). Roles:
admin (everything), analyst (models, pseudonymised data), reviewer (review queue and its leads, contact
details visible), auditor (audit log), integration (create leads and events, read decisions). Only
`/v1/health` is open.
"""


def install(app: FastAPI) -> None:
    """Add the API's routers, its token cache and its admission control to `app`.

    The app must hold the service settings, context and session factory on ``app.state`` (``settings``,
    ``ctx``, ``sessions``, ``engine``), as :func:`careleads.app.create_app` sets them.
    """
    settings = app.state.settings
    app.state.tokens = TokenCache(settings.token_cache_seconds)
    app.add_middleware(
        ConcurrencyLimit,
        max_concurrent=settings.max_concurrent_requests,
        queue_seconds=settings.queue_seconds,
        max_bulk=settings.max_bulk_requests,
    )
    for module in (health, leads, events, score, batches, review, feedback, models, audit, admin):
        app.include_router(module.router)
    install_docs(app)
