"""A modelling data set: one row per lead at its scoring moment, features, label and censoring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from careleads.columns import moments
from careleads.features._point_in_time import (
    EventColumns,
    FeatureSpec,
    day_one_engagement,
    engagement_features,
    lead_features,
)
from careleads.features._targets import Target

if TYPE_CHECKING:
    from careleads.text import IntentClassifier, UrgencyClassifier


@dataclass(frozen=True)
class LeadDataset:
    """Features as of each lead's scoring moment, with labels that look only after it.

    Attributes
    ----------
    X : DataFrame
        Model features (no identifiers, no sensitive attributes, nothing recorded after the outcome).
    y : Series
        0/1 outcome within the target window (Int64; NA where censored or already converted).
    lead_id, as_of : Series
        Which lead and when it was scored.
    censored, converted_before : Series
        Window still open at the end of the data; outcome reached before the scoring moment.
    spec : FeatureSpec
        Which columns became features and why the others did not.
    """

    X: pd.DataFrame
    y: pd.Series
    lead_id: pd.Series
    as_of: pd.Series
    censored: pd.Series
    converted_before: pd.Series
    spec: FeatureSpec
    target: Target
    data_end: pd.Timestamp
    # hours from each row's lead's arrival to the row's moment, when the rows are at several moments
    hours_after_arrival: pd.Series | None = None

    @property
    def usable(self) -> pd.Series:
        """Rows with a label: window closed and not converted before scoring."""
        return self.y.notna()

    def subset(self, mask: pd.Series) -> LeadDataset:
        return LeadDataset(
            X=self.X.loc[mask],
            y=self.y.loc[mask],
            lead_id=self.lead_id.loc[mask],
            as_of=self.as_of.loc[mask],
            censored=self.censored.loc[mask],
            converted_before=self.converted_before.loc[mask],
            spec=self.spec,
            target=self.target,
            data_end=self.data_end,
            hours_after_arrival=(
                None if self.hours_after_arrival is None else self.hours_after_arrival.loc[mask]
            ),
        )

    def __len__(self) -> int:
        return len(self.X)


def build_features(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Series,
    spec: FeatureSpec,
    *,
    text: bool | None = None,
    classifiers: tuple[IntentClassifier, UrgencyClassifier] | None = None,
) -> pd.DataFrame:
    """All features of `leads` as of `as_of` (aligned with `leads`): inbound signals plus engagement.

    With ``spec.latest_activity`` (a day-one model) each lead's engagement is counted as of its latest
    activity by its moment (:func:`careleads.features.latest_activity`), with how many hours after arrival
    that activity came and no time since the last event, so its score changes only when it does something.

    With `text` (default: ``spec.text``, off unless the data set was built with ``text=True``) the text and
    conversational features of :func:`careleads.features.text_features` join them, from `classifiers`, by
    default the ones the spec carries (a model's own, read from its artifact). Nothing is fitted here.
    """
    inbound = lead_features(leads, spec)
    if spec.latest_activity:
        done = EventColumns.of_table(leads[spec.key], events)
        engaged = day_one_engagement(done, moments(as_of), moments(leads[spec.time_column]))
        parts = [inbound, pd.DataFrame(engaged, index=leads.index)]
    else:
        parts = [inbound, engagement_features(leads[spec.key], as_of, events)]
    if text if text is not None else spec.text:
        from careleads.features._text import text_features

        models = classifiers if classifiers is not None else spec.text_classifiers
        parts.append(text_features(leads, events, as_of, classifiers=models, key=spec.key))
    return pd.concat(parts, axis=1)
