"""Ranking and calibration metrics, shared by the rule baseline, the model, monitoring and the reports.

Scores tie often (isotonic calibration maps whole ranges of leads to one probability), so every metric here
that cuts the sorted scores (top decile, equal-count bins, the gains curve) treats tied leads alike: where a
cut falls inside a run of tied scores, the tied leads share the places on each side in proportion, which is
the expected value under random tie-breaking. No figure depends on the order of the rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from careleads.errors import InputError, NotEnoughDataError
from careleads.types import FloatArray


def _arrays(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(prob, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length: {y.shape} != {p.shape}")
    return y, p


def _tied_cumulative(y: npt.ArrayLike, p: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Positives and summed scores among the ``i`` lowest scores, for ``i = 0 .. n``, ties shared.

    Returns ``(positives, scores)``, each of length ``n + 1``. Inside a run of ``m`` tied scores holding
    ``k`` positives, each place holds ``k / m`` positives: the expected count when the tie is broken at
    random. The scores need no such care (tied scores are equal).
    """
    y_arr = np.asarray(y, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    n = y_arr.size
    order = np.argsort(p_arr, kind="stable")
    p_sorted = p_arr[order]
    _, starts, sizes = np.unique(p_sorted, return_index=True, return_counts=True)
    group_positives = np.add.reduceat(y_arr[order], starts) if n else np.zeros(0)
    before = np.concatenate(([0.0], np.cumsum(group_positives)))
    # for place i (1-based) of the sorted scores: its run, and how far into the run it is
    run = np.repeat(np.arange(starts.size), sizes)
    into = np.arange(1, n + 1) - starts[run]
    positives = np.empty(n + 1)
    positives[0] = 0.0
    positives[1:] = before[run] + into * (group_positives[run] / sizes[run])
    scores = np.concatenate(([0.0], np.cumsum(p_sorted)))
    return positives, scores


def lift_at(y_true: npt.ArrayLike, prob: npt.ArrayLike, *, top_fraction: float = 0.1) -> float:
    """Conversion rate in the top ``top_fraction`` of scores divided by the overall conversion rate.

    Leads tied with the last lead inside the cut share the places left in proportion (the expected lift
    when ties are broken at random), so the lift never depends on the order of the rows.

    Examples
    --------
    Ten leads, the top 20% is two places; three leads tie on 0.8 for the second place and one of them
    converted: the second place holds a third of a conversion.

    >>> y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    >>> p = [0.9, 0.8, 0.8, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    >>> round(lift_at(y, p, top_fraction=0.2), 6)  # (1 + 1/3) / 2 against 2 / 10
    3.333333
    """
    y, p = _arrays(y_true, prob)
    base = float(y.mean()) if y.size else 0.0
    if base == 0:
        return float("nan")
    n = y.size
    n_top = max(1, int(round(n * top_fraction)))
    positives, _ = _tied_cumulative(y, p)
    in_top = positives[n] - positives[n - n_top]
    return float(in_top / n_top) / base


def cumulative_gains(y_true: npt.ArrayLike, prob: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Share of leads contacted (best scores first) and share of all conversions found, at each lead.

    Tied scores share their conversions evenly, so the curve is straight across a run of ties.

    Returns
    -------
    (share_contacted, share_found) : arrays of length n
        Both rise to 1. ``share_found`` is NaN throughout when there is no conversion.

    Examples
    --------
    >>> contacted, found = cumulative_gains([1, 0, 0, 1], [0.9, 0.5, 0.5, 0.5])
    >>> found.round(4).tolist()
    [0.5, 0.6667, 0.8333, 1.0]
    """
    y, p = _arrays(y_true, prob)
    n = y.size
    positives, _ = _tied_cumulative(y, p)
    total = positives[n] if n else 0.0
    found = positives[n] - positives[n - np.arange(1, n + 1)]
    share = np.arange(1, n + 1) / max(n, 1)
    return share, found / total if total > 0 else np.full(n, np.nan)


def _equal_count_bins(y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int) -> list[tuple[float, float, int]]:
    """(summed score, expected positives, size) per equal-count bin of the sorted scores, ties shared."""
    n = np.asarray(y).size
    k = min(n_bins, max(1, n))
    # the bin sizes of np.array_split: the first n % k bins hold one more
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    edges = np.concatenate(([0], np.cumsum(sizes)))
    positives, scores = _tied_cumulative(y, p)
    return [
        (float(scores[b] - scores[a]), float(positives[b] - positives[a]), int(b - a))
        for a, b in zip(edges[:-1], edges[1:], strict=True)
        if b > a
    ]


def calibration_curve_points(
    y_true: npt.ArrayLike, prob: npt.ArrayLike, *, n_bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, n) per equal-frequency bin, for calibration plots.

    A run of tied scores cut by a bin edge shares its conversions between the two bins in proportion.
    """
    y, p = _arrays(y_true, prob)
    return [(s / size, k / size, size) for s, k, size in _equal_count_bins(y, p, n_bins)]


def expected_calibration_error(y: npt.ArrayLike, p: npt.ArrayLike, *, n_bins: int = 10) -> float:
    """Expected calibration error over equal-frequency bins of the predicted probability.

    ``ECE = sum over bins of (bin size / N) * |observed rate - mean predicted|``; bins are consecutive runs
    of the sorted predictions with (nearly) equal counts. A run of tied predictions cut by a bin edge
    shares its outcomes between the two bins in proportion, so the order of the rows never matters.

    Parameters
    ----------
    y : array-like of 0/1
        Observed outcomes (matured only).
    p : array-like of float in [0, 1]
        Predicted probabilities.
    n_bins : int, default 10
        Number of bins (fewer when there are fewer rows).

    Returns
    -------
    float
        0 for perfect calibration; the average absolute gap between predicted and observed.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=2), 6)
    0.0
    >>> expected_calibration_error([0, 0, 1, 1], [0.9, 0.9, 0.1, 0.1], n_bins=2)
    0.9
    """
    y_arr = np.asarray(y, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    if y_arr.shape != p_arr.shape or y_arr.ndim != 1:
        raise InputError(
            f"expected_calibration_error: y and p must be 1-d and the same length, got {y_arr.shape} "
            f"and {p_arr.shape}."
        )
    if y_arr.size == 0:
        raise InputError("expected_calibration_error: no rows; pass matured outcomes and their predictions.")
    if np.isnan(y_arr).any() or not np.isin(y_arr, [0.0, 1.0]).all():
        raise InputError(
            "expected_calibration_error: y must hold only 0 and 1 (drop unmatured outcomes first)."
        )
    if np.isnan(p_arr).any() or p_arr.min() < 0 or p_arr.max() > 1:
        raise InputError("expected_calibration_error: p must be probabilities in [0, 1] without gaps.")
    if n_bins < 1:
        raise InputError(f"expected_calibration_error: n_bins must be at least 1, got {n_bins}.")
    total = sum(abs(k - s) for s, k, _ in _equal_count_bins(y_arr, p_arr, n_bins))
    return total / y_arr.size


@dataclass(frozen=True)
class ChanceECE:
    """The ECE a perfectly calibrated model would show on these predictions by chance alone.

    ``mean`` and ``upper`` (the 95th percentile) of the ECE of outcomes drawn from the predictions
    themselves: on a few hundred rows a calibrated model shows an ECE of several points, so an observed ECE
    is read against this band, never against zero.
    """

    mean: float
    upper: float
    draws: int


def chance_ece(p: npt.ArrayLike, *, n_bins: int = 10, draws: int = 200, seed: int = 0) -> ChanceECE:
    """The ECE of perfectly calibrated predictions `p` by chance alone (outcomes drawn as Bernoulli(p)).

    Uses `expected_calibration_error` with the same bins, so the band and the figure it is read against
    are measured the same way.

    Examples
    --------
    >>> import numpy as np
    >>> band = chance_ece(np.linspace(0.1, 0.6, 600), draws=50)
    >>> 0.02 < band.mean < 0.08 and band.upper >= band.mean
    True
    """
    p_arr = np.asarray(p, dtype=float)
    if p_arr.ndim != 1 or p_arr.size == 0:
        raise InputError("chance_ece: p must be a non-empty 1-d array of probabilities.")
    rng = np.random.default_rng(seed)
    values = np.empty(draws)
    for i in range(draws):
        y = (rng.random(p_arr.size) < p_arr).astype(float)
        values[i] = expected_calibration_error(y, p_arr, n_bins=n_bins)
    return ChanceECE(mean=float(values.mean()), upper=float(np.quantile(values, 0.95)), draws=draws)


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
