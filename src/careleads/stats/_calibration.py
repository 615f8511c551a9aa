"""Probability calibration fitted on a validation slice and applied to a refitted model's scores."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from careleads.errors import NotFittedError

_EPS = 1e-6


def _logit(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


class ProbabilityCalibrator(BaseEstimator):  # type: ignore[misc]
    """Map raw scores to calibrated probabilities.

    ``method="sigmoid"`` fits a logistic regression on the logit of the raw score (Platt scaling), smooth
    enough to transfer to a model refitted on more data; ``"isotonic"`` fits a monotone step function, better
    with many validation rows. ``"auto"`` chooses isotonic from 5,000 validation rows and at least 200
    positives, sigmoid below.

    Examples
    --------
    >>> import numpy as np
    >>> raw, y = np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])
    >>> cal = ProbabilityCalibrator(method="sigmoid").fit(raw, y)
    >>> bool(cal.transform(np.array([0.9]))[0] > 0.5)
    True
    """

    def __init__(self, method: Literal["auto", "sigmoid", "isotonic"] = "auto") -> None:
        self.method = method

    def fit(self, raw: npt.ArrayLike, y: npt.ArrayLike) -> ProbabilityCalibrator:
        r = np.asarray(raw, dtype=np.float64)
        t = np.asarray(y, dtype=np.int64)
        method = self.method
        if method == "auto":
            method = "isotonic" if len(t) >= 5000 and t.sum() >= 200 else "sigmoid"
        self.method_: str = method
        if method == "isotonic":
            iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip")
            iso.fit(r, t)
            self.model_: Any = iso
        else:
            lr = LogisticRegression(C=1e6)
            lr.fit(_logit(r).reshape(-1, 1), t)
            self.model_ = lr
        return self

    def transform(self, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
        if not hasattr(self, "model_"):
            raise NotFittedError("the calibrator is not fitted; call fit on validation scores first")
        r = np.asarray(raw, dtype=np.float64)
        if self.method_ == "isotonic":
            return np.asarray(self.model_.predict(r), dtype=np.float64)
        return np.asarray(self.model_.predict_proba(_logit(r).reshape(-1, 1))[:, 1], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, stored in the model card."""
        if self.method_ == "isotonic":
            return {
                "method": "isotonic",
                "x": [float(v) for v in self.model_.X_thresholds_],
                "y": [float(v) for v in self.model_.y_thresholds_],
            }
        return {
            "method": "sigmoid",
            "slope": float(self.model_.coef_[0][0]),
            "intercept": float(self.model_.intercept_[0]),
        }
