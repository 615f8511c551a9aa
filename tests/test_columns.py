from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careleads.columns import (
    FEW,
    arrow_text,
    categories_by_code,
    flags,
    floats,
    moments,
    nonblank,
    positions,
    text_by_code,
    text_column,
)
from careleads.errors import InputError


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


# ------------------------------------------------------------- reading a column: a table or one record alike

_TEXT = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["  ", "\u3000", "\x1c a", "x"]))


def _one_by_one(function: Any, values: list[Any]) -> list[Any]:
    return [function(np.array([v], dtype=object)) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(_TEXT, min_size=FEW + 1, max_size=40))
def test_text_blank_and_lookups_read_a_table_as_its_records(values: list[Any]) -> None:
    """The primitives convert up to FEW values one by one and more with Arrow: the same answers."""
    column = pd.Series(values, dtype="string")
    text = arrow_text(column)
    assert text.to_pylist() == [t.to_pylist()[0] for t in _one_by_one(arrow_text, values)]
    np.testing.assert_array_equal(nonblank(column), np.concatenate(_one_by_one(nonblank, values)))
    known = ["x", "  ", "a"]
    alone = [positions(arrow_text(np.array([v], dtype=object)), known)[0] for v in values]
    np.testing.assert_array_equal(positions(text, known), alone)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.booleans()), min_size=FEW + 1, max_size=40))
def test_yes_no_values_read_a_table_as_its_records(values: list[Any]) -> None:
    column = pd.Series(values, dtype="boolean")
    one = np.concatenate([flags(np.array([v], dtype=object), name="f") for v in values])
    np.testing.assert_array_equal(flags(column, name="f"), one)


def test_the_odd_columns_are_read_or_refused_with_the_field_name() -> None:
    assert flags(pd.Series([], dtype="string"), name="f").shape == (0,)  # an empty part of a batch
    with pytest.raises(InputError, match="consent: values are not yes/no"):
        flags(np.array(["yes"], dtype=object), name="consent")
    with pytest.raises(InputError, match="consent: values are not yes/no"):
        flags(pd.Series(["yes"] * 20), name="consent")
    np.testing.assert_array_equal(floats(np.array([None, "3.5", 2], dtype=object)), [np.nan, 3.5, 2.0])
    stamps = np.array([pd.Timestamp("2025-01-01T10:00+02:00"), None], dtype=object)
    assert moments(stamps)[0] == np.datetime64("2025-01-01T08:00")
    assert np.isnat(moments(stamps)[1])
    far = np.array([pd.Timestamp("9999-12-31T10:00"), pd.Timestamp("1500-01-01")], dtype=object)
    assert moments(far).tolist()[0].year == 9999  # moments far from now are read, not overflowed
    assert moments(pd.Series(pd.to_datetime(["2025-01-01T08:00"])))[0] == np.datetime64("2025-01-01T08:00")
