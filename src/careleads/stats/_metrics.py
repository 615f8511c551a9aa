"""Ranking and calibration metrics, shared by the rule baseline, the model and the reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from careleads.errors import NotEnoughDataError

# one implementation of ECE (equal-frequency bins), in the monitoring statistics
from careleads.stats._reliability import expected_calibration_error


def _arrays(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(prob, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length: {y.shape} != {p.shape}")
    return y, p


def lift_at(y_true: npt.ArrayLike, prob: npt.ArrayLike, *, top_fraction: float = 0.1) -> float:
    """Conversion rate in the top `top_fraction` of scores divided by the overall conversion rate."""
    y, p = _arrays(y_true, prob)
    base = float(y.mean())
    if base == 0:
        return float("nan")
    n_top = max(1, int(round(len(y) * top_fraction)))
    top = np.argsort(-p, kind="stable")[:n_top]
    return float(y[top].mean()) / base


def calibration_curve_points(
    y_true: npt.ArrayLike, prob: npt.ArrayLike, *, n_bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, n) per equal-frequency bin, for calibration plots."""
    y, p = _arrays(y_true, prob)
    order = np.argsort(p, kind="stable")
    points = []
    for idx in np.array_split(order, min(n_bins, max(1, len(y)))):
        if len(idx):
            points.append((float(p[idx].mean()), float(y[idx].mean()), len(idx)))
    return points


@dataclass(frozen=True)
class BinaryMetrics:
    """The comparison-table figures for one scorer on one window."""

    n: int
    positive_rate: float
    auc: float
    pr_auc: float
    brier: float
    ece: float
    lift_top_decile: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def binary_metrics(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> BinaryMetrics:
    """AUC, PR-AUC, Brier score, ECE and top-decile lift of probabilities against 0/1 outcomes.

    Raises
    ------
    NotEnoughDataError
        When the labels hold only one class, so no ranking metric exists.
    """
    y, p = _arrays(y_true, prob)
    if len(np.unique(y)) < 2:
        raise NotEnoughDataError(
            f"the evaluation window has {len(y)} rows but only one outcome value; "
            "widen the window or choose another target"
        )
    return BinaryMetrics(
        n=int(len(y)),
        positive_rate=float(y.mean()),
        auc=float(roc_auc_score(y, p)),
        pr_auc=float(average_precision_score(y, p)),
        brier=float(brier_score_loss(y, p)),
        ece=expected_calibration_error(y, p),
        lift_top_decile=lift_at(y, p, top_fraction=0.1),
    )
