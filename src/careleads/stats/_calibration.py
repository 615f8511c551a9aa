"""Probability calibration fitted on a validation slice and applied to a refitted model's scores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from careleads.errors import ConfigError, NotFittedError
from careleads.types import FloatArray

_EPS = 1e-6


def logit(p: npt.ArrayLike) -> FloatArray:
    """The log-odds of probabilities, clipped to [1e-6, 1 - 1e-6] first."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


class ProbabilityCalibrator(BaseEstimator):  # type: ignore[misc]
    """Map raw scores to calibrated probabilities.

    ``method="sigmoid"`` fits a logistic regression on the logit of the raw score (Platt scaling), smooth
    enough to transfer to a model refitted on more data; ``"isotonic"`` fits a monotone step function, better
    with many validation rows. ``"auto"`` chooses isotonic from 5,000 validation rows and at least 200
    positives, sigmoid below.

    What is learned is a few numbers (the isotonic steps ``x_``/``y_``, or ``slope_`` and ``intercept_``),
    and :meth:`transform` is the one place they are applied, to any number of scores (one lead is an array
    of one). The isotonic map interpolates linearly between steps and holds the end values outside them.

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

    def fit(
        self, raw: npt.ArrayLike, y: npt.ArrayLike, *, sample_weight: npt.ArrayLike | None = None
    ) -> ProbabilityCalibrator:
        """Learn the map from raw scores to probabilities; `sample_weight` weighs rows (e.g. so that a lead
        scored at several moments counts once)."""
        r = np.asarray(raw, dtype=np.float64)
        t = np.asarray(y, dtype=np.int64)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        method = self.method
        if method == "auto":
            method = "isotonic" if len(t) >= 5000 and t.sum() >= 200 else "sigmoid"
        self.method_: str = method
        if method == "isotonic":
            iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip").fit(
                r, t, sample_weight=w
            )
            self.x_: FloatArray = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.y_: FloatArray = np.asarray(iso.y_thresholds_, dtype=np.float64)
        else:
            lr = LogisticRegression(C=1e6).fit(logit(r).reshape(-1, 1), t, sample_weight=w)
            self.slope_ = float(lr.coef_[0, 0])
            self.intercept_ = float(lr.intercept_[0])
        return self

    def transform(self, raw: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities of raw scores."""
        if not hasattr(self, "method_"):
            raise NotFittedError("the calibrator is not fitted; call fit on validation scores first")
        r = np.asarray(raw, dtype=np.float64)
        if self.method_ == "isotonic":
            return np.asarray(np.interp(r, self.x_, self.y_), dtype=np.float64)
        return np.asarray(expit(logit(r) * self.slope_ + self.intercept_), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """What was learned, as JSON (the model card and the model artifact store it)."""
        if not hasattr(self, "method_"):
            raise NotFittedError("the calibrator is not fitted")
        if self.method_ == "isotonic":
            return {"method": "isotonic", "x": self.x_.tolist(), "y": self.y_.tolist()}
        return {"method": "sigmoid", "slope": self.slope_, "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbabilityCalibrator:
        """A fitted calibrator from :meth:`to_dict`'s output."""
        method = data.get("method")
        out = cls(method="isotonic" if method == "isotonic" else "sigmoid")
        if method == "isotonic":
            out.x_ = np.asarray(data["x"], dtype=np.float64)
            out.y_ = np.asarray(data["y"], dtype=np.float64)
            if out.x_.shape != out.y_.shape or out.x_.size == 0:
                raise ConfigError("an isotonic calibration needs as many x as y steps, at least one")
        elif method == "sigmoid":
            out.slope_ = float(data["slope"])
            out.intercept_ = float(data["intercept"])
        else:
            raise ConfigError(f"unknown calibration method {method!r}; expected isotonic or sigmoid")
        out.method_ = str(method)
        return out
