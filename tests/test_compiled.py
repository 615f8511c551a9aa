"""The feature matrix handed to compiled trees equals the one lleaves would build from the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.engines._compiled import _feature_matrix
from careleads.features import LeadDataset
from careleads.models import TrainingResult

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


def test_compiling_a_compiled_model_sets_its_threads_only(
    acceptance_dataset: LeadDataset, acceptance_training: TrainingResult
) -> None:
    """Forked pool workers take the main process's compiled trees and score them on their own thread."""
    from careleads.engines._compiled import CompiledScorer, compile_trees

    compiled = compile_trees(acceptance_training.model, n_threads=2)
    assert compile_trees(compiled, n_threads=2) is compiled
    one = compile_trees(compiled, n_threads=1)
    assert isinstance(one.scorer, CompiledScorer) and isinstance(compiled.scorer, CompiledScorer)
    assert one.scorer.n_threads_ == 1 and compiled.scorer.n_threads_ == 2  # the original is unchanged
    assert one.scorer.compiled_ is compiled.scorer.compiled_  # the same native code, not compiled again
    features = compiled.preprocessor.transform(acceptance_dataset.X.head(500))
    np.testing.assert_array_equal(one.scorer.predict_raw(features), compiled.scorer.predict_raw(features))
