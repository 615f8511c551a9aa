from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.errors import InputError
from careleads.stats import (
    calibration_by_tier,
    calibration_summary_lines,
    expected_calibration_error,
    tier_stability,
)

TIER_RATES = {"A": 0.35, "B": 0.15, "C": 0.05}


def _scored_leads(
    *, seed: int, n_per_tier_month: int = 400, observed: dict[str, float] | None = None
) -> pd.DataFrame:
    """Leads over three months whose tier probabilities are TIER_RATES; outcomes follow ``observed``."""
    rng = np.random.default_rng(seed)
    truth = observed or TIER_RATES
    parts = []
    for month in pd.date_range("2024-08-01", periods=3, freq="MS"):
        for tier, p in TIER_RATES.items():
            n = n_per_tier_month
            parts.append(
                pd.DataFrame(
                    {
                        "scored_at": month + pd.to_timedelta(rng.integers(0, 28, size=n), unit="D"),
                        "tier": tier,
                        "probability": np.clip(rng.normal(p, 0.02, size=n), 0.001, 0.999),
                        "converted": (rng.random(n) < truth[tier]).astype(float),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def test_well_calibrated_tiers_are_ok() -> None:
    table = calibration_by_tier(
        _scored_leads(seed=0),
        tier_col="tier",
        prob_col="probability",
        label_col="converted",
        time_col="scored_at",
    )
    assert len(table) == 9
    assert list(table["tier"][:3]) == ["A", "B", "C"]
    assert (table["status"] == "ok").all(), table
    assert ((table["ci_low"] <= table["observed_rate"]) & (table["observed_rate"] <= table["ci_high"])).all()
    assert (table["n"] == 400).all()


def test_miscalibrated_tier_is_act() -> None:
    leads = _scored_leads(seed=1, observed={"A": 0.22, "B": 0.15, "C": 0.05})
    table = calibration_by_tier(leads, tier_col="tier", prob_col="probability", label_col="converted")
    status = dict(zip(table["tier"], table["status"], strict=True))
    assert status == {"A": "act", "B": "ok", "C": "ok"}
    assert table["period"].isna().all()
    lines = calibration_summary_lines(table)
    assert lines[0].startswith("Tier A converted at 2")
    assert "against 35% predicted: act" in lines[0]


def test_censored_and_unmatured_leads_are_excluded_and_counted() -> None:
    leads = _scored_leads(seed=2)
    leads["still_open"] = False
    leads.loc[leads.index[:50], "still_open"] = True
    leads.loc[leads.index[50:60], "converted"] = np.nan
    # Censored rows carry a 1 that must not count.
    leads.loc[leads.index[:50], "converted"] = 1.0
    table = calibration_by_tier(
        leads,
        tier_col="tier",
        prob_col="probability",
        label_col="converted",
        time_col="scored_at",
        censored_col="still_open",
    )
    assert int(table["n_excluded"].sum()) == 60
    assert int(table["n"].sum()) == len(leads) - 60
    first = table.iloc[0]
    kept = leads.iloc[60:400]
    assert first["observed_rate"] == pytest.approx(kept["converted"].mean())


def test_tier_with_only_open_outcomes_is_pending() -> None:
    leads = pd.DataFrame(
        {"tier": ["A", "A", "B"], "probability": [0.3, 0.3, 0.1], "converted": [1.0, 0.0, np.nan]}
    )
    table = calibration_by_tier(leads, tier_col="tier", prob_col="probability", label_col="converted")
    assert list(table["status"]) == ["ok", "pending"]
    assert "no matured outcomes yet" in calibration_summary_lines(table)[1]


def test_bad_inputs_raise_helpful_errors() -> None:
    leads = pd.DataFrame({"tier": ["A"], "score": [35.0], "converted": [1]})
    with pytest.raises(InputError, match="divide a 0-100 score by 100"):
        calibration_by_tier(leads, tier_col="tier", prob_col="score", label_col="converted")
    with pytest.raises(InputError, match="0/1"):
        calibration_by_tier(
            leads.assign(score=0.3, converted="yes please"),
            tier_col="tier",
            prob_col="score",
            label_col="converted",
        )
    with pytest.raises(InputError, match="not found"):
        calibration_by_tier(leads, tier_col="band", prob_col="score", label_col="converted")


def test_tier_stability_ok_when_ordered_and_act_when_inverted() -> None:
    ordered = tier_stability(
        _scored_leads(seed=3), tier_col="tier", label_col="converted", time_col="scored_at"
    )
    assert len(ordered) == 6
    assert (ordered["status"] == "ok").all()
    assert list(ordered["higher_tier"][:2]) == ["A", "B"]

    inverted = _scored_leads(seed=4, observed={"A": 0.10, "B": 0.20, "C": 0.05})
    table = tier_stability(inverted, tier_col="tier", label_col="converted")
    status = dict(zip(table["higher_tier"], table["status"], strict=True))
    assert status == {"A": "act", "B": "ok"}
    assert table.loc[0, "p_value"] < 0.001
    lines = calibration_summary_lines(
        calibration_by_tier(inverted, tier_col="tier", prob_col="probability", label_col="converted"),
        stability=table,
    )
    assert any("Tier A did not convert better than tier B" in line for line in lines)


def test_tier_stability_small_inversion_is_watch_and_custom_order() -> None:
    leads = pd.DataFrame(
        {
            "tier": ["gold"] * 10 + ["silver"] * 10,
            "converted": [1] * 3 + [0] * 7 + [1] * 4 + [0] * 6,
        }
    )
    table = tier_stability(leads, tier_col="tier", label_col="converted", tier_order=["gold", "silver"])
    assert table.loc[0, "status"] == "watch"
    with pytest.raises(InputError, match="tier_order"):
        tier_stability(leads, tier_col="tier", label_col="converted", tier_order=["gold"])


def test_expected_calibration_error() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.6, size=20000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.015
    assert expected_calibration_error(y, np.clip(p + 0.1, 0, 1)) == pytest.approx(0.1, abs=0.015)
    assert expected_calibration_error([0, 0, 1, 1], [0.9, 0.9, 0.1, 0.1], n_bins=2) == pytest.approx(0.9)
    with pytest.raises(InputError):
        expected_calibration_error([0, 1], [0.5])
    with pytest.raises(InputError):
        expected_calibration_error([0, 2], [0.5, 0.5])
