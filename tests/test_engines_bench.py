"""The benchmark's memory sampler counts this process and its children, as a scan of every process does."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from careleads.engines.bench import _tree_rss_mb, _tree_rss_mb_scan


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_tree_memory_walks_the_children_as_the_scan_finds_them() -> None:
    alone = _tree_rss_mb()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; x = bytearray(80_000_000); print(flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the child holds its 80 MB
        walked, scanned = _tree_rss_mb(), _tree_rss_mb_scan()
    finally:
        child.kill()
        child.communicate()
    assert walked - alone > 70
    assert abs(walked - scanned) < 5  # the two read at slightly different moments


def test_the_limit_and_the_machine_yardsticks_are_measured(tmp_path: Path) -> None:
    from careleads.datasets import load_crm_folder
    from careleads.engines.bench import YARDSTICK_TREES, child_limit, python_yardstick, table
    from careleads.features import Target
    from careleads.models import train_model
    from careleads.synth import generate

    data = generate(3_000, seed=5)
    data.write(tmp_path, fmt="parquet")
    dataset = load_crm_folder(tmp_path).dataset(Target(as_of_hours=0), data_end=data.end)
    model = train_model(dataset, seed=0).model
    model.save(tmp_path / "model")
    figures = child_limit(str(tmp_path / "leads.parquet"), str(tmp_path / "model"))
    assert figures["rows"] >= 2_900  # every lead the dictionary keeps
    assert figures["yardstick_trees"] == min(YARDSTICK_TREES, figures["trees"])
    assert figures["yardstick_lightgbm_rows_per_second"] > 0 and figures["yardstick_python_seconds"] > 0
    printed = table({"leads": 3_000, "limit": figures})
    assert f"first {figures['yardstick_trees']} trees" in printed and "Python loop" in printed
    assert 0 <= python_yardstick(1_000) < python_yardstick(2_000_000)  # rounded to milliseconds


@pytest.mark.spark
@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
@pytest.mark.skipif(shutil.which("java") is None, reason="Java (17) is not on PATH")
def test_the_training_data_is_built_on_spark_and_checked_against_pandas(tmp_path: Path) -> None:
    from careleads.engines.bench import child_features, table
    from careleads.synth import generate

    generate(1_500, seed=6).write(tmp_path, fmt="parquet")
    figures = child_features(str(tmp_path))
    assert figures["equal"] is True
    assert figures["leads"] >= 1_450 and figures["events"] > figures["leads"]
    assert figures["local_seconds"] >= 0 and figures["spark_seconds"] > 0
    printed = table({"leads": 1_500, "features_spark": figures})
    assert "pandas / Spark local[2]" in printed and "(equal)" in printed
