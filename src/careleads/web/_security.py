"""Web sessions, CSRF tokens and security headers.

The session cookie is a Fernet token (AES plus HMAC-SHA256, with a timestamp): it is signed, so it cannot be
forged or altered, and encrypted, so the browser cannot read it. It holds the user id, the SHA-256 of the API
token the user signed in with, and the CSRF token of the session; every request checks that this API token is
still valid (revoking the token ends the web session too). The API token itself never travels in the cookie.

Each POST form carries the session's CSRF token in a hidden field (``csrf_token``); the sign-in form gets one
from an anonymous session, so a sign-in cannot be forged either.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from sqlalchemy.orm import Session

from careleads.errors import ConfigError
from careleads.service.access import Principal
from careleads.service.users import (
    hash_token,
    principal_for_token,
    principal_for_web_session,
    start_web_session,
)

__all__ = [
    "COOKIE_NAME",
    "CSRF_FIELD",
    "SESSION_SECONDS",
    "SecurityHeaders",
    "SessionCodec",
    "WebSession",
    "load_session_key",
]

log = logging.getLogger("careleads.web")

COOKIE_NAME = "careleads_session"
CSRF_FIELD = "csrf_token"
#: how long a web session lasts after sign-in (a working day)
SESSION_SECONDS = 8 * 3600
#: an anonymous session (only a CSRF token for the sign-in form) lasts one hour
ANONYMOUS_SECONDS = 3600
SESSION_KEY_FILE = "web_session.key"

#: no scripts at all; styles and images only from this server (plots are ``data:`` SVG images)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def load_session_key(keys_dir: Path) -> bytes:
    """The Fernet key that seals web session cookies: ``keys_dir/web_session.key``, created on first use.

    Raises
    ------
    ConfigError
        If the key file exists but cannot be read or is not a Fernet key.
    """
    path = keys_dir / SESSION_KEY_FILE
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker created it first
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(Fernet.generate_key().decode("ascii") + "\n")
    try:
        key = path.read_text(encoding="utf-8").strip().encode("ascii")
        Fernet(key)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)  # an OSError's text names the path
        raise ConfigError(
            f"the web session key (keys/{SESSION_KEY_FILE} in the data folder) is unreadable or not a Fernet "
            f"key ({reason}); delete it to make a new one (signs everybody out)"
        ) from None
    return key


@dataclass(frozen=True)
class WebSession:
    """What the cookie holds: the CSRF token and, once signed in, the user and the token's hash."""

    csrf: str
    user_id: int | None = None
    token_hash: str | None = None
    issued_at: int = 0
    session_id: str | None = None  # the server's record of the sign-in, ended by signing out

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None and self.token_hash is not None and self.session_id is not None

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(32), issued_at=int(time.time()))

    def check_csrf(self, given: str | None) -> bool:
        """Whether `given` is this session's CSRF token (constant-time comparison)."""
        return bool(given) and hmac.compare_digest(self.csrf.encode("ascii"), str(given).encode("utf-8"))


class SessionCodec:
    """Seal and open session cookies with a Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def dumps(self, session: WebSession) -> str:
        payload = {"c": session.csrf, "u": session.user_id, "t": session.token_hash, "s": session.session_id}
        return self._fernet.encrypt_at_time(
            json.dumps(payload, separators=(",", ":")).encode("utf-8"), session.issued_at
        ).decode("ascii")

    def loads(self, cookie: str | None) -> WebSession | None:
        """The session in `cookie`, or None when it is missing, forged, altered or expired."""
        if not cookie:
            return None
        try:
            token = cookie.encode("ascii")
            issued = self._fernet.extract_timestamp(token)
            data = json.loads(self._fernet.decrypt(token, ttl=SESSION_SECONDS))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        session = WebSession(
            csrf=str(data["c"]),
            user_id=data.get("u"),
            token_hash=data.get("t"),
            issued_at=issued,
            session_id=data.get("s"),
        )
        if not session.signed_in and time.time() - issued > ANONYMOUS_SECONDS:
            return None
        return session


def sign_in(*, session: Session, token: str) -> tuple[WebSession, Principal] | None:
    """Check an API token typed into the sign-in form; a fresh session (new CSRF token) on success."""
    user = principal_for_token(session=session, token=token.strip())
    if user is None:
        return None
    web = WebSession(
        csrf=secrets.token_urlsafe(32),
        user_id=user.id,
        token_hash=hash_token(token.strip()),
        issued_at=int(time.time()),
        session_id=start_web_session(session=session, user_id=user.id),
    )
    return web, user


def principal_of(*, session: Session, web: WebSession) -> Principal | None:
    """The user of a signed-in session, if its API token is still valid and the user still active."""
    if web.user_id is None or web.token_hash is None or web.session_id is None:
        return None
    return principal_for_web_session(
        session=session, session_id=web.session_id, token_hash=web.token_hash, user_id=web.user_id
    )


def set_cookie(response: Any, request: Request, codec: SessionCodec, web: WebSession, path: str) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS, scoped to the UI's path."""
    response.set_cookie(
        COOKIE_NAME,
        codec.dumps(web),
        max_age=SESSION_SECONDS if web.signed_in else ANONYMOUS_SECONDS,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware: security headers on every response under `prefix` (the API's docs keep theirs)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return

        # pages show personal data: never cached; the stylesheet may be
        static = path.startswith(self.prefix + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers.extend(SECURITY_HEADERS)
                headers.append((b"cache-control", b"max-age=3600" if static else b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OURS = frozenset(name for name, _ in SECURITY_HEADERS) | {b"cache-control"}
