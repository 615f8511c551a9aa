"""Admission: bulk scoring waits in its own line, so intake is never refused because of it; a bulk request
stops at its time limit. Runs on SQLite and, when CARELEADS_DATABASE_URL points at one, on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from careleads.api.limits import is_bulk


def _service(tmp_path: Path, backend: str, **overrides: Any) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, backend, **overrides))


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from _service(tmp_path, request.param)


def _bulk(n: int, tag: str) -> dict[str, Any]:
    return {"leads": [{**LEAD, "lead_id": f"BULK-{tag}-{i}"} for i in range(n)]}


def test_bulk_routes_are_posts_of_many_leads() -> None:
    assert is_bulk("POST", "/v1/score") and is_bulk("POST", "/v1/batches") and is_bulk("POST", "/v1/batches/")
    assert not is_bulk("GET", "/v1/batches") and not is_bulk("POST", "/v1/leads")


def test_creates_are_never_refused_while_bulk_scoring_runs(service: Service) -> None:
    client = service.client
    analyst, integration = service.headers("analyst"), service.headers("integration")
    started = threading.Event()

    def score(tag: str) -> int:
        started.set()
        return client.post("/v1/score", json=_bulk(400, tag), headers=analyst).status_code

    with ThreadPoolExecutor(4) as pool:
        scores = [pool.submit(score, "a"), pool.submit(score, "b")]
        started.wait(timeout=30)
        time.sleep(0.2)  # both bulk requests are in (or waiting for) their line
        creates = []
        for i in range(12):
            answer = client.post("/v1/leads", json={**LEAD, "lead_id": f"CRM-IN-{i}"}, headers=integration)
            creates.append(answer.status_code)
        bulk = [s.result(timeout=120) for s in scores]
    assert creates == [201] * 12
    assert 200 in bulk and set(bulk) <= {200, 503}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_bulk_request_stops_at_its_time_limit(tmp_path: Path, backend: str) -> None:
    for service in _service(tmp_path, backend, bulk_seconds=0.01):
        answer = service.client.post("/v1/score", json=_bulk(401, "t"), headers=service.headers("analyst"))
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert "took longer than 0.01 s" in answer.json()["detail"]
        assert "send fewer leads" in answer.json()["detail"]
        small = service.client.post("/v1/score", json=_bulk(3, "s"), headers=service.headers("analyst"))
        assert small.status_code == 200 and small.json()["count"] == 3


def test_ids_repeating_across_chunks_are_refused(service: Service) -> None:
    body = _bulk(250, "d")
    body["leads"][-1]["lead_id"] = body["leads"][0]["lead_id"]  # 200 leads per chunk: chunks 1 and 2
    answer = service.client.post("/v1/score", json=body, headers=service.headers("analyst"))
    assert answer.status_code == 422
    assert "every lead needs its own id" in str(answer.json()["detail"])
