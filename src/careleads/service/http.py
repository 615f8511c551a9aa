"""What the HTTP adapters (:mod:`careleads.api`, :mod:`careleads.web`) share: the request's service context
and transaction, and the one mapping of errors to HTTP statuses and answers.

The app (:func:`careleads.app.create_app`) puts the service context and the session factory on
``app.state`` (``ctx``, ``sessions``) and installs :func:`install_error_handlers`; the web pages wrap those
handlers to answer with an HTML page where a person reads the answer.

``SessionDep`` commits when the endpoint returns and rolls back when it raises, before the response is
sent, so a failed request writes nothing and a failed commit is never a 2xx.

Store work never runs on the event loop: every endpoint that touches the store is a plain function, run on
the thread pool. Its routes are :class:`TransactionRoute`: the commit or rollback runs in the thread that
ran the endpoint, in the same trip to the pool, so a transaction's locks (SQLite's writer lock, the audit
head's row lock on PostgreSQL) are never held while the request waits for the loop and then for a thread
again. A lock wait (another request's transaction, a command's) holds one worker thread, never the loop;
each wait is bounded (``lock_wait_seconds``) and answered with 503 and ``Retry-After`` when it expires.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from careleads.errors import CareleadsError, ConfigError, InputError, NotFoundError
from careleads.service._records import LeadErasedError, LeadValidationError
from careleads.service.access import PermissionDenied
from careleads.service.batches import BatchNotDoneError, EmptyUploadError, UploadTooLargeError
from careleads.service.context import ServiceContext
from careleads.service.leads import BulkTimeoutError
from careleads.store import end_session

__all__ = [
    "ContextDep",
    "SessionDep",
    "TransactionRoute",
    "error_answer",
    "get_context",
    "get_session",
    "install_error_handlers",
]

log = logging.getLogger("careleads.service")


async def get_context(request: Request) -> ServiceContext:
    """The service context the app was built with."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit on success, roll back on any error.

    The session is made on the event loop (no statement runs: it connects lazily, in the thread that first
    uses it). A :class:`TransactionRoute` ends it in the endpoint's thread; what is still open here (an
    endpoint of another route class) is ended on the thread pool, never on the loop.
    """
    session = request.app.state.sessions()
    try:
        yield session
    except BaseException:
        await _end(session, commit=False)
        raise
    await _end(session, commit=True)


async def _end(session: Session, *, commit: bool) -> None:
    if not session.in_transaction():  # ended in the endpoint's thread: nothing is held, closing is no I/O
        session.close()
        return
    # as FastAPI ends a plain generator: shielded from cancellation (a client that hangs up still gets its
    # transaction ended), on a limiter of its own (never waiting for a thread the pool may not free while
    # this transaction holds its connection or its lock)
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(
            functools.partial(end_session, session, commit=commit), limiter=anyio.CapacityLimiter(1)
        )


ContextDep = Annotated[ServiceContext, Depends(get_context)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _session_parameter(endpoint: Callable[..., Any]) -> str | None:
    """The name of `endpoint`'s :data:`SessionDep` parameter, if it has one."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    for name in inspect.signature(endpoint).parameters:
        for meta in getattr(hints.get(name), "__metadata__", ()):
            if isinstance(meta, DependsParam) and meta.dependency is get_session:
                return name
    return None


def ending_in_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint`, a plain function with a :data:`SessionDep`, run on the thread pool and ending its
    transaction there as it returns or raises, in one trip; other endpoints unchanged.

    The result is a coroutine function, so FastAPI checks the answer against the route's response model on
    the loop, as the answer of an ``async`` endpoint, instead of in a further trip to the pool.
    """
    if inspect.iscoroutinefunction(endpoint) or getattr(endpoint, _ENDS, False):
        return endpoint  # (a router included in another builds its routes again from the wrapped endpoints)
    name = _session_parameter(endpoint)
    if name is None:
        return endpoint

    def ended(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        session: Session = kwargs[name]
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            end_session(session, commit=False)
            raise
        end_session(session, commit=True)  # a failed commit raises here: never a 2xx
        return result

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        # like a plain endpoint: not cancelled while it runs (a client that hangs up still gets its
        # transaction ended), on the pool's default limiter
        return await anyio.to_thread.run_sync(ended, args, kwargs)

    setattr(run, _ENDS, True)
    return run


_ENDS = "_careleads_ends_transaction"


class TransactionRoute(APIRoute):
    """A route whose endpoint ends the request's transaction in the thread it ran in (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, ending_in_thread(endpoint), **kwargs)


# (error class, HTTP status, whether the answer's detail is a list of problems); the first match wins
_STATUSES: tuple[tuple[type[CareleadsError], int, bool], ...] = (
    (LeadValidationError, status.HTTP_422_UNPROCESSABLE_CONTENT, True),
    (LeadErasedError, status.HTTP_410_GONE, False),
    (NotFoundError, status.HTTP_404_NOT_FOUND, False),
    (PermissionDenied, status.HTTP_403_FORBIDDEN, False),
    (ConfigError, status.HTTP_409_CONFLICT, False),
    (BatchNotDoneError, status.HTTP_409_CONFLICT, False),
    (UploadTooLargeError, status.HTTP_413_CONTENT_TOO_LARGE, False),
    (BulkTimeoutError, status.HTTP_503_SERVICE_UNAVAILABLE, False),
    (EmptyUploadError, status.HTTP_422_UNPROCESSABLE_CONTENT, False),
    (InputError, status.HTTP_422_UNPROCESSABLE_CONTENT, True),
    (CareleadsError, status.HTTP_422_UNPROCESSABLE_CONTENT, False),
)


def _problems(exc: CareleadsError) -> list[dict[str, Any]]:
    if not isinstance(exc, LeadValidationError):
        return [{"loc": ["body"], "msg": str(exc), "type": "input"}]
    return [
        {
            "loc": ["body", *([int(p["row"])] if "row" in p else []), p["field"]]
            if p.get("field")
            else ["body"],
            "msg": p["message"],
            "type": "dictionary",
        }
        for p in exc.problems
    ]


def error_answer(exc: CareleadsError) -> tuple[int, Any]:
    """The HTTP status and the ``detail`` of the answer to `exc`.

    Examples
    --------
    >>> error_answer(NotFoundError("no lead with id 7"))
    (404, 'no lead with id 7')
    """
    for kind, code, listed in _STATUSES:
        if isinstance(exc, kind):
            return code, _problems(exc) if listed else str(exc)
    raise AssertionError("CareleadsError is the last entry")  # pragma: no cover


def install_error_handlers(app: FastAPI) -> None:
    """Answer careleads errors, an overloaded store and invalid requests in JSON, with one status each."""

    @app.exception_handler(CareleadsError)
    async def _careleads(_request: Request, exc: CareleadsError) -> JSONResponse:
        code, detail = error_answer(exc)
        retry = {"Retry-After": "1"} if code == status.HTTP_503_SERVICE_UNAVAILABLE else None
        return JSONResponse(status_code=code, content={"detail": detail}, headers=retry)

    @app.exception_handler(OperationalError)
    async def _busy(_request: Request, exc: OperationalError) -> JSONResponse:
        # overload (SQLite's write lock, an exhausted pool) or a lost database: ask the client to retry
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": "the store is busy or unreachable; retry shortly"},
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, exc: DataError) -> JSONResponse:
        # a value the database refuses (a NUL byte on PostgreSQL, a number out of range) that no check before
        # caught: the request's fault, answered without its values (the log names the error class only)
        log.warning("a request value the database refused: %s", type(exc.orig).__name__)
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={
                "detail": "a value of the request cannot be stored (a NUL byte, a number out of range); "
                "correct it and send again"
            },
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
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})
