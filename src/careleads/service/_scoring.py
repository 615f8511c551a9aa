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

from careleads.dictionary import Dictionary
from careleads.features import FeatureSpec
from careleads.models import LeadModel, ModelRegistry, publication_key
from careleads.scoring import (
    BASELINE_TIERS,
    DECISION_COLUMNS,
    RulesBaseline,
    Scorer,
    rules_baseline,
    score_leads,
    score_record,
)
from careleads.segments import get_segment, segment_baseline

__all__ = ["BASELINE_TIERS", "LeadScorer", "ScoringResult", "SegmentScorers", "empty_events", "target_of"]


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
        self._baseline = rules_baseline(self.spec)

    def current(self) -> Scorer:
        """What scores leads now: the published model, or the rule baseline when none is."""
        model = self.model()
        return model if model is not None else self._baseline

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
        return ScoringResult(scored=self._baseline_scores(leads, events, as_of), fallback=True)

    def score_record(
        self, record: Mapping[str, Any], events: Sequence[Mapping[str, Any]] | None, as_of: pd.Timestamp
    ) -> dict[str, Any]:
        """Score one clean lead at `as_of`: the row :meth:`score` gives for it, without building frames.

        The published model scores it through :func:`careleads.scoring.score_record` (the same rules as
        the table path); without one, the rule baseline does. `events` are the lead's own
        (``occurred_at``, ``event_type``, ``page``).

        Returns
        -------
        dict
            ``DECISION_COLUMNS`` plus ``fallback``.
        """
        model = self.model()
        scorer = model if model is not None else self._baseline
        scored = score_record(scorer, record, events or [], as_of=as_of, with_pages=True)
        if model is None:
            scored["lead_id"] = str(scored["lead_id"])
        scored["fallback"] = model is None
        return scored

    def _baseline_scores(
        self, leads: pd.DataFrame, events: pd.DataFrame, as_of: pd.Series | None
    ) -> pd.DataFrame:
        leads = leads.reset_index(drop=True)
        when = leads[str(self.spec.time_column)] if as_of is None else as_of.reset_index(drop=True)
        frames = [
            score_leads(self._baseline, leads.iloc[rows], events, as_of=moment)
            for moment, rows in _by_moment(pd.to_datetime(when))
        ]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames).sort_index()
        frame["lead_id"] = frame["lead_id"].astype("string").to_numpy()
        frame["fallback"] = True
        return frame[[*DECISION_COLUMNS, "fallback"]].reset_index(drop=True)


def _by_moment(when: pd.Series) -> list[tuple[pd.Timestamp, np.ndarray]]:
    """The rows scored at each distinct moment (score_leads takes one moment for all its leads)."""
    codes, moments = pd.factorize(when)
    return [(pd.Timestamp(m), np.flatnonzero(codes == k)) for k, m in enumerate(moments)]


def target_of(registry: ModelRegistry, version: str) -> str:
    """The publication key a registered version is published under: its target name
    (``OUTCOME_<DAYS>d``), with its segment in front unless it scores new patient leads.

    Raises
    ------
    NotFoundError
        If the version is not in the registry.
    """
    return registry.key_of(version)


class SegmentScorers:
    """The published model of each segment other than new patient leads, or that segment's rule baseline.

    Returning leads are patient leads: their model is published for the service's target under
    ``returning/TARGET``; partnership leads have their own target (``partnership/meeting_booked_30d``).
    """

    def __init__(self, *, registry: ModelRegistry, target: str, dictionary: Dictionary) -> None:
        self.registry = registry
        self.target = target
        self.dictionary = dictionary
        self._models: dict[str, LeadModel] = {}
        self._baselines: dict[str, RulesBaseline] = {}
        self._lock = threading.Lock()

    def key(self, segment: str) -> str:
        """The registry key the segment's model is published under."""
        name = self.target if segment == "returning" else get_segment(segment).target.name
        return publication_key(name, segment)

    def current(self, segment: str) -> tuple[Scorer, bool]:
        """What scores the segment's leads now, and whether it is the rule baseline (no published model)."""
        version = self.registry.published_version(self.key(segment))
        with self._lock:
            if version is not None:
                if version not in self._models:
                    self._models[version] = self.registry.load(version)
                return self._models[version], False
            if segment not in self._baselines:
                self._baselines[segment] = segment_baseline(segment, self.dictionary)
            return self._baselines[segment], True
