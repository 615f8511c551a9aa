"""Fuzzing the API from its own OpenAPI document with schemathesis (4.32): no server error (5xx) for any
generated request with an admin token, and no access without a token except health.

schemathesis' pytest plugin does not run under pytest 9 (it reads ``request.node._nodeid``), so the
operations' Hypothesis strategies are driven directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from _service_support import Service, make_settings, start_service

OPEN_PATHS = frozenset({"/v1/health"})
FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path_factory.mktemp("fuzz"), "sqlite"))


def _operations(service: Service) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.client.app)
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


def _label(case: Any) -> str:
    return f"{case.method} {case.formatted_path}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_error_with_a_token(fuzz_service: Service, mode: GenerationMode) -> None:
    failures: list[str] = []
    unsatisfiable = 0
    statuses: set[int] = set()
    operations = _operations(fuzz_service)
    assert len(operations) >= 20

    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(headers=fuzz_service.headers("admin"))
            statuses.add(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{_label(case)}: {response.status_code} {response.text[:200]}")

        try:
            run()
        except Unsatisfiable:
            # an operation without parameters or body has no invalid input to generate
            assert mode is GenerationMode.NEGATIVE
            unsatisfiable += 1
    assert not failures, "\n".join(sorted(set(failures))[:20])
    assert unsatisfiable < len(operations) // 2
    assert 422 in statuses  # invalid input reached the validators...
    assert mode is GenerationMode.NEGATIVE or {200, 201} & statuses  # ...and valid input the handlers


def test_no_access_without_a_token(fuzz_service: Service) -> None:
    failures: list[str] = []
    for operation in _operations(fuzz_service):

        @settings(FUZZ, max_examples=4)
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            response = case.call()
            expected = 200 if case.path in OPEN_PATHS else 401
            if response.status_code != expected:
                failures.append(f"{_label(case)}: {response.status_code}, expected {expected}")

        run()
    assert not failures, "\n".join(sorted(set(failures))[:20])
