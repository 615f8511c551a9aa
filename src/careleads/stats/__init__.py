"""Statistics below models and monitoring: metrics, calibration, tiers, drift, pilots and statuses.

Pure functions and small result objects on numpy and pandas (scipy and scikit-learn for the tests and the
curves). Nothing here imports another careleads package but ``errors`` and ``types``; models, monitoring,
the reports and the service build on these names, and only on these (the modules are private).
"""

from __future__ import annotations

from careleads.stats._business import BusinessOutcomes, business_outcomes
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
from careleads.stats._metrics import (
    BinaryMetrics,
    ChanceECE,
    binary_metrics,
    calibration_curve_points,
    chance_ece,
    cumulative_gains,
    expected_calibration_error,
    lift_at,
)
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
from careleads.stats._reliability import calibration_by_tier, calibration_summary_lines, tier_stability
from careleads.stats._status import (
    CalibrationStatus,
    Status,
    pct,
    period_label,
    wilson_interval,
    worst_status,
)
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
    "BusinessOutcomes",
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
    "business_outcomes",
    "calibration_by_tier",
    "calibration_curve_points",
    "calibration_summary_lines",
    "conversion_by_tier",
    "cumulative_gains",
    "drift_over_time",
    "drift_report",
    "expected_calibration_error",
    "ChanceECE",
    "chance_ece",
    "lift_at",
    "pct",
    "period_label",
    "pilot_report",
    "population_stability_index",
    "required_leads_per_arm",
    "shadow_comparison",
    "tier_stability",
    "wilson_interval",
    "worst_status",
]
