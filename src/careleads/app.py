"""The careleads web service: ``create_app(settings)`` builds the store, the service context and one
FastAPI app with the API (:mod:`careleads.api`, under ``/v1``) and the web pages (:mod:`careleads.web`,
under ``/ui``).

Run it with ``careleads serve`` (uvicorn). The embedded default (a SQLite file in the data folder) is
migrated on first start; another database must be migrated with ``careleads db upgrade`` first.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import Message, Scope

from careleads import __version__, api, web
from careleads.decisions import checked_intent_model, intent_model_for
from careleads.engines import end_with_parent
from careleads.jobs import JOBS
from careleads.service.access_log import install_access_log_redaction
from careleads.service.context import ServiceContext, open_store
from careleads.service.http import install_error_handlers
from careleads.service.outbox import deliver_until
from careleads.service.rule_edits import apply_saved_config
from careleads.service.scheduling import schedule_until
from careleads.settings import Settings, get_settings
from careleads.store import make_sessionmaker

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the careleads service: API and web pages on one app, one service context, one store.

    Parameters
    ----------
    settings : Settings, optional
        Default: read from the environment (``CARELEADS_*``).

    Returns
    -------
    FastAPI

    Raises
    ------
    ConfigError
        If a configuration file or key is invalid, or a non-default database has not been migrated.
    """
    settings = settings or get_settings()
    engine = open_store(settings)
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    apply_saved_config(ctx)  # rules and routing edited in the web pages win over the settings' files
    ctx.analytics.background = settings.analytics_background  # a full buffer is written off the request path
    ctx.bind(factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # a worker process of `careleads serve --workers N` ends with its supervisor, even one killed with
        # SIGKILL (which cannot stop its children); in a process of its own this does nothing
        end_with_parent()
        stop = threading.Event()
        worker = None
        # Load the published model now rather than in the first request, then move everything alive after
        # start-up out of the collector's reach: a full collection of the ~300k objects of the libraries and
        # the model takes about 0.2 s, and one landing inside a request would set the tail latency.
        ctx.scorer.model()
        # the intent classifier too (never made in a request), checked against the intents the rules name
        checked_intent_model(intent_model_for(ctx.scorer.current()), ctx.routing, ctx.hard_rules)
        ctx.analytics.start()  # the writer process imports its libraries now, not at the first flush
        await build_routes(_app)
        # requests come once the writer process has imported its libraries, not during those CPU-seconds
        await anyio.to_thread.run_sync(ctx.analytics.wait_started)
        gc.collect()
        gc.freeze()
        if settings.webhook_url and settings.webhook_secret:
            worker = threading.Thread(
                target=deliver_until,
                kwargs={"stop": stop, "sessions": factory, "settings": settings, "mapping": ctx.mapping},
                daemon=True,
            )
            worker.start()
        scheduler = None
        if settings.scheduler:  # due jobs, each once across the server's processes (a lease in the store)
            scheduler = threading.Thread(
                target=schedule_until,
                kwargs={
                    "stop": stop,
                    "sessions": factory,
                    "settings": settings,
                    "service": ctx,
                    "jobs": JOBS,
                },
                name="careleads-scheduler",
                daemon=True,
            )
            scheduler.start()
        try:
            yield
        finally:
            gc.unfreeze()
            stop.set()
            if worker is not None:
                worker.join(timeout=settings.webhook_timeout_seconds + 1)
            if scheduler is not None:
                # a job is not interrupted: one still running after this wait (a retraining) ends with the
                # process, and its lease expires for the next runner, which records the run failed
                scheduler.join(timeout=settings.webhook_timeout_seconds + 1)
            ctx.analytics.close()
            engine.dispose()

    install_access_log_redaction()  # the access log names routes, never what staff searched for or CRM ids
    # no docs_url, redoc_url: their pages load scripts from a CDN; api.install serves /docs from the schema
    app = FastAPI(
        title="careleads",
        version=__version__,
        description=api.DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = factory
    app.state.ctx = ctx
    app.state.jobs = JOBS  # the jobs page and GET /v1/admin/jobs list these
    install_error_handlers(app)
    api.install(app)
    web.install(app)
    return app


async def build_routes(app: FastAPI) -> None:
    """Have FastAPI build every route now rather than in the first requests that reach it.

    FastAPI builds a router's routes (their dependencies and validators, about 0.1 s for this app) when a
    request first looks through that router, and a worker serving its first requests meanwhile holds them
    all back. A request for a path no route has looks through every router; it is answered 404 here, never
    sent to anyone.
    """
    path = "/.careleads-start-up"
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": None,
        "server": None,
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        return None

    await app.router(scope, receive, send)
