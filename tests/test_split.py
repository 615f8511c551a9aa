"""The one split of labelled rows (`split_by_order`), behind both `train_model` and `evaluate_file`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.errors import NotEnoughDataError
from careleads.models import evaluate_file, random_split, split_by_order, time_split, train_model
from conftest import Export


def test_the_latest_rows_test_and_the_end_of_training_validates() -> None:
    order = np.random.default_rng(0).permutation(1000)
    split = split_by_order(order, test_fraction=0.2, valid_fraction=0.25)
    assert split.test.sum() == 200 and split.train.sum() == 800 and split.valid.sum() == 200
    assert not (split.train & split.test).any() and not (split.valid & ~split.train).any()
    assert order[split.train].max() < order[split.test].min() == split.test_start
    fit = split.train & ~split.valid
    assert order[fit].max() < order[split.valid].min() == split.valid_start


def test_rows_at_the_cut_stay_together() -> None:
    # 10 rows: the cut (rank 8) falls inside a run of ties, which goes to the test part whole
    order = np.array([0, 1, 2, 3, 4, 5, 7, 7, 7, 9])
    split = split_by_order(order, test_fraction=0.2, valid_fraction=0.25)
    assert split.test_start == 7 and list(order[split.test]) == [7, 7, 7, 9]
    # a cut on the smallest value would leave nothing to train on: that value trains instead
    ties = np.array([1] * 9 + [2])
    split = split_by_order(ties, test_fraction=0.2, valid_fraction=0.25)
    assert split.train.sum() == 9 and split.test.sum() == 1


def test_groups_stay_on_one_side_and_belong_where_their_last_row_is() -> None:
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 50, 1000).astype(str)
    order = rng.permutation(1000)
    y = rng.integers(0, 2, 1000)
    ordered = split_by_order(order, test_fraction=0.2, valid_fraction=0.2, groups=groups)
    train, test = np.flatnonzero(ordered.train), np.flatnonzero(ordered.test)
    for part_a, part_b in ((train, test), random_split(y, groups, 0.2, seed=0)):
        assert len(part_a) + len(part_b) == 1000
        assert not set(groups[part_a]) & set(groups[part_b])
        assert 0.05 < len(part_b) / 1000 < 0.5
    assert not set(groups[ordered.valid]) & set(groups[ordered.train & ~ordered.valid])
    # no training row comes after the cut: each group goes where its last row is
    last = pd.Series(order).groupby(groups).max()
    assert order[train].max() < last[np.unique(groups[test])].min()


def test_whole_months_moves_the_cut_to_the_first_of_its_month() -> None:
    days = pd.date_range("2024-01-01", periods=24 * 30, freq="D")
    ns = days.as_unit("ns").asi8
    plain = split_by_order(ns, test_fraction=0.25, valid_fraction=0.2)
    months = split_by_order(ns, test_fraction=0.25, valid_fraction=0.2, whole_months=True)
    start = pd.Timestamp(months.test_start)
    assert start == pd.Timestamp(plain.test_start).to_period("M").start_time
    assert days[months.test].min() == start and days[months.train].max() < start
    # a month cut that would leave no training row is not taken
    one_month = pd.date_range("2024-03-01", periods=30, freq="D").as_unit("ns").asi8
    kept = split_by_order(one_month, test_fraction=0.25, valid_fraction=0.2, whole_months=True)
    assert kept.train.any() and pd.Timestamp(kept.test_start).day > 1


def test_time_split_cuts_on_a_month_boundary() -> None:
    as_of = pd.Series(pd.date_range("2024-01-01", periods=24 * 30, freq="D"))
    usable = pd.Series(True, index=as_of.index)
    split = time_split(as_of, usable, test_fraction=0.25, valid_fraction=0.15)
    assert split.test_start == split.test_start.to_period("M").to_timestamp()
    assert as_of[split.test].min() == split.test_start
    assert as_of[split.train].max() < split.test_start


def test_time_split_keeps_unusable_rows_out_of_every_part() -> None:
    as_of = pd.Series(pd.date_range("2024-01-01", periods=400, freq="D"), index=np.arange(400) + 1000)
    usable = pd.Series(np.arange(400) % 4 != 0, index=as_of.index)
    split = time_split(as_of, usable, test_fraction=0.25, valid_fraction=0.15)
    for part in (split.train, split.valid, split.test):
        assert part.index.equals(as_of.index) and not (part & ~usable).any()
    assert (split.train | split.test).sum() == usable.sum()
    with pytest.raises(NotEnoughDataError, match="no lead has a closed outcome window"):
        time_split(as_of, pd.Series(False, index=as_of.index), test_fraction=0.25, valid_fraction=0.15)


def _designed_times(n: int) -> pd.Series:
    """Scoring moments whose test cut is the first of October, for the rank and the interpolated cut alike.

    A run of rows at 2024-10-01 00:00 covers both ranks either side of the cut, so the month rounding of
    `train_model` moves nothing and the two functions must agree row for row.
    """
    low, high = int(np.floor(0.75 * (n - 1))) - 2, int(np.floor(0.75 * n)) + 2
    october = pd.Timestamp("2024-10-01")
    rank = np.arange(n)
    before = (pd.Timestamp("2024-01-01") + pd.to_timedelta(rank * (270 * 86400 // low), unit="s")).to_numpy()
    after = (october + pd.to_timedelta((rank - high) * 3600, unit="s")).to_numpy()
    return pd.Series(np.where(rank < low, before, np.where(rank <= high, october.to_datetime64(), after)))


def test_train_model_and_evaluate_file_cut_the_same_rows(small_export: Export, tmp_path: Path) -> None:
    dataset = small_export.dataset()
    usable = dataset.usable.to_numpy(dtype=bool)
    rows = np.flatnonzero(usable)
    # the leads keep their order in time; only the moments are redrawn
    by_time = rows[np.argsort(dataset.as_of.iloc[rows].to_numpy(), kind="stable")]
    as_of = pd.Series(pd.Timestamp("2024-06-15"), index=dataset.as_of.index)
    as_of.iloc[by_time] = _designed_times(len(by_time)).to_numpy()
    designed = dataclasses.replace(dataset, as_of=as_of)
    trained = train_model(designed, seed=0).split

    numeric = [c for c in dataset.X.columns if pd.api.types.is_float_dtype(dataset.X[c])][:6]
    frame = dataset.X.iloc[by_time][numeric].assign(
        as_of=as_of.iloc[by_time].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        converted=dataset.y.iloc[by_time].astype(int).to_numpy(),
    )
    path = tmp_path / "leads.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(path, index=False)  # file order must not matter
    evaluated = evaluate_file(path, label="converted", time_column="as_of", test_fraction=0.25).split

    assert evaluated.kind == "time"
    assert evaluated.test_rows == int(trained.test.sum()) > 0
    assert evaluated.train_rows == int(trained.train.sum())
    assert evaluated.validation_rows == int(trained.valid.sum()) > 0
    assert pd.Timestamp(evaluated.test_start) == trained.test_start == pd.Timestamp("2024-10-01")
    assert pd.Timestamp(evaluated.train_end) == as_of[trained.train].max()
