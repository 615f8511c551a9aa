"""The models `evaluate_file` compares on the validation slice, and the refit of the chosen one.

Two LightGBM candidates and the logistic baseline, each fitted on the rows before the validation slice,
and the blend of the best LightGBM with the logistic baseline (their log-odds averaged, `blend_of`).
LightGBM stops early on the validation slice; every candidate is scored on the comparison rows (for a split
by time or row order, the later half of the slice: the most recent rows before the test part). The LightGBM
candidates are changes to ``models/_gbm.DEFAULT_PARAMS``, the one set of LightGBM settings `train_model`
uses too: a candidate names only what it changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from careleads.models._gbm import DEFAULT_PARAMS, GradientBoostedScorer
from careleads.models._tabular import TabularFeatures, logistic_baseline

MAX_BOOST_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
# From this many rows the learning rate doubles: fewer rounds on many rows, at about the same AUC.
FAST_RATE_MIN_ROWS = 200_000
PARALLEL_MIN_ROWS = 100_000
# The refit on the whole training part may use up to this many times the rounds early stopping found.
MAX_ROUND_GROWTH = 1.5
# Below this many training rows, the refit averages the probabilities of LightGBM models grown with
# `SEED_AVERAGE` different seeds (bagging and feature sampling): on a few thousand rows one seed's draw moves
# the test AUC by about 0.005, which the average removes, at a few seconds' cost.
SEED_AVERAGE = 3
SEED_AVERAGE_MAX_ROWS = 100_000
SEED_STEP = 1000
# Early stopping watches the AUC the choice is made on, then the log loss (in this order).
STOPPING_METRICS = ("auc", "binary")

# Changes to DEFAULT_PARAMS: small trees for a few thousand rows, larger ones for much data.
LIGHTGBM_CANDIDATES: Mapping[str, Mapping[str, Any]] = {
    "lightgbm_small": {"min_child_samples": 40},
    "lightgbm_large": {
        "num_leaves": 63,
        "min_child_samples": 20,
        "min_data_per_group": 20,
        "cat_smooth": 10.0,
    },
}

Progress = Callable[[str], None]


def lightgbm_settings(name: str, n_rows: int) -> dict[str, Any]:
    """The LightGBM parameters of candidate `name` fitted on `n_rows` rows: DEFAULT_PARAMS and its changes."""
    settings = {**DEFAULT_PARAMS, **LIGHTGBM_CANDIDATES[name]}
    if n_rows >= FAST_RATE_MIN_ROWS:
        settings["learning_rate"] = 2 * float(settings["learning_rate"])
    return settings


def _run_params(settings: Mapping[str, Any], *, n_rows: int) -> dict[str, Any]:
    # OpenMP threads spin while waiting: on small data or a busy machine one thread is many times faster.
    threads = max(1, os.cpu_count() or 1) if n_rows >= PARALLEL_MIN_ROWS else 1
    return {**settings, "num_threads": threads, "metric": list(STOPPING_METRICS)}


def positional(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with columns ``f0, f1, ...``: LightGBM refuses some characters in feature names.

    The readable names live in `TabularFeatures`.
    """
    return frame.set_axis([f"f{i}" for i in range(frame.shape[1])], axis="columns")


@dataclass
class Candidate:
    """One model tried on the validation slice: its AUC and raw scores on the comparison half."""

    name: str
    kind: str
    settings: dict[str, Any]
    validation_auc: float
    raw_validation: np.ndarray
    n_estimators: int = 0
    importance: dict[str, float] = field(default_factory=dict)
    members: tuple[Candidate, ...] = ()


# Probabilities are kept this far from 0 and 1 before their log-odds are taken.
_EDGE = 1e-9


def log_odds(p: np.ndarray) -> np.ndarray:
    """The log-odds of probabilities, kept finite at 0 and 1."""
    return np.asarray(logit(np.clip(p, _EDGE, 1.0 - _EDGE)), dtype=np.float64)


def blend_probabilities(own: np.ndarray, other: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """The blend of two models' probabilities: the `weight`-weighted mean of their log-odds, as a
    probability (the one rule of `blend_of`, `LogOddsBlend` and the blend's out-of-fold scores)."""
    return np.asarray(expit(weight * log_odds(own) + (1.0 - weight) * log_odds(other)), dtype=np.float64)


def blend_of(boosted: Candidate, logistic: Candidate, y_compare: np.ndarray) -> Candidate:
    """The blend of a LightGBM candidate and the logistic baseline: the mean of their log-odds.

    When neither is clearly better on the comparison rows, their average ranks leads at least about as
    well as the better one and varies less than either (the two make different errors).
    """
    weight = 0.5
    raw = blend_probabilities(boosted.raw_validation, logistic.raw_validation, weight)
    return Candidate(
        "blend",
        "blend",
        {"members": [boosted.name, logistic.name], "weight": weight},
        float(roc_auc_score(y_compare, raw)),
        raw,
        boosted.n_estimators,
        boosted.importance,
        (boosted, logistic),
    )


class LogOddsBlend(Pipeline):  # type: ignore[misc]
    """A fitted LightGBM pipeline whose probabilities are averaged, on the log-odds scale, with a second
    fitted model's (the logistic baseline).

    The steps are the LightGBM pipeline's, so its features (``named_steps["features"]``) are the blend's.

    Parameters
    ----------
    steps : list
        The fitted LightGBM pipeline's steps.
    partner : estimator
        The fitted second model (anything with ``predict_proba``).
    weight : float
        The LightGBM pipeline's share of the log-odds.
    """

    def __init__(
        self, steps: list[tuple[str, Any]], *, partner: Any = None, weight: float = 0.5, memory: Any = None
    ) -> None:
        super().__init__(steps, memory=memory)
        self.partner = partner
        self.weight = weight

    def predict_proba(self, X: pd.DataFrame, **params: Any) -> np.ndarray:
        own = super().predict_proba(X, **params)[:, 1]
        p = blend_probabilities(own, self.partner.predict_proba(X)[:, 1], self.weight)
        return np.column_stack([1.0 - p, p])


def fit_candidates(
    fit: pd.DataFrame,
    y_fit: np.ndarray,
    stop: pd.DataFrame,
    y_stop: np.ndarray,
    compare: pd.DataFrame,
    y_compare: np.ndarray,
    *,
    kinds: Mapping[str, str],
    time_column: str | None,
    seed: int,
    progress: Progress,
) -> list[Candidate]:
    """Fit each LightGBM candidate (rounds by early stopping on `stop`) and the baseline on `fit`, and
    score each on `compare`: its ``validation_auc`` and ``raw_validation`` are of those rows."""
    features = TabularFeatures(kinds=kinds, time_column=time_column).fit(fit)
    x_fit, x_stop = positional(features.transform(fit)), positional(features.transform(stop))
    x_compare = positional(features.transform(compare))
    names = list(features.get_feature_names_out())
    out: list[Candidate] = []
    for name in LIGHTGBM_CANDIDATES:
        progress(f"validating {name}")
        settings = lightgbm_settings(name, len(fit))
        model = GradientBoostedScorer(
            params=_run_params(settings, n_rows=len(fit)),
            n_estimators=MAX_BOOST_ROUNDS,
            early_stopping_rounds=EARLY_STOPPING_ROUNDS,
            random_state=seed,
        ).fit(x_fit, y_fit, X_valid=x_stop, y_valid=y_stop)
        best = model.n_estimators_
        raw = model.predict_raw(x_compare)
        gains = model.booster_.feature_importance(importance_type="gain", iteration=best)
        importance: dict[str, float] = {}
        for feature, gain in zip(names, gains, strict=True):
            source = features.source_column(feature)
            importance[source] = importance.get(source, 0.0) + float(gain)
        auc = float(roc_auc_score(y_compare, raw))
        out.append(Candidate(name, "lightgbm", settings, auc, raw, best, importance))
    progress("validating the logistic baseline")
    logistic = logistic_baseline(kinds=kinds, time_column=time_column).fit(fit, y_fit)
    raw = logistic.predict_proba(compare)[:, 1]
    out.append(Candidate("logistic", "logistic", {"C": 1.0}, float(roc_auc_score(y_compare, raw)), raw))
    return out


def best_lightgbm(candidates: list[Candidate]) -> Candidate:
    """The LightGBM candidate with the best validation AUC (its importance feeds the leakage audit)."""
    return max((c for c in candidates if c.kind == "lightgbm"), key=lambda c: c.validation_auc)


def refit(
    chosen: Candidate,
    train: pd.DataFrame,
    y_train: np.ndarray,
    *,
    n_fit: int,
    kinds: Mapping[str, str],
    time_column: str | None,
    seed: int,
) -> tuple[Pipeline, dict[str, Any]]:
    """The chosen candidate fitted on the whole training part, and the settings it was fitted with.

    `n_fit` is the number of rows the candidate was chosen on: more rows support somewhat more rounds
    than early stopping found on them.
    """
    if chosen.kind == "blend":
        boosted, linear = chosen.members
        own, settings = refit(
            boosted, train, y_train, n_fit=n_fit, kinds=kinds, time_column=time_column, seed=seed
        )
        other, _ = refit(linear, train, y_train, n_fit=n_fit, kinds=kinds, time_column=time_column, seed=seed)
        weight = float(chosen.settings["weight"])
        blend = LogOddsBlend(own.steps, partner=other, weight=weight)
        return blend, {**dict(chosen.settings), boosted.name: settings}
    if chosen.kind != "lightgbm":
        pipeline = logistic_baseline(kinds=kinds, time_column=time_column).fit(train, y_train)
        return pipeline, dict(chosen.settings)
    growth = min(MAX_ROUND_GROWTH, len(train) / max(1, n_fit))
    rounds = max(1, min(MAX_BOOST_ROUNDS, int(round(chosen.n_estimators * growth))))
    seeds = SEED_AVERAGE if len(train) < SEED_AVERAGE_MAX_ROWS else 1
    models = [
        GradientBoostedScorer(
            params=_run_params(chosen.settings, n_rows=len(train)),
            n_estimators=rounds,
            random_state=seed + SEED_STEP * k,
        )
        for k in range(seeds)
    ]
    step: Any = models[0]
    if seeds > 1:
        step = VotingClassifier([(f"seed_{k}", m) for k, m in enumerate(models)], voting="soft")
    pipeline = Pipeline(
        [
            ("features", TabularFeatures(kinds=kinds, time_column=time_column)),
            ("names", FunctionTransformer(positional)),
            ("model", step),
        ]
    ).fit(train, y_train)
    return pipeline, {
        **models[0].settings(),
        "n_estimators": rounds,
        "validation_rounds": chosen.n_estimators,
        "seeds": seeds,
    }
