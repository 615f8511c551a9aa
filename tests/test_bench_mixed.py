"""The mixed-load benchmark against a real uvicorn server on SQLite, at small rates for two seconds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from _benchmarks_support import load_benchmark

bench_mixed = load_benchmark("bench_mixed")


def test_schedule_spreads_each_kind_evenly_and_in_order() -> None:
    tokens = {"integration": "i", "reviewer": "r", "admin": "a"}
    planned = bench_mixed.schedule(
        host="h",
        port=1,
        tokens=tokens,
        lead_ids={1: "2025-01-01T10:00:00", 2: "2025-01-02T10:00:00"},
        rates={"creates": 10.0, "events": 4.0, "reads": 4.0, "feedback": 1.0},
        duration=2.0,
    )
    kinds = [route for _, route, _ in planned]
    assert kinds.count("POST /v1/leads") == 20 and kinds.count("POST /v1/leads/{id}/events") == 8
    assert kinds.count("GET /v1/leads/{id}") == 4 and kinds.count("GET queue (API, page JSON)") == 4
    assert kinds.count("POST /v1/leads/{id}/feedback") == 2  # at most once per lead
    assert [due for due, _, _ in planned] == sorted(due for due, _, _ in planned)
    event = next(data for _, route, data in planned if route.endswith("/events"))
    body = json.loads(event.split(b"\r\n\r\n", 1)[1])
    assert body["occurred_at"].startswith("2025-01-0")  # minutes after the lead arrived


def test_every_request_sent_is_answered_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--creates", "5", "--events", "2", "--reads", "2", "--feedback", "1", "--duration", "2"]
    assert bench_mixed.main(argv) == 0
    printed = capsys.readouterr().out
    figures: dict[str, Any] = json.loads(printed[: printed.index("\n}\n") + 2])
    routes = figures["routes"]
    assert routes["POST /v1/leads"]["statuses"] == {"201": 10}
    assert sum(r["sent"] + r["skipped"] for r in routes.values()) == 10 + 4 + 4 + 2
    assert figures["verdict"]["5xx"] == 0 and figures["verdict"]["connection_errors"] == 0
    assert figures["server_cpu_s"] > 0 and figures["server_cpu_ms_per_request"] > 0
    assert "server CPU: cores busy / ms per request" in printed
