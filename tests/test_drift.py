from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.errors import ConfigError, InputError
from careleads.stats import (
    DriftThresholds,
    drift_over_time,
    drift_report,
    population_stability_index,
)


def _leads(n: int, *, seed: int, shift: float = 0.0, app_share: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sources = rng.choice(["web_form", "phone", "referral"], size=n, p=[0.6, 0.3, 0.1]).astype(object)
    if app_share:
        sources[rng.random(n) < app_share] = "telehealth_app"
    return pd.DataFrame(
        {
            "days_since_inquiry": rng.gamma(2.0, 3.0, size=n) + shift,
            "source": sources,
            "score": np.clip(rng.beta(2, 5, size=n) + shift / 20, 0, 1),
            "converted": (rng.random(n) < 0.2).astype(int),
        }
    )


def test_identical_samples_have_zero_psi() -> None:
    values = np.random.default_rng(0).normal(size=2000)
    assert population_stability_index(values, values) == pytest.approx(0.0, abs=1e-12)
    cats = ["a", "b", None, "c"] * 50
    assert population_stability_index(cats, cats) == pytest.approx(0.0, abs=1e-12)


def test_same_distribution_psi_is_small_and_shift_is_large() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=5000)
    same = rng.normal(size=5000)
    assert population_stability_index(ref, same) < 0.02
    assert population_stability_index(ref, same + 1.0) > 0.25


def test_values_beyond_reference_range_land_in_end_buckets() -> None:
    ref = np.arange(100, dtype=float)
    far = np.full(100, 1e6)
    # Everything in the open top bucket: share 1 against 0.1 in the reference, the rest at epsilon.
    psi = population_stability_index(ref, far)
    assert psi > 2.0
    assert np.isfinite(psi)


def test_missing_values_are_their_own_bucket() -> None:
    ref = np.arange(1000, dtype=float)
    cur = ref.copy()
    cur[:300] = np.nan
    assert population_stability_index(ref, cur) > 0.25


def test_categorical_new_category_is_flagged_with_evidence() -> None:
    ref = _leads(3000, seed=2)
    cur = _leads(3000, seed=3, app_share=0.12)
    report = drift_report(ref, cur, columns=["source"])
    (source,) = report.columns
    assert source.kind == "categorical"
    assert source.status == "act"
    assert source.evidence[0].startswith("source=telehealth_app: 0% -> 1")
    assert report.status == "act"
    assert any("telehealth_app" in line for line in report.summary_lines())


def test_report_on_stable_windows_is_ok() -> None:
    report = drift_report(
        _leads(4000, seed=4), _leads(4000, seed=5), score_col="score", label_col="converted"
    )
    assert [c.column for c in report.columns] == ["days_since_inquiry", "source"]
    assert report.status == "ok", report.summary_lines()
    assert report.summary_lines()[0].startswith("Drift ok")


def test_report_flags_shifted_feature_score_and_positive_rate() -> None:
    ref = _leads(4000, seed=6)
    cur = _leads(4000, seed=7, shift=4.0)
    cur["converted"] = (np.random.default_rng(8).random(len(cur)) < 0.3).astype(int)
    report = drift_report(ref, cur, score_col="score", label_col="converted")
    by_name = {c.column: c for c in report.columns}
    assert by_name["days_since_inquiry"].status == "act"
    assert by_name["source"].status == "ok"
    assert report.score is not None and report.score_range is not None
    assert report.score_range.status in {"watch", "act"}
    assert report.positive_rate is not None
    expected_points = (cur["converted"].mean() - ref["converted"].mean()) * 100
    assert report.positive_rate.change_points == pytest.approx(expected_points)
    assert expected_points > 5
    assert report.positive_rate.status == "act"
    data = report.to_dict()
    assert data["status"] == "act"
    assert data["columns"][0]["column"] == "days_since_inquiry"
    frame = report.to_frame()
    assert list(frame["column"]) == ["days_since_inquiry", "source", "score"]


def test_unmatured_labels_are_excluded_and_noted() -> None:
    ref = _leads(500, seed=9)
    cur = _leads(500, seed=10)
    cur["converted"] = np.nan
    report = drift_report(ref, cur, label_col="converted")
    assert report.positive_rate is None
    assert any("no matured outcomes" in note for note in report.notes)


def test_thresholds_are_configurable_and_validated() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({"x": rng.normal(size=3000)})
    cur = pd.DataFrame({"x": rng.normal(loc=0.3, size=3000)})
    default = drift_report(ref, cur).columns[0]
    assert default.status == "ok"
    strict = drift_report(ref, cur, thresholds=DriftThresholds(psi_watch=0.02, psi_act=0.05)).columns[0]
    assert strict.status == "act"
    with pytest.raises(ConfigError):
        DriftThresholds(psi_watch=0.3, psi_act=0.2)


def test_type_mismatch_and_empty_inputs_raise() -> None:
    with pytest.raises(InputError, match="numeric in one window"):
        drift_report(pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": ["a", "b"]}))
    with pytest.raises(InputError, match="empty"):
        population_stability_index([], [1.0])
    with pytest.raises(InputError, match="not found"):
        drift_report(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [1.0]}), columns=["x"])


def test_default_columns_skip_dates_and_one_sided_columns_with_notes() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0], "created_at": pd.date_range("2024-01-01", periods=3), "old": 1})
    cur = pd.DataFrame({"x": [1.0, 2.0, 3.0], "created_at": pd.date_range("2024-06-01", periods=3), "new": 1})
    report = drift_report(ref, cur)
    assert [c.column for c in report.columns] == ["x"]
    assert any("new, old" in n for n in report.notes)
    assert any("created_at" in n for n in report.notes)


def test_drift_over_time_by_month() -> None:
    rng = np.random.default_rng(12)
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    parts = []
    for i, month in enumerate(months):
        n = 800
        parts.append(
            pd.DataFrame(
                {
                    "created_at": month + pd.to_timedelta(rng.integers(0, 27, size=n), unit="D"),
                    "x": rng.normal(loc=0.0 if i < 4 else 1.0, size=n),
                    "source": rng.choice(["a", "b"], size=n),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    by_period = drift_over_time(frame, "created_at", ("2024-01-01", "2024-03-01"))
    assert list(by_period.columns) == ["period", "column", "psi", "status", "n_reference", "n_current"]
    wide = by_period.pivot(index="period", columns="column", values="psi")
    assert list(wide.index) == list(months)
    assert (wide.loc[months[:4], "x"] < 0.1).all()
    assert (wide.loc[months[4:], "x"] > 0.25).all()
    assert (wide["source"] < 0.1).all()
    mask = frame["created_at"] < "2024-03-01"
    same = drift_over_time(frame, "created_at", mask, columns=["x"])
    assert same["psi"].to_numpy() == pytest.approx(wide["x"].to_numpy())


def test_bad_reference_mask_and_text_score_raise() -> None:
    frame = pd.DataFrame({"created_at": pd.date_range("2024-01-01", periods=4), "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InputError, match="boolean mask"):
        drift_over_time(frame, "created_at", [True, False])
    with pytest.raises(InputError, match="share the frame's index"):
        drift_over_time(frame, "created_at", pd.Series([True, True, False, False], index=[9, 8, 7, 6]))
    with pytest.raises(InputError, match="selects no rows"):
        drift_over_time(frame, "created_at", ("2023-01-01", "2023-02-01"))
    ref = pd.DataFrame({"score": ["high", "low"]})
    with pytest.raises(InputError, match="must be numeric"):
        drift_report(ref, ref, score_col="score")
