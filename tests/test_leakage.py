from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.dictionary import Dictionary, FieldSpec, FieldType, KnownAt, TableSpec
from careleads.errors import InputError
from careleads.models._leakage import audit_leakage


def make_frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = rng.gamma(2.0, 10.0, n)
    # a strong honest signal: alone it beats every other column by far, as time on a website can
    y = (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + 0.12 * minutes)))).astype(int)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 300, n), unit="D")
    return pd.DataFrame(
        {
            "converted": y,
            "minutes_on_site": minutes,
            "source": rng.choice(["web", "phone", "referral"], n),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "created_at": created,
            "page_views": rng.poisson(3, n).astype(float),
        }
    )


def suspects(report: object) -> set[str]:
    return {s.column for s in report.suspects}  # type: ignore[attr-defined]


def test_strong_honest_column_is_watched_not_excluded() -> None:
    frame = make_frame()
    report = audit_leakage(frame, label="converted", time_column="created_at")
    assert report.column_auc["minutes_on_site"] > 0.75
    assert suspects(report) == set()
    # strong and dominant, but strength alone is one family: still not a suspect
    report = audit_leakage(
        frame,
        label="converted",
        time_column="created_at",
        fitted_importance={"minutes_on_site": 90.0, "source": 5.0, "page_views": 5.0},
    )
    assert "minutes_on_site" not in suspects(report)
    watched = {w.column: w for w in report.watched}
    assert set(watched["minutes_on_site"].detectors) == {"far_better", "dominant_importance"}


def test_status_column_filled_after_contact_is_excluded_with_evidence() -> None:
    frame = make_frame()
    rng = np.random.default_rng(3)
    worked = (frame["converted"] == 1) | (rng.random(len(frame)) < 0.3)
    frame["call_result"] = np.where(
        worked,
        np.where(frame["converted"] == 1, "Closed - won", rng.choice(["Not interested", "Busy"], len(frame))),
        "",
    )
    report = audit_leakage(frame, label="converted", time_column="created_at")
    leak = next(s for s in report.suspects if s.column == "call_result")
    assert leak.excluded and not leak.kept
    assert "status_values" in leak.detectors and "status_name" in leak.detectors
    assert any("values look like a status" in e for e in leak.evidence)
    assert "minutes_on_site" not in suspects(report)


def test_near_perfect_column_names_the_runner_up() -> None:
    frame = make_frame()
    frame["score_after_call"] = frame["converted"] * 10 + np.random.default_rng(1).random(len(frame))
    report = audit_leakage(frame, label="converted")
    leak = next(s for s in report.suspects if s.column == "score_after_call")
    assert "near_perfect" in leak.detectors
    strength = leak.evidence[leak.detectors.index("near_perfect")]
    assert "the best other column 'minutes_on_site'" in strength


def test_missingness_that_tracks_the_label() -> None:
    frame = make_frame()
    y = frame["converted"].to_numpy()
    rng = np.random.default_rng(2)
    frame["deal_size"] = np.where(y == 1, rng.uniform(100, 900, len(frame)), np.nan)
    frame["deal_owner"] = np.where(y == 1, rng.choice(["ann", "bob"], len(frame)), None)
    report = audit_leakage(frame, label="converted")
    leak = next(s for s in report.suspects if s.column == "deal_size")
    assert "missing_tracks_label" in leak.detectors
    assert "of negatives" in leak.evidence[0]
    assert "deal_owner" in suspects(report)


def test_sparse_column_from_the_same_post_outcome_source() -> None:
    frame = make_frame()
    y = frame["converted"].to_numpy()
    rng = np.random.default_rng(4)
    # a joined deals table: every converter has a deal, so do some leads that converted too late to count
    late = (y == 0) & (rng.random(len(frame)) < 0.1)
    frame["deal_date"] = np.where((y == 1) | late, "2024-12-01", None)
    # a detail of the deal, filled in for few deals and mostly late ones: too sparse to separate outcomes
    sparse = (late & (rng.random(len(frame)) < 0.3)) | ((y == 1) & (rng.random(len(frame)) < 0.02))
    frame["catalog_size"] = np.where(sparse, rng.integers(1, 400, len(frame)).astype(float), np.nan)
    report = audit_leakage(frame, label="converted")
    assert "deal_date" in suspects(report)
    leak = next(s for s in report.suspects if s.column == "catalog_size")
    assert leak.detectors == ("filled_with_suspect",)
    assert "only where 'deal_date' is filled" in leak.evidence[0]


def test_dates_after_the_scoring_moment() -> None:
    frame = make_frame()
    frame["closed_on"] = frame["created_at"] + pd.to_timedelta(
        np.where(frame["converted"] == 1, 20, -3), unit="D"
    )
    report = audit_leakage(frame, label="converted", time_column="created_at")
    leak = next(s for s in report.suspects if s.column == "closed_on")
    assert "later_than_time_column" in leak.detectors
    assert any("later than the time column 'created_at'" in e for e in leak.evidence)


def test_dictionary_after_outcome_and_keep() -> None:
    frame = make_frame()
    dictionary = Dictionary(
        name="t",
        tables={
            "data": TableSpec(
                name="data",
                fields=(
                    FieldSpec("region", FieldType.CATEGORY, "assigned by sales", known=KnownAt.AFTER_OUTCOME),
                ),
            )
        },
    )
    report = audit_leakage(frame, label="converted", dictionary=dictionary)
    leak = next(s for s in report.suspects if s.column == "region")
    # the description's own words ("assigned") are a second, weaker sign
    assert leak.detectors == ("dictionary_after_outcome", "after_contact_name")
    assert "after_outcome" in leak.evidence[0] and "assigned by sales" in leak.evidence[0]
    kept = audit_leakage(frame, label="converted", dictionary=dictionary, keep=["region"])
    assert kept.kept_columns == ["region"] and kept.excluded_columns == []
    assert "kept by request" in kept.summary_lines()[0]


def test_name_alone_is_not_enough() -> None:
    frame = make_frame()
    frame["marital_status"] = np.random.default_rng(5).choice(["single", "married"], len(frame))
    report = audit_leakage(frame, label="converted")
    assert "marital_status" not in suspects(report)
    assert {w.column for w in report.watched} >= {"marital_status"}


def test_label_must_be_binary() -> None:
    frame = make_frame().assign(converted="yes")
    with pytest.raises(InputError, match="0/1"):
        audit_leakage(frame, label="converted")
    with pytest.raises(InputError, match="not in the table"):
        audit_leakage(make_frame(), label="outcome")


def campaign_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Leads whose outcome is decided during a contact that some columns measure, and a planned date."""
    rng = np.random.default_rng(seed)
    frame = make_frame(n, seed)
    y = frame["converted"].to_numpy()
    # measured during the deciding contact: zero when nothing happened, large when it went well
    happened = (y == 1) | (rng.random(n) < 0.7)
    amount = np.where(happened, rng.gamma(2.0, 40.0, n) * np.where(y == 1, 3.0, 0.6), 0.0)
    frame["amount_collected"] = np.round(amount, 2)
    frame["n_helpers"] = np.round(amount / 25.0 + rng.normal(0, 1.5, n)).clip(0)
    frame["amount_other_currency"] = np.round(amount * 0.85 + rng.normal(0, 8, n), 2)
    # fixed when the lead was made, weeks ahead, on every row; leads with longer lead times convert less
    lead_days = rng.integers(5, 90, n)
    frame["planned_for"] = frame["created_at"] + pd.to_timedelta(lead_days, unit="D")
    return frame


def test_post_contact_measurements_are_suspects_together() -> None:
    frame = campaign_frame()
    report = audit_leakage(frame, label="converted", time_column="created_at")
    found = {s.column: s for s in report.suspects}
    assert {"amount_collected", "n_helpers", "amount_other_currency"} <= set(found)
    amount = found["amount_collected"]
    assert "value_region" in amount.detectors
    assert any("of those are negatives" in e for e in amount.evidence)
    # the honest strong column stays a feature
    assert "minutes_on_site" not in found


def test_planned_date_is_kept_and_an_outcome_date_is_not() -> None:
    frame = campaign_frame()
    report = audit_leakage(frame, label="converted", time_column="created_at")
    assert "planned_for" not in report.excluded_columns
    planned = next(w for w in report.watched if w.column == "planned_for")
    assert planned.detectors == ("planned_date",)
    assert "planned when the row was made" in planned.evidence[0]
    # the same shape of date, filled on every row, but named as the day a status was reached: two families
    frame["status_changed_on"] = frame["planned_for"]
    report = audit_leakage(frame, label="converted", time_column="created_at")
    assert "status_changed_on" in report.excluded_columns


def test_outcome_date_caught_by_its_distance_to_a_date_split_in_parts() -> None:
    rng = np.random.default_rng(7)
    frame = make_frame(3000, 7)
    y = frame["converted"].to_numpy()
    visit = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 300, len(frame)), unit="D")
    frame["visit_year"] = visit.year
    frame["visit_month"] = visit.month_name()
    frame["visit_day_of_month"] = visit.day
    # written when the outcome happens: before the visit when it was called off, after it otherwise
    offset = np.where(y == 1, rng.integers(1, 5, len(frame)), -rng.integers(1, 60, len(frame)))
    frame["closing_day"] = (visit + pd.to_timedelta(offset, unit="D")).strftime("%m/%d/%Y")
    report = audit_leakage(frame.drop(columns=["created_at"]), label="converted")
    leak = next(s for s in report.suspects if s.column == "closing_day")
    assert "date_distance" in leak.detectors
    assert any("visit (year, month, day)" in e for e in leak.evidence)
    assert not {"visit_year", "visit_month", "visit_day_of_month"} & set(report.excluded_columns)


def test_value_changed_after_creation_with_a_telling_name() -> None:
    rng = np.random.default_rng(8)
    frame = make_frame(3000, 8)
    y = frame["converted"].to_numpy()
    asked = rng.choice(list("ABCD"), len(frame))
    changed = (y == 1) & (rng.random(len(frame)) < 0.4)
    frame["plan_requested"] = asked
    frame["plan_assigned"] = np.where(changed, rng.choice(list("ABCD"), len(frame)), asked)
    report = audit_leakage(frame, label="converted")
    leak = next(s for s in report.suspects if s.column == "plan_assigned")
    assert {"changed_value", "after_contact_name"} <= set(leak.detectors)
    # its sibling shows the same change but nothing else: watched, still a feature
    assert "plan_requested" not in report.excluded_columns
    assert "plan_requested" in {w.column for w in report.watched}


def test_the_latest_event_of_a_history_is_a_suspect_and_the_first_is_not() -> None:
    """A column naming the latest event of a record's history (read at export) is caught by its name and
    its event values together; the same values under a name that fixes them at arrival are only watched."""
    frame = make_frame(seed=11)
    rng = np.random.default_rng(11)
    y = frame["converted"].to_numpy()
    worked = ["Quote E-mailed", "Callback dialed", "brochure_downloaded"]
    untouched = ["Invite opened", "Reminder Texted", "web"]
    events = np.where(
        rng.random(len(frame)) < np.where(y == 1, 0.8, 0.2),
        rng.choice(worked, len(frame)),
        rng.choice(untouched, len(frame)),
    )
    frame["mostRecentTouch"] = events
    frame["first_touch"] = rng.choice(worked + untouched, len(frame))
    report = audit_leakage(frame, label="converted", time_column="created_at")
    found = {s.column: s for s in report.suspects}
    assert "mostRecentTouch" in found
    assert {"after_contact_name", "activity_values"} <= set(found["mostRecentTouch"].detectors)
    assert "first_touch" not in found
    assert "activity_values" in {w.column: w for w in report.watched}["first_touch"].detectors
    # honest channel names are not events
    assert "source" not in found and "source" not in {w.column for w in report.watched}
