"""The checks around an evaluation: the leakage audit of the training part, drift, and the warnings.

The audit itself lives in ``models/_leakage`` and the population stability index in ``careleads.stats``;
this module gives them the training part in the form they read and turns what they find into the
evaluation's feature list and plain-language warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from careleads.errors import InputError
from careleads.models._candidates import positional
from careleads.models._gbm import GradientBoostedScorer
from careleads.models._lead_file import LeadFile, column_kinds, file_dictionary
from careleads.models._leakage import LeakageReport, audit_leakage
from careleads.models._split import MIN_CLASS_ROWS
from careleads.models._tabular import TabularFeatures
from careleads.stats import BinaryMetrics, DriftReport, drift_report

SUSPICIOUS_TEST_AUC = 0.95
# The AUC with and without each suspect is measured on at most this many rows, for at most this many columns.
EFFECT_MAX_ROWS = 20_000
EFFECT_MAX_COLUMNS = 12
EFFECT_ROUNDS = 200
_LABEL = "__label__"


def audit_training_part(
    lead_file: LeadFile,
    train: pd.DataFrame,
    y_train: np.ndarray,
    kinds: Mapping[str, str],
    *,
    seed: int,
    rows: np.ndarray,
    fitted_importance: Mapping[str, float] | None = None,
) -> LeakageReport:
    """Audit the training part for leakage (with a fitted model's importance on the second pass).

    `rows` are the positions of the training part's rows in ``lead_file.frame``."""
    audit_frame = train.drop(columns=[lead_file.label]).assign(**{_LABEL: y_train})
    ignore = [c for c in (lead_file.group_column,) if c is not None] + list(lead_file.exclude)
    return audit_leakage(
        audit_frame,
        label=_LABEL,
        dictionary=file_dictionary(lead_file.specs),
        time_column=lead_file.time_column,
        kinds={**column_kinds(train, lead_file.specs), **kinds},
        keep=lead_file.keep,
        ignore=ignore,
        seed=seed,
        fitted_importance=fitted_importance,
        written_missing={c: mask[rows] for c, mask in lead_file.written_missing.items()},
    )


def features_after(kinds: Mapping[str, str], report: LeakageReport, *, source: str) -> dict[str, str]:
    """The feature columns left once the audit's suspects are excluded."""
    out = {c: k for c, k in kinds.items() if c not in set(report.excluded_columns)}
    if not out:
        raise InputError(f"{source}: no feature column is left after the exclusions and the leakage audit")
    return out


def window_drift(
    pipeline: Pipeline,
    train: pd.DataFrame,
    y_train: np.ndarray,
    test: pd.DataFrame,
    y_test: np.ndarray,
    *,
    time_column: str | None,
) -> DriftReport:
    """Drift of every model feature (calendar parts of the time column aside) and of the label rate."""
    features: TabularFeatures = pipeline.named_steps["features"]
    calendar = [
        f
        for f, src in features.feature_sources_.items()
        if time_column is not None and (src == time_column or src.startswith(f"{time_column}__"))
    ]
    return drift_report(
        features.transform(train).drop(columns=calendar).assign(**{_LABEL: y_train}),
        features.transform(test).drop(columns=calendar).assign(**{_LABEL: y_test}),
        label_col=_LABEL,
    )


def drift_warnings(drift: DriftReport, *, label: str) -> list[str]:
    """Warnings for features and a label rate that moved strongly between the two windows."""
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


def figure_warnings(*, kept: Sequence[str], metrics: BinaryMetrics, y_test: np.ndarray) -> list[str]:
    """Warnings about the test figures: kept suspects, a too-good AUC, a small test part.

    A model not chosen that does better on the test part is said by ``_model_choice.compare_on_test``.
    """
    out = [f"{c}: a leakage suspect kept by request (--keep); the figures may be optimistic." for c in kept]
    if metrics.auc > SUSPICIOUS_TEST_AUC:
        out.append(
            f"Test AUC {metrics.auc:.3f} is above {SUSPICIOUS_TEST_AUC}: lead outcomes are rarely that "
            "predictable; look for a column recorded after the outcome and --exclude it."
        )
    if min(int(y_test.sum()), int(len(y_test) - y_test.sum())) < MIN_CLASS_ROWS:
        out.append(
            f"The test part holds fewer than {MIN_CLASS_ROWS} of one outcome: its figures are uncertain."
        )
    return out


def leakage_exclusions(excluded: list[dict[str, str]], report: LeakageReport) -> list[dict[str, Any]]:
    """Every column left out and why: the exclusions before the audit, then the audit's suspects."""
    before = {e["column"] for e in excluded}
    return excluded + [
        {"column": c, "reason": "leakage suspect"} for c in report.excluded_columns if c not in before
    ]


def suspect_effects(
    fit: pd.DataFrame,
    y_fit: np.ndarray,
    compare: pd.DataFrame,
    y_compare: np.ndarray,
    *,
    use: Mapping[str, str],
    kinds: Mapping[str, str],
    report: LeakageReport,
    time_column: str | None,
    seed: int,
) -> dict[str, dict[str, float]]:
    """The validation AUC with and without each column the audit looked at closely.

    One LightGBM (``EFFECT_ROUNDS`` trees of the default settings) is fitted on the rows before the
    validation slice with the model's features, then once more per column: with an excluded suspect added,
    or with a watched column taken out. Each is scored on the comparison rows. Returns column ->
    ``{"with": auc, "without": auc}``; columns the model cannot use (identifiers) are left out.
    """
    looked_at = [s.column for s in (*report.suspects, *report.watched) if s.column in kinds]
    looked_at = looked_at[:EFFECT_MAX_COLUMNS]
    if not looked_at or len(np.unique(y_compare)) < 2:
        return {}
    if len(fit) > EFFECT_MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(fit), EFFECT_MAX_ROWS, replace=False))
        fit, y_fit = fit.iloc[rows], y_fit[rows]

    def auc_of(columns: Mapping[str, str]) -> float:
        if not columns:
            return 0.5
        features = TabularFeatures(kinds=dict(columns), time_column=time_column).fit(fit)
        if len(features.get_feature_names_out()) == 0:
            return 0.5
        model = GradientBoostedScorer(n_estimators=EFFECT_ROUNDS, random_state=seed).fit(
            positional(features.transform(fit)), y_fit
        )
        raw = model.predict_raw(positional(features.transform(compare)))
        return float(roc_auc_score(y_compare, raw))

    base = auc_of(use)
    out: dict[str, dict[str, float]] = {}
    for column in looked_at:
        if column in use:
            out[column] = {"with": base, "without": auc_of({c: k for c, k in use.items() if c != column})}
        else:
            out[column] = {"with": auc_of({**use, column: kinds[column]}), "without": base}
    return out
