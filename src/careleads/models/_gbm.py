"""Gradient boosting on lead features, with native categorical and missing-value handling."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.metrics import roc_auc_score

from careleads.columns import FEW, Column, Columns, floats, n_rows, positions, texts
from careleads.errors import NotFittedError
from careleads.features import ACTIVITY_HOURS
from careleads.types import FloatArray, IntArray


class FramePreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fix each column's type and, for categoricals, the levels seen in training.

    Fixing the levels at fit time means a level that appears only later (a new channel) becomes missing
    rather than silently taking another level's code. :meth:`matrix` is the one definition of what the
    boosted trees read: a float matrix, a categorical feature as its level's position (NaN when missing or
    unseen), any other feature as its number; it takes a table or one record (a mapping of one-value
    columns). :meth:`transform` gives the same values as a frame of pandas categoricals, for training.

    Parameters
    ----------
    min_level_count : int
        Levels seen fewer times than this in training are treated as missing.

    Examples
    --------
    >>> import pandas as pd
    >>> prep = FramePreprocessor(min_level_count=1).fit(pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]}))
    >>> prep.matrix({"a": np.array(["y"], dtype=object), "b": np.array([3.0])}).tolist()
    [[1.0, 3.0]]
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

    def matrix(self, X: Columns) -> FloatArray:
        """The row-major float matrix of `X`'s features, in the fitted order (absent columns all NaN)."""
        if not hasattr(self, "feature_names_in_"):
            raise NotFittedError("the preprocessor is not fitted")
        n = n_rows(X)
        # one row per feature, each written in one contiguous pass, then turned row-major (writing each
        # column straight into a row-major matrix strides through memory: three times slower)
        columns = np.empty((len(self.feature_names_in_), n), dtype=np.float64)
        for j, name in enumerate(self.feature_names_in_):
            column = X[name] if name in X else None
            if column is None:
                columns[j] = np.nan
            elif name in self.categories_:
                codes = self.level_codes(name, column)
                columns[j] = np.where(codes < 0, np.nan, codes)
            elif isinstance(column, np.ndarray) and column.dtype == np.float64:
                columns[j] = column  # a feature column of numbers, as the features build them
            else:
                columns[j] = floats(column)
        return np.ascontiguousarray(columns.T)

    def level_codes(self, name: str, column: Column) -> IntArray:
        """Each value's position among the fitted levels of `name`; -1 when missing or unseen."""
        return positions(texts(column), self.categories_[name])

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """:meth:`matrix` as a frame: categorical features as pandas categoricals on the fitted levels."""
        matrix = self.matrix(X)
        out: dict[str, Any] = {}
        for j, name in enumerate(self.feature_names_in_):
            if name in self.categories_:
                codes = np.where(np.isnan(matrix[:, j]), -1, matrix[:, j]).astype(np.int64)
                out[name] = pd.Categorical.from_codes(codes, categories=pd.Index(self.categories_[name]))
            else:
                out[name] = matrix[:, j]
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]:  # noqa: ARG002
        return np.asarray(self.feature_names_in_, dtype=object)


#: Features whose rise never lowers the score (LightGBM's monotone constraints): a day-one model's hours from
#: arrival to the latest activity, so that a later event can only add to what the lead did.
NEVER_LOWERS: frozenset[str] = frozenset({ACTIVITY_HOURS})

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


class GradientBoostedScorer(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """LightGBM binary classifier on a preprocessed frame or matrix (raw, uncalibrated probabilities).

    The one way careleads trains boosted trees: `train_model` and `evaluate_file` both fit this class, on
    ``DEFAULT_PARAMS`` with the changes each of their candidates names.

    Parameters
    ----------
    params : mapping, optional
        Changes to ``DEFAULT_PARAMS`` (LightGBM's own names: ``num_leaves``, ``learning_rate``,
        ``metric``, ``num_threads``, ...).
    n_estimators : int
        Trees to grow; with a validation set, the most trees early stopping allows.
    early_stopping_rounds : int
        Rounds without improvement of the validation metric (the first of ``metric``; log loss by
        default) before stopping.
    random_state : int
        Seed for bagging and feature sampling.
    """

    def __init__(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        n_estimators: int = 1000,
        early_stopping_rounds: int = 50,
        random_state: int = 0,
    ) -> None:
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state

    def settings(self) -> dict[str, Any]:
        """The LightGBM parameters this model trains with."""
        return {**DEFAULT_PARAMS, **(self.params or {}), "seed": self.random_state}

    def fit(
        self,
        X: pd.DataFrame,
        y: npt.ArrayLike,
        *,
        X_valid: pd.DataFrame | None = None,
        y_valid: npt.ArrayLike | None = None,
        sample_weight: npt.NDArray[np.float64] | None = None,
        valid_weight: npt.NDArray[np.float64] | None = None,
    ) -> GradientBoostedScorer:
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.classes_ = np.array([0, 1])
        train = lgb.Dataset(
            X, label=np.asarray(y, dtype=np.float64), weight=sample_weight, free_raw_data=True
        )
        callbacks: list[Callable[..., Any]] = []
        valid_sets = []
        if X_valid is not None and y_valid is not None:
            valid_sets = [
                lgb.Dataset(
                    X_valid, label=np.asarray(y_valid, dtype=np.float64), weight=valid_weight, reference=train
                )
            ]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        settings = self.settings()
        rising = [1 if name in NEVER_LOWERS else 0 for name in self.feature_names_in_]
        if any(rising) and "monotone_constraints" not in settings:
            settings["monotone_constraints"] = rising
        self.booster_ = lgb.train(
            settings,
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.n_estimators_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        if X_valid is not None and y_valid is not None:
            self.valid_auc_ = float(
                roc_auc_score(np.asarray(y_valid), self.predict_raw(X_valid), sample_weight=valid_weight)
            )
        return self

    def predict_proba(self, X: pd.DataFrame | FloatArray) -> npt.NDArray[np.float64]:
        """Raw probabilities as scikit-learn's two columns (for a pipeline's last step)."""
        positive = self.predict_raw(X)
        return np.column_stack([1.0 - positive, positive])

    def predict_raw(self, X: pd.DataFrame | FloatArray) -> npt.NDArray[np.float64]:
        """Raw (uncalibrated) probabilities of a preprocessed frame or of the preprocessor's matrix."""
        if not hasattr(self, "booster_"):
            raise NotFittedError("the gradient boosting model is not fitted")
        return np.asarray(self.booster_.predict(X, **self._prediction(X)), dtype=np.float64)

    def contributions(self, X: pd.DataFrame | FloatArray) -> npt.NDArray[np.float64]:
        """Per-feature contributions to the log-odds (SHAP values), last column the bias."""
        return np.asarray(
            self.booster_.predict(X, pred_contrib=True, **self._prediction(X)), dtype=np.float64
        )

    def raw_with_contributions(
        self, X: pd.DataFrame | FloatArray
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Raw probabilities and the contributions behind them, from one pass of the trees.

        For the binary objective the contributions add up to the raw log-odds, so the raw probability is
        their sigmoid (LightGBM's own prediction to about 1e-15); other objectives ask the trees twice.
        """
        contributions = self.contributions(X)
        if str(self.booster_.params.get("objective", "binary")) == "binary":
            return np.asarray(expit(contributions.sum(axis=1)), dtype=np.float64), contributions
        return self.predict_raw(X), contributions

    def _prediction(self, X: pd.DataFrame | FloatArray) -> dict[str, Any]:
        # a few rows (one lead) on one thread: waking OpenMP's threads costs more than the trees, and under
        # load a sleeping thread's turn can take milliseconds; the arithmetic is the same
        few = {"num_threads": 1} if len(X) <= FEW else {}
        return {"num_iteration": self.n_estimators_, **few}

    def feature_importance(self) -> dict[str, float]:
        gains = self.booster_.feature_importance(importance_type="gain", iteration=self.n_estimators_)
        total = float(np.sum(gains)) or 1.0
        return {str(n): float(g) / total for n, g in zip(self.feature_names_in_, gains, strict=True)}
