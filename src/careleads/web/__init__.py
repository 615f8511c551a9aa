"""Server-rendered pages for intake reviewers and managers, mounted on the service's app by :func:`install`.

Pages (under ``/ui``), each with a JSON twin at the same URL plus ``.json`` (or with
``Accept: application/json``), readable with the session cookie or an API bearer token:

========================  ============================  ======================================
page                      roles                         API equivalent
========================  ============================  ======================================
``/ui/login``             everyone                      (a bearer token)
``/ui/queue``             admin, reviewer (own queues)  ``GET /v1/review-queue``
``/ui/leads/{id}``        admin, reviewer (own queues   ``GET /v1/leads/{id}``,
                          and leads just labelled),     ``POST /v1/leads/{id}/feedback``
                          analyst, integration (own)    ``.../feedback/undo``, ``.../feedback/notes``
``/ui/dashboard``         admin, analyst, reviewer      (``careleads monitor`` on an export)
``/ui/models``            admin, analyst                ``GET /v1/models``, ``POST
                                                        /v1/models/{version}/publish``, rollback
``/ui/rules``             admin, analyst (edit: admin)  (the YAML files)
``/ui/jobs``              admin                         ``GET /v1/admin/jobs``
``/ui/audit``             admin, auditor                ``GET /v1/audit`` (filtered, paginated)
========================  ============================  ======================================

Sign-in takes an API token (``careleads tokens create``) and sets a sealed, HttpOnly, SameSite=Lax session
cookie; every form carries a CSRF token; pages send a strict Content-Security-Policy (no scripts at all).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from careleads.web._errors import install_error_pages
from careleads.web._lead_page import build_lead_router
from careleads.web._pages import PAGE_ROLES, build_router
from careleads.web._security import SecurityHeaders, SessionCodec, load_session_key
from careleads.web._state import SignInRequired, WebState, make_environment, wants_json

__all__ = ["PAGE_ROLES", "install"]

log = logging.getLogger("careleads.web")


def install(app: FastAPI, *, prefix: str = "/ui") -> None:
    """Mount the web pages, their static files and security headers on an app from ``create_app``.

    Parameters
    ----------
    app : FastAPI
        The app built by :func:`careleads.app.create_app` (not started yet).
    prefix : str, default "/ui"
        Where the pages live; ``/`` redirects there when the app has no page of its own at ``/``.

    Raises
    ------
    ConfigError
        If the web session key is invalid.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from careleads.app import create_app
    >>> from careleads.settings import Settings
    >>> folder = tempfile.TemporaryDirectory()
    >>> data_dir = Path(folder.name)
    >>> app = create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'careleads.db'}"))
    >>> app.state.web_installed  # create_app installs the pages
    True
    >>> n_routes = len(app.routes)
    >>> install(app)  # a second call does nothing
    >>> len(app.routes) == n_routes
    True
    >>> folder.cleanup()
    """
    if getattr(app.state, "web_installed", False):
        return  # create_app installs the pages; a second install would stack middleware and handlers
    app.state.web_installed = True
    prefix = "/" + prefix.strip("/")
    ctx = app.state.ctx
    state = WebState(
        prefix=prefix,
        env=make_environment(ctx.settings.clinic_tz),
        codec=SessionCodec(load_session_key(ctx.settings.data_dir / "keys")),
        extra={"page_roles": PAGE_ROLES},
    )
    app.state.web = state
    app.include_router(build_router(prefix))
    app.include_router(build_lead_router(prefix))
    app.mount(f"{prefix}/static", StaticFiles(packages=[("careleads", "static")]), name="web_static")

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        if wants_json(request):
            return JSONResponse(
                {"detail": f"{exc}: sign in at {prefix}/login or send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"{prefix}/login?next={quote(target)}", status_code=303)

    app.add_exception_handler(SignInRequired, sign_in_first)
    install_error_pages(app, prefix)
    app.add_middleware(SecurityHeaders, prefix=prefix)
    if not any(getattr(r, "path", None) == "/" for r in app.routes):

        def root() -> RedirectResponse:
            return RedirectResponse(f"{prefix}/", status_code=307)

        app.add_api_route("/", root, methods=["GET"], include_in_schema=False)
    log.info("web pages mounted at %s", prefix)
