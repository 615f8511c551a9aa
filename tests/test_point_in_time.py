from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careleads.dictionary import FieldSpec, FieldType, KnownAt, Sensitivity, TableSpec
from careleads.errors import InputError
from careleads.features import (
    EVENT_TYPES,
    PAGE_TYPES,
    FeatureSpec,
    LeadDataset,
    Target,
    build_dataset,
    engagement_features,
    label_leads,
)
from careleads.synth import OUTCOMES
from conftest import Export

T0 = pd.Timestamp("2025-01-01 00:00:00")
HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)
SENSITIVE = ("age", "sex")
POST_OUTCOME = ("lead_status", "stage", "call_notes", "owner")
DIRECT_IDENTIFIERS = ("full_name", "email", "phone")
QUASI_IDENTIFIERS = ("postal_code", "created_at")
NEVER_FEATURES = (*SENSITIVE, *POST_OUTCOME, *DIRECT_IDENTIFIERS, *QUASI_IDENTIFIERS, "lead_id", "question")


# --------------------------------------------------------------------------------------------- labels


def _outcomes(rows: list[tuple[str, str, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lead_id", "outcome", "occurred_at"])


def test_labels_look_only_inside_the_window_after_the_scoring_moment() -> None:
    ids = pd.Series(["in", "edge", "late", "none", "other_type", "before", "at"])
    as_of = pd.Series([T0] * len(ids))
    outcomes = _outcomes(
        [
            ("in", "appointment_scheduled", T0 + DAY),
            ("edge", "appointment_scheduled", T0 + 30 * DAY),  # the window is closed at its end
            ("late", "appointment_scheduled", T0 + 30 * DAY + pd.Timedelta(seconds=1)),
            ("other_type", "intake_call_completed", T0 + DAY),
            ("before", "appointment_scheduled", T0 - HOUR),
            ("at", "appointment_scheduled", T0),
        ]
    )
    result = label_leads(ids, as_of, outcomes, Target(window_days=30), data_end=T0 + 100 * DAY)
    labels = dict(zip(ids, result.label.tolist(), strict=True))
    assert labels == {
        "in": 1,
        "edge": 1,
        "late": 0,
        "none": 0,
        "other_type": 0,
        "before": pd.NA,
        "at": pd.NA,
    }
    assert result.converted_before.tolist() == [False, False, False, False, False, True, True]
    assert not result.censored.any()


def test_an_open_window_is_censored_not_negative() -> None:
    ids = pd.Series(["closed", "just_closed", "open_negative", "open_positive"])
    data_end = T0 + 40 * DAY
    as_of = pd.Series([T0, T0 + 10 * DAY, T0 + 10 * DAY + HOUR, T0 + 20 * DAY])
    outcomes = _outcomes([("open_positive", "appointment_scheduled", T0 + 21 * DAY)])
    result = label_leads(ids, as_of, outcomes, Target(window_days=30), data_end=data_end)
    assert result.censored.tolist() == [False, False, True, True]
    assert result.label.tolist() == [0, 0, pd.NA, pd.NA]
    assert str(result.label.dtype) == "Int64"


def test_labels_keep_the_index_of_the_leads() -> None:
    ids = pd.Series(["a", "b"], index=[10, 20])
    as_of = pd.Series([T0, T0], index=[10, 20])
    outcomes = _outcomes([("b", "appointment_scheduled", T0 + DAY)])
    result = label_leads(ids, as_of, outcomes, Target(), data_end=T0 + 90 * DAY)
    assert result.label.to_dict() == {10: 0, 20: 1}


def test_simulated_labels_match_the_truth_and_censor_the_last_month(small_export: Export) -> None:
    dataset = small_export.dataset()
    end = small_export.data.end
    assert not dataset.converted_before.any()  # the simulator's outcomes all follow the scoring moment
    open_window = dataset.as_of + pd.Timedelta(days=30) > end
    assert open_window.any()
    assert dataset.censored.equals(open_window)
    assert dataset.y[open_window].isna().all()
    assert dataset.y[~open_window].notna().all()
    assert set(dataset.y.dropna().unique()) == {0, 1}
    # the observed rate of labelled leads agrees with the truth's probabilities of those leads
    truth = small_export.data.truth.set_index("lead_id")["p_appointment_scheduled_30d"]
    labelled = dataset.usable
    expected = truth.reindex(dataset.lead_id[labelled]).mean()
    assert float(dataset.y[labelled].mean()) == pytest.approx(expected, abs=0.025)


# ----------------------------------------------------------------------------------------- features


def _events(rows: list[tuple[str, pd.Timestamp, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lead_id", "occurred_at", "event_type", "page"])


def test_engagement_counts_only_what_happened_up_to_the_scoring_moment() -> None:
    ids = pd.Series(["a", "b", "c"])
    as_of = pd.Series([T0, T0, T0 + DAY])
    events = _events(
        [
            ("a", T0 - 3 * HOUR, "page_view", "pricing"),
            ("a", T0 - HOUR, "call_request", ""),
            ("a", T0, "email_click", ""),  # at the scoring moment: known
            ("a", T0 + pd.Timedelta(microseconds=1), "call_request", ""),  # after it: not known
            ("b", T0 + HOUR, "page_view", "pricing"),
            ("c", T0 + 2 * HOUR, "chat_message", ""),
            ("stranger", T0 - HOUR, "page_view", "pricing"),  # not one of the leads
        ]
    )
    features = engagement_features(ids, as_of, events)
    a, b, c = features.iloc[0], features.iloc[1], features.iloc[2]
    assert (a["n_events"], a["n_page_view"], a["n_page_pricing"]) == (3, 1, 1)
    assert (a["n_call_request"], a["n_email_click"]) == (1, 1)
    assert a["hours_since_last_event"] == 0
    assert b["n_events"] == 0
    assert np.isnan(b["hours_since_last_event"])
    assert (c["n_chat_message"], c["hours_since_last_event"]) == (1, 22)
    for kind in EVENT_TYPES:
        assert f"n_{kind}" in features
    for page in PAGE_TYPES:
        assert f"n_page_{page}" in features


def test_cold_start_sees_no_engagement(small_export: Export) -> None:
    cold = small_export.dataset(Target(as_of_hours=0))
    warm = small_export.dataset(Target(as_of_hours=24))
    assert cold.X["n_events"].sum() == 0
    assert cold.X["hours_since_last_event"].isna().all()
    assert warm.X["n_events"].sum() > len(warm.X)
    assert list(cold.X.columns) == list(warm.X.columns)


def test_features_exclude_sensitive_post_outcome_and_identifying_columns(small_export: Export) -> None:
    dataset = small_export.dataset()
    leads = small_export.tables.leads
    for column in NEVER_FEATURES:
        assert column in leads.columns, column  # present in the data ...
        assert column not in dataset.X.columns, column  # ... never a feature
    for column in (*SENSITIVE, *POST_OUTCOME, *DIRECT_IDENTIFIERS, "postal_code", "question"):
        assert column in dataset.spec.excluded, column
    assert "after the outcome" in dataset.spec.excluded["lead_status"]
    assert "sensitive" in dataset.spec.excluded["age"]
    # a direct identifier contributes only whether it was given, never its value
    assert dataset.X["has_phone"].isin([0.0, 1.0]).all()
    assert {"service_line", "source", "inquiry_type", "n_page_pricing"} <= set(dataset.X.columns)


def test_feature_spec_follows_the_dictionary_for_any_schema() -> None:
    table = TableSpec(
        name="contacts",
        key="contact_ref",
        time_column="opened",
        fields=(
            FieldSpec("contact_ref", FieldType.IDENTIFIER),
            FieldSpec("opened", FieldType.DATETIME, sensitivity=Sensitivity.QUASI_IDENTIFIER),
            FieldSpec("specialty", FieldType.CATEGORY),
            FieldSpec("miles", FieldType.NUMBER),
            FieldSpec("opted_in", FieldType.BOOLEAN),
            FieldSpec("mrn", FieldType.TEXT, sensitivity=Sensitivity.DIRECT_IDENTIFIER),
            FieldSpec("zip3", FieldType.CATEGORY, sensitivity=Sensitivity.QUASI_IDENTIFIER),
            FieldSpec("ethnicity", FieldType.CATEGORY, sensitivity=Sensitivity.SENSITIVE),
            FieldSpec("disposition", FieldType.CATEGORY, known=KnownAt.AFTER_OUTCOME),
            FieldSpec("notes", FieldType.TEXT),
            FieldSpec("campaign_code", FieldType.CATEGORY),
        ),
    )
    spec = FeatureSpec.from_table(table, drop=["campaign_code"])
    assert spec.categorical == ("specialty",)
    assert spec.numeric == ("miles",)
    assert spec.boolean == ("opted_in",)
    assert spec.presence == ("mrn",)
    assert (spec.key, spec.time_column) == ("contact_ref", "opened")
    assert set(spec.excluded) == {"mrn", "zip3", "ethnicity", "disposition", "notes", "campaign_code"}
    assert spec.excluded["campaign_code"] == "excluded by the caller"


def test_a_table_without_key_or_time_cannot_be_scored() -> None:
    table = TableSpec(name="loose", fields=(FieldSpec("x", FieldType.NUMBER),))
    with pytest.raises(InputError, match="'loose'"):
        FeatureSpec.from_table(table)


# ------------------------------------------------------------- property: later records change nothing

N_PROPERTY_LEADS = 400


@pytest.fixture(scope="module")
def base(small_export: Export) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, LeadDataset]:
    """A slice of the small export: its leads, their events and outcomes, and their data set."""
    tables = small_export.tables
    leads = tables.leads.iloc[:N_PROPERTY_LEADS].reset_index(drop=True)
    mine = set(leads["lead_id"])
    events = tables.events[tables.events["lead_id"].isin(mine)].reset_index(drop=True)
    outcomes = tables.outcomes[tables.outcomes["lead_id"].isin(mine)].reset_index(drop=True)
    dataset = _build(small_export, leads, events, outcomes)
    return leads, events, outcomes, dataset


def _build(export: Export, leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame) -> LeadDataset:
    # data_end is left to default (the latest timestamp seen): later records move it, features must not care
    return build_dataset(
        leads, events, outcomes, target=Target(), table=export.tables.dictionary.table("leads")
    )


_MICROSECONDS_PER_YEAR = 365 * 86_400 * 1_000_000
later_events = st.lists(
    st.tuples(
        st.integers(0, N_PROPERTY_LEADS - 1),
        st.integers(1, _MICROSECONDS_PER_YEAR),
        st.sampled_from((*EVENT_TYPES, "webinar_signup")),
        st.sampled_from((*PAGE_TYPES, "")),
    ),
    min_size=1,
    max_size=40,
)
later_outcomes = st.lists(
    st.tuples(
        st.integers(0, N_PROPERTY_LEADS - 1),
        st.integers(1, _MICROSECONDS_PER_YEAR),
        st.sampled_from(OUTCOMES),
    ),
    max_size=10,
)


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra_events=later_events, extra_outcomes=later_outcomes)
def test_records_after_the_scoring_moment_never_change_a_feature(
    small_export: Export,
    base: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, LeadDataset],
    extra_events: list[tuple[int, int, str, str]],
    extra_outcomes: list[tuple[int, int, str]],
) -> None:
    leads, events, outcomes, before = base
    as_of = before.as_of
    added_events = pd.DataFrame(
        {
            "event_id": [f"X{i}" for i in range(len(extra_events))],
            "lead_id": [leads.at[i, "lead_id"] for i, *_ in extra_events],
            "occurred_at": [as_of[i] + pd.Timedelta(microseconds=us) for i, us, *_ in extra_events],
            "event_type": [kind for *_, kind, _page in extra_events],
            "page": [page for *_, page in extra_events],
        }
    )
    added_outcomes = pd.DataFrame(
        {
            "lead_id": [leads.at[i, "lead_id"] for i, _us, _kind in extra_outcomes],
            "outcome": [kind for *_, kind in extra_outcomes],
            "occurred_at": [as_of[i] + pd.Timedelta(microseconds=us) for i, us, _kind in extra_outcomes],
        }
    )
    after = _build(
        small_export,
        leads,
        pd.concat([events, added_events], ignore_index=True),
        pd.concat([outcomes, added_outcomes], ignore_index=True),
    )
    pd.testing.assert_frame_equal(after.X, before.X, check_exact=True)
    pd.testing.assert_series_equal(after.as_of, before.as_of)


def test_a_record_before_the_scoring_moment_does_change_features(
    small_export: Export, base: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, LeadDataset]
) -> None:
    # the counterpart of the property above: the comparison it relies on does see a change
    leads, events, outcomes, before = base
    earlier = pd.DataFrame(
        {
            "event_id": ["X0"],
            "lead_id": [leads.at[0, "lead_id"]],
            "occurred_at": [before.as_of[0] - pd.Timedelta(seconds=1)],
            "event_type": ["call_request"],
            "page": [""],
        }
    )
    after = _build(small_export, leads, pd.concat([events, earlier], ignore_index=True), outcomes)
    assert after.X["n_call_request"].iloc[0] == before.X["n_call_request"].iloc[0] + 1
    assert after.X.at[0, "hours_since_last_event"] == pytest.approx(1 / 3600)
    pd.testing.assert_frame_equal(after.X.iloc[1:], before.X.iloc[1:])


def test_categorical_inbound_features_equal_their_text(small_export: Export) -> None:
    """Categorical lead columns become text through their categories: the same as converting every row."""
    from careleads.features._point_in_time import lead_features

    leads = small_export.tables.results["leads"].clean
    spec = small_export.dataset().spec
    categorical = [n for n in spec.categorical if isinstance(leads[n].dtype, pd.CategoricalDtype)]
    assert len(categorical) >= 5
    shuffled = leads.sample(frac=1.0, random_state=0)  # any index, not only 0..n-1
    features = lead_features(shuffled, spec)
    for name in spec.categorical:
        pd.testing.assert_series_equal(
            features[name], shuffled[name].astype("string"), check_names=False, check_exact=True
        )


def test_a_lead_with_no_events_reads_as_one_whose_events_all_come_later() -> None:
    """No events at all (a new lead) and only events after the scoring moment give the same engagement."""
    from careleads.features._point_in_time import EventColumns, engagement_columns

    as_of = np.array(["2025-03-04T10:00"], dtype="datetime64[us]")
    later = {"occurred_at": pd.Timestamp("2025-03-05T10:00"), "event_type": "page_view", "page": "pricing"}
    for pages in (True, False):
        none = engagement_columns(EventColumns.of_records([], pages=pages), as_of)
        after = engagement_columns(EventColumns.of_records([later], pages=pages), as_of)
        assert none.keys() == after.keys()
        for name, values in none.items():
            np.testing.assert_array_equal(values, after[name], err_msg=name)
