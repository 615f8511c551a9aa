"""The single-lead latency benchmark: every lead timed on each path, the figures printed and written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from _benchmarks_support import load_benchmark

bench_scoring = load_benchmark("bench_scoring")


def test_the_simulated_run_times_each_lead_on_every_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "latency.json"
    assert bench_scoring.main(["--leads", "40", "--train-leads", "2000", "--json", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["calls"] == 40
    for path in ("score_record_with_events", "score_record", "score_one"):
        summary = figures[path]
        assert summary["n"] == 40, path
        assert 0 < summary["p50_ms"] <= summary["p99_ms"], path
    ratio = figures["score_one_over_score_record_p50"]
    assert math.isfinite(ratio) and ratio > 1  # the batch pipeline on one row is the slow path
    assert figures["model"]["trained_on_leads"] == 2000 and figures["model"]["trees"] > 0
    assert figures["python_loop_seconds"] > 0 and figures["machine"]["cpus"] >= 1
    printed = capsys.readouterr().out
    assert "one lead with its events, score_record" in printed and "score_one (the batch pipeline)" in printed


def test_model_and_input_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_scoring.main(["--model", "m"])
    assert "--model and --input go together" in capsys.readouterr().err
