from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from careleads.errors import InputError
from careleads.stats import business_outcomes


def _october_leads(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 600
    tier = np.repeat(["A", "B", "C"], n // 3)
    rate = np.select([tier == "A", tier == "B"], [0.31, 0.15], 0.04)
    hours = np.select([tier == "A", tier == "B"], [1.0, 4.0], 24.0) * rng.uniform(0.5, 1.5, n)
    hours[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "created_at": pd.Timestamp("2024-10-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D"),
            "tier": tier,
            "predicted": np.select([tier == "A", tier == "B"], [0.34, 0.15], 0.05),
            "converted": (rng.random(n) < rate).astype(int),
            "hours_to_first_contact": hours,
            "appointments": rng.poisson(0.2, n),
            "reviewed": rng.random(n) < 0.1,
            "override_reason": np.where(rng.random(n) < 0.05, "vip_referrer", None),
            "feedback": rng.choice(
                np.array(["scheduled", "not_a_fit", None], dtype=object), n, p=[0.1, 0.1, 0.8]
            ),
            "sla_breached": (rng.random(n) < 0.07).astype(int),
        }
    )


def test_business_outcomes_full() -> None:
    leads = _october_leads()
    out = business_outcomes(
        leads,
        tier_col="tier",
        converted_col="converted",
        prob_col="predicted",
        hours_to_contact_col="hours_to_first_contact",
        appointments_col="appointments",
        manual_review_col="reviewed",
        override_col="override_reason",
        feedback_col="feedback",
        sla_breach_col="sla_breached",
        time_col="created_at",
    )
    by_tier = out.by_tier.set_index("tier")
    assert list(by_tier.index) == ["A", "B", "C"]
    in_a = leads["tier"] == "A"
    assert by_tier.loc["A", "conversion_rate"] == pytest.approx(leads.loc[in_a, "converted"].mean())
    assert by_tier.loc["A", "median_hours_to_first_contact"] == pytest.approx(
        leads.loc[in_a, "hours_to_first_contact"].median()
    )
    assert (
        by_tier.loc["A", "median_hours_to_first_contact"] < by_tier.loc["C", "median_hours_to_first_contact"]
    )
    assert out.appointments_per_100_leads == pytest.approx(leads["appointments"].mean() * 100)
    assert out.manual_review_rate == pytest.approx(leads["reviewed"].mean())
    assert out.override_rate == pytest.approx(leads["override_reason"].notna().mean())
    assert out.sla_breach_rate == pytest.approx(leads["sla_breached"].mean())
    assert out.feedback_counts == leads["feedback"].value_counts().to_dict()
    assert out.period == "October 2024"
    assert out.notes == ()

    lines = out.summary_lines()
    rate_a = round(leads.loc[in_a, "converted"].mean() * 100)
    assert lines[0].startswith(f"Tier A converted at {rate_a}% in October 2024 against 34% predicted: ")
    assert any(line.startswith("Median time to first contact: tier A") for line in lines)
    assert any(line.startswith("Manual review rate") and "SLA breaches" in line for line in lines)
    json.dumps(out.to_dict())


def test_missing_optional_columns_are_skipped_with_notes() -> None:
    leads = _october_leads().drop(columns=["reviewed", "feedback"])
    out = business_outcomes(
        leads,
        tier_col="tier",
        converted_col="converted",
        manual_review_col="reviewed",
        feedback_col="feedback",
    )
    assert out.manual_review_rate is None
    assert out.feedback_counts == {}
    assert out.notes == (
        "Skipped manual review rate: column 'reviewed' not found.",
        "Skipped feedback labels: column 'feedback' not found.",
    )
    assert "predicted_mean" not in out.by_tier.columns
    assert out.summary_lines()[-1] == "Skipped feedback labels: column 'feedback' not found."


def test_open_outcomes_do_not_count_in_conversion() -> None:
    leads = pd.DataFrame(
        {
            "tier": ["A", "A", "A", "A", "B"],
            "converted": [1, 0, np.nan, 1, np.nan],
            "window_open": [False, False, False, True, False],
        }
    )
    out = business_outcomes(leads, tier_col="tier", converted_col="converted", censored_col="window_open")
    a = out.by_tier.set_index("tier").loc["A"]
    assert (a["n_leads"], a["n_matured"], a["n_converted"]) == (4, 2, 1)
    assert a["conversion_rate"] == pytest.approx(0.5)
    assert out.summary_lines()[0] == "Tier A converted at 50% (2 leads, 2 still open; 95% CI 9% to 91%)."
    assert out.summary_lines()[1] == "Tier B: no matured outcomes yet (1 lead still open)."


def test_required_columns_and_bad_values_raise() -> None:
    leads = pd.DataFrame({"tier": ["A", None], "converted": [1, 0]})
    with pytest.raises(InputError, match="empty in 1 row"):
        business_outcomes(leads, tier_col="tier", converted_col="converted")
    with pytest.raises(InputError, match="not found"):
        business_outcomes(leads, tier_col="tier", converted_col="outcome")
    with pytest.raises(InputError, match="hours"):
        business_outcomes(
            pd.DataFrame({"tier": ["A"], "converted": [1], "h": [-2.0]}),
            tier_col="tier",
            converted_col="converted",
            hours_to_contact_col="h",
        )
