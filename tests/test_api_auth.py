"""Roles x routes: every route of the app declares its roles; no token is 401, a wrong role 403, the right
role 2xx. The matrix is built from ``app.routes``, so a new route without an example request fails here."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from _service_support import LEAD, Service, make_settings, start_service, trained_model
from _web_support import sign_in
from careleads.api.deps import RoleGuard, TokenCache
from careleads.models import ModelRegistry
from careleads.service.access import Principal
from careleads.service.users import ROLES
from careleads.store import ApiToken

_counter = itertools.count()
URGENT = "crushing chest pain since this morning and short of breath"


def _roles_of(route: APIRoute) -> frozenset[str] | None:
    """The roles a route admits (None: open), found in its dependency tree."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, RoleGuard):
            return dependant.call.roles
        stack.extend(dependant.dependencies)
    return None


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    settings = make_settings(
        tmp_path_factory.mktemp("auth"),
        "sqlite",
        webhook_url="http://127.0.0.1:9/closed",
        webhook_secret="s3cret",
        webhook_poll_seconds=3600,
        webhook_timeout_seconds=1,
    )
    ModelRegistry(settings.registry_path()).register(trained_model())
    yield from start_service(settings)


def _new_lead(service: Service) -> int:
    """A lead that a hard rule sends to clinical triage, so it always waits in the review queue; created by
    the integration (which reads only the leads it created)."""
    lead = {**LEAD, "lead_id": f"A{next(_counter)}", "question": URGENT}
    response = service.client.post("/v1/leads", json=lead, headers=service.headers("integration"))
    assert response.status_code == 201, response.text
    assert response.json()["decision"]["review_required"]
    return int(response.json()["id"])


def _new_external_id(service: Service) -> str:
    """The external (CRM) id of a new lead (see :func:`_new_lead`)."""
    lead_id = _new_lead(service)
    lead = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin")).json()
    return str(lead["external_id"])


Request = Callable[[Service, dict[str, str]], Any]


def _batch_id(service: Service) -> str:
    data = io.BytesIO()
    data.write(b"lead_id,created_at,service_line\nZ1,2025-01-01T10:00:00,Ortho\n")
    response = service.client.post(
        "/v1/batches", files={"file": ("z.csv", data.getvalue())}, headers=service.headers("admin")
    )
    return str(response.json()["id"])


def _version(service: Service) -> str:
    return ModelRegistry(service.settings.registry_path()).versions()[0].version


def _rollback(service: Service, headers: dict[str, str]) -> Any:
    registry = ModelRegistry(service.settings.registry_path())
    for _ in range(2):  # rollback needs a publication before the current one
        registry.publish(_version(service), actor="test")
    return service.client.post("/v1/models/rollback", headers=headers)


def _labelled_then(service: Service, headers: dict[str, str], what: str, **body: Any) -> Any:
    """Label a new lead with `headers`, then post to its ``feedback/<what>`` (undo, notes) with them."""
    lead_id = _new_lead(service)
    service.client.post(f"/v1/leads/{lead_id}/feedback", json={"label": "follow_later"}, headers=headers)
    return service.client.post(f"/v1/leads/{lead_id}/feedback/{what}", headers=headers, **body)


REQUESTS: dict[tuple[str, str], Request] = {
    ("GET", "/v1/health"): lambda s, h: s.client.get("/v1/health", headers=h),
    ("POST", "/v1/leads"): lambda s, h: s.client.post(
        "/v1/leads", json={**LEAD, "lead_id": f"P{next(_counter)}"}, headers=h
    ),
    ("GET", "/v1/leads/{lead_id}"): lambda s, h: s.client.get(f"/v1/leads/{_new_lead(s)}", headers=h),
    ("DELETE", "/v1/leads/{lead_id}"): lambda s, h: s.client.delete(f"/v1/leads/{_new_lead(s)}", headers=h),
    ("DELETE", "/v1/leads/external/{external_id}"): lambda s, h: s.client.delete(
        f"/v1/leads/external/{_new_external_id(s)}", headers=h
    ),
    ("POST", "/v1/leads/{lead_id}/events"): lambda s, h: s.client.post(
        f"/v1/leads/{_new_lead(s)}/events",
        json={"event_id": "E1", "occurred_at": "2025-03-04T11:00:00", "event_type": "email_open"},
        headers=h,
    ),
    ("POST", "/v1/leads/{lead_id}/outcomes"): lambda s, h: s.client.post(
        f"/v1/leads/{_new_lead(s)}/outcomes",
        json={"outcome": "appointment_scheduled", "occurred_at": "2025-03-05T11:00:00"},
        headers=h,
    ),
    ("POST", "/v1/leads/{lead_id}/feedback"): lambda s, h: s.client.post(
        f"/v1/leads/{_new_lead(s)}/feedback", json={"label": "follow_later"}, headers=h
    ),
    ("POST", "/v1/leads/{lead_id}/feedback/undo"): lambda s, h: _labelled_then(s, h, "undo"),
    ("POST", "/v1/leads/{lead_id}/feedback/notes"): lambda s, h: _labelled_then(
        s, h, "notes", json={"note": "called back, no answer"}
    ),
    ("POST", "/v1/score"): lambda s, h: s.client.post("/v1/score", json={"leads": [LEAD]}, headers=h),
    ("POST", "/v1/batches"): lambda s, h: s.client.post(
        "/v1/batches", files={"file": ("b.csv", b"lead_id,created_at\nQ1,2025-01-01T00:00:00\n")}, headers=h
    ),
    ("GET", "/v1/batches/{batch_id}"): lambda s, h: s.client.get(f"/v1/batches/{_batch_id(s)}", headers=h),
    ("GET", "/v1/batches/{batch_id}/result"): lambda s, h: s.client.get(
        f"/v1/batches/{_batch_id(s)}/result", headers=h
    ),
    ("GET", "/v1/review-queue"): lambda s, h: s.client.get("/v1/review-queue", headers=h),
    ("GET", "/v1/models"): lambda s, h: s.client.get("/v1/models", headers=h),
    ("POST", "/v1/models/{version}/publish"): lambda s, h: s.client.post(
        f"/v1/models/{_version(s)}/publish", headers=h
    ),
    ("POST", "/v1/models/rollback"): lambda s, h: _rollback(s, h),
    ("GET", "/v1/audit"): lambda s, h: s.client.get("/v1/audit", params={"limit": 5}, headers=h),
    ("GET", "/v1/audit/verify"): lambda s, h: s.client.get("/v1/audit/verify", headers=h),
    ("GET", "/v1/admin/users"): lambda s, h: s.client.get("/v1/admin/users", headers=h),
    ("POST", "/v1/admin/users"): lambda s, h: s.client.post(
        "/v1/admin/users", json={"name": f"u{next(_counter)}", "role": "analyst"}, headers=h
    ),
    ("POST", "/v1/admin/tokens"): lambda s, h: s.client.post(
        "/v1/admin/tokens", json={"user": "analyst-user"}, headers=h
    ),
    ("POST", "/v1/admin/users/{name}/deactivate"): lambda s, h: s.client.post(
        f"/v1/admin/users/{_new_user(s)}/deactivate", headers=h
    ),
    ("POST", "/v1/admin/tokens/revoke"): lambda s, h: s.client.post(
        "/v1/admin/tokens/revoke", json={"user": _new_user(s, token=True)}, headers=h
    ),
    ("GET", "/v1/admin/outbox"): lambda s, h: s.client.get("/v1/admin/outbox", headers=h),
    ("POST", "/v1/admin/outbox/deliver"): lambda s, h: s.client.post("/v1/admin/outbox/deliver", headers=h),
    ("POST", "/v1/admin/outbox/requeue"): lambda s, h: s.client.post(
        "/v1/admin/outbox/requeue", json={"dead": True}, headers=h
    ),
    ("GET", "/v1/admin/outbox/export"): lambda s, h: s.client.get("/v1/admin/outbox/export", headers=h),
    ("GET", "/v1/batches/{batch_id}/{which}"): lambda s, h: s.client.get(
        f"/v1/batches/{_batch_id(s)}/flagged", headers=h
    ),
    ("GET", "/v1/admin/unknown-values"): lambda s, h: s.client.get("/v1/admin/unknown-values", headers=h),
    ("GET", "/v1/admin/jobs"): lambda s, h: s.client.get("/v1/admin/jobs", headers=h),
    ("POST", "/v1/admin/unknown-values/map"): lambda s, h: s.client.post(
        "/v1/admin/unknown-values/map",
        json={"field": "service_line", "value": f"Clinic {next(_counter)}", "to": "orthopedics"},
        headers=h,
    ),
}


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """APIRoutes of the app, looking into included routers (FastAPI wraps them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(list(route.original_router.routes))


def _is_api(path: str) -> bool:
    # the web pages (/ui, and / redirecting there) sign in with a session cookie; their role checks are
    # tested in test_web_templates.py
    return path.startswith("/v1")


def _routes(service: Service) -> list[tuple[str, str, frozenset[str] | None]]:
    app = service.client.app
    out = [
        (method, route.path, _roles_of(route))
        for route in _api_routes(list(app.routes))  # type: ignore[attr-defined]
        if _is_api(route.path)
        for method in sorted(route.methods or ())
    ]
    # the same set as the published OpenAPI document: nothing is missed
    documented = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()  # type: ignore[attr-defined]
        if _is_api(path)
        for method in item
    }
    assert {(m, p) for m, p, _ in out} == documented
    return out


def _new_user(service: Service, *, token: bool = False) -> str:
    """A fresh analyst (with a token when asked), added by the admin."""
    name = f"n{next(_counter)}"
    admin = service.headers("admin")
    service.client.post("/v1/admin/users", json={"name": name, "role": "analyst"}, headers=admin)
    if token:
        service.client.post("/v1/admin/tokens", json={"user": name}, headers=admin)
    return name


def test_taking_access_away_ends_tokens_and_web_sessions_and_is_audited(service: Service) -> None:
    """Finding: no supported way to take access away. Revoking a token, then deactivating a user, through
    the admin API: the token, and a web session signed in with the user's other token, stop working."""
    admin = service.headers("admin")
    name = _new_user(service)
    tokens = [
        service.client.post("/v1/admin/tokens", json={"user": name}, headers=admin).json()["token"]
        for _ in range(2)
    ]
    first, second = ({"Authorization": f"Bearer {t}"} for t in tokens)
    assert service.client.get("/v1/models", headers=first).status_code == 200
    revoked = service.client.post(
        "/v1/admin/tokens/revoke", json={"user": name, "prefix": tokens[0][:10]}, headers=admin
    )
    assert revoked.status_code == 200 and revoked.json()["revoked"] == 1, revoked.text
    service.client.app.state.tokens = TokenCache(0.0)  # as once the server's cache time has passed
    assert service.client.get("/v1/models", headers=first).status_code == 401
    assert service.client.get("/v1/models", headers=second).status_code == 200
    web = TestClient(service.client.app)
    sign_in(web, tokens[1])
    assert web.get("/ui/models").status_code == 200
    gone = service.client.post(f"/v1/admin/users/{name}/deactivate", headers=admin)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert service.client.get("/v1/models", headers=second).status_code == 401
    assert web.get("/ui/models", follow_redirects=False).status_code in (302, 303, 401)
    actions = [e["action"] for e in service.client.get("/v1/audit", headers=admin).json()["data"]]
    assert "token.revoke" in actions and "user.deactivate" in actions


def test_every_route_declares_roles_and_has_an_example(service: Service) -> None:
    routes = _routes(service)
    assert len(routes) == len(REQUESTS)
    for method, path, roles in routes:
        assert (method, path) in REQUESTS, f"add an example request for {method} {path}"
        if path == "/v1/health":
            assert roles is None
        else:
            assert roles is not None, f"{method} {path} declares no role"
            assert "admin" in roles and roles <= set(ROLES)


def test_role_matrix(service: Service) -> None:
    problems = []
    for method, path, roles in _routes(service):
        send = REQUESTS[(method, path)]
        if roles is None:
            answer = send(service, {})
            if not 200 <= answer.status_code < 300:
                problems.append(f"{method} {path} open: {answer.status_code}")
            continue
        for headers, expected in (({}, 401), ({"Authorization": "Bearer clk_not-a-token"}, 401)):
            answer = send(service, headers)
            if answer.status_code != expected:
                problems.append(f"{method} {path} {headers or 'no token'}: {answer.status_code}")
        for role in ROLES:
            answer = send(service, service.headers(role))
            ok = 200 <= answer.status_code < 300
            if role in roles and not ok:
                problems.append(f"{method} {path} as {role}: {answer.status_code} {answer.text[:200]}")
            if role not in roles and answer.status_code != 403:
                problems.append(f"{method} {path} as {role}: {answer.status_code}, expected 403")
    assert not problems, "\n".join(problems)


def test_role_specific_views(service: Service) -> None:
    lead_id = _new_lead(service)
    analyst = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("analyst")).json()
    assert analyst["external_id"] is None and analyst["contact"] is None and analyst["texts"] is None
    assert "sex" not in analyst["fields"] and "age" not in analyst["fields"]
    integration = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("integration")).json()
    assert integration["external_id"] is not None and integration["contact"] is None
    assert integration["fields"] == {} and integration["texts"] is None  # ids and decisions only
    reviewer = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("reviewer")).json()
    assert reviewer["contact"]["full_name"] == LEAD["full_name"]


def test_token_creation_shows_the_token_once_and_it_works(service: Service) -> None:
    response = service.client.post(
        "/v1/admin/tokens", json={"user": "auditor-user"}, headers=service.headers("admin")
    )
    token = response.json()["token"]
    assert (
        service.client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    users = service.client.get("/v1/admin/users", headers=service.headers("admin")).text
    assert token not in users


def test_token_cache_trusts_a_check_for_its_time_only() -> None:
    now = [100.0]
    cache = TokenCache(5.0, max_entries=20, clock=lambda: now[0])
    ana = Principal(id=1, name="ana", role="analyst")
    assert cache.get("h1") == (False, None)
    cache.put("h1", ana)
    cache.put("bad", None)  # unknown tokens are remembered too
    assert cache.get("h1") == (True, ana) and cache.get("bad") == (True, None)
    now[0] = 105.0
    assert cache.get("h1") == (False, None)  # expired: checked against the store again
    for i in range(25):
        cache.put(f"k{i}", ana)
    assert len(cache._entries) <= 20 and cache.get("k24") == (True, ana)
    off = TokenCache(0.0, clock=lambda: now[0])
    off.put("h1", ana)
    assert off.get("h1") == (False, None)


@pytest.mark.parametrize("seconds", [0.0, 3600.0])
def test_a_revoked_token_stops_working_after_the_cache_time(tmp_path: Path, seconds: float) -> None:
    settings = make_settings(tmp_path, "sqlite", token_cache_seconds=seconds)
    for service in start_service(settings):
        headers = service.headers("analyst")
        assert service.client.get("/v1/models", headers=headers).status_code == 200
        with service.sessions() as session, session.begin():
            session.execute(update(ApiToken).values(revoked=True))
        expected = 401 if seconds == 0 else 200  # trusted from memory until the check expires
        assert service.client.get("/v1/models", headers=headers).status_code == expected
        service.client.app.state.tokens = TokenCache(seconds)  # as after the cache time
        assert service.client.get("/v1/models", headers=headers).status_code == 401


def test_health_answers_503_while_the_database_does_not(service: Service) -> None:
    from sqlalchemy import create_engine

    app = service.client.app
    working = app.state.engine  # type: ignore[attr-defined]
    assert service.client.get("/v1/health").status_code == 200
    app.state.engine = create_engine("sqlite:////nonexistent-folder/careleads.db")  # type: ignore[attr-defined]
    try:
        answer = service.client.get("/v1/health")
    finally:
        app.state.engine.dispose()  # type: ignore[attr-defined]
        app.state.engine = working  # type: ignore[attr-defined]
    assert answer.status_code == 503
    assert answer.json()["status"] == "degraded" and answer.json()["database"] == "unreachable"
