"""The feature matrix handed to compiled trees equals the one lleaves would build from the frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.features import LeadDataset
from careleads.models import TrainingResult

lleaves_data = pytest.importorskip("lleaves.data_processing")


def _features(n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(np.array(["email", "phone", "sms", "fax", None], dtype=object), n_rows)
    line = rng.choice(np.array(["derm", "ortho", "cardio", None], dtype=object), n_rows)
    age = rng.normal(50, 15, n_rows)
    age[rng.random(n_rows) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "channel": pd.Series(channel, dtype="string"),
            "n_events": rng.poisson(3, n_rows).astype("float64"),
            "line": pd.Series(line, dtype="string"),
        }
    )


@pytest.mark.parametrize("n_rows", [5000, 1])
def test_the_preprocessor_matrix_is_what_lleaves_makes_of_its_frame(n_rows: int) -> None:
    """The one matrix the trees read equals lleaves' own conversion of the preprocessed frame, for a table
    and for one record (given as one-value arrays); "fax" is a level too rare to keep, so it is missing."""
    from careleads.models import FramePreprocessor

    train = _features(5000, seed=1)
    train.loc[train["channel"] == "fax", "channel"] = "email"
    train.loc[:3, "channel"] = "fax"  # seen, but fewer times than min_level_count
    prep = FramePreprocessor(min_level_count=20).fit(train)
    frame = _features(n_rows, seed=2)
    levels = [prep.categories_["channel"], prep.categories_["line"]]
    want = lleaves_data.data_to_ndarray(prep.transform(frame), levels)
    np.testing.assert_array_equal(prep.matrix(frame), want)
    record = {name: np.asarray(frame[name].astype(object).to_numpy()) for name in frame.columns}
    np.testing.assert_array_equal(prep.matrix(record), want)
    assert "fax" not in prep.categories_["channel"]


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
    features = compiled.preprocessor.matrix(acceptance_dataset.X.head(500))
    np.testing.assert_array_equal(one.scorer.predict_raw(features), compiled.scorer.predict_raw(features))
