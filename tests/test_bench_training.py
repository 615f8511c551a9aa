"""The simulator-ingest-training benchmark on a few thousand leads: every step timed, counts that add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _benchmarks_support import load_benchmark

bench_training = load_benchmark("bench_training")


def test_every_step_is_timed_on_the_leads_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "training.json"
    argv = ["--generate-leads", "500", "--train-leads", "3000", "--json", str(out)]
    assert bench_training.main(argv) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    generate, train = figures["generate"], figures["train"]
    assert generate["leads"] == 500 and generate["events"] > 500
    assert train["leads"] == 3000 and 2900 <= train["dataset_rows"] <= 3000  # bad rows are quarantined
    assert 0 < train["training_rows"] < train["dataset_rows"]  # later months are held out
    for steps, names in (
        (generate, ("simulate", "write_csv", "write_parquet")),
        (train, ("ingest", "features", "train")),
    ):
        for name in names:
            assert set(steps[name]) == {"seconds", "peak_rss_mb"} and steps[name]["peak_rss_mb"] > 50, name
    assert set(train["test_auc"]) >= {"model", "rules", "oracle"}
    assert 0.6 < train["test_auc"]["model"] <= train["test_auc"]["oracle"] + 0.05
    printed = capsys.readouterr().out
    assert "train (3,000 leads)" in printed and "Python loop" in printed


def test_zero_skips_a_part(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    assert bench_training.main(["--generate-leads", "0", "--train-leads", "0", "--json", str(out)]) == 0
    assert set(json.loads(out.read_text(encoding="utf-8"))) == {"machine", "python_loop_seconds"}
