"""Users, roles and API tokens (stored as SHA-256 only; the token is shown once), and who holds a token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from careleads.errors import InputError, NotFoundError
from careleads.service.access import ROLES, Principal
from careleads.service.audit import append_audit
from careleads.store import ApiToken, User, WebSignIn

__all__ = [
    "ROLES",
    "TOKEN_PREFIX",
    "authenticate",
    "create_token",
    "create_user",
    "deactivate_user",
    "end_web_session",
    "get_user",
    "hash_token",
    "list_users",
    "principal_for_web_session",
    "principal_for_token",
    "principal_for_token_hash",
    "revoke_tokens",
    "start_web_session",
]

TOKEN_PREFIX = "clk_"
# last_used_at is refreshed at most this often, so reads do not turn into writes
_TOUCH_EVERY = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def hash_token(token: str) -> str:
    """SHA-256 of a token (tokens are 256-bit random, so a fast hash is safe to store)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(
    *, session: Session, name: str, role: str, actor: str = "cli", actor_role: str = "admin"
) -> User:
    """Add a user with one role; the creation is audited.

    Raises
    ------
    InputError
        If the role is unknown or the name is taken.
    """
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if not name.strip():
        raise InputError("a user needs a non-empty name")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise InputError(f"a user named {name!r} exists already; pick another name")
    user = User(name=name, role=role, active=True, created_at=_utcnow())
    session.add(user)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        role=actor_role,
        action="user.create",
        subject=f"user:{user.id}",
        details={"name": name, "role": role},
    )
    return user


def list_users(*, session: Session) -> list[User]:
    """All users by name."""
    return list(session.scalars(select(User).order_by(User.name)))


def get_user(*, session: Session, name: str) -> User:
    """The user named `name`.

    Raises
    ------
    NotFoundError
        If there is no such user.
    """
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(f"no user named {name!r}; add one with `careleads users add NAME --role ROLE`")
    return user


def create_token(*, session: Session, user_name: str, actor: str = "cli", actor_role: str = "admin") -> str:
    """Create an API token for `user_name` and return it: it is stored hashed and cannot be shown again.

    Raises
    ------
    NotFoundError
        If there is no such user.
    """
    user = get_user(session=session, name=user_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10], created_at=_utcnow())
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        role=actor_role,
        action="token.create",
        subject=f"user:{user.id}",
        details={"token_id": row.id, "prefix": row.prefix, "user_role": user.role},
    )
    return token


def revoke_tokens(
    *,
    session: Session,
    user_name: str,
    prefix: str | None = None,
    actor: str = "cli",
    actor_role: str = "admin",
) -> int:
    """Revoke the API tokens of `user_name` (only the one starting with `prefix` when given); audited.

    A revoked token is refused at once, by the API and by every web session signed in with it. Returns the
    number of tokens revoked now (revoking twice revokes nothing the second time).

    Raises
    ------
    NotFoundError
        If there is no such user, or no token of theirs starts with `prefix`.
    """
    user = get_user(session=session, name=user_name)
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if prefix:
        query = query.where(ApiToken.prefix.startswith(prefix, autoescape=True))
    rows = list(session.scalars(query))
    if prefix and not rows:
        raise NotFoundError(
            f"no token of {user_name!r} starts with {prefix!r}; each token's first characters are in the "
            "details of its token.create entry of the audit log (`careleads audit export`, GET /v1/audit)"
        )
    fresh = [row for row in rows if not row.revoked]
    for row in fresh:
        row.revoked = True
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        role=actor_role,
        action="token.revoke",
        subject=f"user:{user.id}",
        details={"token_ids": [row.id for row in fresh], "prefix": prefix},
    )
    return len(fresh)


def deactivate_user(*, session: Session, name: str, actor: str = "cli", actor_role: str = "admin") -> User:
    """Take a user's access away: every token of theirs and every web session is refused from now on;
    audited. The user stays listed (their name is in the audit log).

    Raises
    ------
    NotFoundError
        If there is no such user.
    InputError
        When it is the last active admin (no one could then add users or tokens).
    """
    user = get_user(session=session, name=name)
    if user.role == "admin" and user.active:
        admins = session.scalars(select(User).where(User.role == "admin", User.active.is_(True))).all()
        if len(admins) <= 1:
            raise InputError(f"{name!r} is the last active admin; add another admin first")
    user.active = False
    session.flush()
    append_audit(
        session=session,
        actor=actor,
        role=actor_role,
        action="user.deactivate",
        subject=f"user:{user.id}",
        details={"name": name},
    )
    return user


def authenticate(*, session: Session, token: str) -> User | None:
    """The active user holding `token`, or None; refreshes the token's last use now and then."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    now = _utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    return user


def principal_for_token(*, session: Session, token: str) -> Principal | None:
    """The caller holding `token` (see :func:`authenticate`), or None."""
    user = authenticate(session=session, token=token)
    return None if user is None else Principal(id=user.id, name=user.name, role=user.role)


def principal_for_token_hash(*, session: Session, token_hash: str, user_id: int) -> Principal | None:
    """The caller of a web session: the user, if the token with this hash is still valid and theirs."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    if row is None or row.revoked or row.user_id != user_id:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return Principal(id=user.id, name=user.name, role=user.role)


def start_web_session(*, session: Session, user_id: int) -> str:
    """A new signed-in page session for `user_id`, kept on the server; its id (for the cookie)."""
    row = WebSignIn(id=secrets.token_urlsafe(32), user_id=user_id, created_at=_utcnow())
    session.add(row)
    session.flush()
    return row.id


def end_web_session(*, session: Session, session_id: str) -> None:
    """End a page session on the server: every copy of its cookie stops working."""
    row = session.get(WebSignIn, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = _utcnow()


def principal_for_web_session(
    *, session: Session, session_id: str, token_hash: str, user_id: int
) -> Principal | None:
    """The caller of a page session: the user, while the session has not ended, the token it was signed in
    with is valid and the user active."""
    row = session.get(WebSignIn, session_id)
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    return principal_for_token_hash(session=session, token_hash=token_hash, user_id=user_id)
