"""Probability calibration: a strictly increasing map from raw scores to probabilities.

The map never changes the order of two different scores, inside or outside the range it was fitted on, so
a ranking figure (AUC, lift, gains) is the same before and after calibration, and calibration never makes
two leads tie that the model told apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from careleads.errors import ConfigError, NotFittedError
from careleads.types import FloatArray

_EPS = 1e-6
# The log-odds slope used where scores do not rank (a fitted slope at or below zero): nearly flat, still
# strictly increasing, so the order of the raw scores is kept.
_MIN_SLOPE = 1e-3
# Where a map's log-odds of a raw score are clipped: closer to 0 and 1 than fitting needs (`_EPS`).
_FINE_EPS = 1e-15
# The largest log-odds shift `recentred` searches.
_MAX_SHIFT = 20.0


def logit(p: npt.ArrayLike) -> FloatArray:
    """The log-odds of probabilities, clipped to [1e-6, 1 - 1e-6] first."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


class ProbabilityCalibrator(BaseEstimator):  # type: ignore[misc]
    """Map raw scores to calibrated probabilities.

    ``method="sigmoid"`` fits a logistic regression on the logit of the raw score (Platt scaling);
    ``"isotonic"`` fits isotonic regression, better with many rows. ``"auto"`` chooses isotonic from 5,000
    rows and at least 200 positives, sigmoid below.

    Both maps are strictly increasing, so calibration cannot move a ranking. The isotonic map runs through
    one knot per isotonic block (``x_``: the block's mean raw score, ``y_``: its observed rate), linearly
    between knots; beyond the first and last knot it extrapolates in log-odds with ``tail_slope_`` (the Platt
    slope of the same scores), so a score outside the fitted range is never clipped onto the end value. A
    Platt slope that is not positive (scores that do not rank) is replaced by a small positive one.

    :meth:`recentred` moves a fitted map by one log-odds shift (``shift_``) so that its mean on a recent
    window's scores is that window's outcome rate: the shape learned on many rows, the level of the recent
    ones.

    What is learned is a few numbers (the knots ``x_``/``y_`` and ``tail_slope_``, or ``slope_`` and
    ``intercept_``, and ``shift_``), and :meth:`transform` is the one place they are applied, to any number
    of scores (one lead is an array of one). An isotonic map stored without ``tail_slope`` (an older
    artifact) is read as it was fitted: steps, linear between them, end values held outside.

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
        self.shift_ = 0.0
        slope, intercept = _platt(r, t, w)
        if method == "isotonic":
            iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip").fit(
                r, t, sample_weight=w
            )
            self.x_, self.y_ = _block_knots(r, iso.predict(r), w)
            self.tail_slope_: float | None = slope
        else:
            self.slope_ = slope
            self.intercept_ = intercept
        return self

    def transform(self, raw: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities of raw scores."""
        if not hasattr(self, "method_"):
            raise NotFittedError("the calibrator is not fitted; call fit on validation scores first")
        r = np.asarray(raw, dtype=np.float64)
        if self.method_ == "isotonic":
            if self.tail_slope_ is None:  # an older artifact's steps, as they were fitted
                p = np.asarray(np.interp(r, self.x_, self.y_), dtype=np.float64)
            else:
                p = _strict_interp(r, self.x_, self.y_, self.tail_slope_)
        else:
            p = np.asarray(expit(_fine_logit(r) * self.slope_ + self.intercept_), dtype=np.float64)
        return p if self.shift_ == 0 else _shift(p, self.shift_)

    def recentred(
        self, raw: npt.ArrayLike, y: npt.ArrayLike, *, sample_weight: npt.ArrayLike | None = None
    ) -> ProbabilityCalibrator:
        """A copy whose probabilities are moved by one log-odds shift so that, on `raw`, their mean is the
        observed rate of `y`: the same shape, re-centred on a recent window's outcome rate.

        Examples
        --------
        >>> import numpy as np
        >>> raw, y = np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])
        >>> cal = ProbabilityCalibrator(method="sigmoid").fit(raw, y)
        >>> recent = cal.recentred(raw, np.array([0, 1, 1, 1]))
        >>> round(float(recent.transform(raw).mean()), 6)
        0.75
        """
        if not hasattr(self, "method_"):
            raise NotFittedError("the calibrator is not fitted; call fit on validation scores first")
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        rate = float(np.average(np.asarray(y, dtype=np.float64), weights=w))
        out = ProbabilityCalibrator.from_dict({**self.to_dict(), "shift": 0.0})
        p = out.transform(raw)
        if not 0 < rate < 1:
            return out
        out.shift_ = float(
            brentq(lambda d: float(np.average(_shift(p, d), weights=w)) - rate, -_MAX_SHIFT, _MAX_SHIFT)
        )
        return out

    def to_dict(self) -> dict[str, Any]:
        """What was learned, as JSON (the model card and the model artifact store it)."""
        if not hasattr(self, "method_"):
            raise NotFittedError("the calibrator is not fitted")
        if self.method_ == "isotonic":
            out: dict[str, Any] = {"method": "isotonic", "x": self.x_.tolist(), "y": self.y_.tolist()}
            if self.tail_slope_ is not None:
                out["tail_slope"] = self.tail_slope_
        else:
            out = {"method": "sigmoid", "slope": self.slope_, "intercept": self.intercept_}
        if self.shift_ != 0:
            out["shift"] = self.shift_
        return out

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
            tail = data.get("tail_slope")
            out.tail_slope_ = None if tail is None else float(tail)
        elif method == "sigmoid":
            out.slope_ = float(data["slope"])
            out.intercept_ = float(data["intercept"])
        else:
            raise ConfigError(f"unknown calibration method {method!r}; expected isotonic or sigmoid")
        out.method_ = str(method)
        out.shift_ = float(data.get("shift", 0.0))
        return out


def _platt(raw: FloatArray, y: npt.NDArray[np.int64], w: FloatArray | None) -> tuple[float, float]:
    """Slope and intercept of Platt scaling on the log-odds of `raw`; a slope at or below zero becomes
    `_MIN_SLOPE`, with the intercept that keeps the mean prediction at the observed rate."""
    x = logit(raw)
    lr = LogisticRegression(C=1e6).fit(x.reshape(-1, 1), y, sample_weight=w)
    slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if slope > 0:
        return slope, intercept
    rate = float(np.average(y, weights=w))
    return _MIN_SLOPE, float(logit([rate])[0]) - _MIN_SLOPE * float(np.average(x, weights=w))


def _block_knots(raw: FloatArray, fitted: FloatArray, w: FloatArray | None) -> tuple[FloatArray, FloatArray]:
    """One knot per distinct fitted value of an isotonic regression: the mean raw score of its rows, and
    the value. Both rise strictly from knot to knot (the fitted values never fall as the raw score rises)."""
    weights = np.ones_like(raw) if w is None else w
    values, block = np.unique(fitted, return_inverse=True)
    total = np.bincount(block, weights=weights)
    centres = np.bincount(block, weights=weights * raw) / np.where(total > 0, total, 1.0)
    return np.asarray(centres, dtype=np.float64), np.asarray(values, dtype=np.float64)


def _strict_interp(raw: FloatArray, x: FloatArray, y: FloatArray, slope: float) -> FloatArray:
    """Linear between the knots; beyond them, a straight line in log-odds with `slope` from the end knot."""
    r = np.atleast_1d(raw)
    out = np.asarray(np.interp(r, x, y), dtype=np.float64)
    below, above = r < x[0], r > x[-1]
    lr = _fine_logit(r)
    out[below] = expit(logit(y[:1])[0] + slope * (lr[below] - logit(x[:1])[0]))
    out[above] = expit(logit(y[-1:])[0] + slope * (lr[above] - logit(x[-1:])[0]))
    return out.reshape(np.shape(raw))


def _fine_logit(p: FloatArray) -> FloatArray:
    """Log-odds clipped only where float64 runs out (1e-15 from 0 and 1): scores that `logit` would clip
    to one value keep their order when a map is applied."""
    q = np.clip(np.asarray(p, dtype=np.float64), _FINE_EPS, 1 - _FINE_EPS)
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _shift(p: FloatArray, shift: float) -> FloatArray:
    """Probabilities moved by `shift` in log-odds (0 and 1 stay where they are)."""
    with np.errstate(divide="ignore"):
        odds = np.log(p) - np.log1p(-p)
    return np.asarray(expit(odds + shift), dtype=np.float64)
