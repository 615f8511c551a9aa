"""Text columns of few distinct values built per value with Arrow, not per row through Python objects.

A batch chunk holds hundreds of thousands of leads but only a few distinct tiers, actions, routes or notes;
pandas turns a list of Python strings into a text column one string at a time, so these helpers take the
distinct values once and spread them over the rows with one Arrow ``take``. The result has the column type
pandas itself gives a list of text (``str`` in pandas 3, object before), so frames compare equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

__all__ = ["categories_by_code", "text_by_code", "text_column"]


def text_by_code(values: Sequence[str | None], codes: npt.NDArray[Any]) -> pd.Series:
    """``pd.Series([values[c] for c in codes])`` (text, None missing), built by an Arrow take, not per row."""
    taken = pa.array(values, type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int64)))
    if _TEXT_DTYPE == np.dtype(object):  # pandas before 3 keeps text as Python objects
        return pd.Series(taken.to_pandas(), dtype=object)
    return pd.Series(taken.to_pandas(types_mapper={pa.large_string(): _TEXT_DTYPE}.get))


def categories_by_code(values: Sequence[str | None], codes: npt.NDArray[Any]) -> pd.Series:
    """``text_by_code(values, codes)`` as a categorical column: the codes kept, no text spread over the rows.

    For a batch file: Arrow and Parquet then write the column as a dictionary of its distinct values and
    the rows' indices into it, without hashing every row's text again. `values` may repeat (several routes
    share a queue) and hold None (missing).
    """
    position: dict[str, int] = {}
    remap = np.array(
        [-1 if v is None else position.setdefault(v, len(position)) for v in values], dtype=np.int32
    )
    dtype = pd.CategoricalDtype(pd.Index(list(position), dtype=_TEXT_DTYPE))
    return pd.Series(pd.Categorical.from_codes(remap[np.asarray(codes, dtype=np.intp)], dtype=dtype))


def text_column(values: npt.NDArray[Any]) -> pd.Series:
    """``pd.Series(values.tolist())`` for a text column of few distinct values (None missing), per value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct: list[str | None] = [*uniques.tolist(), None]  # code -1 (missing) picks the last, None
    return text_by_code(distinct, np.where(codes < 0, len(distinct) - 1, codes))


_TEXT_DTYPE = pd.Series(["text"]).dtype  # what pandas makes of a list of text (the column type to match)
