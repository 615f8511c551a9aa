"""The fairness use case over a trained model: tier, score and conversion by sensitive group.

The statistics are :func:`careleads.privacy.fairness_report`'s; this module picks the dictionary's
sensitive attributes, scores the labelled leads and joins the attributes back by lead id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from careleads.dictionary import Dictionary, FieldType, Sensitivity
from careleads.errors import InputError
from careleads.features import LeadDataset
from careleads.models import LeadModel
from careleads.privacy import FairnessReport, FairnessThresholds, fairness_report

__all__ = ["fairness_of_model", "sensitive_columns"]


def sensitive_columns(dictionary: Dictionary, table: str = "leads") -> list[str]:
    """The dictionary's sensitive attributes that can form groups (categories and numbers, not free text)."""
    return [
        spec.name
        for spec in dictionary.table(table).fields
        if spec.sensitivity is Sensitivity.SENSITIVE and spec.type in (FieldType.CATEGORY, FieldType.NUMBER)
    ]


def fairness_of_model(
    model: LeadModel,
    dataset: LeadDataset,
    leads: pd.DataFrame,
    *,
    dictionary: Dictionary,
    rows: pd.Series | None = None,
    top_tiers: Sequence[str] | None = None,
    thresholds: FairnessThresholds | Mapping[str, float] | None = None,
) -> FairnessReport:
    """Tier, score and conversion by sensitive group for the labelled leads of `dataset` (or `rows` of it).

    Sensitive attributes are never features (the dictionary keeps them out); they are joined back here, by
    lead id, only to compare groups.
    """
    mask = dataset.usable if rows is None else rows & dataset.usable
    if not mask.any():
        raise InputError("no labelled leads to report on; the outcome windows have not closed yet")
    groups = [c for c in sensitive_columns(dictionary) if c in leads]
    if not groups:
        raise InputError(
            "the data has no sensitive attribute (e.g. age, sex) marked as such in the dictionary"
        )
    probability = model.predict_proba(dataset.X.loc[mask])
    frame = pd.DataFrame(
        {
            "lead_id": dataset.lead_id[mask].to_numpy(),
            "score": probability * 100,
            "tier": model.tiers.assign(probability),
            "converted": dataset.y[mask].astype("float64").to_numpy(),
        }
    )
    key = dataset.spec.key
    attributes = leads[[key, *groups]].drop_duplicates(key).rename(columns={key: "lead_id"})
    frame = frame.merge(attributes, on="lead_id", how="left")
    for column in groups:
        if isinstance(frame[column].dtype, pd.CategoricalDtype) or frame[column].dtype == "string":
            frame[column] = frame[column].astype("object")
    tiers = list(top_tiers) if top_tiers is not None else list(model.tiers.names[:2])
    return fairness_report(
        frame,
        group_columns=groups,
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set=tiers,
        thresholds=thresholds,
    )
