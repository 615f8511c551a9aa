"""Point-in-time features and labels: only what was known at the scoring moment, outcomes only after it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from careleads.columns import (
    TEXT,
    Columns,
    Text,
    arrow_text,
    flags,
    floats,
    moments,
    nonblank,
    positions,
    texts,
)
from careleads.dictionary import FieldType, KnownAt, Sensitivity, TableSpec
from careleads.errors import InputError
from careleads.features._targets import Target
from careleads.types import FloatArray, IntArray

if TYPE_CHECKING:
    from careleads.text import TextClassifiers

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
    # the fitted intent and urgency classifiers the text features come from (they travel with the model)
    text_classifiers: TextClassifiers | None = field(default=None, compare=False, repr=False)
    # a day-one model's features (see careleads.features.activity_moments): what the lead had done by its
    # latest activity (its latest event by the scoring moment, else its arrival), so one model scores a lead
    # at any moment and its score moves only with what it does
    latest_activity: bool = False

    @classmethod
    def from_table(
        cls,
        table: TableSpec,
        *,
        drop: Sequence[str] = (),
        text: bool = False,
        latest_activity: bool = False,
    ) -> FeatureSpec:
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
            latest_activity=latest_activity,
        )


def inbound_columns(leads: Columns, spec: FeatureSpec, n: int) -> dict[str, pa.Array | FloatArray]:
    """Creation-time features of `n` leads: inbound signals only, the cold-start case.

    The one definition of these features: a table (:func:`lead_features`) and one record
    (:func:`record_features`) both come through here. `leads` maps field names to columns (a DataFrame, or a
    mapping of one-value arrays); a field it lacks is missing for every lead, and a direct identifier it
    lacks has no presence feature. Categories come back as Arrow text, everything else as float64.
    """
    out: dict[str, pa.Array | FloatArray] = {}
    for name in spec.categorical:
        out[name] = texts(leads[name]) if name in leads else pa.nulls(n, TEXT)
    for name in spec.numeric:
        out[name] = floats(leads[name]) if name in leads else np.full(n, np.nan)
    for name in spec.boolean:
        out[name] = flags(leads[name], name=name) if name in leads else np.full(n, np.nan)
    for name in spec.presence:
        if name in leads:
            out[f"has_{name}"] = nonblank(leads[name])
    out.update(calendar_parts(moments(leads[spec.time_column])))
    return out


def latest_activity(
    events: EventColumns, as_of: npt.NDArray[np.datetime64], created: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.datetime64]:
    """Each lead's latest activity by its scoring moment: its latest event at or before `as_of`, else (and
    never before) its arrival.

    A day-one model sees a lead as of this moment: between two events nothing the lead did changes, so
    neither does its score.
    """
    cutoff = as_of.astype("datetime64[us]")
    latest = created.astype("datetime64[us]").copy()
    if len(events.row):
        when = events.when.astype("datetime64[us]")
        before = when <= cutoff[events.row]
        row, when = events.row[before], when[before]
        order = np.argsort(when, kind="stable")
        last = np.full(len(cutoff), np.datetime64("NaT"), dtype="datetime64[us]")
        last[row[order]] = when[order]  # later assignments win: the newest event per lead
        later = ~np.isnat(last) & (np.isnat(latest) | (last > latest))
        latest[later] = last[later]
    return latest


#: A day-one model's feature: how many hours after its arrival a lead's latest activity came (0 until it
#: does something).
ACTIVITY_HOURS = "hours_to_latest_activity"


def day_one_engagement(
    events: EventColumns, as_of: npt.NDArray[np.datetime64], created: npt.NDArray[np.datetime64]
) -> dict[str, FloatArray]:
    """A day-one model's engagement features: the counts as of each lead's latest activity by its moment
    (:func:`latest_activity`) and how many hours after arrival that activity came (:data:`ACTIVITY_HOURS`).

    The one definition for a table and for one record. Between two events nothing here changes, so neither
    does the score; an event on the third day reads differently from one in the first hour, so the rows of
    every moment (arrival, first-day events, later events) are scored on one calibrated scale.
    """
    latest = latest_activity(events, as_of, created)
    out = engagement_columns(events, latest)
    out[ACTIVITY_HOURS] = (latest - created.astype("datetime64[us]")) / np.timedelta64(1, "h")
    return out


def calendar_parts(created: npt.NDArray[np.datetime64]) -> dict[str, FloatArray]:
    """Month (1-12), weekday (Monday 0) and hour of each creation moment (UTC); NaN where it is missing."""
    stamps = created.astype("datetime64[us]")
    missing = np.isnat(stamps)
    days = stamps.astype("datetime64[D]")
    month = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01, day 0, was a Thursday
    hour = (stamps - days) // np.timedelta64(1, "h")
    return {
        "created_month": np.where(missing, np.nan, month.astype(np.float64)),
        "created_weekday": np.where(missing, np.nan, weekday.astype(np.float64)),
        "created_hour": np.where(missing, np.nan, hour.astype(np.float64)),
    }


def lead_features(leads: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Creation-time features of each lead of a table (see :func:`inbound_columns`), aligned with `leads`."""
    columns = inbound_columns(leads, spec, len(leads))
    return pd.DataFrame({name: _pandas(values) for name, values in columns.items()}, index=leads.index)


def _pandas(values: pa.Array | FloatArray) -> Any:
    """A feature column as a DataFrame takes it: Arrow text as pandas text (no copy), numbers as they are."""
    if isinstance(values, pa.Array):
        return pd.arrays.ArrowStringArray(pa.chunked_array([values]))
    return values


@dataclass(frozen=True)
class EventColumns:
    """Events as arrays: each event's lead (its position among the leads scored), moment, type and page.

    ``pages`` is None when the events carry no page (page views are then not counted per page).
    """

    row: IntArray
    when: npt.NDArray[np.datetime64]
    kinds: Text
    pages: Text | None

    @classmethod
    def of_table(cls, lead_ids: pd.Series, events: pd.DataFrame) -> EventColumns:
        """The events of a table whose lead is among `lead_ids` (others are left out)."""
        index = pd.Index(lead_ids.to_numpy())
        if not len(events):
            row = np.zeros(0, dtype=np.int64)
            empty = pa.array([], type=TEXT)
            return cls(row, np.zeros(0, "datetime64[us]"), empty, empty if "page" in events else None)
        row = np.asarray(index.get_indexer(events["lead_id"].to_numpy()), dtype=np.int64)
        known = row >= 0
        keep = pa.array(known)
        pages = arrow_text(events["page"]).filter(keep) if "page" in events else None
        return cls(
            row=row[known],
            when=moments(events["occurred_at"])[known],
            kinds=arrow_text(events["event_type"]).filter(keep),
            pages=pages,
        )

    @classmethod
    def of_records(cls, events: Sequence[Mapping[str, Any]], *, pages: bool) -> EventColumns:
        """One lead's events (mappings with ``occurred_at``, ``event_type`` and, with `pages`, ``page``)."""
        n = len(events)
        when = [e.get("occurred_at") for e in events]
        return cls(
            row=np.zeros(n, dtype=np.int64),
            when=moments(np.array(when, dtype=object)) if n else np.zeros(0, "datetime64[us]"),
            kinds=texts(np.array([e.get("event_type") for e in events], dtype=object)),
            pages=texts(np.array([e.get("page") for e in events], dtype=object)) if pages else None,
        )


def engagement_columns(
    events: EventColumns,
    as_of: npt.NDArray[np.datetime64],
    *,
    event_types: Sequence[str] = EVENT_TYPES,
    page_types: Sequence[str] = PAGE_TYPES,
) -> dict[str, FloatArray]:
    """Engagement of each lead up to its scoring moment: counts by event and page type, and recency.

    The one definition of these features, for a table and for one record. Only events with
    ``occurred_at <= as_of`` count (an event without a moment never does), so adding later records never
    changes a feature.
    """
    n = len(as_of)
    if not len(events.row):  # nothing done yet (a new lead): no counts, no recency
        none = {f"n_{kind}": np.zeros(n) for kind in event_types}
        if events.pages is not None:
            none.update({f"n_page_{page}": np.zeros(n) for page in page_types})
        none["n_events"] = np.zeros(n)
        none["hours_since_last_event"] = np.full(n, np.nan)
        return none
    cutoff = as_of.astype("datetime64[us]")
    when = events.when.astype("datetime64[us]")
    before = when <= cutoff[events.row]
    row = events.row[before]
    when = when[before]
    kinds = positions(events.kinds, event_types)[before]
    out: dict[str, FloatArray] = {}
    counts = _counts(row, kinds, n, len(event_types))
    for j, kind in enumerate(event_types):
        out[f"n_{kind}"] = counts[:, j]
    if events.pages is not None:
        viewed = kinds == _position(event_types, "page_view")
        pages = positions(events.pages, page_types)[before]
        per_page = _counts(row[viewed], pages[viewed], n, len(page_types))
        for j, page in enumerate(page_types):
            out[f"n_page_{page}"] = per_page[:, j]
    out["n_events"] = np.bincount(row, minlength=n).astype(np.float64)
    # hours since the latest event before the scoring moment; NaN when there is none
    latest = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    if len(row):
        order = np.argsort(when, kind="stable")
        latest[row[order]] = when[order]  # later assignments win: the newest event per lead
    hours = (cutoff - latest) / np.timedelta64(1, "h")
    out["hours_since_last_event"] = np.where(np.isnat(latest), np.nan, hours)
    return out


def _position(values: Sequence[str], value: str) -> int:
    return list(values).index(value) if value in values else -2


def _counts(row: IntArray, code: IntArray, n: int, k: int) -> FloatArray:
    """How many (lead, code) pairs there are per lead and code, as an n x k matrix (code -1 not counted)."""
    kept = code >= 0
    flat = np.bincount(row[kept] * k + code[kept], minlength=n * k)
    return flat.reshape(n, k).astype(np.float64)


def engagement_features(
    lead_ids: pd.Series,
    as_of: pd.Series,
    events: pd.DataFrame,
    *,
    event_types: Sequence[str] = EVENT_TYPES,
    page_types: Sequence[str] = PAGE_TYPES,
) -> pd.DataFrame:
    """Engagement of each lead of a table up to its scoring moment (see :func:`engagement_columns`).

    Pages are counted only when the events table has a ``page`` column.
    """
    columns = engagement_columns(
        EventColumns.of_table(lead_ids, events),
        moments(as_of),
        event_types=event_types,
        page_types=page_types,
    )
    return pd.DataFrame(columns, index=lead_ids.index)


def record_features(
    record: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] | None,
    as_of: Any,
    spec: FeatureSpec,
    *,
    pages: bool,
) -> dict[str, pa.Array | FloatArray]:
    """The inbound and engagement features of one lead, as one-value columns (see :func:`inbound_columns`
    and :func:`engagement_columns`); the same values as the lead's row of a table.

    Parameters
    ----------
    record : mapping
        The lead's clean fields (as after ingest), with its creation time.
    events : sequence of mappings, optional
        The lead's own events.
    as_of : Timestamp
        The scoring moment.
    spec : FeatureSpec
        Which fields are features.
    pages : bool
        Whether the events carry pages (as a table does when it has a ``page`` column).
    """
    fields = {name: np.array([record[name]], dtype=object) for name in _wanted(spec) if name in record}
    fields[spec.time_column] = np.array([creation_time(record, spec)], dtype=object)
    out = inbound_columns(fields, spec, 1)
    when = moments(np.array([as_of]))
    done = EventColumns.of_records(events or (), pages=pages)
    if spec.latest_activity:
        out.update(day_one_engagement(done, when, moments(fields[spec.time_column])))
    else:
        out.update(engagement_columns(done, when))
    return out


def creation_time(record: Mapping[str, Any], spec: FeatureSpec) -> pd.Timestamp:
    """When the lead of `record` was created.

    Raises
    ------
    InputError
        When the record has no creation time.
    """
    value = record.get(spec.time_column)
    stamp = pd.NaT if value is None else pd.Timestamp(value)
    if pd.isna(stamp):
        raise InputError("the lead has no creation time; pass the lead's clean (ingested) fields")
    return pd.Timestamp(stamp)


def _wanted(spec: FeatureSpec) -> tuple[str, ...]:
    return (*spec.categorical, *spec.numeric, *spec.boolean, *spec.presence, spec.time_column)


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
    """Label each row (a lead at a moment): did `target.outcome` happen in (as_of, as_of + window]?

    The window is counted from each row's own moment, so a lead scored at several moments has one label per
    moment. Rows whose window is still open at `data_end` are censored (not negatives), and rows whose lead
    reached the outcome at or before the moment are set apart: there is nothing left to predict for them.
    """
    of_type = outcomes.loc[outcomes["outcome"].astype("string") == target.outcome]
    first_at = pd.to_datetime(of_type["occurred_at"])
    timing = pd.DataFrame({"lead_id": of_type["lead_id"].to_numpy(), "at": first_at.to_numpy()})
    as_of_dt = pd.to_datetime(as_of)
    n = len(lead_ids)
    frame = pd.DataFrame({"row": np.arange(n), "lead_id": lead_ids.to_numpy(), "as_of": as_of_dt.to_numpy()})
    merged = timing.merge(frame, on="lead_id", how="inner")
    window = pd.Timedelta(days=target.window_days)
    hit = merged.loc[(merged["at"] > merged["as_of"]) & (merged["at"] <= merged["as_of"] + window), "row"]
    early = merged.loc[merged["at"] <= merged["as_of"], "row"]
    # by row, not by lead id: another moment of the same lead has its own window
    positive = np.zeros(n, dtype=bool)
    positive[hit.to_numpy(dtype=np.int64)] = True
    before = np.zeros(n, dtype=bool)
    before[early.to_numpy(dtype=np.int64)] = True
    converted_before = pd.Series(before, index=lead_ids.index)
    censored = pd.Series((target.matures_at(as_of_dt) > data_end).to_numpy(), index=lead_ids.index)
    # every lead whose window is still open is left out, positives too: keeping only the early converters
    # of recent leads would inflate the positive rate of the newest months
    label = pd.Series(positive.astype("int64"), index=lead_ids.index).astype("Int64")
    label = label.mask(censored | converted_before)
    return LabelResult(label=label, censored=censored, converted_before=converted_before)
