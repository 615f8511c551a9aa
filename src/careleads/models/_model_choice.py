"""Which model `evaluate_file` reports, and whether the test part agrees with that choice.

The candidates are compared on the most recent rows before the test part (the later half of the
validation slice, which no candidate was tuned on). LightGBM is chosen when it beats the logistic baseline
there by more than `CLEAR_MARGIN_SE` standard errors of the difference (a paired bootstrap of those rows);
the logistic baseline when LightGBM does not beat it at all; in between, where LightGBM is ahead by no more
than the noise, the blend of the two (their log-odds averaged), which ranks about as well as the better one
and varies less than either. After the one test, the model chosen and the models it was chosen over are
set side by side, and a disagreement is said with the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from careleads.models._candidates import Candidate, best_lightgbm, blend_of
from careleads.types import JSONDict

# Resamples of the paired bootstrap behind the standard error of the AUC difference.
BOOTSTRAP_RESAMPLES = 200
# How much better on the test part the model not chosen must do for the choice to be called wrong.
DISAGREE_AUC = 0.01
# LightGBM alone when it leads the logistic baseline by more than this many standard errors.
CLEAR_MARGIN_SE = 2.0


@dataclass(frozen=True)
class ModelChoice:
    """The chosen candidate, the best LightGBM, the logistic baseline and their blend, and the evidence."""

    chosen: Candidate
    boosted: Candidate
    logistic: Candidate
    blended: Candidate
    margin: float
    standard_error: float
    rows: int
    recent: bool

    @property
    def others(self) -> tuple[Candidate, ...]:
        """The single models the choice was made over: what the test part compares it with."""
        if self.chosen.kind == "lightgbm":
            return (self.logistic,)
        if self.chosen.kind == "logistic":
            return (self.boosted,)
        return (self.boosted, self.logistic)

    def describe(self) -> str:
        """One sentence: where the choice was made and on what figures."""
        where = "the most recent" if self.recent else "a random sample of"
        why = {
            "lightgbm": "LightGBM is clearly better",
            "logistic": "LightGBM is not better, so the simpler logistic model",
            "blend": "LightGBM is ahead by no more than the noise, so the blend of the two",
        }[self.chosen.kind]
        return (
            f"chosen on {where} {self.rows:,} training rows before the test part: {self.boosted.name} AUC "
            f"{self.boosted.validation_auc:.3f}, logistic {self.logistic.validation_auc:.3f} "
            f"(difference {self.margin:+.3f}, standard error {self.standard_error:.3f}); {why}"
        )


def choose_model(
    candidates: list[Candidate], y_compare: np.ndarray, *, seed: int, recent: bool
) -> ModelChoice:
    """Choose between the best LightGBM candidate and the logistic baseline on the comparison rows.

    Parameters
    ----------
    candidates
        From ``fit_candidates``: raw scores on the same comparison rows.
    y_compare
        Outcomes of the comparison rows.
    seed
        Seed of the bootstrap.
    recent
        The comparison rows are the most recent before the test part (a split by time or row order).
    """
    boosted = best_lightgbm(candidates)
    logistic = next(c for c in candidates if c.kind == "logistic")
    blended = blend_of(boosted, logistic, y_compare)
    margin = boosted.validation_auc - logistic.validation_auc
    se = _paired_standard_error(y_compare, boosted.raw_validation, logistic.raw_validation, seed=seed)
    chosen = boosted if margin > CLEAR_MARGIN_SE * se else blended if margin > 0 else logistic
    return ModelChoice(chosen, boosted, logistic, blended, margin, se, int(len(y_compare)), recent)


def _paired_standard_error(y: np.ndarray, a: np.ndarray, b: np.ndarray, *, seed: int) -> float:
    """Bootstrap standard error of AUC(a) - AUC(b) on the same rows (resamples with one outcome skipped)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    differences = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(0, n, n)
        if y[rows].min() == y[rows].max():
            continue
        differences.append(float(roc_auc_score(y[rows], a[rows]) - roc_auc_score(y[rows], b[rows])))
    return float(np.std(differences, ddof=1)) if len(differences) > 1 else 0.0


def compare_on_test(
    choice: ModelChoice, chosen_auc: float, other_aucs: Mapping[str, float]
) -> tuple[JSONDict, str | None]:
    """The choice and the test AUCs of it and of the models it was chosen over (`other_aucs`, by name) as
    JSON, and a warning when one of those does better on the test part."""
    chosen = choice.chosen
    name, best = max(other_aucs.items(), key=lambda kv: kv[1])
    agree = not best > chosen_auc + DISAGREE_AUC
    note = None
    if not agree:
        note = (
            f"The model choice and the test part disagree: {chosen.name} was {choice.describe()}, "
            f"but on the test part {name} does better (AUC {best:.3f} against {chosen_auc:.3f} "
            f"for {chosen.name}). The figures above are {chosen.name}'s; the difference suggests drift "
            "between the most recent training rows and the test part."
        )
    data: JSONDict = {
        "chosen": chosen.name,
        "compared_on": "most recent rows before the test part" if choice.recent else "random training rows",
        "rows": choice.rows,
        "rule": (
            f"LightGBM when it beats logistic by more than {CLEAR_MARGIN_SE:g} standard errors of the "
            "difference, logistic when LightGBM does not beat it, else the blend of the two"
        ),
        "validation_auc": {
            choice.boosted.name: choice.boosted.validation_auc,
            "logistic": choice.logistic.validation_auc,
            choice.blended.name: choice.blended.validation_auc,
        },
        "margin": choice.margin,
        "standard_error": choice.standard_error,
        "test_auc": {chosen.name: chosen_auc, **dict(other_aucs)},
        "agree": agree,
        "note": note,
    }
    return data, note
