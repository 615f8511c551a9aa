"""Monitoring: drift, calibration by tier, business outcomes, pilots and the publish gate.

Pure functions on pandas/numpy; the store and the CLI call them.
"""

from __future__ import annotations

from careleads.monitoring._business import BusinessOutcomes, business_outcomes
from careleads.monitoring._calibration import (
    calibration_by_tier,
    calibration_summary_lines,
    expected_calibration_error,
    tier_stability,
)
from careleads.monitoring._drift import (
    ColumnDrift,
    DriftReport,
    DriftThresholds,
    PositiveRateChange,
    ScoreRangeChange,
    drift_over_time,
    drift_report,
    population_stability_index,
)
from careleads.monitoring._gate import GateDecision, publish_gate
from careleads.monitoring._pilot import (
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
from careleads.monitoring._stats import CalibrationStatus, Status, wilson_interval

__all__ = [
    "CONTROL_ARM",
    "TREATMENT_ARM",
    "ArmSummary",
    "BusinessOutcomes",
    "CalibrationStatus",
    "ColumnDrift",
    "DriftReport",
    "DriftThresholds",
    "GateDecision",
    "PilotReport",
    "PositiveRateChange",
    "ScoreRangeChange",
    "ShadowComparison",
    "Status",
    "assign_arms",
    "business_outcomes",
    "calibration_by_tier",
    "calibration_summary_lines",
    "drift_over_time",
    "drift_report",
    "expected_calibration_error",
    "pilot_report",
    "population_stability_index",
    "publish_gate",
    "required_leads_per_arm",
    "shadow_comparison",
    "tier_stability",
    "wilson_interval",
]
