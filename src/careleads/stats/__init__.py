"""Statistics below models and monitoring: metrics, calibration, tiers, drift, pilots and statuses.

Nothing here imports another careleads package but ``errors`` and ``types``; models, monitoring, reports
and the service build on these functions.
"""

from __future__ import annotations

from careleads.stats._calibration import ProbabilityCalibrator
from careleads.stats._drift import (
    ColumnDrift,
    DriftReport,
    DriftThresholds,
    PositiveRateChange,
    ScoreRangeChange,
    drift_over_time,
    drift_report,
    population_stability_index,
)
from careleads.stats._metrics import BinaryMetrics, binary_metrics, calibration_curve_points, lift_at
from careleads.stats._pilot import (
    CONTROL_ARM,
    TREATMENT_ARM,
    ArmSummary,
    PilotReport,
    ShadowComparison,
    assign_arms,
    pilot_report,
    required_leads_per_arm,
    shadow_comparison,
)
from careleads.stats._reliability import (
    calibration_by_tier,
    calibration_summary_lines,
    expected_calibration_error,
    tier_stability,
)
from careleads.stats._status import CalibrationStatus, Status, wilson_interval
from careleads.stats._tiers import (
    DEFAULT_ACTIONS,
    DEFAULT_SHARES,
    DEFAULT_TIERS,
    TierScheme,
    conversion_by_tier,
)

__all__ = [
    "CONTROL_ARM",
    "DEFAULT_ACTIONS",
    "DEFAULT_SHARES",
    "DEFAULT_TIERS",
    "TREATMENT_ARM",
    "ArmSummary",
    "BinaryMetrics",
    "CalibrationStatus",
    "ColumnDrift",
    "DriftReport",
    "DriftThresholds",
    "PilotReport",
    "PositiveRateChange",
    "ProbabilityCalibrator",
    "ScoreRangeChange",
    "ShadowComparison",
    "Status",
    "TierScheme",
    "assign_arms",
    "binary_metrics",
    "calibration_by_tier",
    "calibration_curve_points",
    "calibration_summary_lines",
    "conversion_by_tier",
    "drift_over_time",
    "drift_report",
    "expected_calibration_error",
    "lift_at",
    "pilot_report",
    "population_stability_index",
    "required_leads_per_arm",
    "shadow_comparison",
    "tier_stability",
    "wilson_interval",
]
