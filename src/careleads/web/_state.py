"""What the web pages share: templates, the session codec, the signed-in user, role checks, rendering.

Every page is rendered from one JSON-ready dict: as HTML by default, as JSON when the URL ends in ``.json`` or
the request prefers ``application/json`` (its JSON twin). Pages check the role sets of
:mod:`careleads.service.access`, the sets the API checks, so a page and its API equivalent never drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

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


def _moment(value: Any) -> datetime | None:
    """A stored time (naive UTC, or ISO text) as an aware UTC time."""
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _when_in(tz: ZoneInfo) -> Callable[[Any], str]:
    def when(value: Any) -> str:
        """A stored time in the clinic's zone: ``2025-03-04 10:00 CET``."""
        moment = _moment(value)
        return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")

    return when


def _clock_in(tz: ZoneInfo) -> Callable[[Any], str]:
    def clock(value: Any) -> str:
        """A stored time as the clinic's wall clock: ``14:05``."""
        moment = _moment(value)
        return "" if moment is None else moment.astimezone(tz).strftime("%H:%M")

    return clock


def _duration(minutes: Any) -> str:
    """A length of time in minutes as words: ``25 min``, ``1 h 10 min``, ``3 d 4 h``."""
    whole = int(abs(float(minutes)))
    if whole < 60:
        return f"{whole} min"
    hours, mins = divmod(whole, 60)
    if hours < 48:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def _tel(phone: Any) -> str:
    """A phone number as a ``tel:`` target: its digits, with a leading + kept."""
    text = str(phone or "").strip()
    return ("+" if text.startswith("+") else "") + "".join(ch for ch in text if ch.isdigit())


def _ago(minutes: Any) -> str:
    """How long ago, coarse: ``25 min ago``, ``3 h ago``, ``2 d ago``."""
    if minutes is None:
        return "-"
    whole = max(0, int(float(minutes)))
    if whole < 60:
        return f"{whole} min ago"
    if whole < 48 * 60:
        return f"{whole // 60} h ago"
    return f"{whole // (24 * 60)} d ago"


def _countdown(minutes: Any) -> str:
    """Time left before an SLA in minutes (negative: past it): ``due in 25 min``, ``overdue by 1 h 5 min``."""
    if minutes is None:
        return "no SLA"
    left = float(minutes)
    if left < 0:
        return f"overdue by {_duration(max(1.0, math.ceil(-left)))}"
    return "due in under 1 min" if left < 1 else f"due in {_duration(math.floor(left))}"


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


def make_environment(tz: ZoneInfo | None = None) -> Environment:
    """The templates in ``careleads/templates/web``, autoescaped; an undefined name is an error; times are
    shown in `tz` (the clinic's zone; default UTC)."""
    zone = tz or ZoneInfo("UTC")
    env = Environment(
        loader=PackageLoader("careleads", "templates/web"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(words=_words, pct=_pct, number=_number, reason=_reason, value=_value)
    env.filters.update(when=_when_in(zone), clock=_clock_in(zone), countdown=_countdown, ago=_ago, tel=_tel)
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
        ("jobs", "Jobs"),
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
