"""Scoring: leads in, decisions out (score 0-100, tier, action, reasons, who scored).

One path for batch files and the API, so a lead scores the same wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from careleads.columns import text_by_code
from careleads.features import FeatureSpec, build_features
from careleads.models._lead_model import LeadModel

FeatureBuilder = Callable[[pd.DataFrame, pd.DataFrame, pd.Series, FeatureSpec], pd.DataFrame]

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


def _format_reasons(reasons: list[tuple[str, float]]) -> str:
    return "; ".join(f"{'+' if value > 0 else '-'} {text}" for text, value in reasons)


def score_leads(
    model: LeadModel,
    leads: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    n_reasons: int = 3,
    features: FeatureBuilder | None = None,
) -> pd.DataFrame:
    """Score ingested leads with `model`, falling back to the rule baseline where the model may not score.

    Parameters
    ----------
    model : LeadModel
        A trained model (see `train_model`).
    leads, events : DataFrame
        Clean (ingested) lead and event tables; events may be empty or None (cold start).
    as_of : Timestamp, optional
        The scoring moment for every lead; by default each lead's creation time plus the target's offset,
        as in training.
    n_reasons : int
        Reasons per lead, the largest contributions first, positive (+) and negative (-).
    features : callable, optional
        ``features(leads, events, as_of, spec) -> DataFrame``; default
        :func:`careleads.features.build_features` (partnership leads pass their own).

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
    when = (
        created + pd.Timedelta(hours=model.target.as_of_hours)
        if as_of is None
        else pd.Series(pd.Timestamp(as_of), index=leads.index)
    )
    if events is None:
        events = pd.DataFrame(
            {
                "lead_id": pd.Series(dtype="string"),
                "occurred_at": pd.Series(dtype="datetime64[ns]"),
                "event_type": pd.Series(dtype="string"),
            }
        )
    X = (features or build_features)(leads, events, when, spec)
    do_not_profile = leads["do_not_profile"] if "do_not_profile" in leads else None
    scored = decide_scores(
        model, X, lead_ids=leads[spec.key], as_of=when, do_not_profile=do_not_profile, n_reasons=n_reasons
    )
    if model.cold_start is not None and "n_events" in X:
        # a lead scored before the model's scoring moment with nothing done yet: the cold-start model,
        # trained at arrival, knows what inbound signals alone say
        early = (when < created + pd.Timedelta(hours=model.target.as_of_hours)).to_numpy()
        cold = early & (X["n_events"].to_numpy() == 0)
        if cold.any():
            rows = np.flatnonzero(cold)
            cold_scored = decide_scores(
                model.cold_start,
                X.iloc[rows],
                lead_ids=leads[spec.key].iloc[rows],
                as_of=when.iloc[rows],
                do_not_profile=None if do_not_profile is None else do_not_profile.iloc[rows],
                n_reasons=n_reasons,
            ).set_axis(scored.index[rows])
            if cold.all():
                scored = cold_scored
            else:
                scored = pd.concat([scored.drop(index=scored.index[rows]), cold_scored]).sort_index()
    return scored


def decide_scores(
    model: LeadModel,
    X: pd.DataFrame,
    *,
    lead_ids: pd.Series,
    as_of: pd.Series,
    do_not_profile: pd.Series | None = None,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Turn a feature frame into decision rows: probability, score, tier, action, reasons, who scored.

    The one place where the "do not profile" fallback happens, shared by every scoring path that builds its
    own features (new leads, returning leads, partnerships).
    """
    probability = model.predict_proba(X)
    reasons = model.reasons(X, top=n_reasons) if n_reasons else None
    scored_by = np.full(len(X), "model", dtype=object)
    if do_not_profile is not None and model.fallback is not None:
        no_profile = do_not_profile.astype("boolean").fillna(False).to_numpy(dtype=bool)
        if no_profile.any():
            # "do not profile": no model score; the rule baseline routes the lead, and the record says so
            rows = X.loc[no_profile]
            probability[no_profile] = model.fallback.predict_proba(rows)[:, 1]
            if reasons is not None:
                rule_reasons = model.fallback.reasons(rows, top=n_reasons)
                for i, r in zip(np.flatnonzero(no_profile), rule_reasons, strict=True):
                    reasons[i] = r
            scored_by[no_profile] = "rules"
    tiers = model.tiers.assign(probability)
    # per distinct tier, not per lead: a batch chunk holds a few tiers and hundreds of thousands of leads
    tier_codes, tier_names = pd.factorize(tiers)
    actions = [model.tiers.actions[t] for t in tier_names]
    rule_version = model.fallback.table.version if model.fallback else "rules"
    by_rules = (scored_by == "rules").astype(np.int64)  # code 0: the model scored, 1: the rules did
    return pd.DataFrame(
        {
            "lead_id": lead_ids.to_numpy(),
            "as_of": pd.to_datetime(as_of).to_numpy(),
            "probability": probability,
            "score": np.rint(probability * 100).astype(int),
            "tier": text_by_code(list(tier_names), tier_codes),
            "action": text_by_code(actions, tier_codes),
            "reasons": (
                [_format_reasons(r) if r else "" for r in reasons]
                if reasons is not None
                else text_by_code([""], np.zeros(len(X), dtype=np.int64))
            ),
            "scored_by": text_by_code(["model", "rules"], by_rules),
            "model_version": text_by_code([model.version, rule_version], by_rules),
        }
    )


def score_one(
    model: LeadModel, lead: Mapping[str, Any], events: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Score a single lead given as a mapping of clean field values; the same pipeline as batch scoring."""
    frame = pd.DataFrame([dict(lead)])
    frame[model.spec.time_column] = pd.to_datetime(frame[model.spec.time_column])
    row = score_leads(model, frame, events).iloc[0].to_dict()
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
