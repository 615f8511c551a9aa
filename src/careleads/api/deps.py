"""The API's caller: bearer tokens (checked against the store, then trusted for a while) and role guards.

Tokens are checked against the store once per ``token_cache_seconds`` and trusted from memory in between.
The roles each route admits are the sets of :mod:`careleads.service.access`, which the web pages check too.
The service context and the request's transaction are :mod:`careleads.service.http`'s ``ContextDep`` and
``SessionDep``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from careleads.service.access import Principal, allowed, authorize
from careleads.service.users import principal_for_token
from careleads.store import session_scope

__all__ = [
    "CurrentUser",
    "RoleGuard",
    "TokenCache",
    "get_current_user",
    "require_role",
]

_bearer = HTTPBearer(auto_error=False, description="An API token from `careleads tokens create`.")


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
        return principal_for_token(session=session, token=token)


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

    def __init__(self, roles: Iterable[str]) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, user: CurrentUser) -> Principal:
        authorize(user.role, self.roles)
        return user


def require_role(roles: Iterable[str]) -> RoleGuard:
    """A dependency admitting only `roles`, one of the sets of :mod:`careleads.service.access`.

    Examples
    --------
    >>> from careleads.service.access import MODELS_READ
    >>> sorted(require_role(MODELS_READ).roles)
    ['admin', 'analyst']
    """
    return RoleGuard(allowed(*roles))
