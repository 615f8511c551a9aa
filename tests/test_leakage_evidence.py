from __future__ import annotations

import numpy as np
import pandas as pd

from careleads.models._leakage_evidence import (
    after_contact_words,
    changed_siblings,
    date_distances,
    dates_from_parts,
    near_copies,
    value_region,
)


def test_after_contact_words_in_names_and_descriptions() -> None:
    assert "'duration'" in after_contact_words("lastCallDuration")
    assert "'followup'" in after_contact_words("follow_up_count")
    assert "dictionary description" in after_contact_words("x7", "amount paid at the first visit")
    # history before the scoring moment is not a post-contact measurement
    assert after_contact_words("previous_payments") == ""
    for honest in ("source", "page_views", "region", "time_on_site", "campaign", "service_line", "visits"):
        assert after_contact_words(honest) == "", honest


def test_value_region_needs_purity_and_contrast() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    y = (rng.random(n) < 0.4).astype(int)
    x = np.where((y == 0) & (rng.random(n) < 0.3), 0.0, rng.gamma(2.0, 5.0, n) + 1)
    assert value_region(x, y).startswith("equals 0 on")
    # a rare outcome: every region is "pure", none is telling
    rare = (rng.random(n) < 0.01).astype(int)
    assert value_region(np.where(rng.random(n) < 0.3, 0.0, 5.0), rare) == ""
    # a zero that converts like everything else is no evidence
    assert value_region(np.where(rng.random(n) < 0.3, 0.0, 5.0), y) == ""


def test_near_copies_names_the_suspect_and_the_correlation() -> None:
    rng = np.random.default_rng(1)
    amount = rng.gamma(2.0, 50.0, 1000)
    numeric = {
        "amount": amount,
        "amount_eur": amount * 0.9 + rng.normal(0, 1, 1000),
        "unrelated": rng.normal(0, 1, 1000),
    }
    found = near_copies(numeric, ["amount"], threshold=0.9, seed=0)
    assert set(found) == {"amount_eur"}
    rho, text = found["amount_eur"]
    assert rho > 0.95 and "'amount'" in text


def test_date_distances_and_dates_from_parts() -> None:
    rng = np.random.default_rng(2)
    n = 800
    y = (rng.random(n) < 0.5).astype(int)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame({"stay_yr": start.year, "stay_mon": start.strftime("%b"), "stay_day": start.day})
    parts = dates_from_parts(frame)
    assert list(parts) == ["stay (year, month, day)"]
    assert (parts["stay (year, month, day)"] == start).all()
    end = start + pd.to_timedelta(np.where(y == 1, 3, -10), unit="D")
    days = {
        "start": ((start - pd.Timestamp(0)).days).to_numpy(dtype=float),
        "end": ((end - pd.Timestamp(0)).days).to_numpy(dtype=float),
    }
    found = date_distances(days, y, threshold=0.95)
    assert set(found) == {"start", "end"}
    assert "its distance from 'start'" in found["end"][0]


def test_changed_siblings_gives_both_columns_evidence() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    y = (rng.random(n) < 0.4).astype(int)
    asked = pd.Series(rng.choice(list("ABC"), n))
    given = asked.where(~((y == 0) & (rng.random(n) < 0.3)), "Z")
    found = changed_siblings(
        {"asked": asked, "given": given, "other": pd.Series(rng.choice(list("AB"), n))}, y
    )
    assert set(found) == {"asked", "given"}
    assert "where they agree" in found["given"]


def test_the_low_end_of_a_strong_honest_signal_is_not_a_region() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    minutes = rng.gamma(2.0, 10.0, n).round(1)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + 0.15 * minutes)))).astype(int)
    # the lowest 5% are nearly all negatives: that is what a strong signal looks like, not a leak
    low = minutes <= np.quantile(minutes, 0.05)
    assert y[low].mean() < 0.1
    assert value_region(minutes, y) == ""
