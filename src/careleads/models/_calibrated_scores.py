"""Calibration and tiers set on the validation slice, then the test part scored once.

The chosen model and the logistic baseline each get their own calibrator and tier thresholds from their
raw validation scores, so the baseline's figures are as honest as the model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from careleads.models._candidates import Candidate
from careleads.stats import (
    BinaryMetrics,
    ProbabilityCalibrator,
    TierScheme,
    binary_metrics,
    conversion_by_tier,
)


@dataclass(frozen=True)
class Calibration:
    """Calibrators and tier schemes of the chosen model and of the logistic baseline."""

    calibrator: ProbabilityCalibrator
    scheme: TierScheme
    baseline_calibrator: ProbabilityCalibrator
    baseline_scheme: TierScheme


def calibrate(chosen: Candidate, baseline: Candidate, y_val: np.ndarray) -> Calibration:
    """Fit each calibrator on its candidate's raw validation scores, and tiers on the calibrated ones."""
    calibrator = ProbabilityCalibrator().fit(chosen.raw_validation, y_val)
    baseline_calibrator = ProbabilityCalibrator().fit(baseline.raw_validation, y_val)
    return Calibration(
        calibrator=calibrator,
        scheme=TierScheme().fit(calibrator.transform(chosen.raw_validation)),
        baseline_calibrator=baseline_calibrator,
        baseline_scheme=TierScheme().fit(baseline_calibrator.transform(baseline.raw_validation)),
    )


@dataclass(frozen=True)
class ScoredTestPart:
    """Calibrated test probabilities, metrics and conversion by tier, for the model and the baseline."""

    p_test: np.ndarray
    p_baseline: np.ndarray
    metrics: BinaryMetrics
    baseline_metrics: BinaryMetrics
    tiers: list[dict[str, Any]]
    baseline_tiers: list[dict[str, Any]]


def score_test_part(
    calibration: Calibration,
    pipeline: Pipeline,
    baseline: Pipeline,
    test: pd.DataFrame,
    y_test: np.ndarray,
) -> ScoredTestPart:
    """Score the test part with the refitted model and baseline, through their calibrators and tiers."""
    p_test = calibration.calibrator.transform(pipeline.predict_proba(test)[:, 1])
    p_base = calibration.baseline_calibrator.transform(baseline.predict_proba(test)[:, 1])
    scheme, baseline_scheme = calibration.scheme, calibration.baseline_scheme
    return ScoredTestPart(
        p_test=p_test,
        p_baseline=p_base,
        metrics=binary_metrics(y_test, p_test),
        baseline_metrics=binary_metrics(y_test, p_base),
        tiers=conversion_by_tier(scheme.assign(p_test), y_test, scheme.names),
        baseline_tiers=conversion_by_tier(baseline_scheme.assign(p_base), y_test, baseline_scheme.names),
    )
