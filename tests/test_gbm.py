"""The gradient-boosting preprocessor: fixed levels per categorical column, numbers as float64."""

from __future__ import annotations

import numpy as np
import pandas as pd

from careleads.models._gbm import FramePreprocessor


def _plain_transform(pre: FramePreprocessor, X: pd.DataFrame) -> pd.DataFrame:
    """Every row's text matched against the levels (the per-row definition the fast path must equal)."""
    out = {}
    for name in pre.feature_names_in_:
        column = X[name] if name in X else pd.Series(np.nan, index=X.index)
        if name in pre.categories_:
            levels = pre.categories_[name]
            text = column.astype("string")
            out[name] = pd.Categorical(text.where(text.isin(levels)), categories=levels)
        else:
            out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
    return pd.DataFrame(out, index=X.index)


def _frame(n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["ortho", "derm", "cardio", "ORTHO", " derm", "", "rare"], dtype=object)
    text = rng.choice(words, n_rows, p=[0.3, 0.25, 0.2, 0.1, 0.05, 0.05, 0.05])
    text[rng.random(n_rows) < 0.1] = None
    flags = rng.choice(np.array([True, False, None], dtype=object), n_rows)
    return pd.DataFrame(
        {
            "text": pd.array(text, dtype="string"),
            "category": pd.Categorical(text),
            "flag": pd.array(flags, dtype="boolean"),
            "objects": pd.Series(text, dtype=object),
            "number": rng.normal(size=n_rows),
        },
        index=pd.RangeIndex(10, 10 + n_rows),
    )


def test_fixed_levels_equal_matching_every_row() -> None:
    train = _frame(2000, seed=1)
    pre = FramePreprocessor(min_level_count=150).fit(train)
    assert set(pre.categories_) == {"text", "category", "flag", "objects"}
    assert "rare" not in pre.categories_["text"]  # below the count: missing when scoring
    for X in (
        _frame(3000, seed=2),
        _frame(1, seed=3),
        _frame(0, seed=4),
        _frame(500, seed=5).drop(columns="text"),
    ):
        got = pre.transform(X)
        pd.testing.assert_frame_equal(got, _plain_transform(pre, X), check_exact=True)
        for name in pre.categories_:
            assert got[name].cat.categories.dtype == _plain_transform(pre, X)[name].cat.categories.dtype
    unseen = pd.DataFrame({name: pd.Series(["new level"], dtype="string") for name in train.columns})
    assert pre.transform(unseen)[["text", "category", "objects"]].isna().all().all()
