"""The in-process create benchmark on a small store: every figure present and plausible."""

from __future__ import annotations

import json
from typing import Any

import pytest

from _benchmarks_support import load_benchmark

bench_create = load_benchmark("bench_create")


def test_creates_and_owner_lookups_are_timed_on_a_store_with_open_tasks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bench_create.main(["--leads", "40", "--creates", "5"]) == 0
    printed = capsys.readouterr().out
    figures: dict[str, Any] = json.loads(printed[: printed.index("\n}\n") + 2])
    assert figures["n_leads_before"] == 40 and 0 < figures["open_review_tasks"] <= 45
    creates, lookup = figures["creates"], figures["owner_lookup"]
    assert creates["n"] == 5 and 0 < creates["cpu_ms_mean"] and 0 < creates["p50_ms"] <= creates["p99_ms"]
    assert lookup["n"] == bench_create.LOOKUPS and lookup["staffed_queues"] > 1 and lookup["p50_ms"] > 0
    assert "owner lookup: p50 / p99 ms" in printed


def test_sizes_are_checked() -> None:
    with pytest.raises(SystemExit):
        bench_create.main(["--creates", "0"])
