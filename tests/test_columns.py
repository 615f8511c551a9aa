from __future__ import annotations

import numpy as np
import pandas as pd

from careleads._columns import text_by_code, text_column


def test_text_by_code_equals_a_column_built_from_python_strings() -> None:
    values = ["route a", None, "", "ü and 😀"]
    codes = np.random.default_rng(0).integers(0, len(values), 1_000)
    want = pd.Series([values[c] for c in codes])
    pd.testing.assert_series_equal(text_by_code(values, codes), want)
    pd.testing.assert_series_equal(
        text_by_code(values, np.zeros(0, dtype=np.int64)), pd.Series([], dtype=want.dtype)
    )


def test_text_column_equals_the_list_it_replaces() -> None:
    values = np.array(["a", None, "b", "a", "", None], dtype=object)
    pd.testing.assert_series_equal(text_column(values), pd.Series(values.tolist()))
    assert text_column(values).isna().tolist() == [False, True, False, False, False, True]
