"""Dependencies shared by the routers: the service context, one session per request, the current user, roles.

``SessionDep`` commits when the endpoint returns and rolls back when it raises, before the response is
sent (``scope="function"``), so a failed request writes nothing and a failed commit is never a 2xx.

The dependencies are ``async`` and do no blocking work on the event loop except the commit itself: a sync
dependency would cost a hop to the thread pool and back on every request (the endpoints that touch the
store stay sync and run on the pool). Tokens are checked against the store once per
``token_cache_seconds`` and trusted from memory in between.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from careleads.store import session_scope
from careleads.store.context import ServiceContext
from careleads.store.users import authenticate

__all__ = [
    "ContextDep",
    "CurrentUser",
    "Principal",
    "RoleGuard",
    "SessionDep",
    "TokenCache",
    "get_context",
    "get_session",
    "require_role",
]

_bearer = HTTPBearer(auto_error=False, description="An API token from `careleads tokens create`.")


async def get_context(request: Request) -> ServiceContext:
    """The service context built by :func:`careleads.api.main.create_app`."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit on success, roll back on any error.

    The session connects lazily, in the thread that first uses it (the endpoint's); the commit or rollback
    runs here, on the event loop, when the endpoint has returned.
    """
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


ContextDep = Annotated[ServiceContext, Depends(get_context)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: user id, name and role."""

    id: int
    name: str
    role: str


class TokenCache:
    """Checked tokens (by their SHA-256) and who holds them, trusted for `seconds` before the next check.

    Unknown and revoked tokens are remembered too (as None), so a client retrying with a bad token does not
    cost a store lookup each time. At most `max_entries` are kept; the oldest go first.
    """

    def __init__(
        self, seconds: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[bool, Principal | None]:
        """``(found, principal)``: found is False when the token must be checked against the store."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= self._clock():
            return False, None
        return True, entry[1]

    def put(self, digest: str, principal: Principal | None) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                for key in list(self._entries)[: self.max_entries // 10 + 1]:
                    del self._entries[key]
            self._entries[digest] = (self._clock() + self.seconds, principal)


def _check_token(factory: sessionmaker[Session], token: str) -> Principal | None:
    with session_scope(factory) as session:
        user = authenticate(session=session, token=token)
        return None if user is None else Principal(id=user.id, name=user.name, role=user.role)


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user holding the bearer token; 401 without a valid one.

    A token not checked in the last ``token_cache_seconds`` is checked in its own short transaction on the
    thread pool, so the request's transaction (on SQLite: the write lock) starts only when the endpoint
    first touches the store.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API token: send 'Authorization: Bearer <token>' (see `careleads tokens create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cache: TokenCache = request.app.state.tokens
    digest = hashlib.sha256(credentials.credentials.encode("utf-8")).hexdigest()
    found, principal = cache.get(digest)
    if not found:
        principal = await run_in_threadpool(_check_token, request.app.state.sessions, credentials.credentials)
        cache.put(digest, principal)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="unknown, revoked or malformed API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


class RoleGuard:
    """A dependency that lets only the given roles through (403 otherwise); ``roles`` is introspectable."""

    def __init__(self, *roles: str) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, user: CurrentUser) -> Principal:
        if user.role not in self.roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"the role {user.role!r} may not do this; allowed: {', '.join(sorted(self.roles))}",
            )
        return user


def require_role(*roles: str) -> RoleGuard:
    """A dependency admitting only `roles` (admin is always admitted: it may do everything).

    Examples
    --------
    >>> sorted(require_role("analyst").roles)
    ['admin', 'analyst']
    """
    return RoleGuard("admin", *roles)
