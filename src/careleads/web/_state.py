"""What the web pages share: templates, the session codec, the signed-in user, role checks, rendering.

Every page is rendered from one JSON-ready dict: as HTML by default, as JSON when the URL ends in ``.json`` or
the request prefers ``application/json`` (its JSON twin). Pages check the role sets of
:mod:`careleads.service.access`, the sets the API checks, so a page and its API equivalent never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from careleads.service.access import Principal
from careleads.service.users import principal_for_token
from careleads.store import session_scope
from careleads.web._security import COOKIE_NAME, CSRF_FIELD, SessionCodec, WebSession, principal_of

__all__ = [
    "SignInRequired",
    "WebState",
    "check_csrf",
    "render",
    "wants_json",
    "web_state",
    "web_user",
]


class SignInRequired(Exception):
    """No valid session: HTML pages redirect to the sign-in form, JSON twins answer 401."""


def _words(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else ""


def _when(value: Any) -> str:
    """A stored time (naive UTC, or ISO text) as ``2025-03-04 10:00 UTC``."""
    if value in (None, ""):
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC"


def _pct(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{float(value) * 100:.{digits}f}%"


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{float(value):,.{digits}f}"


def _reason(value: Any) -> str:
    """A reason ``+ inquiry type = scheduling`` in words: ``raises the score: inquiry type = scheduling``."""
    text = _words(value).strip()
    if text.startswith("+ "):
        return "raises the score: " + text[2:]
    if text.startswith("- "):
        return "lowers the score: " + text[2:]
    return text


def _value(value: Any) -> str:
    """A field value as text: whole floats without decimals, yes/no for booleans, words for codes."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _words(value)


def make_environment() -> Environment:
    """The templates in ``careleads/templates/web``, autoescaped; an undefined name is an error."""
    env = Environment(
        loader=PackageLoader("careleads", "templates/web"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(words=_words, when=_when, pct=_pct, number=_number, reason=_reason, value=_value)
    return env


@dataclass
class WebState:
    """Per-app web settings: URL prefix, templates and the session codec."""

    prefix: str
    env: Environment
    codec: SessionCodec
    extra: dict[str, Any] = field(default_factory=dict)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def wants_json(request: Request) -> bool:
    """The JSON twin is asked for: a ``.json`` URL, or ``Accept`` preferring JSON over HTML."""
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return first == "application/json"


def web_user(request: Request) -> Principal:
    """The signed-in user: the session cookie, or (GET only, for the JSON twins) an API bearer token."""
    sessions = request.app.state.sessions
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and request.method in ("GET", "HEAD"):
        with session_scope(sessions) as session:
            principal = principal_for_token(session=session, token=auth[7:].strip())
        if principal is None:
            raise SignInRequired("unknown, revoked or malformed API token")
        request.state.web_session = None
        return principal
    web = web_state(request).codec.loads(request.cookies.get(COOKIE_NAME))
    principal = None
    if web is not None and web.signed_in:
        with session_scope(sessions) as session:
            principal = principal_of(session=session, web=web)
    if principal is None:
        raise SignInRequired("sign in with an API token")
    request.state.web_session = web
    return principal


def check_csrf(request: Request, given: str | None) -> WebSession:
    """403 unless `given` is the session's CSRF token and the form was posted from this site."""
    web: WebSession | None = getattr(request.state, "web_session", None)
    if web is None:
        web = web_state(request).codec.loads(request.cookies.get(COOKIE_NAME))
    origin = request.headers.get("origin")
    same_site = origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"
    if web is None or not same_site or not web.check_csrf(given):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="the form expired or did not come from this site; reload the page and send it again",
        )
    return web


def nav(prefix: str, user: Principal | None, roles: Mapping[str, frozenset[str]]) -> list[dict[str, str]]:
    """The menu entries the user's role may open."""
    pages = (
        ("queue", "Review queue"),
        ("dashboard", "Dashboard"),
        ("models", "Models"),
        ("rules", "Rules"),
        ("unknowns", "Unknown values"),
        ("audit", "Audit log"),
    )
    if user is None:
        return []
    return [
        {"name": name, "title": title, "url": f"{prefix}/{name}"}
        for name, title in pages
        if user.role in roles.get(name, frozenset())
    ]


def render(
    request: Request,
    template: str,
    data: Mapping[str, Any],
    *,
    user: Principal | None,
    page: str = "",
    status_code: int = 200,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """The page as HTML, or its JSON twin (``data`` only)."""
    if wants_json(request):
        return JSONResponse(jsonable_encoder(data), status_code=status_code)
    state = web_state(request)
    web: WebSession | None = getattr(request.state, "web_session", None)
    path = request.url.path
    query = urlencode(list(request.query_params.multi_items()))
    json_url = f"{path}.json" + (f"?{query}" if query else "")
    context = {
        "data": data,
        "user": user,
        "page": page,
        "prefix": state.prefix,
        "csrf_field": CSRF_FIELD,
        "csrf": web.csrf if web is not None else "",
        "nav": nav(state.prefix, user, state.extra.get("page_roles", {})),
        "json_url": json_url if user is not None else "",
        "here": quote(path),
        **(extra or {}),
    }
    html = state.env.get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code)
