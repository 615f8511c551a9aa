"""Gradient boosting on lead features, with native categorical and missing-value handling."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import roc_auc_score

from careleads.errors import NotFittedError


class FramePreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fix each column's type and, for categoricals, the levels seen in training.

    LightGBM reads pandas categories natively; fixing the levels at fit time means a level that appears
    only later (a new channel) becomes missing rather than silently taking another level's code.

    Parameters
    ----------
    min_level_count : int
        Levels seen fewer times than this in training are treated as missing.
    """

    def __init__(self, min_level_count: int = 20) -> None:
        self.min_level_count = min_level_count

    def fit(self, X: pd.DataFrame, y: Any = None) -> FramePreprocessor:  # noqa: ARG002 - sklearn signature
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.categories_: dict[str, list[str]] = {}
        for name in X.columns:
            column = X[name]
            if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
                counts = column.astype("string").value_counts(dropna=True)
                self.categories_[name] = sorted(counts[counts >= self.min_level_count].index.tolist())
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError("the preprocessor is not fitted")
        out: dict[str, Any] = {}
        for name in self.feature_names_in_:
            column = X[name] if name in X else pd.Series(np.nan, index=X.index)
            if name in self.categories_:
                out[name] = _fixed_levels(column, self.categories_[name])
            else:
                out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:  # noqa: ARG002
        return np.asarray(self.feature_names_in_, dtype=object)


def _fixed_levels(column: pd.Series, levels: list[str]) -> pd.Categorical[str]:
    """The column's values as text, as a categorical on `levels`; values outside them become missing.

    Each distinct value is looked up once (a categorical column's own categories, else its factorized
    values), then the codes are taken per row: the same result as matching every row's text.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        distinct = pd.Series(column.cat.categories).astype("string")
    elif isinstance(column.array, ArrowStringArray):  # text as features build it: looked up in one pass
        array = pa.array(column.array)
        found = pc.index_in(array, value_set=pa.array(levels, type=array.type))
        level_codes = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        return pd.Categorical.from_codes(level_codes, categories=pd.Index(levels))
    else:
        codes, uniques = pd.factorize(column.astype("string"), use_na_sentinel=True)
        distinct = pd.Series(uniques, dtype="string")
    level_codes = pd.Index(levels, dtype="string").get_indexer(pd.Index(distinct))
    # code -1 (missing) looks up the appended -1, so it stays missing
    level_of = np.append(level_codes, -1).astype(np.int64)
    fixed: pd.Categorical[str] = pd.Categorical.from_codes(level_of[codes], categories=pd.Index(levels))
    return fixed


DEFAULT_PARAMS: Mapping[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
    "min_data_per_group": 50,
    "verbose": -1,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
}


class GradientBoostedScorer(BaseEstimator):  # type: ignore[misc]
    """LightGBM binary classifier on a preprocessed frame (raw, uncalibrated probabilities).

    Parameters
    ----------
    num_leaves, learning_rate, min_child_samples : LightGBM settings.
    n_estimators : int
        Trees to grow; with a validation set, the most trees early stopping allows.
    early_stopping_rounds : int
        Rounds without improvement of validation log loss before stopping.
    random_state : int
        Seed for bagging and feature sampling.
    """

    def __init__(
        self,
        *,
        num_leaves: int = 15,
        learning_rate: float = 0.05,
        min_child_samples: int = 50,
        n_estimators: int = 1000,
        early_stopping_rounds: int = 50,
        random_state: int = 0,
    ) -> None:
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state

    def _params(self) -> dict[str, Any]:
        params = dict(DEFAULT_PARAMS)
        params.update(
            num_leaves=self.num_leaves,
            learning_rate=self.learning_rate,
            min_child_samples=self.min_child_samples,
            seed=self.random_state,
        )
        return params

    def fit(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        X_valid: pd.DataFrame | None = None,
        y_valid: npt.ArrayLike | None = None,
    ) -> GradientBoostedScorer:
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        train = lgb.Dataset(X, label=np.asarray(y, dtype=np.float64), free_raw_data=True)
        callbacks: list[Callable[..., Any]] = []
        valid_sets = []
        if X_valid is not None and y_valid is not None:
            valid_sets = [lgb.Dataset(X_valid, label=np.asarray(y_valid, dtype=np.float64), reference=train)]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        self.booster_ = lgb.train(
            self._params(),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.n_estimators_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        if X_valid is not None and y_valid is not None:
            self.valid_auc_ = float(roc_auc_score(np.asarray(y_valid), self.predict_raw(X_valid)))
        return self

    def predict_raw(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        if not hasattr(self, "booster_"):
            raise NotFittedError("the gradient boosting model is not fitted")
        return np.asarray(self.booster_.predict(X, num_iteration=self.n_estimators_), dtype=np.float64)

    def contributions(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Per-feature contributions to the log-odds (SHAP values), last column the bias."""
        return np.asarray(
            self.booster_.predict(X, num_iteration=self.n_estimators_, pred_contrib=True), dtype=np.float64
        )

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster_.feature_importance(importance_type="gain", iteration=self.n_estimators_)
        total = float(np.sum(gains)) or 1.0
        return {str(n): float(g) / total for n, g in zip(self.feature_names_in_, gains, strict=True)}
