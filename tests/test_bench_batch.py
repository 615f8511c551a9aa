"""The batch benchmark run end to end on a few thousand leads: every figure there, counts that add up."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from _benchmarks_support import load_benchmark

bench_batch = load_benchmark("bench_batch")

N_LEADS = 3_000


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench-batch")
    out = work / "figures.json"
    argv = ["--leads", str(N_LEADS), "--no-spark", "--workers", "2", "--big-factor", "2"]
    argv += ["--latency-leads", "60", "--work", str(work / "run"), "--json", str(out)]
    assert bench_batch.main(argv) == 0
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["work"] = str(work / "run")
    return result


RUNS = ("batch_with_decisions", "batch_with_decisions_workers", "batch", "batch_workers", "batch_lightgbm")


def test_every_figure_is_there(figures: dict[str, Any]) -> None:
    assert {*RUNS, "batch_big", "limit", "latency", "training", "ratios", "machine"} <= set(figures)
    assert {"cpus", "cpu", "python"} <= set(figures["machine"])
    limit = figures["limit"]
    assert {"read_seconds", "lightgbm_rows_per_second", "yardstick_lightgbm_rows_per_second"} <= set(limit)
    assert limit["yardstick_trees"] == min(200, limit["trees"]) == min(200, figures["training"]["trees"])
    assert set(figures["ratios"]) == {
        f"{run}_over_{what}" for run in RUNS for what in ("limit", "lightgbm_yardstick")
    }


def test_every_run_reads_and_accounts_for_every_lead(figures: dict[str, Any]) -> None:
    rows = pq.ParquetFile(Path(figures["work"]) / "data" / "leads.parquet").metadata.num_rows
    assert rows >= N_LEADS  # the simulator adds messy duplicate rows
    for run in RUNS:
        f = figures[run]
        assert f["leads"] == rows and f["scored"] + f["quarantined"] == rows
        written = Path(figures["work"]) / f"{'lgb' if run == 'batch_lightgbm' else run}.parquet"
        assert pq.ParquetFile(written).metadata.num_rows == f["scored"]
    # without decisions the model's columns are checked, as the limit's ingest does; with decisions the
    # columns the hard rules and routing read are checked too (one process and two alike)
    scores_only = {figures[run]["scored"] for run in ("batch", "batch_workers", "batch_lightgbm")}
    assert scores_only == {figures["limit"]["rows"]}
    assert figures["batch_with_decisions"]["scored"] == figures["batch_with_decisions_workers"]["scored"]
    assert figures["batch_big"]["leads"] == 2 * rows
    assert [figures[run]["workers"] for run in RUNS] == [1, 2, 1, 2, 1]
    assert [figures[run]["decisions"] for run in RUNS] == [True, True, False, False, False]
    assert figures["batch_lightgbm"]["predictor"] == "lightgbm"


def test_ratios_are_finite_and_positive_and_match_the_runs(figures: dict[str, Any]) -> None:
    for name, value in figures["ratios"].items():
        assert math.isfinite(value) and value > 0, name
    ratio = figures["batch"]["seconds"] / figures["limit"]["limit_seconds"]
    assert figures["ratios"]["batch_over_limit"] == pytest.approx(ratio, abs=1e-3)


def test_latency_scores_the_requested_leads(figures: dict[str, Any]) -> None:
    latency = figures["latency"]
    assert latency["calls"] == latency["score_record"]["n"] == latency["score_one"]["n"]
    assert latency["calls"] + latency["quarantined"] == 60 and latency["quarantined"] < 6
    assert 0 < latency["score_record"]["p50_ms"] <= latency["score_record"]["p99_ms"]
    # the single-record path exists because the batch pipeline on one row is far slower
    assert latency["score_one_over_score_record_p50"] > 1


def test_the_table_names_every_run(figures: dict[str, Any]) -> None:
    printed = bench_batch.table(figures)
    for run in (*RUNS, "batch_big"):
        assert f"{run} (" in printed
    assert "end to end / limit (batch_with_decisions_workers)" in printed and "Python loop" in printed


@pytest.mark.spark
@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
@pytest.mark.skipif(shutil.which("java") is None, reason="Java (17) is not on PATH")
def test_the_training_data_is_built_on_spark_and_checked_against_pandas(tmp_path: Path) -> None:
    from careleads.datasets import load_crm_folder
    from careleads.synth import generate

    generate(1_500, seed=6).write(tmp_path, fmt="parquet")
    figures = bench_batch.child_features(str(tmp_path))
    tables = load_crm_folder(tmp_path)
    assert figures["equal"] is True
    assert figures["leads"] == len(tables.leads) and figures["events"] == len(tables.events)
    printed = bench_batch.table({"leads": 1_500, "features_spark": figures})
    assert "pandas / Spark local[2]" in printed and "(equal)" in printed
