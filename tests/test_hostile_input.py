"""Hostile bytes and dates at the door: no write route answers 5xx, nothing stored breaks a shared page.

A NUL byte or an unpaired surrogate in any text of a lead or event is repaired on the way in (kept with
U+FFFD in its place and flagged), except in the id, which is refused naming the field; a date outside the
dictionary's window (1900-2100 by default) is refused naming the field, or flagged where the field is not
needed to identify the record. A message that may describe an emergency still reaches the triage line
whatever else is wrong. Staff texts (feedback notes, route changes) with such characters are refused (422).
Runs on SQLite and, when CARELEADS_DATABASE_URL points at one, on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from careleads.text import default_detector

# text no store, page or answer can hold (NUL, unpaired surrogates) mixed into ordinary text
BAD_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\udc80", "\ud83d"])


def _still_bad(text: str) -> bool:
    """Whether the text holds a NUL or an unpaired surrogate once a JSON body carried it (a high and a
    low surrogate side by side arrive as one character: valid text)."""
    received = json.loads(json.dumps(text))
    return any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in received)


HOSTILE_TEXT = (
    st.lists(st.one_of(st.text(min_size=1, max_size=12), BAD_CHARS), min_size=1, max_size=8)
    .map("".join)
    .filter(_still_bad)
)
FAR_DATES = st.sampled_from(
    ["9999-12-31T00:00:00", "0001-01-01", "1677-09-21T00:00:00", "2262-04-12T00:00:00", "1899-12-31"]
)
PAGES = ("/ui/queue", "/ui/dashboard.json", "/v1/review-queue")


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    for running in start_service(make_settings(tmp_path, request.param)):
        running.client._transport.raise_server_exceptions = False  # type: ignore[attr-defined]  # see 5xx
        yield running


def _post(service: Service, path: str, body: dict[str, Any], role: str = "integration") -> Any:
    # json.dumps escapes a lone surrogate as \\udXXX, as a hostile client would send it
    headers = {**service.headers(role), "content-type": "application/json"}
    return service.client.post(path, content=json.dumps(body), headers=headers)


def _pages_answer(service: Service, lead_key: int | None = None) -> None:
    paths = [*PAGES, *([f"/v1/leads/{lead_key}", f"/ui/leads/{lead_key}"] if lead_key else [])]
    for path in paths:
        response = service.client.get(path, headers=service.headers("admin"))
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
        response.text.encode("utf-8")  # the answer is text


_COUNTER = iter(range(10**9))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE_TEXT, where=st.sampled_from(["question", "campaign", "favourite colour", "source"]))
def test_hostile_text_in_a_lead_is_kept_repaired_and_flagged(service: Service, text: str, where: str) -> None:
    lead_id = f"H-{next(_COUNTER)}"
    response = _post(service, "/v1/leads", {**LEAD, "lead_id": lead_id, where: text})
    assert response.status_code in (201, 202), response.text
    body = response.json()
    flagged = {f["field"]: f for f in body["flagged_fields"]}
    assert any(f["kind"] == "repaired_text" for f in flagged.values()), (ascii(text), where, flagged)
    _pages_answer(service, body["id"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE_TEXT)
def test_hostile_text_in_an_id_is_refused_naming_the_field(service: Service, text: str) -> None:
    found = default_detector().detect(text)
    # an id that reads as an emergency ("OD", say) is kept for the triage line instead: tested below
    assume(not (found.triggered or found.possible))
    response = _post(service, "/v1/leads", {**LEAD, "lead_id": f"X{text}"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "lead_id"
    _pages_answer(service)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(date=FAR_DATES)
def test_a_date_outside_the_window_is_refused_naming_the_field(service: Service, date: str) -> None:
    response = _post(service, "/v1/leads", {**LEAD, "lead_id": f"D-{next(_COUNTER)}", "created_at": date})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"][-1] == "created_at" and "outside the dates accepted" in detail["msg"]
    _pages_answer(service)


def test_an_urgent_message_with_hostile_bytes_and_a_far_date_still_reaches_the_triage_line(
    service: Service,
) -> None:
    body = {
        **LEAD,
        "lead_id": "U\x00-1",
        "created_at": "9999-12-31T00:00:00",
        "question": "crushing chest pain \ud800 spreading to my left arm, I can't breathe",
    }
    response = _post(service, "/v1/leads", body)
    assert response.status_code == 202, response.text  # kept for a human although it cannot be identified
    created = response.json()
    assert created["decision"]["route"]["name"] == "clinical_triage"
    queue = service.client.get("/v1/review-queue", headers=service.headers("admin")).json()
    assert queue["data"][0]["lead_id"] == created["id"]
    _pages_answer(service, created["id"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE_TEXT, date=st.one_of(st.none(), FAR_DATES))
def test_hostile_events_never_answer_5xx(service: Service, text: str, date: str | None) -> None:
    created = _post(service, "/v1/leads", {**LEAD, "lead_id": f"E-{next(_COUNTER)}"})
    assert created.status_code == 201, created.text
    key = created.json()["id"]
    event = {"event_id": f"ev-{next(_COUNTER)}", "event_type": "chat_message", "message_text": text}
    event["occurred_at"] = date or "2025-03-04T12:00:00"
    response = _post(service, f"/v1/leads/{key}/events", event)
    assert response.status_code < 500, response.text
    if date is None:
        assert response.status_code == 201, response.text
    _pages_answer(service, key)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE_TEXT)
def test_hostile_staff_texts_are_refused_naming_the_field(service: Service, text: str) -> None:
    created = _post(service, "/v1/leads", {**LEAD, "lead_id": f"F-{next(_COUNTER)}"})
    key = created.json()["id"]
    response = _post(service, f"/v1/leads/{key}/feedback", {"label": "scheduled", "note": text}, "admin")
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "note"
    _pages_answer(service, key)


# every write route of the API, with the hostile text put in each of its text slots (body strings, path
# parameters, uploaded cells); the set is checked against the app's routes, so a new write route without an
# entry here fails test_every_write_route_is_attacked
def _lead_key(service: Service) -> int:
    created = _post(service, "/v1/leads", {**LEAD, "lead_id": f"W-{next(_COUNTER)}"})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _upload(service: Service, text: str) -> Any:
    cell = text.encode("utf-8", errors="surrogatepass")  # the bytes a hostile file holds, NUL included
    data = b"lead_id,created_at,question\nB" + cell + b",2025-01-01T10:00:00,knee " + cell + b"\n"
    return service.client.post(
        "/v1/batches", files={"file": ("b.csv", data)}, headers=service.headers("admin")
    )


def _path_text(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", errors="surrogatepass"), safe="")


WRITES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/leads"): lambda s, t: _post(s, "/v1/leads", {**LEAD, "lead_id": f"L{t}", "question": t}),
    ("DELETE", "/v1/leads/{lead_id}"): lambda s, t: s.client.delete(
        f"/v1/leads/{_path_text(t)}", headers=s.headers("admin")
    ),
    ("DELETE", "/v1/leads/external/{external_id}"): lambda s, t: s.client.delete(
        f"/v1/leads/external/{_path_text(t)}", headers=s.headers("admin")
    ),
    ("POST", "/v1/leads/{lead_id}/events"): lambda s, t: _post(
        s,
        f"/v1/leads/{_lead_key(s)}/events",
        {"event_id": t, "event_type": t, "occurred_at": "2025-03-04T12:00:00", "message_text": t, "page": t},
    ),
    ("POST", "/v1/leads/{lead_id}/outcomes"): lambda s, t: _post(
        s, f"/v1/leads/{_lead_key(s)}/outcomes", {"outcome": t, "occurred_at": t}
    ),
    ("POST", "/v1/leads/{lead_id}/feedback"): lambda s, t: _post(
        s, f"/v1/leads/{_lead_key(s)}/feedback", {"label": "scheduled", "note": t}, "admin"
    ),
    ("POST", "/v1/leads/{lead_id}/feedback/notes"): lambda s, t: _post(
        s, f"/v1/leads/{_lead_key(s)}/feedback/notes", {"note": t}, "admin"
    ),
    ("POST", "/v1/leads/{lead_id}/feedback/undo"): lambda s, _t: s.client.post(
        f"/v1/leads/{_lead_key(s)}/feedback/undo", headers=s.headers("admin")
    ),
    ("POST", "/v1/score"): lambda s, t: _post(
        s,
        "/v1/score",
        {
            "leads": [
                {**LEAD, "lead_id": f"S{next(_COUNTER)}", "question": t, "source": t},
                {**LEAD, "lead_id": f"S{t}"},
            ]
        },
        "analyst",
    ),
    ("POST", "/v1/batches"): _upload,
    ("POST", "/v1/models/{version}/publish"): lambda s, t: s.client.post(
        f"/v1/models/{_path_text(t)}/publish", headers=s.headers("admin")
    ),
    ("POST", "/v1/models/rollback"): lambda s, _t: s.client.post(
        "/v1/models/rollback", headers=s.headers("admin")
    ),
    ("POST", "/v1/admin/users"): lambda s, t: _post(
        s, "/v1/admin/users", {"name": t, "role": "analyst"}, "admin"
    ),
    ("POST", "/v1/admin/tokens"): lambda s, t: _post(s, "/v1/admin/tokens", {"user": t}, "admin"),
    ("POST", "/v1/admin/users/{name}/deactivate"): lambda s, t: s.client.post(
        f"/v1/admin/users/{_path_text(t)}/deactivate", headers=s.headers("admin")
    ),
    ("POST", "/v1/admin/tokens/revoke"): lambda s, t: _post(
        s, "/v1/admin/tokens/revoke", {"user": t, "prefix": t[:16]}, "admin"
    ),
    ("POST", "/v1/admin/outbox/deliver"): lambda s, _t: s.client.post(
        "/v1/admin/outbox/deliver", headers=s.headers("admin")
    ),
    ("POST", "/v1/admin/outbox/requeue"): lambda s, t: _post(
        s, "/v1/admin/outbox/requeue", {"ids": [t], "dead": t}, "admin"
    ),
    ("POST", "/v1/admin/unknown-values/map"): lambda s, t: _post(
        s, "/v1/admin/unknown-values/map", {"field": t, "value": t, "to": t}, "admin"
    ),
}


def _write_routes(service: Service) -> set[tuple[str, str]]:
    from fastapi.routing import APIRoute

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from walk(list(route.original_router.routes))

    app: Any = service.client.app
    return {
        (method, route.path)
        for route in walk(list(app.routes))
        if route.path.startswith("/v1")
        for method in route.methods or ()
        if method not in ("GET", "HEAD")
    }


def test_every_write_route_is_attacked(service: Service) -> None:
    assert _write_routes(service) == set(WRITES)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(HOSTILE_TEXT, FAR_DATES))
def test_no_write_route_answers_5xx_to_hostile_text(service: Service, text: str) -> None:
    for (method, path), send in WRITES.items():
        response = send(service, text)
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:300]}"
        response.text.encode("utf-8")  # the answer is text
    _pages_answer(service)


def test_stateless_scoring_repairs_and_flags_hostile_text_and_refuses_a_hostile_id(service: Service) -> None:
    body = {"leads": [{**LEAD, "lead_id": "S-1", "question": "knee \ud800 pain"}, {**LEAD, "lead_id": "S-2"}]}
    response = _post(service, "/v1/score", body, "analyst")
    assert response.status_code == 200, response.text
    first = response.json()["data"][0]
    assert [(f["field"], f["kind"]) for f in first["flagged_fields"]] == [("question", "repaired_text")]
    body["leads"][1]["lead_id"] = "S-\x00"
    response = _post(service, "/v1/score", body, "analyst")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "lead_id"]
