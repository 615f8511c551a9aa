"""Which scorer scores a lead now: the published model of the target, or the rule baseline when none is.

The published model scores through :func:`careleads.scoring.score_leads` (the one scoring path of batch and
API). When no model is published (a new install) the shipped points table scores; its points are not
calibrated on data, and every decision it makes says so (``scored_by == "rules"``, ``fallback``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from careleads.decisions import TierScheme
from careleads.dictionary import Dictionary
from careleads.features import FeatureSpec, build_features
from careleads.models import LeadModel, ModelRegistry
from careleads.rules import PointsScorer
from careleads.scoring import DECISION_COLUMNS, score_leads
from careleads.scoring_fast import lead_feature_values, points_one, record_scorer

__all__ = ["BASELINE_TIERS", "LeadScorer", "ScoringResult", "empty_events", "target_of"]

# Rule-baseline tiers on squashed points, 1 / (1 + exp(-points / 10)): A from 30 points, B from 15, C above 0
BASELINE_TIERS = TierScheme(thresholds_=(0.9526, 0.8176, 0.5))


def empty_events() -> pd.DataFrame:
    """An events table with no rows and the columns scoring reads."""
    return pd.DataFrame(
        {
            "lead_id": pd.Series(dtype="string"),
            "occurred_at": pd.Series(dtype="datetime64[ns]"),
            "event_type": pd.Series(dtype="string"),
            "page": pd.Series(dtype="string"),
        }
    )


@dataclass(frozen=True)
class ScoringResult:
    """Scored rows (``DECISION_COLUMNS`` plus ``fallback``) and the model inputs, for the analytics layer."""

    scored: pd.DataFrame
    fallback: bool


class LeadScorer:
    """Scores leads with the target's published model, or the rule baseline; caches loaded models.

    Parameters
    ----------
    registry : ModelRegistry
        Where published models are.
    target : str
        The target name, e.g. ``appointment_scheduled_30d``.
    dictionary : Dictionary
        For the rule baseline's features when no model is published.
    """

    def __init__(self, *, registry: ModelRegistry, target: str, dictionary: Dictionary) -> None:
        self.registry = registry
        self.target = target
        self.spec = FeatureSpec.from_table(dictionary.table("leads"))
        self._models: dict[str, LeadModel] = {}
        self._lock = threading.Lock()
        self._points = PointsScorer()

    def model(self) -> LeadModel | None:
        """The published model of the target (loaded once per version), or None."""
        version = self.registry.published_version(self.target)
        if version is None:
            return None
        with self._lock:
            if version not in self._models:
                self._models[version] = self.registry.load(version)
            return self._models[version]

    def score(
        self, leads: pd.DataFrame, events: pd.DataFrame | None, as_of: pd.Series | None
    ) -> ScoringResult:
        """Score clean leads as of each lead's scoring moment.

        Parameters
        ----------
        leads : DataFrame
            Clean lead fields (direct identifiers may be presence placeholders).
        events : DataFrame or None
            The leads' events (``lead_id``, ``occurred_at``, ``event_type``, ``page``).
        as_of : Series or None
            The scoring moment per lead (aligned with `leads`); None scores each lead at its creation time
            plus the model target's offset (as in training; creation time for the rule baseline).
        """
        events = empty_events() if events is None or events.empty else events
        model = self.model()
        if model is not None:
            if as_of is None:
                scored = score_leads(model, leads, events)
            elif as_of.nunique() <= 1:
                scored = score_leads(model, leads, events, as_of=pd.Timestamp(as_of.iloc[0]))
            else:
                # score_leads takes one scoring moment for all; score each lead at its own
                parts = [
                    score_leads(model, leads.iloc[[i]], events, as_of=as_of.iloc[i])
                    for i in range(len(leads))
                ]
                scored = pd.concat(parts, ignore_index=True)
            scored["fallback"] = False
            return ScoringResult(scored=scored, fallback=False)
        return ScoringResult(scored=self._baseline(leads, events, as_of), fallback=True)

    def score_record(
        self, record: Mapping[str, Any], events: Sequence[Mapping[str, Any]] | None, as_of: pd.Timestamp
    ) -> dict[str, Any]:
        """Score one clean lead at `as_of`: the row :meth:`score` gives for it, without building frames.

        The published model scores through its cached :class:`careleads.scoring_fast.RecordScorer` (the same
        decision as the batch path, tested); without one, the rule baseline scores the same way as
        :meth:`score` does. `events` are the lead's own (``occurred_at``, ``event_type``, ``page``).

        Returns
        -------
        dict
            ``DECISION_COLUMNS`` plus ``fallback``.
        """
        model = self.model()
        if model is not None:
            scored = record_scorer(model).score(record, events or [], as_of=as_of, with_pages=True)
            scored["fallback"] = False
            return scored
        features = lead_feature_values(self.spec, record, events or [], as_of, with_pages=True)
        points, reasons = points_one(self._points, features, top=3)
        probability = float(PointsScorer._squash(np.array([points], dtype=np.float64))[0])
        tier = str(BASELINE_TIERS.assign(np.array([probability]))[0])
        return {
            "lead_id": str(record[self.spec.key]),
            "as_of": pd.Timestamp(as_of),
            "probability": probability,
            "score": round(probability * 100),
            "tier": tier,
            "action": BASELINE_TIERS.actions[tier],
            "reasons": "; ".join(f"{'+' if v > 0 else '-'} {t}" for t, v in reasons),
            "scored_by": "rules",
            "model_version": f"{self._points.table.version} (no published model; uncalibrated points)",
            "fallback": True,
        }

    def _baseline(self, leads: pd.DataFrame, events: pd.DataFrame, as_of: pd.Series | None) -> pd.DataFrame:
        leads = leads.reset_index(drop=True)
        if as_of is None:
            as_of = leads[str(self.spec.time_column)]
        when = pd.to_datetime(as_of).reset_index(drop=True)
        X = build_features(leads, events, when, self.spec)
        points = self._points.points(X)
        probability = 1.0 / (1.0 + np.exp(-points / 10.0))
        tiers = BASELINE_TIERS.assign(probability)
        reasons = self._points.reasons(X, top=3)
        version = f"{self._points.table.version} (no published model; uncalibrated points)"
        frame = pd.DataFrame(
            {
                "lead_id": leads[self.spec.key].astype("string").to_numpy(),
                "as_of": when.to_numpy(),
                "probability": probability,
                "score": np.rint(probability * 100).astype(int),
                "tier": tiers,
                "action": [BASELINE_TIERS.actions[t] for t in tiers],
                "reasons": ["; ".join(f"{'+' if v > 0 else '-'} {t}" for t, v in r) for r in reasons],
                "scored_by": "rules",
                "model_version": version,
            }
        )
        frame["fallback"] = True
        return frame[[*DECISION_COLUMNS, "fallback"]]


def target_of(registry: ModelRegistry, version: str) -> str:
    """The target name (``OUTCOME_<DAYS>d``) a registered version was trained for.

    Raises
    ------
    NotFoundError
        If the version is not in the registry.
    """
    target = registry.card(version).get("target", {})
    return f"{target.get('outcome')}_{target.get('window_days')}d"
