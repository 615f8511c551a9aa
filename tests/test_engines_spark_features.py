"""Training data built on Spark: the same point-in-time data set as the local path (needs pyspark, Java)."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from careleads.datasets import CrmTables, load_crm_folder
from careleads.errors import InputError
from careleads.features import LeadDataset, Target, build_dataset
from careleads.synth import generate

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed"),
    pytest.mark.skipif(shutil.which("java") is None, reason="Java (17) is not on PATH"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from careleads.engines._spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[CrmTables, dict[str, Path], pd.Timestamp]:
    """The simulator's export, ingested, and its clean tables written as Parquet (what Spark reads)."""
    base = tmp_path_factory.mktemp("spark-features")
    data = generate(3_000, seed=5)
    data.write(base / "export", fmt="parquet")
    tables = load_crm_folder(base / "export")
    paths = {}
    for name in ("leads", "events", "outcomes"):
        paths[name] = base / f"clean_{name}.parquet"
        getattr(tables, name).to_parquet(paths[name])
    return tables, paths, pd.Timestamp(data.end)


def _assert_same(got: LeadDataset, want: LeadDataset) -> None:
    pd.testing.assert_frame_equal(got.X.reset_index(drop=True), want.X.reset_index(drop=True))
    for name in ("y", "lead_id", "as_of", "censored", "converted_before"):
        pd.testing.assert_series_equal(
            getattr(got, name).reset_index(drop=True),
            getattr(want, name).reset_index(drop=True),
            check_names=False,
        )
    assert got.data_end == want.data_end
    assert got.spec == want.spec


@pytest.mark.parametrize(("as_of_hours", "text"), [(0, False), (48, False), (24, True)])
def test_spark_builds_the_local_data_set_lead_for_lead(
    spark: Any,
    clean: tuple[CrmTables, dict[str, Path], pd.Timestamp],
    tmp_path: Path,
    as_of_hours: int,
    text: bool,
) -> None:
    from careleads.engines._spark_features import build_dataset_spark

    tables, paths, end = clean
    target = Target(as_of_hours=as_of_hours)
    table = tables.dictionary.table("leads")
    want = build_dataset(
        tables.leads, tables.events, tables.outcomes, target=target, table=table, data_end=end, text=text
    )
    got = build_dataset_spark(
        paths["leads"],
        paths["events"],
        paths["outcomes"],
        target=target,
        table=table,
        spark=spark,
        data_end=end,
        text=text,
        buckets=3,
        out_path=tmp_path / "dataset",
    )
    _assert_same(got, want)
    assert (tmp_path / "dataset" / "_SUCCESS").exists()
    assert int(got.y.sum()) > 0 and got.censored.any()
    if as_of_hours:  # a day or two in, leads have engagement to count
        assert got.X["n_events"].sum() > 0
    if text:  # the text and conversational features joined the others
        assert len(got.X.columns) > len(tables.dataset(target, data_end=end).X.columns)


def test_spark_finds_the_end_of_the_data_as_the_local_path_does(
    spark: Any, clean: tuple[CrmTables, dict[str, Path], pd.Timestamp]
) -> None:
    """Without `data_end`, the latest creation, event or outcome time ends the data on both paths."""
    from careleads.engines._spark_features import build_dataset_spark

    tables, paths, _ = clean
    target = Target(as_of_hours=0)
    frames = {name: spark.read.parquet(str(path)) for name, path in paths.items()}
    got = build_dataset_spark(
        frames["leads"],
        frames["events"],
        frames["outcomes"],
        target=target,
        table=tables.dictionary.table("leads"),
        spark=spark,
    )
    _assert_same(got, tables.dataset(target))


def test_a_table_that_was_not_ingested_is_refused_with_what_is_missing(
    spark: Any, clean: tuple[CrmTables, dict[str, Path], pd.Timestamp], tmp_path: Path
) -> None:
    from careleads.engines._spark_features import build_dataset_spark

    tables, paths, end = clean
    raw_events = tmp_path / "events.parquet"
    tables.events.rename(columns={"occurred_at": "Event Time"}).to_parquet(raw_events)
    with pytest.raises(InputError, match="events: no column occurred_at"):
        build_dataset_spark(
            paths["leads"],
            raw_events,
            paths["outcomes"],
            target=Target(),
            table=tables.dictionary.table("leads"),
            spark=spark,
            data_end=end,
        )
    with pytest.raises(InputError, match="no such file"):
        build_dataset_spark(
            tmp_path / "absent.parquet",
            paths["events"],
            paths["outcomes"],
            target=Target(),
            table=tables.dictionary.table("leads"),
            spark=spark,
        )
