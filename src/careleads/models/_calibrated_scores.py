"""Calibration and tiers from out-of-fold scores of the refitted model's family, then the test part scored.

The calibrator must describe the model that scores the test part, which is refitted on the whole training
part. So each model (the chosen one and the logistic baseline) is refitted, with the same settings, on all
but one fold of the training part and scores the fold left out: those out-of-fold scores are what the
calibrator and the tier thresholds are fitted on. The calibrator is strictly increasing, never clipped at
the fitted range (``careleads.stats.ProbabilityCalibrator``), so the AUC before and after calibration agree.

Two calibrations are offered: the one fitted on the whole training part, and for a split by time or row
order the same map re-centred by one log-odds shift on its most recent window (the validation slice), so
that its mean there is that window's outcome rate. The recent one is used when the outcome rate of that
window moved clearly away from the earlier training rows (a two-proportion z-test of at least
`RATE_MOVE_Z` and a change of at least `RATE_MOVE_SHARE` of the earlier rate); both are measured on the
test part and the result says which was used and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from careleads.models._candidates import Candidate, refit
from careleads.stats import (
    BinaryMetrics,
    ProbabilityCalibrator,
    TierScheme,
    binary_metrics,
    chance_ece,
    conversion_by_tier,
    expected_calibration_error,
)
from careleads.types import JSONDict

OUT_OF_FOLD_FOLDS = 5
# From this many training rows, two folds: each fold model still sees half of a large training part, and
# the out-of-fold scores cost about one more refit instead of four.
FEW_FOLDS_MIN_ROWS = 200_000
# A recent window whose outcome rate moved by this z-score and share of the earlier rate recalibrates.
RATE_MOVE_Z = 3.0
RATE_MOVE_SHARE = 0.1
# Calibration figures before and after must agree to this (a strictly increasing map keeps them equal).
AUC_TOLERANCE = 0.005
# The test part's outcome rate differs from the mean predicted by this many standard errors: the base rate
# moved (said when the ECE is above chance).
BASE_RATE_MISS_Z = 2.0
WHOLE, RECENT = "training part", "recent window"


def out_of_fold(
    candidate: Candidate,
    train: pd.DataFrame,
    y_train: np.ndarray,
    *,
    n_fit: int,
    kinds: Mapping[str, str],
    time_column: str | None,
    seed: int,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Raw scores of every training row by the candidate refitted (as ``refit`` does) without its fold.

    The folds (`OUT_OF_FOLD_FOLDS`, two from `FEW_FOLDS_MIN_ROWS` rows) are stratified by outcome, or by
    group when given (a group's rows share a fold); each fold model gets rounds in proportion to its rows,
    as the refit on the whole training part does.
    """
    scores = np.empty(len(train), dtype=np.float64)
    n_folds = OUT_OF_FOLD_FOLDS if len(train) < FEW_FOLDS_MIN_ROWS else 2
    splitter: Any
    if groups is not None:
        splitter = GroupKFold(n_splits=max(2, min(n_folds, len(np.unique(groups)))))
        folds = splitter.split(train, y_train, groups)
    else:
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        folds = splitter.split(train, y_train)
    for inside, outside in folds:
        share = len(inside) / len(train)
        pipeline, _ = refit(
            candidate,
            train.iloc[inside],
            y_train[inside],
            n_fit=max(1, int(round(n_fit * share))),
            kinds=kinds,
            time_column=time_column,
            seed=seed,
        )
        scores[outside] = pipeline.predict_proba(train.iloc[outside])[:, 1]
    return scores


@dataclass(frozen=True)
class Calibration:
    """Calibrators and tier schemes of the chosen model and of the logistic baseline, and the window used.

    ``offered`` holds the chosen model's calibrator on each window offered (the whole training part and,
    for an ordered split with both outcomes in it, the recent window).
    """

    calibrator: ProbabilityCalibrator
    scheme: TierScheme
    baseline_calibrator: ProbabilityCalibrator
    baseline_scheme: TierScheme
    window: str
    reason: str
    offered: dict[str, ProbabilityCalibrator]
    rates: dict[str, float]
    rows: dict[str, int]
    # the outcome rate of the earlier training rows when the recent window's rate moved from it
    earlier_rate: float | None = None


def calibrate(
    scores: np.ndarray, baseline_scores: np.ndarray, y_train: np.ndarray, recent: np.ndarray | None
) -> Calibration:
    """Fit the calibrators and tiers on out-of-fold scores of the whole training part or its recent window.

    Parameters
    ----------
    scores, baseline_scores
        Out-of-fold raw scores of the chosen model and of the logistic baseline, one per training row.
    y_train
        Outcomes of the training rows.
    recent
        Mask of the training part's most recent rows (None for a random split).
    """
    windows = {WHOLE: np.ones(len(y_train), dtype=bool)}
    if recent is not None and recent.any() and (~recent).any() and len(np.unique(y_train[recent])) == 2:
        windows[RECENT] = recent
    whole = ProbabilityCalibrator().fit(scores, y_train)
    offered = {WHOLE: whole}
    if RECENT in windows:
        offered[RECENT] = whole.recentred(scores[windows[RECENT]], y_train[windows[RECENT]])
    rates = {name: float(y_train[rows].mean()) for name, rows in windows.items()}
    rows_of = {name: int(rows.sum()) for name, rows in windows.items()}
    window, reason = WHOLE, "no recent window: the split is random" if recent is None else ""
    earlier_rate: float | None = None
    if RECENT in windows:
        assert recent is not None
        earlier = float(y_train[~recent].mean())
        z = _rate_z(y_train[recent], y_train[~recent])
        moved = abs(z) >= RATE_MOVE_Z and abs(rates[RECENT] - earlier) >= RATE_MOVE_SHARE * earlier
        verdict = "moved" if moved else "did not move clearly"
        reason = (
            f"the outcome rate of the recent window ({rates[RECENT]:.1%}) {verdict} from the earlier "
            f"training rows ({earlier:.1%}, z = {z:.1f})"
        )
        window = RECENT if moved else WHOLE
        earlier_rate = earlier if moved else None
    elif not reason:
        reason = "the recent window holds one outcome only"
    used = windows[window]
    calibrator = offered[window]
    baseline_calibrator = ProbabilityCalibrator().fit(baseline_scores, y_train)
    if window == RECENT:
        baseline_calibrator = baseline_calibrator.recentred(baseline_scores[used], y_train[used])
    return Calibration(
        calibrator=calibrator,
        scheme=TierScheme().fit(calibrator.transform(scores[used])),
        baseline_calibrator=baseline_calibrator,
        baseline_scheme=TierScheme().fit(baseline_calibrator.transform(baseline_scores[used])),
        window=window,
        reason=reason,
        offered=offered,
        rates=rates,
        rows=rows_of,
        earlier_rate=earlier_rate,
    )


def _rate_z(a: np.ndarray, b: np.ndarray) -> float:
    """Two-proportion z-score of the outcome rate of `a` against `b`."""
    pooled = (a.sum() + b.sum()) / (len(a) + len(b))
    spread = np.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    return float((a.mean() - b.mean()) / spread) if spread > 0 else 0.0


@dataclass(frozen=True)
class ScoredTestPart:
    """Calibrated test probabilities, metrics and conversion by tier, for the model and the baseline, and
    the calibration's figures (``calibration``: AUC before and after, each offered window measured)."""

    p_test: np.ndarray
    p_baseline: np.ndarray
    raw_test: np.ndarray
    raw_baseline: np.ndarray
    metrics: BinaryMetrics
    baseline_metrics: BinaryMetrics
    tiers: list[dict[str, Any]]
    baseline_tiers: list[dict[str, Any]]
    calibration: JSONDict


def score_test_part(
    calibration: Calibration,
    pipeline: Pipeline,
    baseline: Pipeline,
    test: pd.DataFrame,
    y_test: np.ndarray,
) -> ScoredTestPart:
    """Score the test part with the refitted model and baseline, through their calibrators and tiers."""
    raw = pipeline.predict_proba(test)[:, 1]
    raw_base = baseline.predict_proba(test)[:, 1]
    p_test = calibration.calibrator.transform(raw)
    p_base = calibration.baseline_calibrator.transform(raw_base)
    scheme, baseline_scheme = calibration.scheme, calibration.baseline_scheme
    measured = {}
    for name, calibrator in calibration.offered.items():
        p = calibrator.transform(raw)
        measured[name] = {
            "method": calibrator.method_,
            "rows": calibration.rows[name],
            "outcome_rate": calibration.rates[name],
            "test_ece": expected_calibration_error(y_test, p),
            "test_mean_predicted": float(p.mean()),
        }
    report: JSONDict = {
        "fitted_on": "out-of-fold scores of the refitted model's family",
        "window": calibration.window,
        "method": calibration.calibrator.method_,
        "reason": calibration.reason,
        "auc_before": float(roc_auc_score(y_test, raw)),
        "auc_after": float(roc_auc_score(y_test, p_test)),
        "baseline_auc_before": float(roc_auc_score(y_test, raw_base)),
        "baseline_auc_after": float(roc_auc_score(y_test, p_base)),
        "test_outcome_rate": float(y_test.mean()),
        "test_rows": int(len(y_test)),
        "offered": measured,
    }
    if calibration.earlier_rate is not None:
        report["rate_moved"] = {"earlier": calibration.earlier_rate, "recent": calibration.rates[RECENT]}
    metrics = binary_metrics(y_test, p_test)
    band = chance_ece(p_test)
    report["test_ece"] = metrics.ece
    report["test_ece_by_chance"] = band.mean
    report["test_ece_by_chance_upper"] = band.upper
    return ScoredTestPart(
        p_test=p_test,
        p_baseline=p_base,
        raw_test=raw,
        raw_baseline=raw_base,
        metrics=metrics,
        baseline_metrics=binary_metrics(y_test, p_base),
        tiers=conversion_by_tier(scheme.assign(p_test), y_test, scheme.names),
        baseline_tiers=conversion_by_tier(baseline_scheme.assign(p_base), y_test, baseline_scheme.names),
        calibration=report,
    )


def _mean_predicted(report: Mapping[str, Any]) -> float:
    return float(report["offered"][report["window"]]["test_mean_predicted"])


def calibration_warnings(report: Mapping[str, Any], *, label: str) -> list[str]:
    """A warning when calibration moved the AUC of the model or the baseline (it should never), when the
    outcome rate moved inside the training part (the calibration follows the recent rate), and when the
    test ECE is above what a calibrated model shows by chance on as many rows (95th percentile)."""
    out = []
    moved = report.get("rate_moved")
    if moved:
        out.append(
            f"The {label!r} rate moved inside the training part, from {moved['earlier']:.1%} in the earlier "
            f"rows to {moved['recent']:.1%} in the most recent window (the test part: "
            f"{report['test_outcome_rate']:.1%}); probabilities follow the recent rate, and are off when it "
            "moves again: recalibrate on the newest outcomes (`careleads monitor` tracks it)."
        )
    if report["test_ece"] > report["test_ece_by_chance_upper"]:
        predicted, observed = _mean_predicted(report), float(report["test_outcome_rate"])
        text = (
            f"Test ECE {report['test_ece']:.3f} is above the {report['test_ece_by_chance_upper']:.3f} a "
            "calibrated model reaches by chance on this test part "
            f"(mean {report['test_ece_by_chance']:.3f}): probabilities are off by more than chance "
            f"(mean predicted {predicted:.3f}, observed {observed:.3f})."
        )
        spread = float(np.sqrt(max(predicted * (1.0 - predicted), 1e-12) / max(1, int(report["test_rows"]))))
        if abs(observed - predicted) > BASE_RATE_MISS_Z * spread:
            misses = abs(observed - predicted) / spread
            text += (
                f" The {label!r} base rate moved: {observed:.1%} on the test part against the "
                f"{predicted:.1%} the model expects ({misses:.1f} standard errors); recalibrate on the "
                "newest outcomes (`careleads monitor` tracks it)."
            )
        out.append(text)
    for who, before, after in (
        ("model", report["auc_before"], report["auc_after"]),
        ("logistic baseline", report["baseline_auc_before"], report["baseline_auc_after"]),
    ):
        if abs(before - after) > AUC_TOLERANCE:
            out.append(
                f"Calibration moved the {who}'s test AUC from {before:.3f} to {after:.3f}; the ranking "
                "figures are of the calibrated scores."
            )
    return out
