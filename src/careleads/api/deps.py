"""Dependencies shared by the routers: the service context, one session per request, the current user, roles.

``SessionDep`` commits when the endpoint returns and rolls back when it raises, before the response is
sent (``scope="function"``), so a failed request writes nothing and a failed commit is never a 2xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from careleads.store import session_scope
from careleads.store.context import ServiceContext
from careleads.store.users import authenticate

__all__ = [
    "ContextDep",
    "CurrentUser",
    "Principal",
    "RoleGuard",
    "SessionDep",
    "get_context",
    "get_session",
    "require_role",
]

_bearer = HTTPBearer(auto_error=False, description="An API token from `careleads tokens create`.")


def get_context(request: Request) -> ServiceContext:
    """The service context built by :func:`careleads.api.main.create_app`."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on any error."""
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


def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user holding the bearer token; 401 without a valid one.

    The token is checked in its own short transaction, so the request's transaction (on SQLite: the write
    lock) starts only when the endpoint first touches the store.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing API token: send 'Authorization: Bearer <token>' (see `careleads tokens create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with session_scope(request.app.state.sessions) as session:
        user = authenticate(session=session, token=credentials.credentials)
        principal = None if user is None else Principal(id=user.id, name=user.name, role=user.role)
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

    def __call__(self, user: CurrentUser) -> Principal:
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
