"""Monitoring use cases over the statistics of :mod:`careleads.stats`.

Is the published model still right, and is scoring doing the team any good? :func:`monitor` (drift,
calibration by tier, tier order and business outcomes of a recent window), pilots against the prior routing
(:func:`start_pilot`, :func:`pilot_status`, :func:`evaluate_pilot`, :func:`simulate_routing`), the model
lifecycle (:func:`retrain` through :func:`publish_gate`) and the fairness of a model by sensitive group
(:func:`fairness_of_model`). The statistics themselves are :mod:`careleads.stats`'s; the HTML pages are
:mod:`careleads.report`'s; the thresholds are :class:`careleads.settings.MonitorSettings`.
"""

from __future__ import annotations

from careleads.monitoring._gate import GateDecision, publish_gate
from careleads.monitoring._lifecycle import (
    FEEDBACK_LABELS,
    GateResult,
    ReasonChange,
    RetrainResult,
    Trigger,
    evaluate_on_window,
    feedback_rows,
    gate_and_publish,
    reason_changes,
    retrain,
)
from careleads.monitoring._model_fairness import (
    FAIRNESS_COLUMNS,
    fairness_columns,
    fairness_of_model,
    sensitive_columns,
)
from careleads.monitoring._monitor import MONITOR_STEPS, MonitorReport, drift_thresholds, monitor
from careleads.monitoring._pilot_results import pilot_results, save_pilot_result
from careleads.monitoring._pilot_study import (
    PILOT_MODES,
    PRIOR_METHODS,
    PilotDefinition,
    PilotResult,
    PilotStatus,
    evaluate_pilot,
    list_pilots,
    load_pilot,
    pilot_arms,
    pilot_frame,
    pilot_status,
    simulate_routing,
    start_pilot,
)
from careleads.monitoring._sources import (
    DECISION_FIELDS,
    FolderSource,
    MonitorData,
    MonitorSource,
    resolve_model,
    scored_frame,
)

__all__ = [
    "MONITOR_STEPS",
    "FAIRNESS_COLUMNS",
    "DECISION_FIELDS",
    "FEEDBACK_LABELS",
    "PILOT_MODES",
    "PRIOR_METHODS",
    "FolderSource",
    "GateDecision",
    "GateResult",
    "MonitorData",
    "MonitorReport",
    "MonitorSource",
    "PilotDefinition",
    "PilotResult",
    "PilotStatus",
    "ReasonChange",
    "RetrainResult",
    "Trigger",
    "drift_thresholds",
    "evaluate_on_window",
    "evaluate_pilot",
    "fairness_columns",
    "fairness_of_model",
    "feedback_rows",
    "gate_and_publish",
    "list_pilots",
    "load_pilot",
    "monitor",
    "pilot_arms",
    "pilot_frame",
    "pilot_results",
    "pilot_status",
    "publish_gate",
    "reason_changes",
    "resolve_model",
    "retrain",
    "scored_frame",
    "sensitive_columns",
    "simulate_routing",
    "save_pilot_result",
    "start_pilot",
]
