from __future__ import annotations

import numpy as np
import pandas as pd

from careleads.columns import categories_by_code, text_by_code, text_column


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


def test_categories_by_code_holds_the_values_of_text_by_code() -> None:
    values = ["route a", None, "", "queue", "queue", "ü and 😀"]  # repeats and missing, as route fields have
    codes = np.random.default_rng(1).integers(0, len(values), 1_000)
    got = categories_by_code(values, codes)
    assert isinstance(got.dtype, pd.CategoricalDtype)
    assert list(got.cat.categories) == ["route a", "", "queue", "ü and 😀"]  # distinct, in first-seen order
    pd.testing.assert_series_equal(got.astype(object), text_by_code(values, codes).astype(object))
    assert len(categories_by_code(values, np.zeros(0, dtype=np.int64))) == 0
