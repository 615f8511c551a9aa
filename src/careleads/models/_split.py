"""The one split of labelled rows: the latest rows test, the slice before them validates, the rest fits.

`split_by_order` is the rule, used by `train_model` (scoring moments, cut on a month boundary) and by
`evaluate_file` (a time column or the file's row order, groups kept on one side). `time_split` is its view
for a column of scoring moments; `random_split` is the fallback of a file with no order at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

from careleads.errors import NotEnoughDataError

# Fewer positives or negatives than this in a part and a model cannot be trained or chosen honestly.
MIN_CLASS_ROWS = 40

Mask = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.intp]


@dataclass(frozen=True)
class OrderedSplit:
    """Row masks of a split by order, and the order values where validation and test begin.

    ``train`` holds the validation slice too (``fit = train & ~valid``). Every row with a key below
    ``test_start`` trains and every other row tests; within the training part, the rows from
    ``valid_start`` on validate.
    """

    train: Mask
    valid: Mask
    test: Mask
    valid_start: int
    test_start: int


def _later_start(keys: npt.NDArray[np.int64], fraction: float) -> int:
    """The smallest key of the later part: about the last `fraction` of rows, tied keys on one side.

    When the cut falls on the smallest key (many rows share it), that key goes to the earlier part, so the
    earlier part is never empty while two distinct keys exist.
    """
    ranked = np.sort(keys)
    start = int(ranked[min(len(ranked) - 1, int(np.floor(len(ranked) * (1 - fraction))))])
    if start == int(ranked[0]):
        after = ranked[ranked > start]
        # one key for every row: nothing is later
        start = int(after[0]) if len(after) else int(ranked[-1]) + 1
    return start


def _month_start(ns: int) -> int:
    return int(pd.Timestamp(ns).to_period("M").to_timestamp().value)


def _cut_month(keys: npt.NDArray[np.int64], fraction: float) -> int:
    """The first instant of the month holding the cut: the ``1 - fraction`` quantile of the times.

    The quantile lies between the last row before the cut and the first row after it (interpolated by the
    fractional rank), so when those two rows fall in different months either month can hold the cut; the
    rows cut themselves come from `_later_start`.
    """
    return _month_start(int(np.quantile(keys, 1 - fraction)))


def split_by_order(
    order: npt.ArrayLike,
    *,
    test_fraction: float,
    valid_fraction: float,
    groups: npt.ArrayLike | None = None,
    whole_months: bool = False,
) -> OrderedSplit:
    """Split rows by an order (nanoseconds since the epoch, or row positions): later rows test.

    Parameters
    ----------
    order : array of int
        Each row's place in time: a scoring moment in nanoseconds, or the row's position in a file sorted
        by time.
    test_fraction : float
        Share of the rows, the latest, that test.
    valid_fraction : float
        Share of the training part, its latest rows, that validates.
    groups : array, optional
        Rows of one group (a person, an account) stay on one side of both cuts: a group belongs where its
        last row is, so no training row comes after the cut.
    whole_months : bool
        ``order`` holds nanoseconds and the test part starts on the first of the month of the cut (see
        `_cut_month`), unless that would put more than twice ``test_fraction`` of the rows in the test part
        or none in training.

    Returns
    -------
    OrderedSplit

    Examples
    --------
    >>> split = split_by_order(range(10), test_fraction=0.2, valid_fraction=0.25)
    >>> [int(part.sum()) for part in (split.train, split.valid, split.test)], split.test_start
    ([8, 2, 2], 8)
    """
    values = np.asarray(order, dtype=np.int64)
    if groups is not None:
        keys = pd.Series(values).groupby(np.asarray(groups)).transform("max").to_numpy(dtype=np.int64)
    else:
        keys = values
    if len(keys) == 0:
        raise NotEnoughDataError("no row to split; the data is too recent or too small to evaluate")
    test_start = _later_start(keys, test_fraction)
    if whole_months:
        month = _cut_month(keys, test_fraction)
        if (keys >= month).mean() <= 2 * test_fraction and (keys < month).any():
            test_start = month
    train = keys < test_start
    valid_start = _later_start(keys[train], valid_fraction) if train.any() else test_start
    return OrderedSplit(
        train=train,
        valid=train & (keys >= valid_start),
        test=~train,
        valid_start=valid_start,
        test_start=test_start,
    )


@dataclass(frozen=True)
class TimeSplit:
    """Row masks of a split by scoring time, and where validation and test begin."""

    train: pd.Series
    valid: pd.Series
    test: pd.Series
    valid_start: pd.Timestamp
    test_start: pd.Timestamp

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "time",
            "train_rows": int(self.train.sum()),
            "valid_rows": int(self.valid.sum()),
            "test_rows": int(self.test.sum()),
            "valid_start": self.valid_start.isoformat(),
            "test_start": self.test_start.isoformat(),
        }


def time_split(
    as_of: pd.Series, usable: pd.Series, *, test_fraction: float, valid_fraction: float
) -> TimeSplit:
    """Cut by scoring time: the last `test_fraction` of usable rows test, the slice before them validates.

    The test cut falls on a month boundary so that the report speaks of whole months (see
    `split_by_order`, ``whole_months=True``); `valid_fraction` is a share of all usable rows.
    """
    rows = np.flatnonzero(usable.to_numpy(dtype=bool))
    # in nanoseconds whatever the input's unit (pandas 3 reads datetimes as microseconds)
    times = pd.DatetimeIndex(pd.to_datetime(as_of.iloc[rows])).as_unit("ns")
    if len(times) == 0:
        raise NotEnoughDataError("no lead has a closed outcome window; the data is too recent to evaluate")
    split = split_by_order(
        times.asi8,
        test_fraction=test_fraction,
        valid_fraction=valid_fraction / (1 - test_fraction),
        whole_months=True,
    )

    def mask(part: Mask) -> pd.Series:
        full = np.zeros(len(as_of), dtype=bool)
        full[rows[part]] = True
        return pd.Series(full, index=as_of.index)

    return TimeSplit(
        train=mask(split.train),
        valid=mask(split.valid),
        test=mask(split.test),
        valid_start=pd.Timestamp(split.valid_start),
        test_start=pd.Timestamp(split.test_start),
    )


def split_warnings(
    order: npt.ArrayLike,
    split: OrderedSplit,
    *,
    test_fraction: float,
    grouped: bool,
    describe: Any = str,
) -> list[str]:
    """What a reader of an ordered split must know: a test share far from the one asked, overlapping parts.

    Parameters
    ----------
    order : array of int
        Each row's place in time, as given to `split_by_order`.
    split : OrderedSplit
        The split made from it.
    test_fraction : float
        The test share asked for.
    grouped : bool
        Whether a group column kept each group on one side.
    describe : callable, optional
        Turns an order value into readable text (a date); default `str`.

    Returns
    -------
    list of str
        One warning per edge case: many rows sharing the moment at the cut moved the test share by more
        than a quarter of itself (and at least 3 points); with groups, test rows earlier than the last
        training row.
    """
    values = np.asarray(order, dtype=np.int64)
    out: list[str] = []
    share = float(split.test.mean()) if len(values) else 0.0
    if abs(share - test_fraction) > max(0.03, 0.25 * test_fraction):
        test_keys = values[split.test]
        cut = int(test_keys.min()) if len(test_keys) else int(values.max())
        tied = int((values == cut).sum())
        before = values[split.train]
        last = int(before.max()) if len(before) else cut
        tied_before = int((values == last).sum())
        most, at = (tied, cut) if tied >= tied_before else (tied_before, last)
        out.append(
            f"The test part holds {share:.0%} of rows, not the {test_fraction:.0%} asked: {most:,} rows "
            f"share the moment {describe(at)} at the cut and stay on one side together. A finer time "
            "column, or another --test-fraction, gives a share closer to the one asked."
        )
    if grouped and split.train.any() and split.test.any():
        train_end, test_start = int(values[split.train].max()), int(values[split.test].min())
        if test_start < train_end:
            earlier = int((values[split.test] < train_end).sum())
            out.append(
                f"With the group column, each group sits where its last row is: {earlier:,} test rows are "
                f"earlier than the last training row (test starts {describe(test_start)}, training ends "
                f"{describe(train_end)}). The split is by group and only roughly by time."
            )
    return out


def random_split(
    y: npt.ArrayLike, groups: npt.ArrayLike | None, fraction: float, seed: int
) -> tuple[Positions, Positions]:
    """Positions of a random earlier and later part (stratified by label, or by group when given).

    For a file with no time and no order only: the test rows then come from the same period as the
    training rows.
    """
    labels = np.asarray(y)
    index = np.zeros(len(labels))
    if groups is not None:
        splitter: Any = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        train, test = next(splitter.split(index, labels, np.asarray(groups)))
    else:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        train, test = next(splitter.split(index, labels))
    return np.sort(train), np.sort(test)


def require_classes(y: npt.ArrayLike, *, where: str) -> None:
    """Refuse a part of the data with fewer than `MIN_CLASS_ROWS` positives or negatives.

    Raises
    ------
    NotEnoughDataError
        Saying how many of each the part holds and that the rule baseline is the way until then.
    """
    labels = np.asarray(y)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos < MIN_CLASS_ROWS or n_neg < MIN_CLASS_ROWS:
        raise NotEnoughDataError(
            f"the {where} holds {n_pos:,} positive and {n_neg:,} negative leads; a model needs at least "
            f"{MIN_CLASS_ROWS} of each to be trained honestly. Use the points-based rule baseline until more "
            "outcomes are recorded"
        )
