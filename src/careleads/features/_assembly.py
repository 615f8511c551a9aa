"""The one data-set assembly: rows at their scoring moments, features as of each, labels after, one end.

Every modelling data set of careleads (new leads, returning leads, partnership leads, the same on Spark) is
put together here: a frame of scoring moments (one row per lead and moment), the features of each row as of
its moment, the target's label counted after it, and censoring at the end of the data. The builders differ
only in their moments and their features; what "the end of the data" means is defined once, by
:func:`end_of_data`, and is never the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np
import pandas as pd

from careleads.dictionary import TableSpec
from careleads.errors import InputError
from careleads.features._dataset import LeadDataset, build_features
from careleads.features._point_in_time import FeatureSpec, label_leads
from careleads.features._targets import Target

if TYPE_CHECKING:
    from careleads.text import IntentClassifier, UrgencyClassifier

__all__ = [
    "DAY_ONE_HOURS",
    "MAX_EVENT_MOMENTS",
    "MOMENT_COLUMNS",
    "FeaturesAtMoments",
    "activity_moments",
    "assemble_dataset",
    "build_dataset",
    "end_of_data",
    "scoring_moments",
]

#: The columns every frame of scoring moments has (builders may add their own, e.g. when a lead returned).
MOMENT_COLUMNS: tuple[str, ...] = ("lead_id", "as_of")

#: ``features(leads, events, moments, spec) -> DataFrame``: one row per row of `moments`, in its order,
#: using only what was known at each row's ``as_of``.
FeaturesAtMoments = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame, FeatureSpec], pd.DataFrame]

Frame = TypeVar("Frame")


def _latest_in(frame: pd.DataFrame, column: str) -> pd.Timestamp | None:
    if not len(frame):
        return None
    stamp = pd.to_datetime(frame[column]).max()
    return None if pd.isna(stamp) else pd.Timestamp(stamp)


@overload
def end_of_data(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    time_column: str,
    given: pd.Timestamp | None = None,
) -> pd.Timestamp: ...


@overload
def end_of_data(
    leads: Frame,
    events: Frame,
    outcomes: Frame,
    *,
    time_column: str,
    given: pd.Timestamp | None = None,
    latest: Callable[[Frame, str], Any],
) -> pd.Timestamp: ...


def end_of_data(
    leads: Any,
    events: Any,
    outcomes: Any,
    *,
    time_column: str,
    given: pd.Timestamp | None = None,
    latest: Callable[[Any, str], Any] | None = None,
) -> pd.Timestamp:
    """When the data end: `given` (the export time) if known, else the latest time in the tables.

    The latest time is the latest of the leads' creation (`time_column`) and of the events' and outcomes'
    ``occurred_at``. It is never the wall clock: the same tables end at the same moment whenever they are
    read, so a data set built twice is the same data set.

    Parameters
    ----------
    leads, events, outcomes : DataFrame
        The clean tables (or any frames `latest` can read).
    time_column : str
        The leads' creation time column (``FeatureSpec.time_column``).
    given : Timestamp, optional
        The export time, when the caller knows it; it wins.
    latest : callable, optional
        ``latest(frame, column) -> timestamp or None``: the latest value of a column, None when the frame has
        none. Default: pandas. The Spark builder passes its own, so the tables never leave Spark.

    Returns
    -------
    Timestamp

    Raises
    ------
    InputError
        When no end is given and the tables hold no time at all.

    Examples
    --------
    >>> leads = pd.DataFrame({"created_at": pd.to_datetime(["2025-01-05"])})
    >>> events = pd.DataFrame({"occurred_at": pd.to_datetime(["2025-02-01 10:00"])})
    >>> outcomes = pd.DataFrame({"occurred_at": pd.Series([], dtype="datetime64[ns]")})
    >>> end_of_data(leads, events, outcomes, time_column="created_at")
    Timestamp('2025-02-01 10:00:00')
    """
    if given is not None:
        return pd.Timestamp(given)
    read = latest or _latest_in
    stamps = [read(leads, time_column), read(events, "occurred_at"), read(outcomes, "occurred_at")]
    known = [pd.Timestamp(stamp) for stamp in stamps if stamp is not None and not pd.isna(stamp)]
    if not known:
        raise InputError(
            "the tables hold no creation, event or outcome time to end the data at; give data_end "
            "(the time the export was taken)"
        )
    return max(known)


#: How long after arrival a day-one model learns a lead: at its arrival, right after each of its events in
#: these hours, and at the target's scoring moment.
DAY_ONE_HOURS = 72.0
#: At most this many event moments per lead (the first ones): a burst of views adds no new kind of moment.
MAX_EVENT_MOMENTS = 20


def activity_moments(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    spec: FeatureSpec,
    target: Target,
    *,
    horizon_hours: float = DAY_ONE_HOURS,
    max_events: int = MAX_EVENT_MOMENTS,
) -> pd.DataFrame:
    """The moments a lead of its first days is scored at: its arrival (the API scores a new lead), right
    after each of its events within `horizon_hours` (the API scores it again; at most `max_events`), and
    ``target.as_of_hours`` after arrival (a batch with events).

    Returns
    -------
    DataFrame
        ``lead_id``, ``as_of``, ``hours_after_arrival``, ``lead_row`` (the row's position in `leads`) and
        ``rank`` (the row's place among its lead's moments: one lead appears once per rank), on a fresh
        index, ordered by rank.
    """
    if horizon_hours < 0 or max_events < 0:
        raise InputError(
            f"a day-one horizon needs zero or more hours and events, got {horizon_hours}, {max_events}"
        )
    created = pd.to_datetime(leads[spec.time_column]).to_numpy(dtype="datetime64[us]")
    ids = leads[spec.key].to_numpy()
    n = len(leads)
    position = pd.Index(ids).get_indexer(pd.Index(events["lead_id"].to_numpy()))
    known = position >= 0
    when = pd.to_datetime(events["occurred_at"]).to_numpy(dtype="datetime64[us]")[known]
    row = position[known]
    after = (when - created[row]) / np.timedelta64(1, "h")
    inside = (after >= 0) & (after <= horizon_hours)
    seen = pd.DataFrame({"lead_row": row[inside], "as_of": when[inside]}).drop_duplicates()
    seen = seen.sort_values(["lead_row", "as_of"], kind="stable")
    seen = seen.loc[seen.groupby("lead_row").cumcount() < max_events]
    fixed = [
        pd.DataFrame({"lead_row": np.arange(n), "as_of": created + np.timedelta64(int(hours * 3600e6), "us")})
        for hours in (0.0, float(target.as_of_hours))
    ]
    frame = pd.concat([fixed[0], seen, fixed[1]], ignore_index=True).drop_duplicates(["lead_row", "as_of"])
    frame = frame.dropna(subset=["as_of"]).sort_values(["lead_row", "as_of"], kind="stable")
    frame["rank"] = frame.groupby("lead_row").cumcount()
    frame = frame.sort_values(["rank", "lead_row"], kind="stable").reset_index(drop=True)
    frame["lead_id"] = ids[frame["lead_row"].to_numpy()]
    rows = frame["lead_row"].to_numpy()
    frame["hours_after_arrival"] = (frame["as_of"].to_numpy() - created[rows]) / np.timedelta64(1, "h")
    return frame[["lead_id", "as_of", "hours_after_arrival", "lead_row", "rank"]]


def scoring_moments(leads: pd.DataFrame, spec: FeatureSpec, target: Target) -> pd.DataFrame:
    """Each lead once, ``target.as_of_hours`` after it was created: the scoring moment of a new lead.

    Returns
    -------
    DataFrame
        ``lead_id``, ``as_of`` and ``hours_after_arrival``, aligned with `leads` (same index and order).
    """
    created = pd.to_datetime(leads[spec.time_column])
    return pd.DataFrame(
        {
            "lead_id": leads[spec.key],
            "as_of": created + target.as_of_offset,
            "hours_after_arrival": float(target.as_of_hours),
        },
        index=leads.index,
    )


def assemble_dataset(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    moments: pd.DataFrame,
    features: FeaturesAtMoments,
    spec: FeatureSpec,
    target: Target,
    data_end: pd.Timestamp | None = None,
) -> LeadDataset:
    """Put a point-in-time data set together: features at each scoring moment, the label after it.

    Parameters
    ----------
    leads, events, outcomes : DataFrame
        The clean tables.
    moments : DataFrame
        One row per data-set row: ``lead_id`` and ``as_of`` (see :func:`scoring_moments`; returning leads
        have one row per return).
    features : callable
        ``features(leads, events, moments, spec)``: the feature rows, one per row of `moments`.
    spec, target : FeatureSpec, Target
        Which lead fields are features; what is predicted, and within which window.
    data_end : Timestamp, optional
        When the export was taken; default :func:`end_of_data` of the tables. Windows still open then are
        censored.

    Returns
    -------
    LeadDataset
        In the order of `moments`.
    """
    missing = [column for column in MOMENT_COLUMNS if column not in moments.columns]
    if missing:
        raise InputError(f"the scoring moments lack {missing}; each row needs a lead_id and an as_of")
    end = end_of_data(leads, events, outcomes, time_column=spec.time_column, given=data_end)
    X = features(leads, events, moments, spec)
    if len(X) != len(moments):
        raise InputError(f"the feature builder returned {len(X)} rows for {len(moments)} scoring moments")
    as_of = moments["as_of"]
    labels = label_leads(moments["lead_id"], as_of, outcomes, target, data_end=end)
    return LeadDataset(
        X=X,
        y=labels.label,
        lead_id=moments["lead_id"].rename(spec.key),
        as_of=as_of,
        censored=labels.censored,
        converted_before=labels.converted_before,
        spec=spec,
        target=target,
        data_end=end,
        hours_after_arrival=moments["hours_after_arrival"] if "lead_row" in moments else None,
    )


def build_dataset(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    target: Target,
    table: TableSpec,
    data_end: pd.Timestamp | None = None,
    drop: Sequence[str] = (),
    text: bool = False,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
    day_one_hours: float | None = None,
) -> LeadDataset:
    """Build the point-in-time data set of `target` from ingested (clean) lead, event and outcome tables.

    One row per lead, scored ``target.as_of_hours`` after it was created, with the features of
    :func:`careleads.features.build_features`. With `day_one_hours` (such as :data:`DAY_ONE_HOURS`), the
    data set of a day-one model instead: each lead at each moment of :func:`activity_moments`, with what it
    had done by then (``FeatureSpec.latest_activity``) and its own label (the target's window counted from
    that moment). `data_end` is when the export was taken; by default the latest time in the tables
    (:func:`end_of_data`). With `text`, the text and conversational features join the others (see
    :func:`careleads.features.text_features`), and the spec remembers it and the classifiers, so that a
    model trained on them scores with them (they are stored in its artifact); `classifiers` default to ones
    trained here on simulator texts (:func:`careleads.text.train_text_classifiers`, seed 0, a few seconds).
    """
    spec = FeatureSpec.from_table(table, drop=drop, text=text, latest_activity=day_one_hours is not None)
    if text:
        # the text classifiers are trained with the model they feed, and travel with it (its artifact)
        from careleads.text import train_text_classifiers

        classifiers = classifiers if classifiers is not None else train_text_classifiers()
        spec = replace(spec, text_classifiers=classifiers)
    leads = leads.reset_index(drop=True)

    def features(
        leads: pd.DataFrame, events: pd.DataFrame, moments: pd.DataFrame, spec: FeatureSpec
    ) -> pd.DataFrame:
        if "lead_row" not in moments:
            return build_features(leads, events, moments["as_of"], spec, classifiers=classifiers)
        # one rank at a time: within one, each lead appears once
        parts = []
        for _rank, rows in moments.groupby("rank", sort=False).indices.items():
            at = moments.iloc[rows]
            these = leads.iloc[at["lead_row"].to_numpy()].reset_index(drop=True)
            part = build_features(
                these, events, at["as_of"].reset_index(drop=True), spec, classifiers=classifiers
            )
            parts.append(part.set_axis(at.index))
        return pd.concat(parts).loc[moments.index]

    return assemble_dataset(
        leads,
        events,
        outcomes,
        moments=(
            scoring_moments(leads, spec, target)
            if day_one_hours is None
            else activity_moments(leads, events, spec, target, horizon_hours=day_one_hours)
        ),
        features=features,
        spec=spec,
        target=target,
        data_end=data_end,
    )
