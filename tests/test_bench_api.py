"""The API load benchmark against a real uvicorn server on SQLite, at a small rate for two seconds."""

from __future__ import annotations

import math
from typing import Any

import pytest

from _benchmarks_support import load_benchmark
from careleads.dictionary import KnownAt, load_dictionary

bench_api = load_benchmark("bench_api")


def test_payloads_hold_only_fields_known_at_creation_with_unique_ids() -> None:
    known = {f.name for f in load_dictionary().table("leads").fields if f.known is KnownAt.CREATION}
    leads = bench_api.payloads(50, seed=5)
    assert len(leads) == 50
    assert all(set(lead) <= known for lead in leads)
    assert len({lead["lead_id"] for lead in leads}) == 50


def test_every_request_sent_is_answered_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_api.main(["--rate", "20", "--duration", "2", "--no-model"]) == 0
    printed = capsys.readouterr().out
    figures: dict[str, Any] = bench_api.json.loads(printed[: printed.index("\n}\n") + 2])
    assert figures["sent"] == 40 and figures["skipped_client_backlog"] == 0
    assert figures["ok"] == 40 and figures["statuses"] == {"201": 40}
    assert figures["warm_up_ok"] > 0
    assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert math.isfinite(figures["served_over_offered"]) and 0.5 < figures["served_over_offered"] <= 1.05
    assert figures["backend"] == "sqlite" and figures["model"] == "rule baseline (no model)"
    assert figures["python_loop_seconds"] > 0
    assert "latency p50 / p90 / p99 / max ms" in printed
