from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from careleads.errors import InputError
from careleads.synth import (
    AS_OF_HOURS,
    OUTCOMES,
    SERVICE_LINES,
    SOURCES,
    WINDOWS_DAYS,
    SyntheticData,
    generate,
    generate_partnerships,
)
from careleads.synth._defects import SPELLINGS
from conftest import SMALL_LEADS, Export

DEFECT_KINDS = {
    "missing_id",
    "bad_date",
    "impossible_age",
    "impossible_distance",
    "unknown_service_line",
    "duplicate_id",
}
POST_OUTCOME = ("lead_status", "stage", "call_notes", "owner")


def _canonical(column: str, raw: pd.Series) -> pd.Series:
    """Undo the simulator's messy spellings of `column` (the dictionary does this on ingest)."""
    back = {spelling: canonical for canonical, options in SPELLINGS[column].items() for spelling in options}
    return raw.map(lambda value: back.get(value, value))


def _created(data: SyntheticData) -> pd.Series:
    """Creation times of the leads (bad dates become NaT)."""
    return pd.to_datetime(data.leads["created_at"], errors="coerce", format="%Y-%m-%dT%H:%M:%S")


def test_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    first, second, other = generate(300, seed=5), generate(300, seed=5), generate(300, seed=6)
    for name in ("leads", "events", "outcomes", "truth"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert not first.truth["p_appointment_scheduled_30d"].equals(other.truth["p_appointment_scheduled_30d"])
    assert not first.leads["service_line"].equals(other.leads["service_line"])


def test_too_few_leads_or_too_short_a_history_is_refused() -> None:
    with pytest.raises(InputError, match="at least 100"):
        generate(99)
    with pytest.raises(InputError, match="at least 18 months"):
        generate(500, months=17)


def test_at_least_six_service_lines_and_eight_sources_occur(small_export: Export) -> None:
    leads = small_export.data.leads
    services = set(_canonical("service_line", leads["service_line"])) & set(SERVICE_LINES)
    sources = set(_canonical("source", leads["source"])) & set(SOURCES)
    assert len(services) >= 6, services
    assert len(sources) >= 8, sources


def test_the_export_is_messy_with_several_spellings(small_export: Export) -> None:
    leads = small_export.data.leads
    orthopedics = leads.loc[
        _canonical("service_line", leads["service_line"]) == "orthopedics", "service_line"
    ]
    assert orthopedics.nunique() >= 3
    assert (leads["inquiry_type"] == "Select").any()


def test_history_covers_at_least_eighteen_months(small_export: Export) -> None:
    data = small_export.data
    assert data.end >= data.start + pd.DateOffset(months=18)
    created = _created(data).dropna()
    assert created.min() >= data.start
    assert created.max() < data.end
    assert created.max() - created.min() >= pd.Timedelta(days=17 * 30)


def test_telehealth_app_launches_mid_way(small_export: Export) -> None:
    data = small_export.data
    launch = data.start + pd.DateOffset(months=12)
    created = _created(data)
    app = _canonical("source", data.leads["source"]) == "telehealth_app"
    assert not (app & (created < launch)).any()
    after = created >= launch
    share_after = float(app[after].mean())
    assert 0.05 < share_after < 0.2


def test_paid_social_campaign_changes_to_brand_awareness(small_export: Export) -> None:
    data = small_export.data
    change = data.start + pd.DateOffset(months=15)
    created = _created(data)
    social = _canonical("source", data.leads["source"]) == "paid_social"
    campaign = data.leads["campaign"]
    assert set(campaign[social & (created < change)]) == {"spring_wellness"}
    assert set(campaign[social & (created >= change)]) == {"brand_awareness"}
    blog_before = (data.leads["landing_page"][social & (created < change)] == "blog").mean()
    blog_after = (data.leads["landing_page"][social & (created >= change)] == "blog").mean()
    assert blog_after > blog_before + 0.2


def test_about_one_percent_of_rows_are_bad_and_each_defect_is_named(small_export: Export) -> None:
    data = small_export.data
    truth = data.truth
    defects = truth["injected_defect"]
    n_bad = int((defects != "").sum())
    assert n_bad == round(SMALL_LEADS * 0.01)
    assert set(defects[defects != ""]) == DEFECT_KINDS
    # the defect is really in the exported row (truth row i is lead row i; duplicates are appended)
    leads = data.leads
    rows = {kind: np.flatnonzero((defects == kind).to_numpy()) for kind in DEFECT_KINDS}
    assert (leads.loc[rows["missing_id"], "lead_id"] == "").all()
    assert _created(data)[rows["bad_date"]].isna().all()
    ages = pd.to_numeric(leads.loc[rows["impossible_age"], "age"])
    assert ((ages < 0) | (ages > 120)).all()
    distances = pd.to_numeric(leads.loc[rows["impossible_distance"], "distance_km"])
    assert ((distances < 0) | (distances > 400)).all()
    assert (leads.loc[rows["unknown_service_line"], "service_line"] == "zzz test entry").all()
    assert len(leads) == SMALL_LEADS + len(rows["duplicate_id"])
    duplicated = leads.iloc[SMALL_LEADS:]["lead_id"]
    assert set(duplicated) == set(truth.loc[rows["duplicate_id"], "lead_id"])


def test_truth_probabilities_are_probabilities_and_grow_with_the_window(small_export: Export) -> None:
    truth = small_export.data.truth
    assert len(truth) == SMALL_LEADS
    assert truth["lead_id"].is_unique
    for outcome in OUTCOMES:
        columns = [f"p_{outcome}_{w}d" for w in sorted(WINDOWS_DAYS)]
        values = truth[columns].to_numpy()
        assert np.isfinite(values).all()
        assert ((values >= 0) & (values <= 1)).all(), outcome
        assert (np.diff(values, axis=1) >= 0).all(), outcome
    # the truth varies between leads: a ranking exists to be learnt
    assert truth["p_appointment_scheduled_30d"].std() > 0.05


def test_post_outcome_columns_are_present_and_reveal_the_label(small_export: Export) -> None:
    data = small_export.data
    for column in POST_OUTCOME:
        assert column in data.leads.columns
    booked = set(data.outcomes.loc[data.outcomes["outcome"] == "appointment_scheduled", "lead_id"])
    status = data.leads["lead_status"]
    says_booked = set(data.leads.loc[status.isin(["scheduled", "attended"]), "lead_id"]) - {""}
    assert says_booked
    assert says_booked <= booked
    assert (data.leads.loc[status == "scheduled", "stage"] == "won").all()


def test_sensitive_attributes_are_in_the_raw_export(small_export: Export) -> None:
    leads = small_export.data.leads
    assert {"age", "sex"} <= set(leads.columns)
    ages = pd.to_numeric(leads["age"], errors="coerce")
    assert ages.between(18, 95).mean() > 0.98


def test_outcomes_happen_after_the_scoring_moment_and_before_the_export(small_export: Export) -> None:
    data = small_export.data
    outcomes = data.outcomes.merge(data.truth[["lead_id", "as_of"]], on="lead_id", how="left")
    assert outcomes["as_of"].notna().all()
    occurred = pd.to_datetime(outcomes["occurred_at"])
    assert (occurred > outcomes["as_of"]).all()
    assert (occurred < data.end).all()
    assert set(outcomes["outcome"]) == set(OUTCOMES)


def test_first_day_events_fall_before_the_scoring_moment(small_export: Export) -> None:
    data = small_export.data
    events = data.events.merge(data.truth[["lead_id", "as_of"]], on="lead_id", how="left")
    occurred = pd.to_datetime(events["occurred_at"])
    created = events["as_of"] - pd.Timedelta(hours=AS_OF_HOURS)
    assert (occurred >= created).all()
    assert (occurred < data.end).all()
    assert (occurred <= events["as_of"]).mean() > 0.3  # first-day engagement
    assert (occurred > events["as_of"]).mean() > 0.1  # and later activity
    assert events["event_id"].is_unique


def _sha256(frame: pd.DataFrame) -> str:
    # nine significant digits: the last bits of exp and log may differ between platforms, the data may not
    return hashlib.sha256(frame.to_csv(index=False, float_format="%.9g").encode()).hexdigest()


# Tables of fixed seeds, taken before the simulator was split into modules: any change of a draw, of its
# order or of a template changes them (and with them every figure measured on simulated data).
PINNED_PATIENTS = {
    "leads": "34e4abf229735545bb5fc645600d8611b08c95eb9eb2ebdade1d7b0545b25239",
    "events": "f8148aa71a564516cfa3f0d119f21ff78c3242898901853bd49ef72123be2579",
    "outcomes": "626915f73a9d2063ba1d3bac84d8c934965b93e3b194d556d0668cedf0ae4446",
    "truth": "e2a7dbf14199a09574b8aed238dc0132d07056105b7b91fc48b43ce4f6176f35",
    "returns": "f17856996fa32e3eb3a5e98cb2325b00a9780a37184a5cc1c06b9bc5182afa62",
}
PINNED_PARTNERSHIPS = {
    "leads": "55438f052652c42f3bd6f0b707e67a11badd8e11da70b6cad21a9a592af86b9b",
    "events": "0bb07afe42ed7c85592c7c1ff30d7e60f99738c7a271b7bd61e90f6045b0cabf",
    "outcomes": "29e25ae88c969427dc5c47c72df6717ce1fa728ef7eee0f32614173b475036a2",
    "truth": "ac7f0d4dda326525f4cc9afe38a66a4b93fcd70c742af89fe9361ab66af329e5",
}


def test_a_fixed_seed_gives_the_pinned_tables() -> None:
    data = generate(2000, seed=5, returning_share=0.3, text_signals=True)
    assert {name: _sha256(getattr(data, name)) for name in PINNED_PATIENTS} == PINNED_PATIENTS
    partners = generate_partnerships(600, seed=4)
    assert {name: _sha256(getattr(partners, name)) for name in PINNED_PARTNERSHIPS} == PINNED_PARTNERSHIPS
