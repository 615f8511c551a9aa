"""The FastAPI application: ``create_app(settings)`` builds the store, the scoring context and the routers.

Run it with ``careleads serve`` (uvicorn). The embedded default (a SQLite file in the data folder) is
migrated on first start; another database must be migrated with ``careleads db upgrade`` first.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from careleads import __version__
from careleads.api.deps import TokenCache
from careleads.api.limits import ConcurrencyLimit
from careleads.api.routes import admin, audit, batches, events, feedback, health, leads, models, review, score
from careleads.errors import CareleadsError, ConfigError, InputError, NotFoundError
from careleads.settings import Settings, get_settings
from careleads.store import has_tables, make_engine, make_sessionmaker, session_scope, upgrade
from careleads.store.context import ServiceContext
from careleads.store.leads import LeadErasedError, LeadValidationError
from careleads.store.outbox import deliver_configured

__all__ = ["create_app"]

log = logging.getLogger("careleads.api")

DESCRIPTION = """
Lead scoring for healthcare teams: each lead is checked against the data dictionary, scored (calibrated
score 0-100, tier, reasons in plain words), passed through hard rules and routing, and queued for review
where a person should look. Every change of score, tier or route is written back to the CRM via an outbox.

Authentication: `Authorization: Bearer <token>` (create tokens with `careleads tokens create`). Roles:
admin (everything), analyst (models, pseudonymised data), reviewer (review queue and its leads, contact
details visible), auditor (audit log), integration (create leads and events, read decisions). Only
`/v1/health` is open.
"""


def _problem(status_code: int, detail: object) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"detail": detail})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LeadValidationError)
    async def _invalid(_request: Request, exc: LeadValidationError) -> JSONResponse:
        detail = [
            {
                "loc": ["body", *([int(p["row"])] if "row" in p else []), p["field"]]
                if p.get("field")
                else ["body"],
                "msg": p["message"],
                "type": "dictionary",
            }
            for p in exc.problems
        ]
        return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)

    @app.exception_handler(LeadErasedError)
    async def _gone(_request: Request, exc: LeadErasedError) -> JSONResponse:
        return _problem(status.HTTP_410_GONE, str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return _problem(status.HTTP_404_NOT_FOUND, str(exc))

    @app.exception_handler(ConfigError)
    async def _config(_request: Request, exc: ConfigError) -> JSONResponse:
        return _problem(status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(InputError)
    async def _input(_request: Request, exc: InputError) -> JSONResponse:
        return _problem(
            status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["body"], "msg": str(exc), "type": "input"}]
        )

    @app.exception_handler(CareleadsError)
    async def _other(_request: Request, exc: CareleadsError) -> JSONResponse:
        return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))

    @app.exception_handler(OperationalError)
    async def _busy(_request: Request, exc: OperationalError) -> JSONResponse:
        # overload (SQLite's write lock, an exhausted pool) or a lost database: ask the client to retry
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": "the store is busy or unreachable; retry shortly"},
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool(_request: Request, _exc: PoolTimeoutError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": "too many requests at once; retry shortly"},
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # the default handler echoes the input back; identifiers must not travel in error bodies or logs
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _problem(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def _delivery_loop(stop: threading.Event, factory: sessionmaker[Session], ctx: ServiceContext) -> None:
    settings = ctx.settings
    while not stop.wait(settings.webhook_poll_seconds):
        try:
            with session_scope(factory) as session:
                report = deliver_configured(session, settings, ctx.mapping)
            if report.n_attempted:
                log.info("outbox: %s", report.to_dict())
        except CareleadsError as exc:
            log.warning("outbox delivery stopped: %s", exc)
            return


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the careleads API.

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
    engine = make_engine(settings.database_url)
    if settings.is_embedded_default and settings.auto_upgrade:
        upgrade(engine)
    elif not has_tables(engine):
        raise ConfigError(
            f"the database at {engine.url.render_as_string(hide_password=True)} has no careleads tables; "
            "run `careleads db upgrade` first"
        )
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    ctx.analytics.background = settings.analytics_background  # a full buffer is written off the request path
    ctx.bind(factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = None
        # Load the published model now rather than in the first request, then move everything alive after
        # start-up out of the collector's reach: a full collection of the ~300k objects of the libraries and
        # the model takes about 0.2 s, and one landing inside a request would set the tail latency.
        ctx.scorer.model()
        ctx.analytics.start()  # the writer process imports its libraries now, not at the first flush
        gc.collect()
        gc.freeze()
        if settings.webhook_url and settings.webhook_secret:
            worker = threading.Thread(target=_delivery_loop, args=(stop, factory, ctx), daemon=True)
            worker.start()
        try:
            yield
        finally:
            gc.unfreeze()
            stop.set()
            if worker is not None:
                worker.join(timeout=settings.webhook_timeout_seconds + 1)
            ctx.analytics.close()
            engine.dispose()

    app = FastAPI(
        title="careleads",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = factory
    app.state.ctx = ctx
    app.state.tokens = TokenCache(settings.token_cache_seconds)
    _install_error_handlers(app)
    app.add_middleware(
        ConcurrencyLimit,
        max_concurrent=settings.max_concurrent_requests,
        queue_seconds=settings.queue_seconds,
    )
    for module in (health, leads, events, score, batches, review, feedback, models, audit, admin):
        app.include_router(module.router)
    # the reviewer and manager pages share this app, its permissions and its library functions
    from careleads.web import install

    install(app)
    return app
