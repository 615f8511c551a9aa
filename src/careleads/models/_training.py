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
from dataclasses import dataclass, field
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
    # a day-one model's test figures and tier shares at each moment after arrival (empty for one moment)
    by_moment: list[dict[str, Any]] = field(default_factory=list)
    # the rows of the data set behind the headline figures: test leads at the target's scoring moment
    test_rows: pd.Series | None = None


def train_model(
    dataset: LeadDataset,
    *,
    truth: pd.DataFrame | None = None,
    test_fraction: float = 0.25,
    valid_fraction: float = 0.15,
    seed: int = 0,
    points_path: PathLikeStr | None = None,
    extra_training: tuple[pd.DataFrame, pd.Series] | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train the rule baseline and the model of `dataset.target`, and compare them on the test window.

    A data set with rows at several moments of each lead's first days (``build_dataset(moments_hours=...)``)
    trains one day-one model: the rows of one lead fall in the same part of the split (by the lead's main
    scoring moment, arrival plus ``target.as_of_hours``), and each row weighs one over its lead's rows, so
    every lead counts once in the trees, the early stopping, the calibration and the tier thresholds. The
    headline figures are those of the test leads at the main scoring moment (the same rows a single-moment
    model is tested on); ``by_moment`` has the figures and the tier shares at each moment.

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
        Extra labelled rows (reviewer feedback) added to the training part only, one lead each.
    """
    say = progress or (lambda _msg: None)
    split, weight = _grouped_split(dataset, test_fraction=test_fraction, valid_fraction=valid_fraction)
    main = _at_main_moment(dataset)
    y_all = dataset.y.fillna(0).astype("int64")
    fit_mask = split.train & ~split.valid
    X_fit, y_fit, w_fit = dataset.X[fit_mask], y_all[fit_mask].to_numpy(), weight[fit_mask].to_numpy()
    X_val, y_val, w_val = (
        dataset.X[split.valid],
        y_all[split.valid].to_numpy(),
        weight[split.valid].to_numpy(),
    )
    X_train, y_train = dataset.X[split.train], y_all[split.train].to_numpy()
    w_train = weight[split.train].to_numpy()
    test_rows = split.test & main
    X_test, y_test = dataset.X[test_rows], y_all[test_rows].to_numpy()
    require_classes(y_fit, where="training part")
    require_classes(y_val, where="validation slice")
    rules_rows = split.train & main
    X_rules, y_rules = dataset.X[rules_rows], y_all[rules_rows].to_numpy()
    if extra_training is not None:
        X_extra, y_extra = extra_training
        X_train = pd.concat([X_train, X_extra[X_train.columns]], ignore_index=True)
        y_train = np.concatenate([y_train, np.asarray(y_extra, dtype=np.int64)])
        w_train = np.concatenate([w_train, np.ones(len(X_extra))])
        X_rules = pd.concat([X_rules, X_extra[X_rules.columns]], ignore_index=True)
        y_rules = np.concatenate([y_rules, np.asarray(y_extra, dtype=np.int64)])

    say("fitting the rule baseline")
    rules = PointsScorer(points_path).fit(X_rules, y_rules)

    say("choosing model settings on the validation slice")
    prep = FramePreprocessor().fit(X_fit)
    P_fit, P_val = prep.transform(X_fit), prep.transform(X_val)
    best: GradientBoostedScorer | None = None
    tried = []
    for params in CANDIDATES:
        candidate = GradientBoostedScorer(params=params, random_state=seed).fit(
            P_fit, y_fit, X_valid=P_val, y_valid=y_val, sample_weight=w_fit, valid_weight=w_val
        )
        tried.append(
            {**params, "trees": candidate.n_estimators_, "valid_auc": round(candidate.valid_auc_, 4)}
        )
        if best is None or candidate.valid_auc_ > best.valid_auc_:
            best = candidate
    assert best is not None
    raw_val = best.predict_raw(P_val)
    calibrator = ProbabilityCalibrator().fit(raw_val, y_val, sample_weight=w_val)
    tiers = TierScheme().fit(calibrator.transform(raw_val), sample_weight=w_val)

    say("refitting the chosen model on the whole training part")
    # more leads support proportionally more trees at the same learning rate
    n_trees = max(20, int(round(best.n_estimators_ * w_train.sum() / max(w_fit.sum(), 1.0))))
    final_prep = FramePreprocessor().fit(X_train)
    final = GradientBoostedScorer(params=best.params, n_estimators=n_trees, random_state=seed).fit(
        final_prep.transform(X_train), y_train, sample_weight=w_train
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
        {"lead_id": dataset.lead_id[test_rows].to_numpy(), "y": y_test, "model": p_model, "rules": p_rules}
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
    val_main = (split.valid & main)[split.valid].to_numpy()
    rule_tiers = TierScheme().fit(rules.predict_proba(X_val[val_main])[:, 1])
    tier_rows = {
        "model": conversion_by_tier(tiers.assign(p_model), y_test, tiers.names),
        "rules": conversion_by_tier(rule_tiers.assign(p_rules), y_test, rule_tiers.names),
    }
    for name in ("model", "rules"):
        top = tier_rows[name][0]
        metrics[name]["top_tier_lift"] = (
            top["conversion_rate"] / float(y_test.mean()) if top["leads"] and y_test.mean() else float("nan")
        )
    by_moment = _by_moment(model, dataset, split.test, y_all)
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
    if by_moment:
        model.card["test_by_moment"] = by_moment
    return TrainingResult(
        model=model,
        rules=rules,
        split=split,
        metrics=metrics,
        tiers=tier_rows,
        test_frame=test_frame,
        by_moment=by_moment,
        test_rows=test_rows,
    )


def _hours_after_arrival(dataset: LeadDataset) -> pd.Series | None:
    """Each row's hours since its lead arrived, when the data set has them (a day-one data set)."""
    return dataset.hours_after_arrival


def _at_main_moment(dataset: LeadDataset) -> pd.Series:
    """Rows at the target's scoring moment (every row of a single-moment data set)."""
    hours = _hours_after_arrival(dataset)
    if hours is None:
        return pd.Series(True, index=dataset.X.index)
    return (hours - dataset.target.as_of_hours).abs() < 1e-9


def _grouped_split(
    dataset: LeadDataset, *, test_fraction: float, valid_fraction: float
) -> tuple[TimeSplit, pd.Series]:
    """The time split by lead (all rows of a lead in one part), and each row's weight: one over its lead's
    usable rows, so that every lead counts once whatever its number of moments."""
    usable = dataset.usable
    as_of = pd.to_datetime(dataset.as_of)
    hours = _hours_after_arrival(dataset)
    # the lead's main scoring moment: for a single-moment data set, the row's own
    moment = (
        as_of
        if hours is None
        else (as_of - pd.to_timedelta(hours.to_numpy(), unit="h") + dataset.target.as_of_offset)
    )
    lead = pd.Series(pd.factorize(dataset.lead_id.to_numpy())[0], index=dataset.X.index)
    per_lead = pd.DataFrame(
        {"lead": lead.to_numpy(), "moment": moment.to_numpy(), "usable": usable.to_numpy()}
    )
    leads = per_lead.groupby("lead", sort=True).agg(moment=("moment", "first"), usable=("usable", "any"))
    split = time_split(
        leads["moment"], leads["usable"], test_fraction=test_fraction, valid_fraction=valid_fraction
    )
    codes = lead.to_numpy()
    # a training lead's rows at moments from the test start on are left out: the events they count happened
    # after the cut, inside the test months
    late = split.train.to_numpy()[codes] & (as_of >= split.test_start).to_numpy()
    usable = usable & ~pd.Series(late, index=usable.index)

    def rows(part: pd.Series) -> pd.Series:
        return pd.Series(part.to_numpy()[codes], index=dataset.X.index) & usable

    n_rows = usable.groupby(lead.to_numpy()).transform("sum").to_numpy(dtype=np.float64)
    weight = pd.Series(np.where(usable, 1.0 / np.maximum(n_rows, 1.0), 0.0), index=dataset.X.index)
    grouped = TimeSplit(
        train=rows(split.train),
        valid=rows(split.valid),
        test=rows(split.test),
        valid_start=split.valid_start,
        test_start=split.test_start,
    )
    return grouped, weight


def _by_moment(
    model: LeadModel, dataset: LeadDataset, test: pd.Series, y_all: pd.Series
) -> list[dict[str, Any]]:
    """A day-one model's test figures and tier shares at arrival, after events in the first day, at the
    target's scoring moment and after events later on (empty for a single-moment data set)."""
    hours = _hours_after_arrival(dataset)
    if hours is None:
        return []
    main = float(dataset.target.as_of_hours)
    at_main = (hours - main).abs() < 1e-9
    groups = {
        "arrival": hours == 0,
        f"after an event, before {main:g} h": (hours > 0) & (hours < main) & ~at_main,
        f"at {main:g} h": at_main,
        f"after an event, after {main:g} h": (hours > main) & ~at_main,
    }
    out = []
    for name, rows in groups.items():
        rows = rows & test
        if not rows.any():
            continue
        y = y_all[rows].to_numpy()
        p = model.predict_proba(dataset.X[rows])
        shares = np.bincount(model.tiers.index(p), minlength=len(model.tiers.names)) / len(p)
        entry: dict[str, Any] = {"moment": name, "rows": int(rows.sum())}
        if 0 < y.sum() < len(y):
            entry.update({k: v for k, v in binary_metrics(y, p).to_dict().items() if k != "n"})
        entry["tier_shares"] = {
            name: float(share) for name, share in zip(model.tiers.names, shares, strict=True)
        }
        out.append(entry)
    return out


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
