"""Scoring: leads in, scores out (probability, score 0-100, tier, action, reasons, who scored).

There is one scoring path. A table of leads (a batch file, a training report, the monitor) and one lead (an
API call) both become feature columns (:func:`careleads.features.build_features` and
:func:`careleads.features.record_features`, the same definitions) and then go through
:func:`score_features`: the model's calibrated probability and reasons, the rule baseline for leads marked
"do not profile", and the tiers. One model scores a lead at every moment (a day-one model reads the hours
since arrival), so a lead's score moves only with what it did and with time, never because another model
took over. :func:`score_leads` formats the result as a
table and :func:`score_record` as one row (a dict); neither holds a rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from careleads.columns import Column, Columns, flags, moments, text_by_code
from careleads.features import FeatureSpec, Target, build_features, creation_time, record_features
from careleads.models import LeadModel
from careleads.rules import PointsScorer, squash
from careleads.stats import TierScheme
from careleads.types import FloatArray, IntArray

__all__ = [
    "BASELINE_TIERS",
    "DECISION_COLUMNS",
    "RulesBaseline",
    "Scored",
    "decide_scores",
    "default_offset",
    "reason_raises",
    "rules_baseline",
    "score_features",
    "score_leads",
    "score_one",
    "score_path",
    "score_record",
]

FeatureBuilder = Callable[[pd.DataFrame, pd.DataFrame, pd.Series, FeatureSpec], pd.DataFrame]
BoolArray = npt.NDArray[np.bool_]

DECISION_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "as_of",
    "probability",
    "score",
    "tier",
    "action",
    "reasons",
    "scored_by",
    "model_version",
)


@dataclass(frozen=True)
class Scored:
    """The scores of a set of leads, before they are formatted as a table or a row.

    Text fields are codes into short lists (a batch holds a million leads but a handful of tiers): the tier
    and action of lead ``i`` are ``tiers[tier_code[i]]`` and ``actions[tier_code[i]]``, who scored it
    ``scorers[scorer_code[i]]`` (``("model" or "rules", version)``).
    """

    probability: FloatArray
    tier_code: IntArray
    tiers: list[str]
    actions: list[str]
    scorer_code: IntArray
    scorers: list[tuple[str, str]]
    reasons: list[str] | None

    @property
    def score(self) -> IntArray:
        """Score 0-100: the calibrated probability in percent, rounded half to even."""
        return np.rint(self.probability * 100).astype(np.int64)

    def row(self, i: int) -> dict[str, Any]:
        """Lead `i`'s fields of :data:`DECISION_COLUMNS`, except its id and moment."""
        by, version = self.scorers[int(self.scorer_code[i])]
        tier = int(self.tier_code[i])
        return {
            "probability": float(self.probability[i]),
            "score": int(self.score[i]),
            "tier": self.tiers[tier],
            "action": self.actions[tier],
            "reasons": self.reasons[i] if self.reasons is not None else "",
            "scored_by": by,
            "model_version": version,
        }


def default_offset(model: Scorer, *, with_events: bool) -> pd.Timedelta:
    """How long after its arrival a lead is scored when the caller names no moment.

    Without events nothing is known beyond the inbound fields, so the lead is scored as at its arrival
    (0 hours: what a day-one model knows of a new lead; a model that reads no engagement ignores the moment).
    With events, the target's scoring moment (``target.as_of_hours`` after arrival), the moment the model's
    headline figures are measured at.
    """
    return model.target.as_of_offset if with_events else pd.Timedelta(0)


def _format_reasons(reasons: list[tuple[str, float]]) -> str:
    return "; ".join(f"{'+' if value > 0 else '-'} {text}" for text, value in reasons)


def reason_raises(reason: str) -> bool:
    """Whether a reason as scoring writes it (``+ source = doctor referral``) raised the score.

    Examples
    --------
    >>> reason_raises("+ source = doctor referral"), reason_raises("- insurance: self pay")
    (True, False)
    """
    return reason.startswith("+")


def _take(X: Columns, rows: IntArray) -> Columns:
    """The rows `rows` of feature columns (a frame stays a frame)."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    out: dict[str, Column] = {}
    for name, column in X.items():
        if isinstance(column, pa.Array | pa.ChunkedArray):
            out[name] = column.take(pa.array(rows))
        else:
            out[name] = np.asarray(column)[rows]
    return out


#: Tiers of the uncalibrated rule baseline on squashed points, 1 / (1 + exp(-points / 10)): A from 30 points,
#: B from 15, C above 0
BASELINE_TIERS = TierScheme(thresholds_=(0.9526, 0.8176, 0.5))


@dataclass(frozen=True)
class RulesBaseline:
    """The points table as the scorer of a new install, before any model is published.

    Its points are not calibrated on data: the probability is the squashed points and the tiers are
    :data:`BASELINE_TIERS`. It scores each lead at its creation time, and every score it gives says
    ``scored_by == "rules"`` and why in its version.
    """

    spec: FeatureSpec
    points: PointsScorer
    tiers: TierScheme = field(default_factory=lambda: BASELINE_TIERS)
    target: Target = field(default_factory=lambda: Target(as_of_hours=0))
    fallback: None = None
    scored_by: str = "rules"

    @property
    def version(self) -> str:
        return f"{self.points.table.version} (no published model; uncalibrated points)"

    def scores(self, X: Columns, *, top: int = 3) -> tuple[FloatArray, list[list[tuple[str, float]]] | None]:
        """The squashed points and, with `top`, each lead's top reasons."""
        return squash(self.points.points(X)), (self.points.reasons(X, top=top) if top else None)


def rules_baseline(spec: FeatureSpec, points: PointsScorer | None = None) -> RulesBaseline:
    """The rule baseline of leads described by `spec` (the shipped points table unless `points`)."""
    return RulesBaseline(spec=spec, points=points or PointsScorer())


Scorer = LeadModel | RulesBaseline


def _scores_of(
    model: Scorer, X: Columns, no_profile: BoolArray, n_reasons: int
) -> tuple[FloatArray, list[str] | None, BoolArray]:
    """Probability and reasons of each lead by `model`, by its rule baseline where profiling is refused."""
    probability, listed = model.scores(X, top=n_reasons)
    by_rules = np.zeros(len(probability), dtype=bool)
    if model.fallback is not None and no_profile.any():
        # "do not profile": no model score; the rule baseline routes the lead, and the record says so
        rows = np.flatnonzero(no_profile)
        part = _take(X, rows)
        probability[rows] = model.fallback.predict_proba(part)[:, 1]
        if listed is not None:
            for i, r in zip(rows.tolist(), model.fallback.reasons(part, top=n_reasons), strict=True):
                listed[i] = r
        by_rules[rows] = True
    reasons = [_format_reasons(r) if r else "" for r in listed] if listed is not None else None
    return probability, reasons, by_rules


def score_features(
    model: Scorer,
    X: Columns,
    *,
    as_of: npt.NDArray[np.datetime64],
    do_not_profile: Column | None = None,
    n_reasons: int = 3,
) -> Scored:
    """Score leads from their feature columns: the one scoring rule of a table and of one lead.

    Parameters
    ----------
    model : LeadModel
        The fitted model.
    X : mapping of columns
        The leads' features (:func:`careleads.features.build_features` or
        :func:`careleads.features.record_features`).
    as_of : datetime64 array
        Each lead's scoring moment.
    do_not_profile : column, optional
        Leads marked "do not profile" are scored by the model's rule baseline, and the result says so.
    n_reasons : int
        Reasons per lead, the largest contributions first, positive (+) and negative (-); 0 for none.
    """
    no_profile = np.zeros(len(as_of), dtype=bool)
    if do_not_profile is not None:
        no_profile = flags(do_not_profile, name="do_not_profile") == 1.0
    probability, listed, by_rules = _scores_of(model, X, no_profile, n_reasons)
    tier_code = model.tiers.index(probability)
    tiers = list(model.tiers.names)
    actions = [model.tiers.actions[t] for t in model.tiers.names]
    rule_version = model.fallback.table.version if model.fallback else "rules"
    scorer_code = by_rules.astype(np.int64)
    scorers = [(model.scored_by, model.version), ("rules", rule_version)]
    reasons = listed if n_reasons else None
    return Scored(probability, tier_code, tiers, actions, scorer_code, scorers, reasons)


def _frame(scored: Scored, lead_ids: Any, as_of: Any) -> pd.DataFrame:
    """Scores as a table of :data:`DECISION_COLUMNS` (texts built per distinct value, not per lead)."""
    n = len(scored.probability)
    by = [s for s, _v in scored.scorers]
    versions = [v for _s, v in scored.scorers]
    return pd.DataFrame(
        {
            "lead_id": np.asarray(lead_ids),
            "as_of": np.asarray(as_of),
            "probability": scored.probability,
            "score": scored.score,
            "tier": text_by_code(scored.tiers, scored.tier_code),
            "action": text_by_code(scored.actions, scored.tier_code),
            "reasons": (
                scored.reasons
                if scored.reasons is not None
                else text_by_code([""], np.zeros(n, dtype=np.int64))
            ),
            "scored_by": text_by_code(by, scored.scorer_code),
            "model_version": text_by_code(versions, scored.scorer_code),
        }
    )


def _no_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": pd.Series(dtype="string"),
            "occurred_at": pd.Series(dtype="datetime64[ns]"),
            "event_type": pd.Series(dtype="string"),
        }
    )


def score_leads(
    model: Scorer,
    leads: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    n_reasons: int = 3,
    features: FeatureBuilder | None = None,
    after_arrival: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Score a table of ingested leads with `model` (see :func:`score_features`).

    Parameters
    ----------
    model : LeadModel
        A trained model (see `train_model`).
    leads, events : DataFrame
        Clean (ingested) lead and event tables; events may be empty or None (each lead
        scored as at its arrival, see :func:`default_offset`).
    as_of : Timestamp, optional
        The scoring moment for every lead; by default :func:`default_offset` after each lead's creation:
        its arrival without `events`, the target's scoring moment with them.
    n_reasons : int
        Reasons per lead, the largest contributions first, positive (+) and negative (-).
    features : callable, optional
        ``features(leads, events, as_of, spec) -> DataFrame``; default
        :func:`careleads.features.build_features` (partnership leads pass their own).
    after_arrival : Timedelta, optional
        Without `as_of`: score each lead this long after its creation (instead of :func:`default_offset`).

    Returns
    -------
    DataFrame
        One row per lead with the columns of ``DECISION_COLUMNS``. A lead marked "do not profile" is scored by
        the rule baseline only, and ``scored_by`` says so.
    """
    spec = model.spec
    if len(leads) == 0:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in DECISION_COLUMNS})
    leads = leads.reset_index(drop=True)
    created = pd.to_datetime(leads[spec.time_column])
    offset = default_offset(model, with_events=events is not None) if after_arrival is None else after_arrival
    when = created + offset if as_of is None else pd.Series(pd.Timestamp(as_of), index=leads.index)
    X = (features or build_features)(leads, _no_events() if events is None else events, when, spec)
    scored = score_features(
        model,
        X,
        as_of=moments(when),
        do_not_profile=leads["do_not_profile"] if "do_not_profile" in leads else None,
        n_reasons=n_reasons,
    )
    return _frame(scored, leads[spec.key].to_numpy(), pd.to_datetime(when).to_numpy())


def decide_scores(
    model: Scorer,
    X: pd.DataFrame,
    *,
    lead_ids: pd.Series,
    as_of: pd.Series,
    do_not_profile: pd.Series | None = None,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Score a feature table built by the caller (returning leads, partnerships) as :func:`score_leads`
    does."""
    scored = score_features(
        model, X, as_of=moments(as_of), do_not_profile=do_not_profile, n_reasons=n_reasons
    )
    return _frame(scored, lead_ids.to_numpy(), pd.to_datetime(as_of).to_numpy())


def score_record(
    model: Scorer,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    n_reasons: int = 3,
    with_pages: bool | None = None,
) -> dict[str, Any]:
    """Score one lead: the row :func:`score_leads` gives it in a table, without building frames.

    Parameters
    ----------
    model : LeadModel
        The fitted model.
    record : mapping
        The lead's clean fields (as after ingest), with the key and the creation time.
    events : sequence of mappings, optional
        The lead's events (``occurred_at``, ``event_type``, ``page``); None for a lead scored as at its
        arrival.
    as_of : Timestamp, optional
        The scoring moment; default :func:`default_offset` after the creation time.
    n_reasons : int
        Reasons, the largest contributions first.
    with_pages : bool, optional
        Whether the events carry pages (a table counts page views per page only when its events table has
        a ``page`` column); default: when `events` is given.

    Returns
    -------
    dict
        The fields of ``DECISION_COLUMNS``.

    Examples
    --------
    The rule baseline of a new install (a trained model is passed the same way):

    >>> from careleads.dictionary import load_dictionary
    >>> from careleads.features import FeatureSpec
    >>> baseline = rules_baseline(FeatureSpec.from_table(load_dictionary().table("leads")))
    >>> result = score_record(
    ...     baseline, {"lead_id": "L1", "created_at": "2025-03-04T10:00", "intake_urgency": "urgent"}
    ... )
    >>> result["score"], result["tier"], result["reasons"], result["scored_by"]
    (62, 'C', '+ intake urgency: urgent', 'rules')
    """
    spec = model.spec
    created = creation_time(record, spec)
    when = (
        created + default_offset(model, with_events=events is not None)
        if as_of is None
        else pd.Timestamp(as_of)
    )
    pages = events is not None if with_pages is None else with_pages
    if getattr(spec, "text", False):
        # text features come from the classifiers' frame code; one lead goes through it as a table of one
        frame = pd.DataFrame([dict(record)])
        frame[spec.time_column] = pd.to_datetime(frame[spec.time_column])
        table = _events_frame(record[spec.key], events, pages)
        row = score_leads(model, frame, table, as_of=when, n_reasons=n_reasons)
        return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0].to_dict().items()}
    X = record_features(record, events, when, spec, pages=pages)
    scored = score_features(
        model,
        X,
        as_of=moments(np.array([when], dtype=object)),
        do_not_profile=(
            np.array([record["do_not_profile"]], dtype=object) if "do_not_profile" in record else None
        ),
        n_reasons=n_reasons,
    )
    return {"lead_id": record[spec.key], "as_of": when, **scored.row(0)}


def _events_frame(lead_id: Any, events: Sequence[Mapping[str, Any]] | None, pages: bool) -> pd.DataFrame:
    columns = ["lead_id", "occurred_at", "event_type", *(["page"] if pages else [])]
    rows = [{**{c: e.get(c) for c in columns[1:]}, "lead_id": lead_id} for e in events or ()]
    table = pd.DataFrame(rows, columns=columns)
    table["occurred_at"] = pd.to_datetime(table["occurred_at"])
    for column in columns:
        if column != "occurred_at":
            table[column] = table[column].astype("string")
    return table


def score_one(
    model: LeadModel, lead: Mapping[str, Any], events: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Score a single lead given as a mapping of clean field values, as a table of one row."""
    frame = pd.DataFrame([dict(lead)])
    frame[model.spec.time_column] = pd.to_datetime(frame[model.spec.time_column])
    row = score_leads(model, frame, events).iloc[0].to_dict()
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def score_path(
    model: Scorer,
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    *,
    until_hours: float | None = None,
) -> pd.DataFrame:
    """One lead's scores as the API gives them: at its arrival, then at each of its events.

    Each score is :func:`score_record` at the event's moment with the events up to it (as the service
    re-scores a lead when an event arrives).

    Parameters
    ----------
    model : LeadModel
        The model.
    record : mapping
        The lead's clean fields, with its creation time.
    events : sequence of mappings
        Its events (``occurred_at``, ``event_type``, ``page``), in any order.
    until_hours : float, optional
        Leave out events more than this many hours after arrival.

    Returns
    -------
    DataFrame
        One row per moment: ``hours_after_arrival``, ``score``, ``tier``, and the ``event_type`` and ``page``
        of the event scored at it (empty at arrival).
    """
    created = creation_time(record, model.spec)
    dated = sorted(
        (e for e in events if e.get("occurred_at") is not None),
        key=lambda e: pd.Timestamp(e["occurred_at"]),
    )
    if until_hours is not None:
        end = created + pd.Timedelta(hours=until_hours)
        dated = [e for e in dated if pd.Timestamp(e["occurred_at"]) <= end]
    rows = []
    for k in range(len(dated) + 1):
        so_far = dated[:k]
        when = pd.Timestamp(so_far[-1]["occurred_at"]) if so_far else created
        scored = score_record(model, record, so_far, as_of=max(when, created), n_reasons=0, with_pages=True)
        last = so_far[-1] if so_far else {}
        rows.append(
            {
                "hours_after_arrival": (max(when, created) - created) / pd.Timedelta(hours=1),
                "score": scored["score"],
                "tier": scored["tier"],
                "event_type": _text_or_blank(last.get("event_type")),
                "page": _text_or_blank(last.get("page")),
            }
        )
    return pd.DataFrame(rows)


def _text_or_blank(value: Any) -> str:
    """A value as text, blank when missing (None, NaN or NA)."""
    return "" if value is None or (not isinstance(value, str) and bool(pd.isna(value))) else str(value)
