"""A fitted lead model: preprocessing, boosted trees, calibration and tiers, saved as one artifact."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from careleads.columns import Columns, n_rows, texts
from careleads.features import TEXT_FEATURE_PREFIXES, FeatureSpec, Target
from careleads.models._gbm import FramePreprocessor, GradientBoostedScorer
from careleads.rules import PointsScorer
from careleads.stats import ProbabilityCalibrator, TierScheme
from careleads.types import PathLikeStr

CARD_FILE = "model_card.json"


def _plain(name: str) -> str:
    """A feature name in plain words for reason codes."""
    words = {
        "n_page_pricing": "pricing page views",
        "n_page_provider": "provider page views",
        "n_page_locations": "locations page views",
        "n_page_insurance": "insurance page views",
        "n_page_service": "service page views",
        "n_call_request": "asked for a call",
        "n_intake_started": "started guided intake",
        "n_intake_completed": "completed guided intake",
        "n_email_click": "email clicks",
        "n_chat_message": "chat messages",
        "n_sms_message": "text messages",
        "hours_since_last_event": "time since last activity",
        "hours_to_latest_activity": "how soon after arrival it last acted",
        "has_phone": "phone number given",
        "has_email": "email given",
    }
    return words.get(name, name.replace("_", " "))


@dataclass
class LeadModel:
    """Everything needed to score a lead for one target, and the card that describes it.

    A day-one model (``spec.latest_activity``) was trained at the moments of the leads' first days they are
    scored at (arrival, each event, the target's moment) on what each had done by then, so it scores a lead
    at any moment, and its score changes only when the lead does something.
    """

    target: Target
    spec: FeatureSpec
    preprocessor: FramePreprocessor
    scorer: GradientBoostedScorer
    calibrator: ProbabilityCalibrator
    tiers: TierScheme
    card: dict[str, Any] = field(default_factory=dict)
    fallback: PointsScorer | None = None  # the fitted rule baseline, for leads the model may not score

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unversioned"))

    @property
    def features(self) -> list[str]:
        return [str(n) for n in self.preprocessor.feature_names_in_]

    #: what the decision records as the scorer of a lead this model scores
    scored_by = "model"

    def predict_proba(self, X: Columns) -> npt.NDArray[np.float64]:
        """Calibrated probability of the target for each lead of the feature columns (a table or one lead)."""
        return self.scores(X, top=0)[0]

    def reasons(self, X: Columns, *, top: int = 3) -> list[list[tuple[str, float]]]:
        """Top reasons per lead, positive and negative, as (plain words, log-odds contribution)."""
        return self.scores(X, top=top)[1] or [[] for _ in range(n_rows(X))]

    def scores(
        self, X: Columns, *, top: int = 3
    ) -> tuple[npt.NDArray[np.float64], list[list[tuple[str, float]]] | None]:
        """Calibrated probabilities and, with `top`, each lead's top reasons (the matrix built once).

        With reasons, the raw probability comes from the same pass of the trees as the contributions (see
        :meth:`GradientBoostedScorer.raw_with_contributions`), for a table and for one lead alike.
        """
        matrix = self.preprocessor.matrix(X)
        if not top:
            return self.calibrator.transform(self.scorer.predict_raw(matrix)), None
        raw, contributions = self.scorer.raw_with_contributions(matrix)
        probability = self.calibrator.transform(raw)
        contrib = contributions[:, :-1]
        read: dict[
            int, list[Any]
        ] = {}  # a categorical feature's values as text, read once if a reason needs them
        out = []
        for r, row in enumerate(contrib):
            order = np.argsort(-np.abs(row))[:top]
            out.append(
                [
                    (self._reason(X, r, int(i), matrix[r, i], read), float(row[i]))
                    for i in order
                    if abs(row[i]) > 1e-9
                ]
            )
        return probability, out

    def _reason(self, X: Columns, row: int, j: int, value: float, read: dict[int, list[Any]]) -> str:
        """Feature `j` of lead `row` in words, with the value that drove it: ``source = doctor referral``.

        Features read from free text (which may describe health) are named without a value; sensitive
        attributes and quasi-identifiers are never features (:class:`careleads.features.FeatureSpec`).
        """
        name, feature = self._reason_names()[j], self.features[j]
        if feature.startswith(TEXT_FEATURE_PREFIXES):
            return name
        if feature in self.preprocessor.categories_:
            if j not in read:
                column = texts(X[feature]) if feature in X else np.full(n_rows(X), None, dtype=object)
                read[j] = column.tolist() if isinstance(column, np.ndarray) else column.to_pylist()
            text = read[j][row]
            shown = (
                str(text).strip().replace("_", " ") if text is not None and str(text).strip() else "not given"
            )
        elif math.isnan(value):
            shown = "not given"
        elif feature.startswith("has_") and value in (0.0, 1.0):
            shown = "yes" if value else "no"
        else:
            shown = f"{value:.3g}"
        return f"{name} = {shown}"

    def _reason_names(self) -> list[str]:
        cached: list[str] | None = self.__dict__.get("_names")
        if cached is None:
            cached = self.__dict__["_names"] = [_plain(n) for n in self.features]
        return cached

    def save(self, folder: PathLikeStr) -> Path:
        """Write the model as data (LightGBM text and JSON, no pickle) into `folder`; returns the folder."""
        from careleads.models._artifact import save_model

        return save_model(self, Path(folder))

    @staticmethod
    def load(folder: PathLikeStr) -> LeadModel:
        """Read a model folder written by :meth:`save` (see :mod:`careleads.models._artifact`)."""
        from careleads.models._artifact import load_model

        return load_model(Path(folder))
