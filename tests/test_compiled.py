"""The feature matrix handed to compiled trees equals the one lleaves would build from the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.engines._compiled import _feature_matrix

lleaves_data = pytest.importorskip("lleaves.data_processing")


def _prepared(n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(np.array(["email", "phone", "sms", None], dtype=object), n_rows)
    line = rng.choice(np.array(["derm", "ortho", "cardio", None], dtype=object), n_rows)
    age = rng.normal(50, 15, n_rows)
    age[rng.random(n_rows) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "channel": pd.Categorical(channel, categories=["email", "phone", "sms"]),
            "n_events": rng.poisson(3, n_rows).astype("float64"),
            # categories in another order than in training: codes follow the training order
            "line": pd.Categorical(line, categories=["ortho", "derm", "cardio"]),
        }
    )


def test_feature_matrix_equals_lleaves_conversion() -> None:
    trained = [["email", "phone", "sms"], ["cardio", "derm", "ortho"]]
    for frame in (_prepared(5000, seed=1), _prepared(1, seed=2)):
        got = _feature_matrix(frame, trained)
        want = lleaves_data.data_to_ndarray(frame, trained)
        assert got is not None and got.dtype == want.dtype == np.float64
        assert np.array_equal(got, want, equal_nan=True)
        assert np.isnan(got[:, 1]).any() or len(frame) == 1


def test_feature_matrix_leaves_unusual_frames_to_lleaves() -> None:
    frame = _prepared(10, seed=3)
    assert _feature_matrix(frame, [["email", "phone", "sms"]]) is None  # categorical columns do not pair up
    assert _feature_matrix(frame, None) is None
    assert _feature_matrix(frame.assign(n_events=frame["n_events"].astype("int64")), [["a"], ["b"]]) is None
