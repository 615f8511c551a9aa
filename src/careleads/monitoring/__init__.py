"""Monitoring: drift, calibration by tier, business outcomes, pilots and the publish gate.

Pure functions on pandas/numpy; the store and the CLI call them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from careleads.monitoring._business import BusinessOutcomes, business_outcomes
from careleads.monitoring._gate import GateDecision, publish_gate
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

__all__ = [
    "FolderSource",
    "GateResult",
    "MonitorReport",
    "MonitorSettings",
    "PilotDefinition",
    "RetrainResult",
    "evaluate_pilot",
    "gate_and_publish",
    "monitor",
    "pilot_status",
    "reason_changes",
    "retrain",
    "simulate_routing",
    "start_pilot",
    "write_monitor_report",
    "write_pilot_report",
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


# The use cases (monitor, pilots, retrain) build on careleads.models, which itself uses the statistics above;
# they load on first use so that importing the statistics never imports the models.
_LAZY = {
    "GateResult": "_lifecycle",
    "RetrainResult": "_lifecycle",
    "gate_and_publish": "_lifecycle",
    "reason_changes": "_lifecycle",
    "retrain": "_lifecycle",
    "FolderSource": "_monitor",
    "MonitorReport": "_monitor",
    "MonitorSettings": "_monitor",
    "monitor": "_monitor",
    "write_monitor_report": "_monitor",
    "PilotDefinition": "_pilots",
    "evaluate_pilot": "_pilots",
    "pilot_status": "_pilots",
    "simulate_routing": "_pilots",
    "start_pilot": "_pilots",
    "write_pilot_report": "_pilots",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"careleads.monitoring.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'careleads.monitoring' has no attribute {name!r}")
