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
    assert "the best other column 'minutes_on_site'" in leak.evidence[0]


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
    assert leak.detectors == ("dictionary_after_outcome",)
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
