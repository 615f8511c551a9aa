"""Least privilege, the same on every surface: one table says who may do what to a lead of the clinical
triage line, and each (caller, action) is tried through the API and through the pages, on both databases.

Finding 8 of issue 23: an integration token read any lead by its sequential id (with age, sex and postal
code); every reviewer saw every queue; a route change could name an owner who is not in the queue; an
analyst could publish a model through the API but not through the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from _service_support import (
    BACKENDS,
    LEAD,
    Service,
    make_settings,
    publish,
    reviewer_routing,
    start_service,
    trained_model,
)
from _web_support import sign_in
from careleads.service.users import create_token, create_user
from careleads.store import session_scope

URGENT = "crushing chest pain since this morning and short of breath"
_counter = itertools.count()

#: caller -> (user name, role); the routing names nurse_ali an owner of clinical_triage_line, lena of
#: intake_general only
CALLERS: dict[str, tuple[str, str]] = {
    "admin": ("admin-user", "admin"),
    "analyst": ("analyst-user", "analyst"),
    "auditor": ("auditor-user", "auditor"),
    "reviewer of the queue": ("nurse_ali", "reviewer"),
    "reviewer of another queue": ("lena", "reviewer"),
    "integration that created it": ("crm-one", "integration"),
    "another integration": ("crm-two", "integration"),
}

#: THE table: action -> the callers allowed it, on the API and on the pages alike (everyone else is denied)
ALLOWED: dict[str, frozenset[str]] = {
    "read the lead": frozenset({"admin", "analyst", "reviewer of the queue", "integration that created it"}),
    # sensitive attributes: admins only (reviewers work the lead without them); the quasi-identifier postal
    # code: whoever sees the contact details
    "see its age and sex": frozenset({"admin"}),
    "see its postal code": frozenset({"admin", "reviewer of the queue"}),
    "see its contact details": frozenset({"admin", "reviewer of the queue"}),
    "see it in the review queue": frozenset({"admin", "reviewer of the queue"}),
    "label it": frozenset({"admin", "reviewer of the queue"}),
    "publish a model": frozenset({"admin", "analyst"}),
    "get its decision by sending its external id again": frozenset({"admin", "integration that created it"}),
}
SURFACES = ("api", "page")
#: actions that have no page (leads are created through the API only)
API_ONLY = frozenset({"get its decision by sending its external id again"})
SENSITIVE = ("age", "sex")
QUASI_IDENTIFIERS = ("postal_code",)


@dataclass
class World:
    service: Service
    tokens: dict[str, str]  # caller -> API token
    pages: dict[str, tuple[TestClient, str]]  # caller -> signed-in page client and its CSRF token
    version: str


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    routing = reviewer_routing(tmp_path / "shipped-routing", members=())  # the shipped queues and owners only
    settings = make_settings(tmp_path, request.param, routing_file=routing)
    version = publish(settings, trained_model())
    for service in start_service(settings):
        tokens: dict[str, str] = {}
        with session_scope(service.sessions) as session:
            for caller, (name, role) in CALLERS.items():
                if name.endswith("-user"):
                    tokens[caller] = service.tokens[role]
                else:
                    create_user(session=session, name=name, role=role)
                    tokens[caller] = create_token(session=session, user_name=name)
        pages: dict[str, tuple[TestClient, str]] = {}
        for caller, token in tokens.items():
            client = TestClient(service.client.app)
            pages[caller] = (client, sign_in(client, token))
        yield World(service=service, tokens=tokens, pages=pages, version=version)


def _record() -> dict[str, Any]:
    return {**LEAD, "lead_id": f"SCOPE-{next(_counter)}", "question": URGENT, "postal_code": "10115"}


def _lead(world: World, record: dict[str, Any] | None = None) -> int:
    """A new lead of the clinical triage line (a hard rule sends it there), created by crm-one."""
    headers = {"Authorization": f"Bearer {world.tokens['integration that created it']}"}
    answer = world.service.client.post("/v1/leads", json=record or _record(), headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["decision"]["route"]["queue"] == "clinical_triage_line"
    return int(answer.json()["id"])


def _verdict(status: int, allowed_statuses: tuple[int, ...], shown: bool = True) -> bool:
    """Allowed (True) or denied (False); an answer that is neither fails the test."""
    if status in allowed_statuses:
        return shown
    assert status in (403, 404), f"neither allowed nor denied: {status}"
    return False


def _read(world: World, caller: str, surface: str, lead_id: int) -> tuple[int, dict[str, Any]]:
    if surface == "api":
        headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
        answer = world.service.client.get(f"/v1/leads/{lead_id}", headers=headers)
        return answer.status_code, answer.json() if answer.status_code == 200 else {}
    client, _csrf = world.pages[caller]
    answer = client.get(f"/ui/leads/{lead_id}.json")
    return answer.status_code, answer.json()["lead"] if answer.status_code == 200 else {}


def _try_read(world: World, caller: str, surface: str) -> bool:
    status, _lead_view = _read(world, caller, surface, _lead(world))
    return _verdict(status, (200,))


def _try_fields(world: World, caller: str, surface: str, names: tuple[str, ...]) -> bool:
    status, view = _read(world, caller, surface, _lead(world))
    shown = [name for name in names if name in (view.get("fields") or {})]
    assert shown in ([], list(names)), f"some hidden fields shown: {shown}"
    return _verdict(status, (200,), bool(shown))


def _try_sensitive(world: World, caller: str, surface: str) -> bool:
    return _try_fields(world, caller, surface, SENSITIVE)


def _try_postal_code(world: World, caller: str, surface: str) -> bool:
    return _try_fields(world, caller, surface, QUASI_IDENTIFIERS)


def _try_contact(world: World, caller: str, surface: str) -> bool:
    status, view = _read(world, caller, surface, _lead(world))
    return _verdict(status, (200,), view.get("contact") is not None)


def _try_queue(world: World, caller: str, surface: str) -> bool:
    lead_id = _lead(world)
    if surface == "api":
        headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
        answer = world.service.client.get("/v1/review-queue", params={"limit": 500}, headers=headers)
        listed = answer.status_code == 200 and lead_id in [i["lead_id"] for i in answer.json()["data"]]
    else:
        client, _csrf = world.pages[caller]
        answer = client.get("/ui/queue.json")
        listed = answer.status_code == 200 and lead_id in [i["lead_id"] for i in answer.json()["items"]]
    return _verdict(answer.status_code, (200,), listed)


def _try_label(world: World, caller: str, surface: str) -> bool:
    lead_id = _lead(world)
    if surface == "api":
        headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
        answer = world.service.client.post(
            f"/v1/leads/{lead_id}/feedback", json={"label": "follow_later"}, headers=headers
        )
        return _verdict(answer.status_code, (201,))
    client, csrf = world.pages[caller]
    answer = client.post(
        f"/ui/leads/{lead_id}/feedback",
        data={"label": "follow_later", "csrf_token": csrf},
        follow_redirects=False,
    )
    return _verdict(answer.status_code, (303,))


def _try_publish(world: World, caller: str, surface: str) -> bool:
    if surface == "api":
        headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
        answer = world.service.client.post(f"/v1/models/{world.version}/publish", headers=headers)
        return _verdict(answer.status_code, (200,))
    client, csrf = world.pages[caller]
    answer = client.post(
        f"/ui/models/{world.version}/publish",
        data={"csrf_token": csrf, "reason": "least-privilege check"},
        follow_redirects=False,
    )
    return _verdict(answer.status_code, (303,))


def _try_repeat(world: World, caller: str, surface: str) -> bool:
    assert surface == "api"
    record = _record()
    lead_id = _lead(world, record)
    headers = {"Authorization": f"Bearer {world.tokens[caller]}"}
    answer = world.service.client.post("/v1/leads", json=record, headers=headers)
    shown = answer.status_code == 200 and answer.json()["id"] == lead_id and "decision" in answer.json()
    return _verdict(answer.status_code, (200,), shown)


ATTEMPTS: dict[str, Callable[[World, str, str], bool]] = {
    "read the lead": _try_read,
    "see its age and sex": _try_sensitive,
    "see its postal code": _try_postal_code,
    "see its contact details": _try_contact,
    "see it in the review queue": _try_queue,
    "label it": _try_label,
    "publish a model": _try_publish,
    "get its decision by sending its external id again": _try_repeat,
}


def test_every_caller_may_do_the_same_on_every_surface_as_the_table_says(world: World) -> None:
    assert set(ATTEMPTS) == set(ALLOWED)
    wrong = []
    for action, attempt in ATTEMPTS.items():
        for caller in CALLERS:
            expected = caller in ALLOWED[action]
            for surface in ("api",) if action in API_ONLY else SURFACES:
                got = attempt(world, caller, surface)
                if got != expected:
                    wrong.append(
                        f"{caller} / {action} / {surface}: {'allowed' if got else 'denied'}, "
                        f"expected {'allowed' if expected else 'denied'}"
                    )
    assert not wrong, "\n".join(wrong)


def test_a_route_change_names_an_owner_of_the_target_queue(world: World) -> None:
    lead_id = _lead(world)
    headers = {"Authorization": f"Bearer {world.tokens['reviewer of the queue']}"}
    client = world.service.client
    outside = {"label": "follow_later", "route": {"queue": "intake_general", "owner": "nurse_bea"}}
    refused = client.post(f"/v1/leads/{lead_id}/feedback", json=outside, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "route.owner"]
    assert "nurse_bea" in refused.json()["detail"][0]["msg"]
    page, csrf = world.pages["reviewer of the queue"]
    on_page = page.post(
        f"/ui/leads/{lead_id}/feedback",
        data={"label": "follow_later", "route": "intake_general|nurse_bea", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert on_page.status_code == 422 and "route.owner" in on_page.text
    inside = {"label": "follow_later", "route": {"queue": "intake_general", "owner": "lena"}}
    moved = client.post(f"/v1/leads/{lead_id}/feedback", json=inside, headers=headers)
    assert moved.status_code == 201, moved.text
    assert moved.json()["decision"]["route"]["owner"] == "lena"
