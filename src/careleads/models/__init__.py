"""Models: metrics, calibration, training with time-based validation, leakage audit, registry."""

from __future__ import annotations

from careleads.models._calibration import ProbabilityCalibrator
from careleads.models._metrics import (
    BinaryMetrics,
    binary_metrics,
    calibration_curve_points,
    expected_calibration_error,
    lift_at,
)

__all__ = [
    "BinaryMetrics",
    "ProbabilityCalibrator",
    "binary_metrics",
    "calibration_curve_points",
    "expected_calibration_error",
    "lift_at",
]
