"""Which model `evaluate_file` reports, and whether the test part agrees with that choice.

The candidates are compared on the most recent rows before the test part (the later half of the
validation slice, which no candidate was tuned on). LightGBM is chosen only when it beats the logistic
baseline there by more than one standard error of the difference (a paired bootstrap of those rows): when
the two are within noise of each other, the simpler model is the safer bet under drift. After the one test,
both models' test AUCs are set side by side and a disagreement is said with both figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from careleads.models._candidates import Candidate, best_lightgbm
from careleads.types import JSONDict

# Resamples of the paired bootstrap behind the standard error of the AUC difference.
BOOTSTRAP_RESAMPLES = 200
# How much better on the test part the model not chosen must do for the choice to be called wrong.
DISAGREE_AUC = 0.01


@dataclass(frozen=True)
class ModelChoice:
    """The chosen candidate, the best LightGBM and the logistic baseline, and the evidence of the choice."""

    chosen: Candidate
    boosted: Candidate
    logistic: Candidate
    margin: float
    standard_error: float
    rows: int
    recent: bool

    @property
    def other(self) -> Candidate:
        """The best candidate of the other family: the one the test part compares the choice with."""
        return self.logistic if self.chosen.kind == "lightgbm" else self.boosted

    def describe(self) -> str:
        """One sentence: where the choice was made and on what figures."""
        where = "the most recent" if self.recent else "a random sample of"
        return (
            f"chosen on {where} {self.rows:,} training rows before the test part: {self.boosted.name} AUC "
            f"{self.boosted.validation_auc:.3f}, logistic {self.logistic.validation_auc:.3f} "
            f"(difference {self.margin:+.3f}, standard error {self.standard_error:.3f}); "
            + (
                "LightGBM is clearly better"
                if self.chosen.kind == "lightgbm"
                else "LightGBM is not better by more than the noise, so the simpler logistic model"
            )
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
    margin = boosted.validation_auc - logistic.validation_auc
    se = _paired_standard_error(y_compare, boosted.raw_validation, logistic.raw_validation, seed=seed)
    chosen = boosted if margin > se else logistic
    return ModelChoice(chosen, boosted, logistic, margin, se, int(len(y_compare)), recent)


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


def compare_on_test(choice: ModelChoice, chosen_auc: float, other_auc: float) -> tuple[JSONDict, str | None]:
    """The choice and both models' test AUCs as JSON, and a warning when the test part disagrees."""
    chosen, other = choice.chosen, choice.other
    agree = not other_auc > chosen_auc + DISAGREE_AUC
    note = None
    if not agree:
        note = (
            f"The model choice and the test part disagree: {chosen.name} was {choice.describe()}, "
            f"but on the test part {other.name} does better (AUC {other_auc:.3f} against {chosen_auc:.3f} "
            f"for {chosen.name}). The figures above are {chosen.name}'s; the difference suggests drift "
            "between the most recent training rows and the test part."
        )
    data: JSONDict = {
        "chosen": chosen.name,
        "compared_on": "most recent rows before the test part" if choice.recent else "random training rows",
        "rows": choice.rows,
        "rule": "LightGBM only when it beats logistic by more than one standard error of the difference",
        "validation_auc": {
            choice.boosted.name: choice.boosted.validation_auc,
            "logistic": choice.logistic.validation_auc,
        },
        "margin": choice.margin,
        "standard_error": choice.standard_error,
        "test_auc": {chosen.name: chosen_auc, other.name: other_auc},
        "agree": agree,
        "note": note,
    }
    return data, note
