"""Spark engine: the same decisions as the local engine, lead for lead (needs pyspark and Java)."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from careleads.datasets import load_crm_folder
from careleads.engines import read_scores, score_file
from careleads.features import Target
from careleads.models import LeadModel, train_model
from careleads.synth import generate

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Java (17) is not on PATH"),
]
DECIDED_AT = "2025-06-02T09:00:00"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from careleads.engines._spark import spark_session

    session = spark_session("local[2]", batch_rows=1_000)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, LeadModel]:
    base = tmp_path_factory.mktemp("spark")
    data = generate(3_000, seed=31)
    data.write(base / "csv")
    data.write(base / "pq", fmt="parquet")
    tables = load_crm_folder(base / "pq")
    model = train_model(tables.dataset(Target(as_of_hours=0), data_end=data.end), seed=0).model
    return base / "pq" / "leads.parquet", base / "csv" / "leads.csv", model


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values("lead_id").reset_index(drop=True)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[us]")
    return frame


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_spark_equals_local_lead_for_lead(
    spark: Any, setup: tuple[Path, Path, LeadModel], tmp_path: Path, kind: str
) -> None:
    from careleads.engines._spark import score_file_spark

    parquet, csv, model = setup
    source = parquet if kind == "parquet" else csv
    local = score_file(
        source, model=model, out_path=tmp_path / "local", chunk_rows=700, decided_at=DECIDED_AT
    )
    remote = score_file_spark(
        source, model=model, out_path=tmp_path / "spark", spark=spark, batch_rows=1_000, decided_at=DECIDED_AT
    )
    assert remote.n_read == local.n_read
    assert remote.n_scored == local.n_scored and remote.n_quarantined == local.n_quarantined > 0
    got = _sorted(pd.read_parquet(tmp_path / "spark"))
    want = _sorted(read_scores(tmp_path / "local"))
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
    quarantine = pd.read_csv(tmp_path / "spark" / "_quarantine.csv")
    assert len(quarantine) == local.n_quarantined
    local_quarantine = pd.read_csv(tmp_path / "local" / "_quarantine.csv")
    for problem in ("duplicate key", "required value is missing", "is not a known value"):
        n_spark = int(quarantine["_reason"].str.contains(problem).sum())
        assert n_spark == int(local_quarantine["_reason"].str.contains(problem).sum())


def test_spark_checks_the_compiled_trees_and_falls_back_to_lightgbm(
    spark: Any, setup: tuple[Path, Path, LeadModel], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the local engine does, the driver compares compiled trees with LightGBM on the input's first
    leads: trees that score one off are not used, and Spark scores as the local engine with LightGBM."""
    import careleads.engines._compiled as compiled_module
    from careleads.engines._spark import score_file_spark

    if not compiled_module.lleaves_available():
        pytest.skip("lleaves is not installed: there are no compiled trees to fall back from")
    parquet, _, model = setup
    kwargs: dict[str, Any] = {"model": model, "decided_at": DECIDED_AT}
    good = score_file_spark(parquet, out_path=tmp_path / "good", spark=spark, batch_rows=1_000, **kwargs)
    assert good.predictor == "lleaves" and not good.notes
    predict_raw = compiled_module.CompiledScorer.predict_raw
    monkeypatch.setattr(
        compiled_module.CompiledScorer, "predict_raw", lambda self, X: predict_raw(self, X) + 1.0
    )
    off = score_file_spark(parquet, out_path=tmp_path / "spark", spark=spark, batch_rows=1_000, **kwargs)
    assert off.predictor == "lightgbm"
    assert any("differ from LightGBM by 1.00e+00" in note for note in off.notes)
    score_file(parquet, out_path=tmp_path / "local", chunk_rows=700, compiled=False, **kwargs)
    got = _sorted(pd.read_parquet(tmp_path / "spark"))
    want = _sorted(read_scores(tmp_path / "local"))
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)


@pytest.mark.parametrize(
    ("partitions", "row_groups", "spread"),
    [
        (2, 1, True),  # Spark's two byte ranges of a one-row-group file: one of them holds every lead
        (1, None, True),  # a CSV file read whole
        (2, 2, False),
        (4, 8, False),
        (3, None, False),
    ],
)
def test_an_input_is_dealt_out_when_one_task_would_hold_every_lead(
    partitions: int, row_groups: int | None, spread: bool
) -> None:
    from careleads.engines._spark import _spread

    assert _spread(partitions, row_groups, parallelism=2) is spread


def test_a_parquet_file_of_one_row_group_is_scored_by_every_task(
    spark: Any, setup: tuple[Path, Path, LeadModel], tmp_path: Path
) -> None:
    """Each scoring task of a one-row-group file gets leads: the decisions are written by every task (one
    part file each), not by the one task that Spark's byte ranges give the row group."""
    import pyarrow.parquet as pq

    from careleads.engines._spark import score_file_spark

    parquet, _, model = setup
    assert pq.ParquetFile(parquet).metadata.num_row_groups == 1
    # byte ranges smaller than the file, as a large file gets: Spark reports several partitions
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(parquet.stat().st_size // 3))
    try:
        assert spark.read.parquet(str(parquet)).rdd.getNumPartitions() >= 2
        summary = score_file_spark(
            parquet,
            model=model,
            out_path=tmp_path / "spark",
            spark=spark,
            batch_rows=1_000,
            decided_at=DECIDED_AT,
        )
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert summary.n_chunks == spark.sparkContext.defaultParallelism == 2
    parts = [path for path in (tmp_path / "spark").glob("part-*") if pq.ParquetFile(path).metadata.num_rows]
    assert len(parts) == 2
