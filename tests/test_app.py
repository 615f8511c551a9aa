"""The service app's start-up: what it prepares before the first request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

from _service_support import LEAD, Service, make_settings, start_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, "sqlite"))


def test_a_worker_builds_its_routes_at_start_up_not_in_its_first_requests(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI builds a route's dependencies and validators (pydantic type adapters) when a request first
    looks through its router; a worker's first requests would wait for every route of the app to be built.
    Started, the app has built them: the first requests of each kind build no validator."""
    built: list[str] = []
    original = pydantic.TypeAdapter.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(repr(args[0])[:80] if args else "?")
        original(self, *args, **kwargs)

    monkeypatch.setattr(pydantic.TypeAdapter, "__init__", counting)
    created = service.client.post("/v1/leads", json=LEAD, headers=service.headers("integration"))
    assert created.status_code == 201, created.text
    answers = [
        service.client.get(f"/v1/leads/{created.json()['id']}", headers=service.headers("admin")),
        service.client.get("/v1/review-queue", headers=service.headers("reviewer")),
        service.client.get("/ui/queue.json", headers=service.headers("reviewer")),
        service.client.get("/v1/health"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert built == []


def test_a_worker_takes_requests_once_its_analytics_writer_has_started(tmp_path: Path) -> None:
    """The analytics writer process imports its libraries (a second or two of CPU) at start-up; a worker
    that took requests meanwhile served its first ones slowly (in a load begun right after start-up, every
    run skipped requests for want of a free client). Started, the app's writer has finished starting."""
    for service in start_service(make_settings(tmp_path, "sqlite", analytics_background=True)):
        starting = service.ctx.analytics._starting
        assert starting is not None and starting.done() and starting.result() is True
