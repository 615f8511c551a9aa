from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from careleads.errors import InputError
from careleads.stats import (
    assign_arms,
    pilot_report,
    required_leads_per_arm,
    shadow_comparison,
)


def _simulated_pilot(
    *, seed: int, n: int, prior_rate: float, scoring_rate: float, with_hours: bool = False
) -> pd.DataFrame:
    """Routing outcomes of a randomised pilot: each lead converts with its arm's rate."""
    rng = np.random.default_rng(seed)
    lead_ids = [f"lead-{seed}-{i}" for i in range(n)]
    arms = assign_arms(lead_ids, seed=seed)
    rate = np.where(arms == "scoring", scoring_rate, prior_rate)
    frame = pd.DataFrame({"lead_id": lead_ids, "arm": arms, "converted": rng.random(n) < rate})
    if with_hours:
        scale = np.where(arms == "scoring", 2.0, 4.0)
        frame["hours_to_contact"] = rng.exponential(scale)
    return frame


def test_assign_arms_is_deterministic_per_lead_and_balanced() -> None:
    ids = [f"L{i}" for i in range(4000)]
    arms = assign_arms(ids, seed=11)
    assert set(arms) == {"scoring", "prior"}
    assert (arms == "scoring").mean() == pytest.approx(0.5, abs=0.03)
    # Same lead, same arm: in another order, in a smaller batch, or with more leads added.
    shuffled = np.random.default_rng(0).permutation(len(ids))
    again = assign_arms([ids[i] for i in shuffled], seed=11)
    assert (again == arms[shuffled]).all()
    assert (assign_arms(ids[:10], seed=11) == arms[:10]).all()
    # A different seed is a different assignment.
    assert (assign_arms(ids, seed=12) != arms).mean() == pytest.approx(0.5, abs=0.05)
    assert (assign_arms(ids, seed=11, treatment_share=0.2) == "scoring").mean() == pytest.approx(
        0.2, abs=0.03
    )
    with pytest.raises(InputError):
        assign_arms(ids, seed=1, treatment_share=1.0)


def test_real_difference_is_detected() -> None:
    frame = _simulated_pilot(seed=2024, n=4000, prior_rate=0.20, scoring_rate=0.26, with_hours=True)
    report = pilot_report(
        frame, arm_col="arm", converted_col="converted", hours_to_contact_col="hours_to_contact"
    )
    assert report.significant
    assert report.test == "two-proportion z-test"
    assert report.p_value < 0.01
    low, high = report.difference_ci_points
    assert 0 < low < report.difference_points < high
    assert low < 6.0 < high
    assert report.decision.startswith("Scoring arm converted ")
    assert "higher than the prior arm (95% CI" in report.decision
    assert report.decision.endswith("significant: extend scoring to the next service line, region or queue.")
    t, c = report.treatment, report.control
    assert t.n + c.n == 4000
    assert t.conversion_ci[0] < t.conversion_rate < t.conversion_ci[1]
    # Time to contact: scoring arm has half the mean wait.
    assert report.hours_significant
    assert t.median_hours_to_contact is not None and c.median_hours_to_contact is not None
    assert t.median_hours_to_contact < c.median_hours_to_contact
    assert t.hours_ci is not None and t.hours_ci[0] < t.median_hours_to_contact < t.hours_ci[1]
    assert any("Median time to first contact" in line for line in report.summary_lines())
    json.dumps(report.to_dict())


def test_worse_scoring_arm_says_stop() -> None:
    frame = _simulated_pilot(seed=7, n=4000, prior_rate=0.25, scoring_rate=0.18)
    report = pilot_report(frame, arm_col="arm", converted_col="converted")
    assert report.significant and report.difference_points < 0
    assert "lower than the prior arm" in report.decision
    assert "stop the pilot" in report.decision


def test_equal_arms_no_difference_with_sample_size_advice() -> None:
    frame = _simulated_pilot(seed=3, n=800, prior_rate=0.2, scoring_rate=0.2)
    report = pilot_report(frame, arm_col="arm", converted_col="converted", min_detectable_points=3.0)
    assert not report.significant
    low, high = report.difference_ci_points
    assert low < 0 < high
    more = report.n_needed_per_arm - min(report.treatment.n, report.control.n)
    assert report.decision.startswith("No significant difference yet")
    assert f"about {more} more leads per arm are needed to detect a 3-point difference" in report.decision


def test_false_positive_rate_is_near_alpha() -> None:
    alpha = 0.05
    n_seeds = 400
    hits = 0
    for seed in range(n_seeds):
        frame = _simulated_pilot(seed=seed, n=600, prior_rate=0.2, scoring_rate=0.2)
        hits += pilot_report(frame, arm_col="arm", converted_col="converted", alpha=alpha).significant
    rate = hits / n_seeds
    assert 0.02 <= rate <= 0.09, rate


def test_small_counts_use_fisher_and_unmatured_are_excluded() -> None:
    frame = pd.DataFrame(
        {
            "arm": ["scoring"] * 12 + ["prior"] * 12,
            "converted": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, np.nan, np.nan] + [0] * 12,
        }
    )
    report = pilot_report(frame, arm_col="arm", converted_col="converted")
    assert report.test == "Fisher exact test"
    assert report.treatment.n == 10 and report.treatment.n_excluded == 2
    # Hypergeometric: 2 converters among 22 leads, both in the arm of 10: C(10,2) / C(22,2) = 45 / 231.
    assert report.p_value == pytest.approx(45 / 231)
    assert any("excluded" in note for note in report.notes)


def test_pilot_input_errors() -> None:
    frame = pd.DataFrame({"arm": ["scoring", "rules"], "converted": [1, 0]})
    with pytest.raises(InputError, match="'rules'"):
        pilot_report(frame, arm_col="arm", converted_col="converted")
    with pytest.raises(InputError, match="no leads with a known outcome"):
        pilot_report(frame.assign(arm="scoring"), arm_col="arm", converted_col="converted")


def test_required_leads_per_arm_matches_textbook_value() -> None:
    # 20% vs 25%, alpha 0.05 two-sided, power 0.8: about 1,094 per arm (Fleiss without continuity correction).
    assert required_leads_per_arm(0.20, 0.05) == 1094
    assert required_leads_per_arm(0.20, 0.03) > required_leads_per_arm(0.20, 0.05)


def _shadow_frame(seed: int, *, informative: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 2000
    propensity = rng.beta(2, 8, size=n)
    converted = rng.random(n) < propensity
    model_score = propensity + rng.normal(0, 0.05, n) if informative else rng.random(n)
    return pd.DataFrame(
        {
            "converted": converted.astype(int),
            "model_rank": pd.Series(-model_score).rank(method="first").to_numpy(),
            "prior_rank": np.arange(1, n + 1),  # first come, first served: arrival order
            "day": np.repeat(np.arange(20), n // 20),
        }
    )


def test_shadow_comparison_model_captures_more_converters() -> None:
    frame = _shadow_frame(5, informative=True)
    result = shadow_comparison(
        frame,
        model_rank_col="model_rank",
        prior_rank_col="prior_rank",
        converted_col="converted",
        capacity=500,
    )
    converters = frame["converted"] == 1
    assert result.n_converters == int(converters.sum())
    assert result.prior_captured == int((converters & (frame["prior_rank"] <= 500)).sum())
    assert result.model_captured == int((converters & (frame["model_rank"] <= 500)).sum())
    assert result.model_share > result.prior_share
    assert result.significant
    assert "move from shadow mode to a live pilot" in result.decision
    assert asdict(result)["capacity"] == 500


def test_shadow_comparison_per_group_and_uninformative_model() -> None:
    frame = _shadow_frame(6, informative=False)
    result = shadow_comparison(
        frame,
        model_rank_col="model_rank",
        prior_rank_col="prior_rank",
        converted_col="converted",
        capacity=25,
        group_col="day",
    )
    assert not result.significant
    assert result.decision.startswith("No significant difference")
    assert "of each group" in result.decision
    # 25 slots in each of 20 days: prior method takes the first 25 arrivals of each day.
    first_of_day = frame.groupby("day")["prior_rank"].rank() <= 25
    assert result.prior_captured == int((first_of_day & (frame["converted"] == 1)).sum())


def test_text_hours_raise() -> None:
    frame = pd.DataFrame({"arm": ["scoring", "prior"], "converted": [1, 0], "hours": ["2h", "3"]})
    with pytest.raises(InputError, match="non-negative hours"):
        pilot_report(frame, arm_col="arm", converted_col="converted", hours_to_contact_col="hours")
