"""What the API and the web pages share: the one mapping of careleads errors to HTTP answers, and the
request's transaction ended in the thread that ran its endpoint."""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.orm import Session

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from careleads.errors import CareleadsError, ConfigError, InputError, NotEnoughDataError, NotFoundError
from careleads.service.access import LEAD_READ, PermissionDenied, authorize
from careleads.service.batches import BatchNotDoneError, EmptyUploadError, UploadTooLargeError
from careleads.service.http import TransactionRoute, error_answer, get_session
from careleads.service.leads import LeadErasedError, LeadValidationError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("no lead with id 7"), 404),
        (LeadErasedError("lead 7 was erased"), 410),  # a NotFoundError, answered as gone
        (PermissionDenied("reviewers may read only leads in the review queue"), 403),
        (ConfigError("routing.yaml: no queue 'x'"), 409),
        (BatchNotDoneError("batch b is running, not done yet"), 409),
        (UploadTooLargeError("the file is larger than 200 MB; split it"), 413),
        (EmptyUploadError("the uploaded file is empty"), 422),
        (NotEnoughDataError("too few rows"), 422),
    ],
)
def test_errors_answer_with_their_status_and_message(error: CareleadsError, status: int) -> None:
    assert error_answer(error) == (status, str(error))


def test_input_problems_are_listed_by_field_and_row() -> None:
    assert error_answer(InputError("age: not a number")) == (
        422,
        [{"loc": ["body"], "msg": "age: not a number", "type": "input"}],
    )
    problems = [
        {"field": "age", "message": "not a number", "row": "1"},
        {"field": "", "message": "the input was rejected"},
    ]
    assert error_answer(LeadValidationError("age: not a number", problems)) == (
        422,
        [
            {"loc": ["body", 1, "age"], "msg": "not a number", "type": "dictionary"},
            {"loc": ["body"], "msg": "the input was rejected", "type": "dictionary"},
        ],
    )


def test_a_refused_role_is_told_who_may() -> None:
    authorize("analyst", LEAD_READ)
    with pytest.raises(PermissionDenied) as refused:
        authorize("auditor", LEAD_READ)
    assert str(refused.value) == (
        "the role 'auditor' may not do this; allowed: admin, analyst, integration, reviewer"
    )
    assert error_answer(refused.value)[0] == 403


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def test_a_request_ends_its_transaction_in_the_thread_trip_that_ran_its_endpoint(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locks a transaction takes (SQLite's writer lock, the audit head's row on PostgreSQL) are not held
    while the request goes back to the event loop and waits for another thread: each trip to the thread pool
    is numbered, and every transaction ends (commit or rollback) in the trip in which it began."""
    trips = itertools.count(1)
    current = threading.local()
    run_sync = anyio.to_thread.run_sync

    async def numbered(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        trip = next(trips)

        def in_trip(*inner: Any) -> Any:
            current.trip = trip
            try:
                return func(*inner)
            finally:
                current.trip = None

        return await run_sync(in_trip, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", numbered)
    # by session (kept alive here, so no two share an id)
    seen: dict[Session, list[tuple[str, int | None]]] = collections.defaultdict(list)

    def note(kind: str) -> Callable[..., None]:
        def listener(session: Session, *_: Any) -> None:
            seen[session].append((kind, getattr(current, "trip", None)))

        return listener

    for kind in ("after_begin", "after_commit", "after_rollback"):
        event.listen(service.sessions, kind, note(kind))
    lead = {**LEAD, "lead_id": "CRM-TRIP-1"}
    writer, admin, reviewer = (service.headers(r) for r in ("integration", "admin", "reviewer"))
    created = service.client.post("/v1/leads", json=lead, headers=writer)
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]
    answers = [
        service.client.post("/v1/leads", json=lead, headers=writer),  # a repeat: reads, then audits
        service.client.post(
            f"/v1/leads/{lead_id}/events",
            json={"event_id": "trip-1", "event_type": "email_open", "occurred_at": "2025-03-04T11:00:00"},
            headers=writer,
        ),
        service.client.get(f"/v1/leads/{lead_id}", headers=admin),
        service.client.get("/v1/review-queue", headers=reviewer),
        service.client.get("/v1/leads/999999", headers=admin),  # reads, then fails: rolled back
    ]
    assert [a.status_code for a in answers] == [200, 201, 200, 200, 404]
    # once the token is checked, a request is one trip: its endpoint, its commit (the answer is checked
    # against the response model on the loop)
    before = next(trips)
    again = service.client.post("/v1/leads", json={**lead, "lead_id": "CRM-TRIP-2"}, headers=writer)
    assert again.status_code == 201, again.text
    assert next(trips) - before == 2
    transactions = [events for events in seen.values() if any(k == "after_begin" for k, _ in events)]
    assert len(transactions) >= 6
    for events in transactions:
        began = [trip for kind, trip in events if kind == "after_begin"]
        ended = [trip for kind, trip in events if kind != "after_begin"]
        assert began and ended, events
        assert began[0] is not None, events  # store work never runs on the event loop
        assert set(ended) == {began[0]}, events


def test_every_route_with_a_transaction_ends_it_in_its_endpoints_thread(service: Service) -> None:
    def uses_session(dependant: Any) -> bool:
        return any(d.call is get_session or uses_session(d) for d in dependant.dependencies)

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            included = getattr(route, "original_router", None)  # a router included in another
            yield from walk(included.routes) if included is not None else [route]

    app = service.client.app
    routes = [
        r for r in walk(getattr(app, "routes", [])) if isinstance(r, APIRoute) and uses_session(r.dependant)
    ]
    assert len(routes) > 40
    assert [r.path for r in routes if not isinstance(r, TransactionRoute)] == []
