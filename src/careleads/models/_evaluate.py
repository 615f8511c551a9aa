"""Evaluate any lead CSV honestly: leakage audit, time-based split, model choice on validation, one test.

The steps of :func:`evaluate_file`:

1. read the file, infer (or load) its data dictionary, ingest it (bad rows quarantined and counted);
2. turn the label into 0/1 and split: by ``time_column`` (earlier rows train, later rows test), by file
   order (``row_order``), or at random with a warning; ``group_column`` keeps each group on one side;
3. audit the training part for leakage and exclude the suspects (unless kept);
4. cut a validation slice from the end of the training part; on it choose between LightGBM settings and a
   logistic baseline, the number of boosting rounds, the calibrator and the tier thresholds;
5. refit the chosen model on the whole training part (the newest data matters most when things drift);
6. score the test part once: metrics, tiers, the logistic baseline, and drift between the two windows.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from careleads.dictionary import Dictionary, FieldSpec, FieldType, Sensitivity, ingest_table, read_table
from careleads.dictionary import load_dictionary as _load_dictionary
from careleads.errors import InputError, NotEnoughDataError
from careleads.models._leakage import LeakageReport, audit_leakage, dominant_column
from careleads.models._tabular import TabularFeatures, logistic_baseline, to_datetime
from careleads.stats import DriftReport, drift_report
from careleads.stats._calibration import ProbabilityCalibrator
from careleads.stats._metrics import BinaryMetrics, binary_metrics
from careleads.stats._tiers import TierScheme, conversion_by_tier
from careleads.types import JSONDict, PathLikeStr

MIN_CLASS_ROWS = 40
VALIDATION_FRACTION = 0.2
# An identifier-typed column repeating at least this many rows per value on average is a reference to a
# shared entity (a landing page, an owner, a campaign) and is used as a category rather than dropped.
KEY_MIN_ROWS_PER_VALUE = 10
MAX_BOOST_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
SUSPICIOUS_TEST_AUC = 0.95
PARALLEL_MIN_ROWS = 100_000
MAX_SELECTION_ROWS = 250_000
MAX_ROUND_GROWTH = 1.5
_POSITIVE_WORDS = ("1", "1.0", "true", "yes", "y", "t", "converted", "won", "positive", "success")

Progress = Callable[[str], None]


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
    """Everything :func:`evaluate_file` found; ``to_dict()`` is the JSON output, ``write_report`` the HTML."""

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
            "leakage": self.leakage.to_list(),
            "leakage_watched": [w.to_dict() for w in self.leakage.watched],
            "features": list(self.features),
            "feature_names": list(self.feature_names),
            "excluded": list(self.excluded),
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
            "drift": self.drift.to_dict(),
            "warnings": list(self.warnings),
        }
        out: JSONDict = _jsonable(data)
        return out

    def summary_lines(self, *, include_warnings: bool = True) -> list[str]:
        """The few lines a reader needs first (then the warnings, unless ``include_warnings=False``)."""
        base = self.baselines.get("logistic")
        lines = [
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
        excluded = self.leakage.excluded_columns
        if excluded:
            lines.append(f"Leakage suspects excluded: {', '.join(excluded)}.")
        if self.leakage.kept_columns:
            lines.append(f"Leakage suspects kept by request: {', '.join(self.leakage.kept_columns)}.")
        if include_warnings:
            lines.extend(self.warnings)
        return lines

    def write_report(self, path: PathLikeStr) -> Path:
        """Write the HTML report (ROC, calibration, lift, tiers, drift, leakage evidence)."""
        from careleads.report._evaluation import write_evaluation_report

        return write_evaluation_report(self, path)


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


# ----------------------------------------------------------------------------------------------- input


def _column(name: str, columns: Sequence[str], *, what: str, source: str) -> str:
    if name in columns:
        return name
    folded = {c.casefold().strip(): c for c in columns}
    if name.casefold().strip() in folded:
        return folded[name.casefold().strip()]
    close = difflib.get_close_matches(name, list(columns), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InputError(f"{source}: {what} {name!r} is not a column of the file{hint}")


def _label01(values: pd.Series, *, label: str, positive: str | None, source: str) -> tuple[pd.Series, str]:
    if pd.api.types.is_bool_dtype(values):
        # a dictionary may type the label as yes/no: compare as 1/0 so that --positive 1 or true works
        values = values.astype("Int64")
        if positive is not None and positive.strip().casefold() in _POSITIVE_WORDS:
            positive = "1"
    text = values.astype("string").str.strip()
    text = text.where(text.str.len() > 0)
    distinct = sorted(str(v) for v in text.dropna().unique())
    if not distinct:
        raise InputError(f"{source}: label column {label!r} is empty; choose the column holding the outcome")
    if len(distinct) == 1:
        raise InputError(
            f"{source}: label column {label!r} has one value only ({distinct[0]!r}); nothing to predict, "
            "choose another label or a longer export"
        )
    if positive is not None:
        matches = [d for d in distinct if d.casefold() == positive.strip().casefold()]
        if not matches:
            numeric = [d for d in distinct if _same_number(d, positive)]
            matches = numeric
        if not matches:
            shown = ", ".join(repr(d) for d in distinct[:10])
            raise InputError(
                f"{source}: --positive {positive!r} is not a value of {label!r} (values: {shown})"
            )
        chosen = matches[0]
    else:
        if len(distinct) > 2:
            shown = ", ".join(repr(d) for d in distinct[:10])
            raise InputError(
                f"{source}: label {label!r} has {len(distinct)} values ({shown}); say which one counts as "
                "converted with --positive"
            )
        known = [d for d in distinct if d.casefold() in _POSITIVE_WORDS]
        if len(known) != 1:
            raise InputError(
                f"{source}: cannot tell which value of {label!r} means converted ({distinct[0]!r} or "
                f"{distinct[1]!r}); give it with --positive"
            )
        chosen = known[0]
    y = pd.Series(np.where(text.isna(), np.nan, (text == chosen).astype("float64")), index=values.index)
    return y, chosen


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


# ----------------------------------------------------------------------------------------------- split


def _ordered_split(
    order: np.ndarray, groups: np.ndarray | None, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the earlier and later part.

    A group belongs to the part of its last row, so the earlier part never holds a row from after the cut.
    """
    n = len(order)
    if groups is not None:
        start = pd.Series(order).groupby(groups).transform("max").to_numpy()
    else:
        start = order
    ranked = np.sort(start)
    cut_value = ranked[min(n - 1, int(np.floor(n * (1 - fraction))))]
    later = start >= cut_value
    if later.all():
        # many rows share the cut value: move that value to the earlier part instead
        later = start > cut_value
    return np.flatnonzero(~later), np.flatnonzero(later)


def _random_split(
    y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    index = np.zeros(len(y))
    if groups is not None:
        splitter: Any = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        train, test = next(splitter.split(index, y, groups))
    else:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        train, test = next(splitter.split(index, y))
    return np.sort(train), np.sort(test)


# ---------------------------------------------------------------------------------------------- models


def _positional(frame: pd.DataFrame) -> pd.DataFrame:
    # LightGBM refuses some characters in feature names; the readable names live in TabularFeatures.
    return frame.set_axis([f"f{i}" for i in range(frame.shape[1])], axis="columns")


def _lgbm(settings: Mapping[str, Any], n_estimators: int, seed: int, n_rows: int) -> lgb.LGBMClassifier:
    # OpenMP threads spin while waiting: on small data or a busy machine one thread is many times faster.
    threads = max(1, os.cpu_count() or 1) if n_rows >= PARALLEL_MIN_ROWS else 1
    return lgb.LGBMClassifier(
        objective="binary",
        n_estimators=n_estimators,
        random_state=seed,
        n_jobs=threads,
        verbose=-1,
        subsample_freq=1,
        **settings,
    )


def _lgbm_settings(n_rows: int) -> dict[str, dict[str, Any]]:
    rate = 0.05 if n_rows < 200_000 else 0.1
    return {
        "lightgbm_small": {
            "learning_rate": rate,
            "num_leaves": 15,
            "min_child_samples": 40,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "min_data_per_group": 50,
            "cat_smooth": 20.0,
        },
        "lightgbm_large": {
            "learning_rate": rate,
            "num_leaves": 63,
            "min_child_samples": 20,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "min_data_per_group": 20,
            "cat_smooth": 10.0,
        },
    }


@dataclass
class _Candidate:
    name: str
    kind: str
    settings: dict[str, Any]
    validation_auc: float
    raw_validation: np.ndarray
    n_estimators: int = 0
    importance: dict[str, float] = field(default_factory=dict)


def _fit_candidates(
    fit: pd.DataFrame,
    y_fit: np.ndarray,
    val: pd.DataFrame,
    y_val: np.ndarray,
    *,
    kinds: Mapping[str, str],
    time_column: str | None,
    seed: int,
    progress: Progress,
) -> list[_Candidate]:
    from sklearn.metrics import roc_auc_score

    features = TabularFeatures(kinds=kinds, time_column=time_column).fit(fit)
    x_fit, x_val = _positional(features.transform(fit)), _positional(features.transform(val))
    names = list(features.get_feature_names_out())
    out: list[_Candidate] = []
    for name, settings in _lgbm_settings(len(fit)).items():
        progress(f"validating {name}")
        model = _lgbm(settings, MAX_BOOST_ROUNDS, seed, len(fit))
        model.fit(
            x_fit,
            y_fit,
            eval_X=x_val,
            eval_y=y_val,
            eval_metric="auc",
            callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
        )
        best = int(model.best_iteration_ or model.n_estimators)
        raw = np.asarray(model.predict_proba(x_val, num_iteration=best))[:, 1]
        gains = model.booster_.feature_importance(importance_type="gain", iteration=best)
        importance: dict[str, float] = {}
        for feature, gain in zip(names, gains, strict=True):
            source = features.source_column(feature)
            importance[source] = importance.get(source, 0.0) + float(gain)
        out.append(
            _Candidate(
                name, "lightgbm", dict(settings), float(roc_auc_score(y_val, raw)), raw, best, importance
            )
        )
    progress("validating the logistic baseline")
    logistic = logistic_baseline(kinds=kinds, time_column=time_column).fit(fit, y_fit)
    raw = logistic.predict_proba(val)[:, 1]
    out.append(_Candidate("logistic", "logistic", {"C": 1.0}, float(roc_auc_score(y_val, raw)), raw))
    return out


# ------------------------------------------------------------------------------------------- evaluate


def evaluate_file(
    path: PathLikeStr,
    *,
    label: str,
    positive: str | None = None,
    time_column: str | None = None,
    row_order: bool = False,
    group_column: str | None = None,
    exclude: Sequence[str] = (),
    keep: Sequence[str] = (),
    dictionary: Dictionary | PathLikeStr | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Can we predict who converts, honestly? Evaluate a lead file the tool has never seen.

    Parameters
    ----------
    path
        A CSV (comma, semicolon, tab or pipe) or Parquet file, one row per lead.
    label
        The outcome column.
    positive
        The label value meaning converted; needed when the label is not obviously yes/no or 1/0.
    time_column
        Each row's scoring moment: train on earlier rows, test on later ones.
    row_order
        The file is sorted by time: train on the first rows, test on the last ones.
    group_column
        Rows of one person or account stay on one side of every split.
    exclude
        Columns never to use.
    keep
        Leakage suspects to use anyway (the result says so).
    dictionary
        A data dictionary (object or YAML path); inferred from the file when omitted.
    test_fraction
        Share of rows (the latest ones with a time split) kept for the single test.
    seed
        Seed of random splits and of the models.
    progress
        Called with a short description of each step.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    InputError
        Missing, empty or non-CSV file; unknown label, time, group, exclude or keep column; a label with a
        single value; an unparsable time column; incompatible options.
    NotEnoughDataError
        Fewer than 40 positives or negatives in the training part.
    """
    say: Progress = progress if progress is not None else (lambda _message: None)
    if time_column is not None and row_order:
        raise InputError("choose either --time-column or --row-order, not both")
    if not 0.05 <= test_fraction <= 0.5:
        raise InputError(f"--test-fraction must lie between 0.05 and 0.5, got {test_fraction}")
    file = Path(path)
    source = file.name
    say(f"reading {source}")
    raw = read_table(file)
    if raw.shape[1] == 0 or len(raw) == 0:
        raise InputError(f"{source}: the file has no data rows; export the table again")
    columns = [str(c) for c in raw.columns]
    label = _column(label, columns, what="label column", source=source)
    if time_column is not None:
        time_column = _column(time_column, columns, what="time column", source=source)
    if group_column is not None:
        group_column = _column(group_column, columns, what="group column", source=source)
    exclude = [_column(c, columns, what="--exclude column", source=source) for c in exclude]
    keep = [_column(c, columns, what="--keep column", source=source) for c in keep]
    warnings: list[str] = []

    say("reading the data dictionary")
    spec_by_column, frame, n_quarantined = _ingest(raw, dictionary, label=label, source=source, file=file)
    if n_quarantined:
        warnings.append(
            f"{n_quarantined:,} of {len(raw):,} rows were quarantined by the dictionary checks and left out; "
            "run `careleads dictionary` tools to see why."
        )

    y_all, chosen = _label01(frame[label], label=label, positive=positive, source=source)
    unlabeled = int(y_all.isna().sum())
    if unlabeled:
        warnings.append(f"{unlabeled:,} rows have no {label!r} value and were left out.")

    order: np.ndarray | None = None
    if time_column is not None:
        stamps = to_datetime(frame[time_column])
        filled = frame[time_column].astype("string").str.strip().str.len().fillna(0) > 0
        bad = int((stamps.isna() & filled).sum())
        n_filled = int(filled.sum())
        if n_filled == 0 or bad > 0.5 * n_filled:
            example = frame.loc[stamps.isna() & filled, time_column].astype(str).head(2).tolist()
            raise InputError(
                f"{source}: time column {time_column!r} cannot be read as dates ({bad:,} of {n_filled:,} "
                f"values, e.g. {example}); give a date column or use --row-order"
            )
        no_time = int(stamps.isna().sum())
        if no_time:
            warnings.append(f"{no_time:,} rows have no readable {time_column!r} and were left out.")
        usable = y_all.notna() & stamps.notna()
    else:
        usable = y_all.notna()
    frame = frame.loc[usable.to_numpy()].reset_index(drop=True)
    y = y_all[usable].to_numpy(dtype=np.int64)
    if time_column is not None:
        order = to_datetime(frame[time_column]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    elif row_order:
        order = np.arange(len(frame), dtype=np.int64)
    groups = frame[group_column].astype("string").fillna("(missing)").to_numpy() if group_column else None
    if len(np.unique(y)) < 2:
        raise InputError(f"{source}: every usable row has the same {label!r} outcome; nothing to predict")

    say("splitting")
    if order is not None:
        train_idx, test_idx = _ordered_split(order, groups, test_fraction)
        kind = "time" if time_column is not None else "row_order"
    else:
        train_idx, test_idx = _random_split(y, groups, test_fraction, seed)
        kind = "random"
        warnings.append(
            "No --time-column or --row-order: the split is random, so the test rows come from the same "
            "period as the training rows and the figures are likely optimistic; give a time column if the "
            "file has one."
        )
    _require_classes(y[train_idx], what="training part")
    if len(test_idx) == 0 or len(np.unique(y[test_idx])) < 2:
        raise NotEnoughDataError(
            f"{source}: the test part ({len(test_idx):,} rows) holds only one outcome value; "
            "use a larger --test-fraction or a longer export"
        )
    train, test = frame.iloc[train_idx].reset_index(drop=True), frame.iloc[test_idx].reset_index(drop=True)
    y_train, y_test = y[train_idx], y[test_idx]

    # ------------------------------------------------------------ candidate columns
    kinds, excluded = _candidate_kinds(
        train,
        spec_by_column,
        label=label,
        time_column=time_column,
        group_column=group_column,
        exclude=exclude,
    )
    say("auditing for leakage")
    audit_frame = train.drop(columns=[label]).assign(**{"__label__": y_train})
    audit_kinds = {**_all_kinds(train, spec_by_column), **kinds}
    ignore = [c for c in (group_column,) if c is not None] + list(exclude)
    dictionary_obj = _dictionary_for_audit(spec_by_column)
    leakage = audit_leakage(
        audit_frame,
        label="__label__",
        dictionary=dictionary_obj,
        time_column=time_column,
        kinds=audit_kinds,
        keep=keep,
        ignore=ignore,
        seed=seed,
    )

    # ------------------------------------------------------------ validation slice
    if order is not None:
        fit_pos, val_pos = _ordered_split(
            order[train_idx], groups[train_idx] if groups is not None else None, VALIDATION_FRACTION
        )
    else:
        fit_pos, val_pos = _random_split(
            y_train, groups[train_idx] if groups is not None else None, VALIDATION_FRACTION, seed + 1
        )
    if len(np.unique(y_train[val_pos])) < 2 or len(np.unique(y_train[fit_pos])) < 2:
        raise NotEnoughDataError(
            f"{source}: the validation slice at the end of the training part holds one outcome only; "
            "use the rule baseline until more outcomes are recorded"
        )
    if len(fit_pos) > MAX_SELECTION_ROWS:
        # Choosing among candidates does not need every row; the latest rows are closest to the validation
        # slice. The chosen model is still refit on the whole training part.
        if order is not None:
            by_time = fit_pos[np.argsort(order[train_idx][fit_pos], kind="stable")]
            fit_pos, which = np.sort(by_time[-MAX_SELECTION_ROWS:]), "the latest"
        else:
            rng = np.random.default_rng(seed)
            fit_pos, which = np.sort(rng.choice(fit_pos, MAX_SELECTION_ROWS, replace=False)), "a sample of"
        warnings.append(
            f"Model choice used {which} {MAX_SELECTION_ROWS:,} training rows outside the validation slice; "
            "the chosen model was then refit on the whole training part."
        )
    fit, val = train.iloc[fit_pos], train.iloc[val_pos]
    y_fit, y_val = y_train[fit_pos], y_train[val_pos]

    def features_after(report: LeakageReport) -> dict[str, str]:
        out = {c: k for c, k in kinds.items() if c not in set(report.excluded_columns)}
        if not out:
            raise InputError(
                f"{source}: no feature column is left after the exclusions and the leakage audit"
            )
        return out

    use = features_after(leakage)
    candidates = _fit_candidates(
        fit, y_fit, val, y_val, kinds=use, time_column=time_column, seed=seed, progress=say
    )
    boosted = max((c for c in candidates if c.kind == "lightgbm"), key=lambda c: c.validation_auc)
    if dominant_column(boosted.importance) is not None:
        say("checking the fitted model's dominant column")
        leakage = audit_leakage(
            audit_frame,
            label="__label__",
            dictionary=dictionary_obj,
            time_column=time_column,
            kinds=audit_kinds,
            keep=keep,
            ignore=ignore,
            seed=seed,
            fitted_importance=boosted.importance,
        )
        if set(features_after(leakage)) != set(use):
            use = features_after(leakage)
            candidates = _fit_candidates(
                fit, y_fit, val, y_val, kinds=use, time_column=time_column, seed=seed, progress=say
            )
            boosted = max((c for c in candidates if c.kind == "lightgbm"), key=lambda c: c.validation_auc)
    chosen_model = max(candidates, key=lambda c: c.validation_auc)
    logistic_candidate = next(c for c in candidates if c.kind == "logistic")

    say("calibrating and setting tier thresholds")
    calibrator = ProbabilityCalibrator().fit(chosen_model.raw_validation, y_val)
    scheme = TierScheme().fit(calibrator.transform(chosen_model.raw_validation))
    baseline_calibrator = ProbabilityCalibrator().fit(logistic_candidate.raw_validation, y_val)
    baseline_scheme = TierScheme().fit(baseline_calibrator.transform(logistic_candidate.raw_validation))

    say(f"refitting {chosen_model.name} on the whole training part")
    if chosen_model.kind == "lightgbm":
        # more rows support somewhat more rounds than early stopping found on the smaller fit part
        growth = min(MAX_ROUND_GROWTH, len(train) / max(1, len(fit)))
        rounds = max(1, min(MAX_BOOST_ROUNDS, int(round(chosen_model.n_estimators * growth))))
        pipeline = Pipeline(
            [
                ("features", TabularFeatures(kinds=use, time_column=time_column)),
                ("names", FunctionTransformer(_positional)),
                ("model", _lgbm(chosen_model.settings, rounds, seed, len(train))),
            ]
        ).fit(train, y_train)
        settings = {
            **chosen_model.settings,
            "n_estimators": rounds,
            "validation_rounds": chosen_model.n_estimators,
        }
    else:
        pipeline = logistic_baseline(kinds=use, time_column=time_column).fit(train, y_train)
        settings = dict(chosen_model.settings)
    baseline = (
        pipeline
        if chosen_model.kind == "logistic"
        else logistic_baseline(kinds=use, time_column=time_column).fit(train, y_train)
    )

    say("scoring the test part")
    p_test = calibrator.transform(pipeline.predict_proba(test)[:, 1])
    p_base = baseline_calibrator.transform(baseline.predict_proba(test)[:, 1])
    metrics = binary_metrics(y_test, p_test)
    base_metrics = binary_metrics(y_test, p_base)
    tiers = conversion_by_tier(scheme.assign(p_test), y_test, scheme.names)
    baseline_tiers = conversion_by_tier(baseline_scheme.assign(p_base), y_test, baseline_scheme.names)

    say("checking drift between the training and test windows")
    features_step: TabularFeatures = pipeline.named_steps["features"]
    calendar = [f for f, src in features_step.feature_sources_.items() if src == time_column]
    drift = drift_report(
        features_step.transform(train).drop(columns=calendar).assign(__label__=y_train),
        features_step.transform(test).drop(columns=calendar).assign(__label__=y_test),
        label_col="__label__",
    )
    warnings.extend(_drift_warnings(drift, label=label))
    warnings.extend(
        f"{c}: a leakage suspect kept by request (--keep); the figures may be optimistic."
        for c in leakage.kept_columns
    )
    if metrics.auc > SUSPICIOUS_TEST_AUC:
        warnings.append(
            f"Test AUC {metrics.auc:.3f} is above {SUSPICIOUS_TEST_AUC}: lead outcomes are rarely that "
            "predictable; look for a column recorded after the outcome and --exclude it."
        )
    if chosen_model.kind == "lightgbm" and base_metrics.auc > metrics.auc + 0.01:
        warnings.append(
            f"The logistic baseline does better on the test part (AUC {base_metrics.auc:.3f} against "
            f"{metrics.auc:.3f}); the validation slice preferred LightGBM, which suggests drift."
        )
    if min(int(y_test.sum()), int(len(y_test) - y_test.sum())) < MIN_CLASS_ROWS:
        warnings.append("The test part holds fewer than 40 of one outcome: its figures are uncertain.")

    total_gain = sum(boosted.importance.values()) or 1.0
    return EvaluationResult(
        source=source,
        n_read=len(raw),
        rows=len(frame),
        label=label,
        positive=chosen,
        positive_rate=float(y.mean()),
        split=SplitInfo(
            kind=kind,
            train_rows=len(train),
            test_rows=len(test),
            validation_rows=len(val),
            time_column=time_column,
            group_column=group_column,
            train_end=_edge(train, time_column, last=True),
            test_start=_edge(test, time_column, last=False),
        ),
        leakage=leakage,
        features=list(use),
        feature_names=[str(f) for f in features_step.get_feature_names_out()],
        excluded=excluded
        + [
            {"column": c, "reason": "leakage suspect"}
            for c in leakage.excluded_columns
            if c not in {e["column"] for e in excluded}
        ],
        model_kind=chosen_model.kind,
        model_settings={"candidate": chosen_model.name, **settings},
        candidates=[
            {"name": c.name, "kind": c.kind, "validation_auc": c.validation_auc, "rounds": c.n_estimators}
            for c in candidates
        ],
        test=metrics,
        baselines={"logistic": base_metrics},
        tiers=tiers,
        tier_scheme=scheme,
        calibrator=calibrator,
        drift=drift,
        importance={k: v / total_gain for k, v in sorted(boosted.importance.items(), key=lambda kv: -kv[1])},
        warnings=warnings,
        pipeline=pipeline,
        y_test=y_test,
        p_test=p_test,
        p_test_baseline=p_base,
        baseline_tiers=baseline_tiers,
    )


def _edge(part: pd.DataFrame, time_column: str | None, *, last: bool) -> str | None:
    if time_column is None:
        return None
    stamps = to_datetime(part[time_column]).dropna()
    if stamps.empty:
        return None
    return str(stamps.max() if last else stamps.min())


def _require_classes(y: np.ndarray, *, what: str) -> None:
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos < MIN_CLASS_ROWS or n_neg < MIN_CLASS_ROWS:
        raise NotEnoughDataError(
            f"the {what} holds {n_pos:,} positives and {n_neg:,} negatives; a model needs at least "
            f"{MIN_CLASS_ROWS} of each. Use the points-based rule baseline until more outcomes are recorded"
        )


def _drift_warnings(drift: DriftReport, *, label: str) -> list[str]:
    out = []
    acting = sorted((c for c in drift.columns if c.status == "act"), key=lambda c: -c.psi)
    if acting:
        shown = ", ".join(f"{c.column} (PSI {c.psi:.2f})" for c in acting[:5])
        out.append(
            f"The test window differs strongly from the training window in {len(acting)} feature(s): "
            f"{shown}. "
            "Expect the model to do worse on new leads than on the training data; retrain on recent data."
        )
    rate = drift.positive_rate
    if rate is not None and rate.status == "act":
        out.append(
            f"The {label!r} rate moved from {rate.reference_rate:.1%} in the training window to "
            f"{rate.current_rate:.1%} in the test window; probabilities calibrated on the past may be off."
        )
    return out


# ----------------------------------------------------------------------------- dictionary and columns


def _ingest(
    raw: pd.DataFrame,
    dictionary: Dictionary | PathLikeStr | None,
    *,
    label: str,
    source: str,
    file: Path,
) -> tuple[dict[str, FieldSpec], pd.DataFrame, int]:
    """The clean frame under the file's own column names, each column's field spec, rows quarantined."""
    if dictionary is None:
        from careleads.dictionary import infer_dictionary

        found = infer_dictionary(raw, label=label, name=file.stem)
    elif isinstance(dictionary, Dictionary):
        found = dictionary
    else:
        found = _load_dictionary(dictionary)
    table = _table_name(found, raw)
    result = ingest_table(raw, found, table, source=source)
    back = {canonical: original for original, canonical in result.summary.renamed_columns.items()}
    clean = result.clean.rename(columns=back)
    clean = clean[[c for c in raw.columns if c in clean.columns]]
    spec_table = found.table(table)
    specs: dict[str, FieldSpec] = {}
    for spec in spec_table.fields:
        name = back.get(spec.name, spec.name)
        if name in clean.columns:
            specs[name] = spec
    return specs, clean, int(result.summary.n_quarantined)


def _table_name(dictionary: Dictionary, raw: pd.DataFrame) -> str:
    if "data" in dictionary.tables:
        return "data"
    if len(dictionary.tables) == 1:
        return next(iter(dictionary.tables))
    columns = {str(c).casefold() for c in raw.columns}
    best = max(
        dictionary.tables.values(),
        key=lambda t: sum(
            1
            for f in t.fields
            if f.name.casefold() in columns or any(a.casefold() in columns for a in f.aliases)
        ),
    )
    return best.name


def _dictionary_for_audit(specs: Mapping[str, FieldSpec]) -> Dictionary:
    from dataclasses import replace

    from careleads.dictionary import TableSpec

    fields = tuple(replace(spec, name=name) for name, spec in specs.items())
    return Dictionary(name="audit", tables={"data": TableSpec(name="data", fields=fields)})


_KIND_OF_TYPE = {
    FieldType.NUMBER: "numeric",
    FieldType.CATEGORY: "categorical",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATETIME: "datetime",
    FieldType.TEXT: "text",
    FieldType.IDENTIFIER: "identifier",
}


def _all_kinds(frame: pd.DataFrame, specs: Mapping[str, FieldSpec]) -> dict[str, str]:
    from careleads.models._tabular import infer_kinds

    kinds: dict[str, str] = dict(infer_kinds(frame))
    for name, spec in specs.items():
        kinds[name] = _KIND_OF_TYPE[spec.type]
    return kinds


def _candidate_kinds(
    train: pd.DataFrame,
    specs: Mapping[str, FieldSpec],
    *,
    label: str,
    time_column: str | None,
    group_column: str | None,
    exclude: Sequence[str],
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Feature columns and their kinds before the leakage audit, with the reason for every other column."""
    kinds = _all_kinds(train, specs)
    use: dict[str, str] = {}
    excluded: list[dict[str, str]] = []
    for name in train.columns:
        if name == label:
            continue
        spec = specs.get(name)
        kind = kinds[name]
        reason = None
        if name in exclude:
            reason = "excluded by request"
        elif name == group_column:
            reason = "group column"
        elif spec is not None and spec.sensitivity is Sensitivity.SENSITIVE:
            reason = "sensitive attribute: never a model feature"
        elif spec is not None and spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
            reason = "direct identifier"
        elif kind == "identifier":
            n_values = train[name].nunique()
            if n_values and len(train) / n_values >= KEY_MIN_ROWS_PER_VALUE:
                kind = "categorical"
            else:
                reason = "identifier"
        elif train[name].isna().all():
            reason = "always empty"
        if reason is None:
            use[name] = kind
        else:
            excluded.append({"column": name, "reason": reason})
    if time_column is not None:
        use[time_column] = "datetime"
    return use, excluded
