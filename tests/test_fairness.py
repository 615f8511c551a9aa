from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from careleads.errors import InputError
from careleads.privacy import FairnessThresholds, band_numeric, fairness_report


def make_frame(female_top_share: float, n_per_group: int = 100) -> pd.DataFrame:
    """Two groups of 100; males are in tier A half the time, females ``female_top_share`` of the time."""
    rows = []
    for sex, top_share in (("male", 0.5), ("female", female_top_share)):
        n_top = int(round(top_share * n_per_group))
        for i in range(n_per_group):
            top = i < n_top
            rows.append(
                {
                    "sex": sex,
                    "age": 20 + (i % 60),
                    "score": 80.0 if top else 30.0,
                    "tier": "A" if top else "C",
                    # every 4th lead converts, spread evenly over top and bottom tiers
                    "converted": 1 if i % 4 == 0 else 0,
                }
            )
    return pd.DataFrame(rows)


def report_for(frame: pd.DataFrame, **kwargs: object) -> object:
    return fairness_report(
        frame,
        group_columns=["sex", "age"],
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set={"A", "B"},
        **kwargs,  # type: ignore[arg-type]
    )


def test_rates_and_differences_per_group() -> None:
    report = fairness_report(
        make_frame(0.2),
        group_columns=["sex"],
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set={"A", "B"},
    )
    sex = report.attribute("sex")
    groups = {g.group: g for g in sex.groups}
    assert groups["male"].selection_rate == pytest.approx(0.5)
    assert groups["female"].selection_rate == pytest.approx(0.2)
    assert groups["female"].tier_distribution == {"A": pytest.approx(0.2), "C": pytest.approx(0.8)}
    assert groups["female"].conversion_rate == pytest.approx(0.25)
    assert groups["female"].score_mean == pytest.approx(0.2 * 80 + 0.8 * 30)
    assert groups["female"].score_quantiles["p50"] == pytest.approx(30.0)
    # converters are i = 0, 4, 8, ...: 5 of 25 female converters are in tier A, 13 of 25 male ones
    assert groups["female"].true_positive_rate == pytest.approx(5 / 25)
    assert groups["male"].true_positive_rate == pytest.approx(13 / 25)
    assert sex.parity_difference == pytest.approx(0.3)
    assert sex.equal_opportunity_difference == pytest.approx(8 / 25)
    assert sex.reference_group == "male"  # largest group; ties broken by name
    assert groups["female"].parity_difference == pytest.approx(-0.3)


def test_warnings_only_above_thresholds() -> None:
    unfair = fairness_report(
        make_frame(0.2),
        group_columns=["sex"],
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set={"A"},
    )
    assert any(
        "sex = female are put in the top tiers (A) 30 percentage points less often" in w
        for w in unfair.warnings
    )
    assert any("Among leads that did convert" in w for w in unfair.warnings)
    fair = fairness_report(
        make_frame(0.46),
        group_columns=["sex"],
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set={"A"},
    )
    assert fair.attribute("sex").parity_difference == pytest.approx(0.04)
    assert not [w for w in fair.warnings if "percentage points" in w]
    strict = fairness_report(
        make_frame(0.46),
        group_columns=["sex"],
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set={"A"},
        thresholds={"parity_difference": 0.02},
    )
    assert any("limit is 2 points" in w for w in strict.warnings)


def test_age_is_banded_and_bad_values_kept() -> None:
    frame = make_frame(0.5)
    frame.loc[0, "age"] = 250
    frame.loc[1, "age"] = np.nan
    report = report_for(frame)
    age = report.attribute("age")  # type: ignore[attr-defined]
    labels = {g.group: g.n for g in age.groups}
    assert age.banded
    assert set(labels) == {"18-34", "35-49", "50-64", "65+", "missing", "out_of_range"}
    assert sum(labels.values()) == len(frame)
    assert any("Only 1 lead has age = out_of_range" in w for w in age.warnings)
    assert not any("age = missing" in w for w in age.warnings)


def test_band_numeric_edges() -> None:
    out = band_numeric(pd.Series([0, 17, 18, 34.5, 35, 64, 65, 120, 121, -3, None, "x"]))
    assert out.tolist() == [
        "0-17",
        "0-17",
        "18-34",
        "18-34",
        "35-49",
        "50-64",
        "65+",
        "65+",
        "out_of_range",
        "out_of_range",
        "missing",
        "missing",
    ]
    with pytest.raises(InputError, match="increasing"):
        band_numeric(pd.Series([1]), edges=(10, 5))


def test_small_groups_are_reported_but_not_compared() -> None:
    frame = pd.concat(
        [
            make_frame(0.5),
            pd.DataFrame([{"sex": "other", "age": 40, "score": 10.0, "tier": "C", "converted": 1}] * 3),
        ],
        ignore_index=True,
    )
    report = report_for(frame)
    sex = report.attribute("sex")  # type: ignore[attr-defined]
    other = next(g for g in sex.groups if g.group == "other")
    assert other.n == 3 and not other.compared and other.parity_difference is None
    assert sex.parity_difference == pytest.approx(0.0)
    assert any("Only 3 leads have sex = other" in w for w in sex.warnings)


def test_to_dict_is_json_and_without_nan() -> None:
    frame = make_frame(0.2)
    frame["converted"] = frame["converted"].astype(float)
    frame.loc[frame["sex"] == "female", "converted"] = np.nan  # all censored: no conversion figures
    report = report_for(frame)
    text = json.dumps(report.to_dict(), allow_nan=False)  # type: ignore[attr-defined]
    data = json.loads(text)
    female = next(g for g in data["attributes"][0]["groups"] if g["group"] == "female")
    assert female["conversion_rate"] is None and female["n_labelled"] == 0
    assert data["warnings"] == report.warnings  # type: ignore[attr-defined]


def test_without_labels_only_tiers_and_scores() -> None:
    report = fairness_report(
        make_frame(0.2),
        group_columns=["sex"],
        score_col="score",
        tier_col="tier",
        label_col=None,
        positive_tier_set={"A"},
    )
    sex = report.attribute("sex")
    assert sex.equal_opportunity_difference is None and sex.parity_difference == pytest.approx(0.3)
    assert sex.score_mean_difference == pytest.approx(15.0)
    assert any("mean score" in w for w in sex.warnings)


def test_input_errors_say_what_and_where() -> None:
    frame = make_frame(0.5)
    with pytest.raises(InputError, match="column\\(s\\) income not in the data"):
        fairness_report(
            frame,
            group_columns=["income"],
            score_col="score",
            tier_col="tier",
            label_col=None,
            positive_tier_set={"A"},
        )
    bad = frame.assign(converted=frame["converted"].astype(object))
    bad.loc[5, "converted"] = "maybe"
    with pytest.raises(InputError, match="label column 'converted'.*'maybe' at row 5"):
        report_for(bad)
    with pytest.raises(InputError, match="unknown fairness threshold"):
        report_for(frame, thresholds={"parity": 0.1})
    with pytest.raises(InputError, match="positive_tier_set is empty"):
        fairness_report(
            frame,
            group_columns=["sex"],
            score_col="score",
            tier_col="tier",
            label_col=None,
            positive_tier_set=set(),
        )


def test_thresholds_from_mapping() -> None:
    limits = FairnessThresholds.from_mapping({"min_group_size": 5.0, "parity_difference": 0.2})
    assert limits.min_group_size == 5 and limits.parity_difference == 0.2


def test_true_positive_rate_needs_enough_converters() -> None:
    frame = pd.DataFrame(
        {
            "sex": ["female"] * 200 + ["male"] * 200,
            "score": [50.0] * 400,
            "tier": (["A"] * 5 + ["D"] * 195) + (["A"] * 100 + ["D"] * 100),
            "converted": ([1] * 5 + [0] * 195) + ([1] * 100 + [0] * 100),
        }
    )
    report = fairness_report(
        frame,
        group_columns=["sex"],
        score_col="score",
        tier_col="tier",
        label_col="converted",
        positive_tier_set={"A"},
    )
    groups = {g.group: g for g in report.attribute("sex").groups}
    assert groups["female"].true_positive_rate is None  # 5 converters: too few to measure
    assert groups["male"].true_positive_rate == pytest.approx(1.0)
    assert not any("Among leads that did convert" in w for w in report.warnings)
