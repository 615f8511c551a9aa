"""The one data-set assembly: scoring moments, features at each, labels after, and the one end of the data."""

from __future__ import annotations

import pandas as pd
import pytest

from careleads.dictionary import load_dictionary
from careleads.errors import InputError
from careleads.features import (
    FeatureSpec,
    LeadDataset,
    Target,
    assemble_dataset,
    build_dataset,
    end_of_data,
    engagement_features,
    scoring_moments,
)
from careleads.segments import build_partnership_dataset, build_reengagement_dataset

T0 = pd.Timestamp("2025-03-03 08:00")
TABLE = load_dictionary().table("leads")
SPEC = FeatureSpec.from_table(TABLE)


def _days(*days: float) -> list[pd.Timestamp]:
    return [T0 + pd.Timedelta(days=d) for d in days]


def _tables(
    created: list[float], events: list[tuple[str, float]], outcomes: list[tuple[str, str, float]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Leads L0, L1, ... created `created` days after T0; (lead, day) page views; (lead, outcome, day)."""
    leads = pd.DataFrame(
        {"lead_id": [f"L{i}" for i in range(len(created))], "created_at": pd.Series(_days(*created))}
    )
    event_frame = pd.DataFrame(
        {
            "lead_id": pd.Series([lead for lead, _ in events], dtype="string"),
            "occurred_at": pd.Series(_days(*[d for _, d in events]), dtype="datetime64[ns]"),
            "event_type": pd.Series(["page_view"] * len(events), dtype="string"),
            "page": pd.Series(["pricing"] * len(events), dtype="string"),
        }
    )
    outcome_frame = pd.DataFrame(
        {
            "lead_id": pd.Series([lead for lead, _, _ in outcomes], dtype="string"),
            "outcome": pd.Series([kind for _, kind, _ in outcomes], dtype="string"),
            "occurred_at": pd.Series(_days(*[d for *_, d in outcomes]), dtype="datetime64[ns]"),
        }
    )
    return leads, event_frame, outcome_frame


# the latest time of the data in each table in turn: a lead created last, an event, an outcome
LATEST_IN = {
    "leads": _tables([0, 1, 200], [("L0", 0.5), ("L1", 120)], [("L0", "appointment_scheduled", 150)]),
    "events": _tables(
        [0, 1, 2], [("L0", 0.5), ("L1", 120), ("L0", 300)], [("L1", "appointment_scheduled", 150)]
    ),
    "outcomes": _tables([0, 1, 2], [("L0", 0.5), ("L1", 120)], [("L1", "appointment_scheduled", 250)]),
}
LATEST_DAY = {"leads": 200, "events": 300, "outcomes": 250}


@pytest.mark.parametrize("where", list(LATEST_IN))
def test_the_end_of_the_data_is_the_latest_time_in_any_table(where: str) -> None:
    leads, events, outcomes = LATEST_IN[where]
    latest = T0 + pd.Timedelta(days=LATEST_DAY[where])
    assert end_of_data(leads, events, outcomes, time_column="created_at") == latest
    export_time = pd.Timestamp("2026-01-01")
    assert end_of_data(leads, events, outcomes, time_column="created_at", given=export_time) == export_time


def test_empty_tables_do_not_end_the_data_and_no_time_at_all_is_refused() -> None:
    leads, events, outcomes = _tables([0, 3], [], [])
    assert end_of_data(leads, events, outcomes, time_column="created_at") == T0 + pd.Timedelta(days=3)
    nothing = leads.iloc[:0]
    with pytest.raises(InputError, match="give data_end"):
        end_of_data(nothing, events, outcomes, time_column="created_at")
    given = pd.Timestamp("2025-06-01")
    assert end_of_data(nothing, events, outcomes, time_column="created_at", given=given) == given


def _all_builders(
    leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame
) -> dict[str, LeadDataset]:
    return {
        "new leads": build_dataset(leads, events, outcomes, target=Target(), table=TABLE),
        "partnerships": build_partnership_dataset(leads, events, outcomes, table=TABLE, target=Target()),
        "returning leads": build_reengagement_dataset(
            leads, events, outcomes, table=TABLE, quiet_days=60, text=False
        ),
    }


@pytest.mark.parametrize("where", list(LATEST_IN))
def test_every_builder_ends_the_same_tables_at_the_same_moment(where: str) -> None:
    leads, events, outcomes = LATEST_IN[where]
    ends = {name: dataset.data_end for name, dataset in _all_builders(leads, events, outcomes).items()}
    assert set(ends.values()) == {T0 + pd.Timedelta(days=LATEST_DAY[where])}, ends


def test_scoring_moments_are_creation_plus_the_offset_aligned_with_the_leads() -> None:
    leads, _, _ = _tables([0, 1, 2], [], [])
    leads.index = pd.Index([7, 3, 5])
    moments = scoring_moments(leads, SPEC, Target(as_of_hours=6))
    assert moments.index.equals(leads.index)
    assert moments["lead_id"].tolist() == ["L0", "L1", "L2"]
    assert moments["as_of"].tolist() == [t + pd.Timedelta(hours=6) for t in _days(0, 1, 2)]


def _engagement(
    leads: pd.DataFrame,  # noqa: ARG001 - the builders' signature
    events: pd.DataFrame,
    moments: pd.DataFrame,
    spec: FeatureSpec,  # noqa: ARG001
) -> pd.DataFrame:
    return engagement_features(moments["lead_id"], moments["as_of"], events)


def test_rows_follow_the_moments_each_labelled_after_its_own_moment() -> None:
    leads, events, outcomes = _tables(
        [0, 0],
        [("L0", 1), ("L0", 50), ("L1", 1), ("L1", 20), ("L1", 95)],
        [("L0", "appointment_scheduled", 100), ("L1", "appointment_scheduled", 100)],
    )
    # L1 first, at day 90; then L0 at day 2 (moments need not follow the leads' order)
    moments = pd.DataFrame({"lead_id": ["L1", "L0"], "as_of": _days(90, 2)})
    dataset = assemble_dataset(
        leads, events, outcomes, moments=moments, features=_engagement, spec=SPEC, target=Target()
    )
    assert dataset.lead_id.tolist() == ["L1", "L0"] and dataset.as_of.tolist() == _days(90, 2)
    # only what happened up to each moment counts
    assert dataset.X["n_events"].tolist() == [2.0, 1.0]
    # the end of the data is the latest outcome (day 100): L1's window from day 90 is still open there,
    # L0's from day 2 closed without the outcome (day 100 is after day 32)
    assert dataset.data_end == T0 + pd.Timedelta(days=100)
    assert dataset.censored.tolist() == [True, False]
    assert dataset.y.isna().tolist() == [True, False] and dataset.y.iloc[1] == 0
    closed = assemble_dataset(
        leads,
        events,
        outcomes,
        moments=moments,
        features=_engagement,
        spec=SPEC,
        target=Target(),
        data_end=T0 + pd.Timedelta(days=200),
    )
    assert closed.y.tolist() == [1, 0] and not closed.censored.any()


def test_moments_without_an_as_of_or_features_of_the_wrong_length_are_refused() -> None:
    leads, events, outcomes = _tables([0, 1], [], [])
    with pytest.raises(InputError, match="lack \\['as_of'\\]"):
        assemble_dataset(
            leads,
            events,
            outcomes,
            moments=leads[["lead_id"]],
            features=_engagement,
            spec=SPEC,
            target=Target(),
        )

    def one_row_short(
        leads: pd.DataFrame, events: pd.DataFrame, moments: pd.DataFrame, spec: FeatureSpec
    ) -> pd.DataFrame:
        return _engagement(leads, events, moments, spec).iloc[1:]

    with pytest.raises(InputError, match="1 rows for 2 scoring moments"):
        assemble_dataset(
            leads,
            events,
            outcomes,
            moments=scoring_moments(leads, SPEC, Target()),
            features=one_row_short,
            spec=SPEC,
            target=Target(),
        )
