"""The fairness use case over a trained model: tier, score and conversion by sensitive group.

The statistics are :func:`careleads.privacy.fairness_report`'s; this module picks the dictionary's
sensitive attributes and the columns the operator names (the payer, ``insurance``, by default), scores the
labelled leads and joins the attributes back by lead id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from careleads.dictionary import Dictionary, FieldType, Sensitivity
from careleads.errors import InputError
from careleads.features import LeadDataset
from careleads.models import LeadModel
from careleads.privacy import FairnessReport, FairnessThresholds, fairness_report

__all__ = ["FAIRNESS_COLUMNS", "fairness_columns", "fairness_of_model", "sensitive_columns"]

#: Columns compared besides the sensitive attributes unless the operator names others: the payer, a feature
#: and a reason of the model, whose groups (self pay, Medicaid, ...) a fair model should not drift apart on
FAIRNESS_COLUMNS: tuple[str, ...] = ("insurance",)


def sensitive_columns(dictionary: Dictionary, table: str = "leads") -> list[str]:
    """The dictionary's sensitive attributes that can form groups (categories and numbers, not free text)."""
    return [
        spec.name
        for spec in dictionary.table(table).fields
        if spec.sensitivity is Sensitivity.SENSITIVE and spec.type in (FieldType.CATEGORY, FieldType.NUMBER)
    ]


def fairness_columns(dictionary: Dictionary, by: Sequence[str] = (), table: str = "leads") -> list[str]:
    """The columns a fairness report compares groups by: the sensitive attributes, then each of `by`.

    Raises
    ------
    InputError
        If a column of `by` is not in the dictionary's table, or cannot form groups (a direct identifier, an
        id or free text would make a group of each lead).
    """
    spec = dictionary.table(table)
    columns = sensitive_columns(dictionary, table)
    for name in by:
        if name not in spec.names:
            groupable = [
                f.name
                for f in spec.fields
                if f.type in (FieldType.CATEGORY, FieldType.NUMBER, FieldType.BOOLEAN)
                and f.sensitivity is not Sensitivity.DIRECT_IDENTIFIER
            ]
            raise InputError(
                f"fairness: no column {name!r} in the {table} table; name one of {', '.join(groupable)}"
            )
        field = spec.field(name)
        if field.type not in (FieldType.CATEGORY, FieldType.NUMBER, FieldType.BOOLEAN) or (
            field.sensitivity is Sensitivity.DIRECT_IDENTIFIER
        ):
            raise InputError(
                f"fairness: {name!r} is {field.type.value} ({field.sensitivity.value}) and would make a "
                "group of each lead; name a category, number or yes/no column"
            )
        if name not in columns:
            columns.append(name)
    return columns


def fairness_of_model(
    model: LeadModel,
    dataset: LeadDataset,
    leads: pd.DataFrame,
    *,
    dictionary: Dictionary,
    rows: pd.Series | None = None,
    top_tiers: Sequence[str] | None = None,
    thresholds: FairnessThresholds | Mapping[str, float] | None = None,
    by: Sequence[str] = (),
) -> FairnessReport:
    """Tier, score and conversion by group for the labelled leads of `dataset` (or `rows` of it).

    The groups are those of each sensitive attribute and of each column of `by` (for example
    :data:`FAIRNESS_COLUMNS`, the payer), with the same statistics. Sensitive attributes are never features
    (the dictionary keeps them out); they are joined back here, by lead id, only to compare groups. A
    numeric column of `by` is banded at its quartiles.
    """
    mask = dataset.usable if rows is None else rows & dataset.usable
    if not mask.any():
        raise InputError("no labelled leads to report on; the outcome windows have not closed yet")
    named = fairness_columns(dictionary, by)
    absent = [c for c in by if c not in leads]
    if absent:
        raise InputError(f"fairness: the leads have no column {', '.join(absent)}")
    groups = [c for c in named if c in leads]
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
    sensitive = set(sensitive_columns(dictionary))
    bands = {
        column: edges
        for column in groups
        if column not in sensitive and (edges := _quartile_edges(frame[column])) is not None
    }
    return fairness_report(
        frame,
        group_columns=groups,
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set=tiers,
        thresholds=thresholds,
        bands=bands,
    )


def _quartile_edges(values: pd.Series) -> list[float] | None:
    """Band edges at the quartiles of a numeric column (None for other columns, or when too few values)."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return None
    inner = sorted({float(q) for q in numbers.quantile([0.25, 0.5, 0.75])})
    edges = sorted({float(numbers.min()), *inner, float(numbers.max()) + 1.0})
    return edges if len(edges) >= 2 else None
