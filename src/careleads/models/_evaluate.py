"""Evaluate any lead file honestly: leakage audit, time-based split, model choice on validation, one test.

The steps of `evaluate_file`, each in its own module:

1. read the file, infer (or load) its data dictionary, ingest it, turn the label into 0/1
   (``_lead_file``);
2. split: by time (earlier rows train, later rows test) or file order with the one split of
   ``_split`` (shared with `train_model`), else at random with a warning; a group column keeps each group
   on one side; the validation slice is the end of the training part; a test share far from the one
   asked and test rows earlier than training rows are reported (``_split.split_warnings``), and the time
   column's calendar parts are kept only where training covers the test part (``_lead_file``);
3. audit the training part for leakage and exclude the suspects unless kept (``_evaluation_checks``);
4. fit LightGBM candidates and a logistic baseline on the rows before the validation slice; LightGBM stops
   early on the slice (``_candidates``), and the choice is made on its later half, the most recent rows
   before the test part (the whole slice for a random split): LightGBM when clearly better than the
   logistic baseline, the logistic baseline when LightGBM is not better, else the blend of the two
   (``_model_choice``);
5. refit the chosen model and the baseline on the whole training part (the newest data matters most when
   things drift), and fit each one's calibrator and tier thresholds on out-of-fold scores of the same
   refit, on the whole training part or its recent window (``_calibrated_scores``);
6. score the test part once: metrics, AUC before and after calibration, tiers, the logistic baseline, the
   model not chosen, and drift between the two windows, gathered in an `EvaluationResult`
   (``_evaluation_result``). The HTML report is drawn from it in ``careleads.report``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from careleads.dictionary import Dictionary
from careleads.errors import InputError, NotEnoughDataError
from careleads.models._calibrated_scores import (
    calibrate,
    calibration_warnings,
    out_of_fold,
    score_test_part,
)
from careleads.models._candidates import (
    Candidate,
    LogOddsBlend,
    best_lightgbm,
    blend_probabilities,
    fit_candidates,
    refit,
)
from careleads.models._evaluation_checks import (
    audit_training_part,
    drift_warnings,
    features_after,
    figure_warnings,
    leakage_exclusions,
    suspect_effects,
    window_drift,
)
from careleads.models._evaluation_result import EvaluationResult, SplitInfo
from careleads.models._lead_file import Progress, calendar_parts, feature_kinds, read_lead_file
from careleads.models._leakage import dominant_column
from careleads.models._model_choice import choose_model, compare_on_test
from careleads.models._split import (
    MIN_CLASS_ROWS,
    random_split,
    require_classes,
    split_by_order,
    split_warnings,
)
from careleads.models._tabular import logistic_baseline, to_datetime
from careleads.types import PathLikeStr

# Share of the training part, its end, that validates.
VALIDATION_FRACTION = 0.2
# Choosing among candidates does not need every row: above this many, the latest (or a sample) are used.
MAX_SELECTION_ROWS = 250_000


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
        The figures; ``careleads.report.write_evaluation_report`` draws its HTML report.

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
    data = read_lead_file(
        path,
        label=label,
        positive=positive,
        time_column=time_column,
        row_order=row_order,
        group_column=group_column,
        exclude=exclude,
        keep=keep,
        dictionary=dictionary,
        progress=say,
    )
    source, frame, y, warnings = data.source, data.frame, data.y, data.warnings
    time_column, order, groups = data.time_column, data.order, data.groups

    say("splitting")
    if order is not None:
        split = split_by_order(
            order, test_fraction=test_fraction, valid_fraction=VALIDATION_FRACTION, groups=groups
        )
        train_idx, test_idx = np.flatnonzero(split.train), np.flatnonzero(split.test)
        val_pos = np.flatnonzero(split.valid[split.train])
        fit_pos = np.flatnonzero(~split.valid[split.train])
        kind = "time" if time_column is not None else "row_order"
        warnings.extend(
            split_warnings(
                order,
                split,
                test_fraction=test_fraction,
                grouped=groups is not None,
                describe=(lambda ns: str(pd.Timestamp(ns))) if time_column is not None else _row,
            )
        )
    else:
        train_idx, test_idx = random_split(y, groups, test_fraction, seed)
        train_groups = groups[train_idx] if groups is not None else None
        fit_pos, val_pos = random_split(y[train_idx], train_groups, VALIDATION_FRACTION, seed + 1)
        kind = "random"
        warnings.append(
            "No --time-column or --row-order: the split is random, so the test rows come from the same "
            "period as the training rows and the figures are likely optimistic; give a time column if the "
            "file has one."
        )
    require_classes(y[train_idx], where="training part")
    if len(test_idx) == 0 or len(np.unique(y[test_idx])) < 2:
        raise NotEnoughDataError(
            f"{source}: the test part ({len(test_idx):,} rows) holds only one outcome value; "
            "use a larger --test-fraction or a longer export"
        )
    train, test = frame.iloc[train_idx].reset_index(drop=True), frame.iloc[test_idx].reset_index(drop=True)
    y_train, y_test = y[train_idx], y[test_idx]

    kinds, excluded = feature_kinds(
        train,
        data.specs,
        label=data.label,
        time_column=time_column,
        group_column=data.group_column,
        exclude=data.exclude,
        set_aside=data.set_aside,
    )
    train, test, kinds, calendar_left_out = calendar_parts(train, test, kinds, time_column=time_column)
    excluded.extend(calendar_left_out)
    say("auditing for leakage")
    leakage = audit_training_part(data, train, y_train, kinds, seed=seed, rows=train_idx)

    if len(np.unique(y_train[val_pos])) < 2 or len(np.unique(y_train[fit_pos])) < 2:
        raise NotEnoughDataError(
            f"{source}: the validation slice at the end of the training part holds one outcome only; "
            "use the rule baseline until more outcomes are recorded"
        )
    if len(fit_pos) > MAX_SELECTION_ROWS:
        # the latest rows are closest to the validation slice; the chosen model is still refit on all
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
    compare_pos = _latest_half(val_pos, order[train_idx] if order is not None else None, y_train)
    stop_pos = val_pos
    fit, stop, compare = train.iloc[fit_pos], train.iloc[stop_pos], train.iloc[compare_pos]
    y_fit, y_stop, y_compare = y_train[fit_pos], y_train[stop_pos], y_train[compare_pos]
    val = train.iloc[val_pos]

    def candidates_on(columns: dict[str, str]) -> list[Candidate]:
        return fit_candidates(
            fit,
            y_fit,
            stop,
            y_stop,
            compare,
            y_compare,
            kinds=columns,
            time_column=time_column,
            seed=seed,
            progress=say,
        )

    use = features_after(kinds, leakage, source=source)
    candidates = candidates_on(use)
    boosted = best_lightgbm(candidates)
    if dominant_column(boosted.importance) is not None:
        say("checking the fitted model's dominant column")
        leakage = audit_training_part(
            data, train, y_train, kinds, seed=seed, rows=train_idx, fitted_importance=boosted.importance
        )
        if set(features_after(kinds, leakage, source=source)) != set(use):
            use = features_after(kinds, leakage, source=source)
            candidates = candidates_on(use)
            boosted = best_lightgbm(candidates)
    say("measuring the validation AUC with and without each suspect")
    effects = suspect_effects(
        fit,
        y_fit,
        compare,
        y_compare,
        use=use,
        kinds=kinds,
        report=leakage,
        time_column=time_column,
        seed=seed,
    )
    choice = choose_model(candidates, y_compare, seed=seed, recent=order is not None)
    chosen, logistic = choice.chosen, choice.logistic

    say(f"refitting {chosen.name} on the whole training part")
    pipeline, settings = refit(
        chosen, train, y_train, n_fit=len(fit), kinds=use, time_column=time_column, seed=seed
    )
    if chosen.kind == "logistic":
        baseline = pipeline
    elif isinstance(pipeline, LogOddsBlend):  # the blend's logistic member is the baseline, fitted
        baseline = pipeline.partner
    else:
        baseline = logistic_baseline(kinds=use, time_column=time_column).fit(train, y_train)

    say("calibrating on out-of-fold scores and setting tier thresholds")
    train_groups = groups[train_idx] if groups is not None else None

    def out_of_fold_scores(model: Candidate) -> np.ndarray:
        return out_of_fold(
            model,
            train,
            y_train,
            n_fit=len(fit),
            kinds=use,
            time_column=time_column,
            seed=seed,
            groups=train_groups,
        )

    oof_baseline = out_of_fold_scores(logistic)
    if chosen.kind == "logistic":
        oof = oof_baseline
    elif chosen.kind == "blend":  # the same folds: the blend of its members' out-of-fold scores
        oof = blend_probabilities(
            out_of_fold_scores(choice.boosted), oof_baseline, float(chosen.settings["weight"])
        )
    else:
        oof = out_of_fold_scores(chosen)
    recent = np.zeros(len(train), dtype=bool)
    recent[val_pos] = True
    calibration = calibrate(oof, oof_baseline, y_train, recent if order is not None else None)

    say("scoring the test part")
    scored = score_test_part(calibration, pipeline, baseline, test, y_test)
    warnings.extend(calibration_warnings(scored.calibration, label=data.label))
    other_aucs: dict[str, float] = {}
    for other in choice.others:
        if other.kind == "logistic":
            other_aucs[other.name] = scored.calibration["baseline_auc_before"]
            continue
        if isinstance(pipeline, LogOddsBlend):  # its steps are the LightGBM member, fitted
            alone = Pipeline(pipeline.steps)
        else:
            say(f"refitting {other.name} to compare on the test part")
            alone, _ = refit(
                other, train, y_train, n_fit=len(fit), kinds=use, time_column=time_column, seed=seed
            )
        other_aucs[other.name] = float(roc_auc_score(y_test, alone.predict_proba(test)[:, 1]))
    model_choice, disagreement = compare_on_test(choice, scored.calibration["auc_before"], other_aucs)
    if disagreement is not None:
        warnings.append(disagreement)

    say("checking drift between the training and test windows")
    drift = window_drift(pipeline, train, y_train, test, y_test, time_column=time_column)
    warnings.extend(drift_warnings(drift, label=data.label))
    warnings.extend(figure_warnings(kept=leakage.kept_columns, metrics=scored.metrics, y_test=y_test))

    total_gain = sum(boosted.importance.values()) or 1.0
    return EvaluationResult(
        source=source,
        n_read=data.n_read,
        rows=len(frame),
        label=data.label,
        positive=data.positive,
        positive_rate=data.positive_rate,
        split=SplitInfo(
            kind=kind,
            train_rows=len(train),
            test_rows=len(test),
            validation_rows=len(val),
            time_column=time_column,
            group_column=data.group_column,
            train_end=_edge(train, time_column, last=True),
            test_start=_edge(test, time_column, last=False),
        ),
        leakage=leakage,
        features=list(use),
        feature_names=[str(f) for f in pipeline.named_steps["features"].get_feature_names_out()],
        excluded=leakage_exclusions(excluded, leakage),
        model_kind=chosen.kind,
        model_settings={"candidate": chosen.name, **settings},
        candidates=[
            {"name": c.name, "kind": c.kind, "validation_auc": c.validation_auc, "rounds": c.n_estimators}
            for c in [*candidates, choice.blended]
        ],
        test=scored.metrics,
        baselines={"logistic": scored.baseline_metrics},
        tiers=scored.tiers,
        tier_scheme=calibration.scheme,
        calibrator=calibration.calibrator,
        drift=drift,
        importance={k: v / total_gain for k, v in sorted(boosted.importance.items(), key=lambda kv: -kv[1])},
        warnings=warnings,
        pipeline=pipeline,
        y_test=y_test,
        p_test=scored.p_test,
        p_test_baseline=scored.p_baseline,
        baseline_tiers=scored.baseline_tiers,
        calibration=scored.calibration,
        model_choice=model_choice,
        reading_notes=data.notes,
        leakage_effects=effects,
    )


def _latest_half(positions: np.ndarray, order: np.ndarray | None, y: np.ndarray) -> np.ndarray:
    """The later half of the validation slice by order, where the candidates are compared: the most recent
    rows before the test part. The whole slice for a random split, or when that half would hold fewer than
    a quarter of `MIN_CLASS_ROWS` of one outcome."""
    if order is None:
        return positions
    late = np.sort(positions[np.argsort(order[positions], kind="stable")][len(positions) // 2 :])
    n_pos = int(y[late].sum())
    return late if min(n_pos, len(late) - n_pos) >= MIN_CLASS_ROWS // 4 else positions


def _row(position: int) -> str:
    return f"at row {position + 1:,}"


def _edge(part: pd.DataFrame, time_column: str | None, *, last: bool) -> str | None:
    if time_column is None:
        return None
    stamps = to_datetime(part[time_column]).dropna()
    if stamps.empty:
        return None
    return str(stamps.max() if last else stamps.min())
