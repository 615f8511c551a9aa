"""Training with time-based validation: earlier months train, a later slice validates, the last months test.

The split is the one of ``models/_split`` (`time_split`, also behind `evaluate_file`); the LightGBM
settings are ``models/_gbm.DEFAULT_PARAMS`` (also behind `evaluate_file`), of which `CANDIDATES` change
only the size of the trees and the learning rate.

The validation slice (the end of the training part) chooses the settings, the number of trees, the
calibration and the tier thresholds. The chosen model is then refitted on the whole training part, since
the newest data matters most when things drift. The test window is touched once, for the report.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from careleads.features import LeadDataset
from careleads.models._gbm import FramePreprocessor, GradientBoostedScorer
from careleads.models._lead_model import LeadModel
from careleads.models._split import TimeSplit, require_classes, time_split
from careleads.rules import PointsScorer
from careleads.stats import ProbabilityCalibrator, TierScheme, binary_metrics, conversion_by_tier
from careleads.types import PathLikeStr

# Candidate settings compared on the validation slice; small trees generalise across drifting months.
CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 7, "learning_rate": 0.05, "min_child_samples": 80},
    {"num_leaves": 15, "learning_rate": 0.05, "min_child_samples": 50},
    {"num_leaves": 31, "learning_rate": 0.03, "min_child_samples": 100},
)

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    """The fitted model and rule baseline, and every figure of the comparison on the test window."""

    model: LeadModel
    rules: PointsScorer
    split: TimeSplit
    metrics: dict[str, dict[str, Any]]
    tiers: dict[str, list[dict[str, Any]]]
    test_frame: pd.DataFrame  # lead_id, y, model, rules (and oracle) probabilities on the test window


def train_model(
    dataset: LeadDataset,
    *,
    truth: pd.DataFrame | None = None,
    test_fraction: float = 0.25,
    valid_fraction: float = 0.15,
    seed: int = 0,
    points_path: PathLikeStr | None = None,
    extra_training: tuple[pd.DataFrame, pd.Series] | None = None,
    cold_start: LeadDataset | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train the rule baseline and the model of `dataset.target`, and compare them on the test window.

    Parameters
    ----------
    dataset : LeadDataset
        Point-in-time features and labels (see `build_dataset`).
    truth : DataFrame, optional
        The simulator's truth file; when given, the oracle's figures join the comparison.
    test_fraction, valid_fraction : float
        Shares of labelled leads, by time, for the test window and the validation slice.
    seed : int
        Seed for LightGBM's sampling.
    points_path : path, optional
        Points table for the rule baseline (default: shipped).
    extra_training : (features, labels), optional
        Extra labelled rows (reviewer feedback) added to the training part only.
    cold_start : LeadDataset, optional
        The same leads as of their arrival (``Target(..., as_of_hours=0)``): a second model is trained on it
        with the same settings and split shares and travels with this one, scoring leads that have no
        engagement yet before this model's scoring moment (see ``LeadModel.cold_start``).
    """
    say = progress or (lambda _msg: None)
    usable = dataset.usable
    split = time_split(dataset.as_of, usable, test_fraction=test_fraction, valid_fraction=valid_fraction)
    y_all = dataset.y.fillna(0).astype("int64")
    fit_mask = split.train & ~split.valid
    X_fit, y_fit = dataset.X[fit_mask], y_all[fit_mask].to_numpy()
    X_val, y_val = dataset.X[split.valid], y_all[split.valid].to_numpy()
    X_train, y_train = dataset.X[split.train], y_all[split.train].to_numpy()
    X_test, y_test = dataset.X[split.test], y_all[split.test].to_numpy()
    require_classes(y_fit, where="training part")
    require_classes(y_val, where="validation slice")
    if extra_training is not None:
        X_extra, y_extra = extra_training
        X_train = pd.concat([X_train, X_extra[X_train.columns]], ignore_index=True)
        y_train = np.concatenate([y_train, np.asarray(y_extra, dtype=np.int64)])

    say("fitting the rule baseline")
    rules = PointsScorer(points_path).fit(X_train, y_train)

    say("choosing model settings on the validation slice")
    prep = FramePreprocessor().fit(X_fit)
    P_fit, P_val = prep.transform(X_fit), prep.transform(X_val)
    best: GradientBoostedScorer | None = None
    tried = []
    for params in CANDIDATES:
        candidate = GradientBoostedScorer(params=params, random_state=seed).fit(
            P_fit, y_fit, X_valid=P_val, y_valid=y_val
        )
        tried.append(
            {**params, "trees": candidate.n_estimators_, "valid_auc": round(candidate.valid_auc_, 4)}
        )
        if best is None or candidate.valid_auc_ > best.valid_auc_:
            best = candidate
    assert best is not None
    raw_val = best.predict_raw(P_val)
    calibrator = ProbabilityCalibrator().fit(raw_val, y_val)
    tiers = TierScheme().fit(calibrator.transform(raw_val))

    say("refitting the chosen model on the whole training part")
    # more rows support proportionally more trees at the same learning rate
    n_trees = max(20, int(round(best.n_estimators_ * len(X_train) / max(len(X_fit), 1))))
    final_prep = FramePreprocessor().fit(X_train)
    final = GradientBoostedScorer(params=best.params, n_estimators=n_trees, random_state=seed).fit(
        final_prep.transform(X_train), y_train
    )

    trained_at = datetime.now(UTC).replace(microsecond=0)
    # the random suffix keeps two models trained in the same second apart
    version = f"{dataset.target.name}-{trained_at:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    model = LeadModel(
        target=dataset.target,
        spec=dataset.spec,
        preprocessor=final_prep,
        scorer=final,
        calibrator=calibrator,
        tiers=tiers,
        fallback=rules,
    )

    say("evaluating on the test window")
    p_model = model.predict_proba(X_test)
    p_rules = rules.predict_proba(X_test)[:, 1]
    test_frame = pd.DataFrame(
        {"lead_id": dataset.lead_id[split.test].to_numpy(), "y": y_test, "model": p_model, "rules": p_rules}
    )
    metrics: dict[str, dict[str, Any]] = {
        "model": binary_metrics(y_test, p_model).to_dict(),
        "rules": binary_metrics(y_test, p_rules).to_dict(),
    }
    if truth is not None and dataset.target.truth_column in truth:
        oracle = truth.set_index("lead_id")[dataset.target.truth_column]
        test_frame["oracle"] = oracle.reindex(test_frame["lead_id"]).to_numpy()
        known = test_frame["oracle"].notna()
        metrics["oracle"] = binary_metrics(
            test_frame.loc[known, "y"], test_frame.loc[known, "oracle"]
        ).to_dict()
    rule_tiers = TierScheme().fit(rules.predict_proba(X_val)[:, 1])
    tier_rows = {
        "model": conversion_by_tier(tiers.assign(p_model), y_test, tiers.names),
        "rules": conversion_by_tier(rule_tiers.assign(p_rules), y_test, rule_tiers.names),
    }
    for name in ("model", "rules"):
        top = tier_rows[name][0]
        metrics[name]["top_tier_lift"] = (
            top["conversion_rate"] / float(y_test.mean()) if top["leads"] and y_test.mean() else float("nan")
        )
    model.card = _model_card(
        version=version,
        trained_at=trained_at,
        dataset=dataset,
        split=split,
        model=model,
        metrics=metrics,
        tier_rows=tier_rows["model"],
        tried=tried,
        n_trees=n_trees,
        n_extra=0 if extra_training is None else len(extra_training[1]),
    )
    if cold_start is not None:
        say("training the cold-start model (scored at arrival, before any engagement)")
        cold = train_model(
            cold_start,
            seed=seed,
            test_fraction=test_fraction,
            valid_fraction=valid_fraction,
            points_path=points_path,
        )
        model.cold_start = cold.model
        model.card["cold_start"] = {
            "version": cold.model.version,
            "target": cold.model.card["target"],
            "test_metrics": cold.metrics,
        }
    return TrainingResult(
        model=model,
        rules=rules,
        split=split,
        metrics=metrics,
        tiers=tier_rows,
        test_frame=test_frame,
    )


def _model_card(
    *,
    version: str,
    trained_at: datetime,
    dataset: LeadDataset,
    split: TimeSplit,
    model: LeadModel,
    metrics: dict[str, dict[str, Any]],
    tier_rows: Sequence[dict[str, Any]],
    tried: list[dict[str, Any]],
    n_trees: int,
    n_extra: int,
) -> dict[str, Any]:
    as_of = pd.to_datetime(dataset.as_of)
    return {
        "version": version,
        "kind": "lightgbm+calibration",
        "trained_at": trained_at.isoformat(),
        "target": {**dataset.target.to_dict(), "description": dataset.target.describe()},
        "training_period": {
            "start": as_of[split.train].min().isoformat(),
            "end": as_of[split.train].max().isoformat(),
            "rows": int(split.train.sum()),
            "feedback_rows": n_extra,
        },
        "validation_period": {"start": split.valid_start.isoformat(), "rows": int(split.valid.sum())},
        "test_period": {
            "start": split.test_start.isoformat(),
            "end": as_of[split.test].max().isoformat(),
            "rows": int(split.test.sum()),
        },
        "censored_leads": int(dataset.censored.sum()),
        "converted_before_scoring": int(dataset.converted_before.sum()),
        "features": model.features,
        "excluded_fields": dict(dataset.spec.excluded),
        "settings_tried": tried,
        "trees": n_trees,
        "calibration": model.calibrator.to_dict(),
        "tiers": model.tiers.to_dict(),
        "test_metrics": metrics,
        "tier_conversion_test": list(tier_rows),
        "feature_importance": dict(
            sorted(model.scorer.feature_importance().items(), key=lambda kv: -kv[1])[:15]
        ),
        "intended_use": (
            "Ranks leads for follow-up by likelihood of the target outcome. It never makes a clinical or "
            "eligibility decision; people review what matters."
        ),
    }
