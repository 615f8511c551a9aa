"""Error pages: under the web prefix, the app's error answers become HTML pages (JSON twins keep JSON).

The app's exception handlers (:func:`careleads.service.http.install_error_handlers`: 404 for unknown leads,
409 for bad configuration, 403 from role checks, 422 for invalid input, ...) decide the status and the
message; one page handler wraps them all, so a page and its API equivalent fail the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from careleads.service.access import REVIEW_QUEUE_READ, Principal
from careleads.web._state import SignInRequired, render, wants_json, web_user

__all__ = ["install_error_pages"]

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

_TITLES = {
    400: "Bad request",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Configuration problem",
    410: "Erased",
    422: "Please check the input",
    503: "Busy",
}


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail]
    return [str(detail)]


def _on_web(request: Request, prefix: str) -> bool:
    path = request.url.path
    return (path == prefix or path.startswith(prefix + "/")) and not wants_json(request)


def _signed_in(request: Request) -> Principal | None:
    """The signed-in user, so an error page keeps the menu; None when nobody (valid) is signed in."""
    try:
        return web_user(request)
    except SignInRequired:
        return None
    except Exception:  # the error may be the store itself: the page still renders, without the menu
        return None


def _wrap(handler: Handler, prefix: str) -> Handler:
    async def wrapped(request: Request, exc: Any) -> Response:
        answer = handler(request, exc)
        response = await answer if isinstance(answer, Awaitable) else answer
        if not _on_web(request, prefix) or response.status_code < 400:
            return response
        try:
            detail = json.loads(bytes(response.body)).get("detail", "")
        except (ValueError, AttributeError):
            detail = ""
        user = _signed_in(request)
        data = {
            "status": response.status_code,
            "title": _TITLES.get(response.status_code, "Something went wrong"),
            "messages": _messages(detail) if detail else [],
            "queue_link": user is not None and user.role in REVIEW_QUEUE_READ,
        }
        return render(request, "error.html", data, user=user, page="error", status_code=response.status_code)

    return wrapped


def install_error_pages(app: FastAPI, prefix: str) -> None:
    """Wrap every exception handler of `app` (and FastAPI's HTTP error handler) for HTML under `prefix`."""
    if StarletteHTTPException not in app.exception_handlers:
        from fastapi.exception_handlers import http_exception_handler

        app.exception_handlers[StarletteHTTPException] = http_exception_handler
    for key, handler in list(app.exception_handlers.items()):
        if key in (500, Exception):
            continue
        app.exception_handlers[key] = _wrap(handler, prefix)
