"""What `evaluate_file` found: the split, the leakage audit, the model chosen, the test figures, drift.

`EvaluationResult` holds the figures and the fitted pipeline; ``to_dict()`` is the machine-readable output
of ``careleads evaluate --json`` and ``summary_lines()`` the few lines it prints first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from careleads.models._leakage import LeakageReport
from careleads.stats import BinaryMetrics, DriftReport, ProbabilityCalibrator, TierScheme
from careleads.types import JSONDict


@dataclass(frozen=True)
class SplitInfo:
    """How the rows were divided: ``kind`` is ``time``, ``row_order`` or ``random``."""

    kind: str
    train_rows: int
    test_rows: int
    validation_rows: int
    time_column: str | None = None
    group_column: str | None = None
    train_end: str | None = None
    test_start: str | None = None

    def to_dict(self) -> JSONDict:
        return {
            "kind": self.kind,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "validation_rows": self.validation_rows,
            "time_column": self.time_column,
            "group_column": self.group_column,
            "train_end": self.train_end,
            "test_start": self.test_start,
        }


@dataclass
class EvaluationResult:
    """Everything `evaluate_file` found; ``to_dict()`` is the JSON output.

    The HTML report is drawn from it by ``careleads.report.write_evaluation_report``.
    """

    source: str
    n_read: int
    rows: int
    label: str
    positive: str
    positive_rate: float
    split: SplitInfo
    leakage: LeakageReport
    features: list[str]
    feature_names: list[str]
    excluded: list[dict[str, str]]
    model_kind: str
    model_settings: JSONDict
    candidates: list[JSONDict]
    test: BinaryMetrics
    baselines: dict[str, BinaryMetrics]
    tiers: list[dict[str, Any]]
    tier_scheme: TierScheme
    calibrator: ProbabilityCalibrator
    drift: DriftReport
    importance: dict[str, float]
    warnings: list[str]
    pipeline: Pipeline
    y_test: np.ndarray = field(repr=False)
    p_test: np.ndarray = field(repr=False)
    p_test_baseline: np.ndarray = field(repr=False)
    baseline_tiers: list[dict[str, Any]] = field(default_factory=list)
    # how the probabilities were calibrated: window used and why, AUC before and after, each window measured
    calibration: JSONDict = field(default_factory=dict)
    # where the model was chosen, on what figures, and both models' test AUCs
    model_choice: JSONDict = field(default_factory=dict)
    # how values were read where a reading was chosen (numbers with a decimal comma)
    reading_notes: list[str] = field(default_factory=list)
    # validation AUC with and without each column the leakage audit looked at closely
    leakage_effects: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> JSONDict:
        """The machine-readable result (plain JSON types; NaN becomes null)."""
        data: JSONDict = {
            "source": self.source,
            "rows": self.rows,
            "rows_read": self.n_read,
            "label": self.label,
            "positive": self.positive,
            "positive_rate": self.positive_rate,
            "split": self.split.to_dict(),
            "leakage": [
                {**entry, "validation_auc": self.leakage_effects.get(entry["column"])}
                for entry in self.leakage.to_list()
            ],
            "leakage_watched": [
                {**w.to_dict(), "validation_auc": self.leakage_effects.get(w.column)}
                for w in self.leakage.watched
            ],
            "features": list(self.features),
            "feature_names": list(self.feature_names),
            "excluded": list(self.excluded),
            "reading_notes": list(self.reading_notes),
            "model": {
                "kind": self.model_kind,
                "settings": self.model_settings,
                "candidates": self.candidates,
                "calibration": self.calibrator.to_dict(),
                "importance": self.importance,
            },
            "test": _metrics_dict(self.test),
            "baselines": {name: _metrics_dict(m) for name, m in self.baselines.items()},
            "tiers": self.tiers,
            "tier_thresholds": self.tier_scheme.to_dict()["thresholds"],
            "calibration": self.calibration,
            "model_choice": self.model_choice,
            "drift": self.drift.to_dict(),
            "warnings": list(self.warnings),
        }
        out: JSONDict = _jsonable(data)
        return out

    def verdict(self) -> str:
        """One sentence a manager can act on: how well the model ranks, whether its probabilities can be
        read as rates, what was left out as leaks, and what the split lets the figures claim."""
        auc, base = self.test.auc, self.baselines.get("logistic")
        strength = (
            "ranks converters well"
            if auc >= 0.8
            else "ranks converters usefully"
            if auc >= 0.7
            else "ranks converters weakly"
            if auc >= 0.6
            else "barely ranks converters better than chance"
        )
        lift = self.test.lift_top_decile
        parts = [f"Verdict: the model {strength} (test AUC {auc:.3f}, top-decile lift {lift:.2f})"]
        if base is not None and base.auc >= auc - 0.005:
            parts.append(f"a plain logistic model does about as well (AUC {base.auc:.3f})")
        upper = self.calibration.get("test_ece_by_chance_upper")
        if upper is not None and self.test.ece <= float(upper):
            parts.append(
                "its probabilities match the observed rates as closely as chance allows on this test"
            )
        elif upper is not None:
            parts.append(
                f"its probabilities are off beyond chance (ECE {self.test.ece:.3f}, chance up to "
                f"{float(upper):.3f}): use its ranking and tiers, not its percentages"
            )
        n_leaks = len(self.leakage.excluded_columns)
        if n_leaks:
            parts.append(f"{n_leaks} column(s) were left out as likely leaks (see the audit)")
        if self.split.kind == "random":
            parts.append(
                "the split is random (no dates to split by), so the figures describe leads like these, "
                "not later months"
            )
        return "; ".join(parts) + "."

    def summary_lines(self, *, include_warnings: bool = True) -> list[str]:
        """The verdict, then the few lines a reader needs first (then the warnings, unless
        ``include_warnings=False``)."""
        base = self.baselines.get("logistic")
        lines = [
            self.verdict(),
            f"{self.rows:,} rows of {self.source}; label {self.label!r} = {self.positive!r} for "
            f"{self.positive_rate:.1%} of rows.",
            f"Split: {self.split.kind}, {self.split.train_rows:,} training rows "
            f"(of which {self.split.validation_rows:,} for validation) and "
            f"{self.split.test_rows:,} test rows.",
            f"Model: {self.model_kind}; test AUC {self.test.auc:.3f}, PR-AUC {self.test.pr_auc:.3f}, "
            f"Brier {self.test.brier:.4f}, ECE {self.test.ece:.4f}, "
            f"top-decile lift {self.test.lift_top_decile:.2f}."
            + (f" Logistic baseline AUC {base.auc:.3f}." if base is not None else ""),
        ]
        lines.extend(_calibration_lines(self.calibration))
        lines.extend(_choice_lines(self.model_choice))
        excluded = self.leakage.excluded_columns
        if excluded:
            lines.append(f"Leakage suspects excluded: {', '.join(excluded)}.")
        if self.leakage.kept_columns:
            lines.append(f"Leakage suspects kept by request: {', '.join(self.leakage.kept_columns)}.")
        lines.extend(self.reading_notes)
        if include_warnings:
            lines.extend(self.warnings)
        return lines


def _calibration_lines(calibration: JSONDict) -> list[str]:
    if not calibration:
        return []
    offered = calibration["offered"]
    measured = "; ".join(
        f"{name}: ECE {m['test_ece']:.4f}, mean predicted {m['test_mean_predicted']:.3f}"
        for name, m in offered.items()
    )
    return [
        f"Calibration: {calibration['method']} on out-of-fold scores of the training part"
        + (
            ", re-centred on the recent window's outcome rate"
            if calibration["window"] == "recent window"
            else ""
        )
        + f" ({calibration['reason']}). Test AUC before calibration {calibration['auc_before']:.3f}, after "
        f"{calibration['auc_after']:.3f}; logistic baseline {calibration['baseline_auc_before']:.3f} and "
        f"{calibration['baseline_auc_after']:.3f}.",
        f"Calibration windows on the test part (observed rate {calibration['test_outcome_rate']:.3f}): "
        f"{measured}. A calibrated model shows an ECE of {calibration['test_ece_by_chance']:.3f} by chance "
        f"on as many rows (95% up to {calibration['test_ece_by_chance_upper']:.3f}).",
    ]


def _choice_lines(choice: JSONDict) -> list[str]:
    if not choice:
        return []
    validation = ", ".join(f"{name} {auc:.3f}" for name, auc in choice["validation_auc"].items())
    test = ", ".join(f"{name} {auc:.3f}" for name, auc in choice["test_auc"].items())
    verdict = "the test part agrees" if choice["agree"] else "the test part disagrees"
    return [
        f"Model choice: {choice['chosen']}, on the {choice['compared_on']} ({choice['rows']:,} rows; AUC "
        f"{validation}; difference {choice['margin']:+.3f}, standard error {choice['standard_error']:.3f}). "
        f"Test AUC {test}: {verdict}."
    ]


def _metrics_dict(m: BinaryMetrics) -> JSONDict:
    return dict(m.to_dict())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
