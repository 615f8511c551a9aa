"""Helpers of the web tests: an app with the pages installed, leads with hostile free text, sign-in.

Builds on ``_service_support`` (settings, users and tokens per role, the small trained model).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from _service_support import LEAD, Service, free_port, make_settings
from careleads.app import create_app
from careleads.service.leads import utcnow
from careleads.service.users import ROLES, create_token, create_user
from careleads.settings import Settings
from careleads.store import make_engine, session_scope, upgrade

#: free text that would run script or change the page if it were not escaped
HOSTILE = (
    '<script>alert(1)</script> knee pain <b onmouseover="alert(2)">bold</b> '
    '<img src=x onerror=alert(3)> "quoted" & more'
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_app(settings: Settings) -> tuple[FastAPI, dict[str, str]]:
    """Migrate, build the API with its pages, add one user and token per role."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings)  # installs the pages
    tokens: dict[str, str] = {}
    with session_scope(app.state.sessions) as session:
        for role in ROLES:
            create_user(session=session, name=f"{role}-user", role=role)
            tokens[role] = create_token(session=session, user_name=f"{role}-user")
    return app, tokens


def start_web(tmp_path: Path, backend: str = "sqlite", **overrides: Any) -> Iterator[Service]:
    """A web-enabled app on `backend` (SQLite in `tmp_path`, or the test PostgreSQL database) with a
    TestClient (yields a Service)."""
    settings = make_settings(tmp_path, backend, **overrides)
    app, tokens = build_app(settings)
    with TestClient(app) as client:
        yield Service(
            client=client, ctx=app.state.ctx, sessions=app.state.sessions, settings=settings, tokens=tokens
        )


def lead_record(n: int, *, question: str = HOSTILE, hours_ago: float = 2.0, **fields: Any) -> dict[str, Any]:
    """A high-intent patient lead (lands in the review queue), created `hours_ago` hours ago."""
    created = utcnow() - timedelta(hours=hours_ago)
    return {
        **LEAD,
        "lead_id": f"CRM-WEB-{n}",
        "created_at": created.isoformat(timespec="seconds"),
        "full_name": f"Ottoline Vanderpump{n}",
        "email": f"ottoline{n}@example.org",
        "phone": f"(555) 300-{1000 + n}",
        "question": question,
        **fields,
    }


def add_lead(client: httpx.Client | TestClient, token: str, record: dict[str, Any]) -> dict[str, Any]:
    """Create a lead through the API; returns the API's answer."""
    response = client.post("/v1/leads", json=record, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; returns the new session's CSRF token."""
    page = client.get("/ui/login")
    assert page.status_code == 200
    response = client.post(
        "/ui/login", data={"token": token, "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    landing = client.get(response.headers["location"])
    assert landing.status_code == 200, landing.text
    return csrf_of(landing.text)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free port in a thread; yields its base URL, stops it on exit."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
