"""Point-in-time features and labels: only what was known at the scoring moment, outcomes only after it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from careleads.dictionary._schema import FieldType, KnownAt, Sensitivity, TableSpec
from careleads.errors import InputError
from careleads.features._targets import Target

EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "form_start",
    "form_submit",
    "email_open",
    "email_click",
    "chat_message",
    "sms_message",
    "call_request",
    "intake_started",
    "intake_completed",
)
PAGE_TYPES: tuple[str, ...] = ("pricing", "provider", "locations", "insurance", "service", "home", "blog")


@dataclass(frozen=True)
class FeatureSpec:
    """Which lead columns become features, and how. Built from the dictionary so it holds for any schema.

    Direct identifiers never become features, but whether one is present (a phone number, an email) is
    contact completeness, a legitimate fit signal, so each becomes ``has_<name>``.
    """

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    boolean: tuple[str, ...]
    presence: tuple[str, ...]
    time_column: str
    key: str
    excluded: dict[str, str] = field(default_factory=dict)
    # also build text and conversational features (careleads.features.text_features); opt-in
    text: bool = False

    @classmethod
    def from_table(cls, table: TableSpec, *, drop: Sequence[str] = (), text: bool = False) -> FeatureSpec:
        categorical: list[str] = []
        numeric: list[str] = []
        boolean: list[str] = []
        presence: list[str] = []
        excluded: dict[str, str] = {}
        if table.key is None or table.time_column is None:
            raise InputError(
                f"table {table.name!r} needs a key and a time column in the dictionary to be scored"
            )
        for spec in table.fields:
            if spec.name in (table.key, table.time_column):
                continue
            if spec.name in drop:
                excluded[spec.name] = "excluded by the caller"
            elif spec.known is KnownAt.AFTER_OUTCOME:
                excluded[spec.name] = "recorded after the outcome"
            elif spec.sensitivity is Sensitivity.SENSITIVE and spec.type is not FieldType.TEXT:
                excluded[spec.name] = "sensitive attribute (fairness reports only)"
            elif spec.sensitivity is Sensitivity.DIRECT_IDENTIFIER:
                presence.append(spec.name)
                excluded[spec.name] = "direct identifier (only its presence is used)"
            elif spec.sensitivity is Sensitivity.QUASI_IDENTIFIER:
                excluded[spec.name] = "quasi-identifier (kept out of models to minimise identifiability)"
            elif spec.type is FieldType.CATEGORY:
                categorical.append(spec.name)
            elif spec.type is FieldType.NUMBER:
                numeric.append(spec.name)
            elif spec.type is FieldType.BOOLEAN:
                boolean.append(spec.name)
            else:
                excluded[spec.name] = f"{spec.type.value} fields are not used as features here"
        return cls(
            categorical=tuple(categorical),
            numeric=tuple(numeric),
            boolean=tuple(boolean),
            presence=tuple(presence),
            time_column=table.time_column,
            key=table.key,
            excluded=excluded,
            text=text,
        )


def _as_text(column: pd.Series) -> pd.Series:
    """``column.astype("string")``; a categorical column converts its few categories, then takes by code."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype("string")
    categories = pd.Series(column.cat.categories).astype("string").array
    values = categories.take(column.cat.codes.to_numpy(), allow_fill=True)
    return pd.Series(values, index=column.index, name=column.name)


def lead_features(leads: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Creation-time features of each lead: inbound signals only, the cold-start case."""
    out = pd.DataFrame(index=leads.index)
    for name in spec.categorical:
        out[name] = (
            _as_text(leads[name]) if name in leads else pd.Series(pd.NA, index=leads.index, dtype="string")
        )
    for name in spec.numeric:
        out[name] = pd.to_numeric(leads[name], errors="coerce").astype("float64") if name in leads else np.nan
    for name in spec.boolean:
        out[name] = leads[name].astype("Float64").astype("float64") if name in leads else np.nan
    for name in spec.presence:
        if name in leads:
            values = leads[name].astype("string")
            out[f"has_{name}"] = (values.notna() & (values.str.strip() != "")).astype("float64")
    created = pd.to_datetime(leads[spec.time_column])
    out["created_month"] = created.dt.month.astype("float64")
    out["created_weekday"] = created.dt.day_of_week.astype("float64")
    out["created_hour"] = created.dt.hour.astype("float64")
    return out


def engagement_features(
    lead_ids: pd.Series,
    as_of: pd.Series,
    events: pd.DataFrame,
    *,
    event_types: Sequence[str] = EVENT_TYPES,
    page_types: Sequence[str] = PAGE_TYPES,
) -> pd.DataFrame:
    """Engagement up to each lead's scoring moment: counts by event and page type, and recency.

    Only events with ``occurred_at <= as_of`` count, so adding later records never changes a feature.
    """
    index = pd.Index(lead_ids.to_numpy())
    n = len(index)
    row = index.get_indexer(events["lead_id"].to_numpy()) if len(events) else np.zeros(0, dtype=np.int64)
    known = row >= 0
    when = (
        pd.to_datetime(events["occurred_at"]).to_numpy()[known]
        if len(events)
        else np.zeros(0, "datetime64[ns]")
    )
    row = row[known]
    as_of_values = pd.to_datetime(as_of).to_numpy()
    before = when <= as_of_values[row]
    row = row[before]
    kinds = (
        events["event_type"].astype("string").to_numpy()[known][before]
        if len(events)
        else np.zeros(0, object)
    )
    out: dict[str, np.ndarray] = {}
    for kind in event_types:
        out[f"n_{kind}"] = np.bincount(row[kinds == kind], minlength=n).astype("float64")
    if "page" in events:
        pages = events["page"].astype("string").fillna("").to_numpy()[known][before]
        is_view = kinds == "page_view"
        for page in page_types:
            out[f"n_page_{page}"] = np.bincount(row[is_view & (pages == page)], minlength=n).astype("float64")
    out["n_events"] = np.bincount(row, minlength=n).astype("float64")
    # hours since the latest event before the scoring moment; NaN when there is none
    latest = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(row):
        order = np.argsort(when[before], kind="stable")
        latest[row[order]] = when[before][order]  # later assignments win: the newest event per lead
    hours = (as_of_values - latest) / np.timedelta64(1, "h")
    out["hours_since_last_event"] = np.where(np.isnat(latest), np.nan, hours)
    return pd.DataFrame(out, index=lead_ids.index)


@dataclass(frozen=True)
class LabelResult:
    label: pd.Series  # 0/1 (Int64), NA where censored or already converted
    censored: pd.Series  # window not closed by the end of the data
    converted_before: pd.Series  # outcome reached at or before the scoring moment: nothing to predict


def label_leads(
    lead_ids: pd.Series,
    as_of: pd.Series,
    outcomes: pd.DataFrame,
    target: Target,
    *,
    data_end: pd.Timestamp,
) -> LabelResult:
    """Label each lead: did `target.outcome` happen in (as_of, as_of + window]?

    Leads whose window is still open at `data_end` are censored (not negatives), and leads that reached
    the outcome before the scoring moment are set apart: there is nothing left to predict for them.
    """
    of_type = outcomes.loc[outcomes["outcome"].astype("string") == target.outcome]
    first_at = pd.to_datetime(of_type["occurred_at"])
    timing = pd.DataFrame({"lead_id": of_type["lead_id"].to_numpy(), "at": first_at.to_numpy()})
    as_of_dt = pd.to_datetime(as_of)
    frame = pd.DataFrame({"lead_id": lead_ids.to_numpy(), "as_of": as_of_dt.to_numpy()})
    merged = timing.merge(frame, on="lead_id", how="inner")
    window = pd.Timedelta(days=target.window_days)
    hit = merged.loc[(merged["at"] > merged["as_of"]) & (merged["at"] <= merged["as_of"] + window), "lead_id"]
    early = merged.loc[merged["at"] <= merged["as_of"], "lead_id"]
    positive = lead_ids.isin(hit).to_numpy()  # hash-based: np.isin on strings sorts and is slow
    converted_before = pd.Series(lead_ids.isin(early).to_numpy(), index=lead_ids.index)
    censored = pd.Series((as_of_dt + window > data_end).to_numpy(), index=lead_ids.index)
    # every lead whose window is still open is left out, positives too: keeping only the early converters
    # of recent leads would inflate the positive rate of the newest months
    label = pd.Series(positive.astype("int64"), index=lead_ids.index).astype("Int64")
    label = label.mask(censored | converted_before)
    return LabelResult(label=label, censored=censored, converted_before=converted_before)
