"""Ranking and calibration metrics: ties on a cut are shared, so no figure depends on the row order."""

from __future__ import annotations

import numpy as np
import pytest

from careleads.errors import NotEnoughDataError
from careleads.stats import (
    binary_metrics,
    calibration_curve_points,
    cumulative_gains,
    expected_calibration_error,
    lift_at,
)


def plateaus(n: int = 2_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores in a few isotonic-like steps, so every cut falls on a run of tied leads."""
    rng = np.random.default_rng(seed)
    p = rng.choice([0.02, 0.05, 0.11, 0.2, 0.34], size=n, p=[0.3, 0.3, 0.2, 0.12, 0.08])
    y = (rng.random(n) < p).astype(int)
    return y, p


def test_lift_with_a_tie_on_the_cut_shares_the_remaining_places() -> None:
    # 20 leads, top 10% = 2 places. One lead scores 0.9 (converted); four tie on 0.7, one of them converted,
    # for the one place left: a quarter of a conversion. Top rate (1 + 1/4) / 2; base rate 3 / 20.
    y = [1, 0, 1, 0, 0, 0] + [1] + [0] * 13
    p = [0.9, 0.7, 0.7, 0.7, 0.7, 0.1] + [0.1] + [0.05] * 13
    assert lift_at(y, p, top_fraction=0.1) == pytest.approx((1.25 / 2) / (3 / 20))


def test_lift_without_ties_is_the_plain_top_rate() -> None:
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    assert lift_at(y, p, top_fraction=0.2) == pytest.approx((1 / 2) / (3 / 10))
    assert np.isnan(lift_at([0, 0], [0.1, 0.2]))


@pytest.mark.parametrize("seed", range(5))
def test_no_metric_depends_on_the_row_order(seed: int) -> None:
    y, p = plateaus(seed=seed)
    reference = binary_metrics(y, p).to_dict()
    curve = np.ravel(calibration_curve_points(y, p, n_bins=7))
    gains = cumulative_gains(y, p)[1]
    rng = np.random.default_rng(100 + seed)
    for _ in range(5):
        order = rng.permutation(len(y))
        assert binary_metrics(y[order], p[order]).to_dict() == pytest.approx(reference, rel=1e-12)
        for top in (0.01, 0.1, 0.33):
            assert lift_at(y[order], p[order], top_fraction=top) == pytest.approx(
                lift_at(y, p, top_fraction=top), rel=1e-12
            )
        assert np.ravel(calibration_curve_points(y[order], p[order], n_bins=7)) == pytest.approx(
            curve, rel=1e-12
        )
        assert cumulative_gains(y[order], p[order])[1] == pytest.approx(gains, rel=1e-12)


def test_ece_shares_a_tie_cut_by_a_bin_edge() -> None:
    # 4 leads, 2 bins of 2: three tie on 0.5 (two converted), so the edge cuts the tie. Bin 1: 0.1 and one
    # place of the tie (2/3 of a conversion); bin 2: two places of the tie (4/3 of a conversion).
    y = [0, 1, 1, 0]
    p = [0.1, 0.5, 0.5, 0.5]
    gap_low = abs(2 / 3 - 0.6)
    gap_high = abs(4 / 3 - 1.0)
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx((gap_low + gap_high) / 4)
    points = np.ravel(calibration_curve_points(y, p, n_bins=2))
    assert points == pytest.approx([0.3, 1 / 3, 2, 0.5, 2 / 3, 2])


def test_gains_are_straight_across_a_tie() -> None:
    contacted, found = cumulative_gains([1, 0, 0, 1], [0.9, 0.5, 0.5, 0.5])
    assert contacted.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert found == pytest.approx([0.5, 2 / 3, 5 / 6, 1.0])


def test_one_class_has_no_ranking_metrics() -> None:
    with pytest.raises(NotEnoughDataError, match="only one outcome"):
        binary_metrics([1, 1, 1], [0.2, 0.4, 0.6])


def test_chance_ece_is_the_floor_a_calibrated_model_shows() -> None:
    from careleads.stats import chance_ece

    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.8, 600)
    band = chance_ece(p, draws=100)
    # outcomes drawn from the predictions themselves: calibrated, yet the ECE on 600 rows is not small
    y = (rng.random(600) < p).astype(int)
    assert band.mean > 0.03 and band.upper > band.mean
    assert expected_calibration_error(y, p) < band.upper + 0.02
    # many rows bring the floor down
    assert chance_ece(rng.uniform(0.05, 0.8, 20_000), draws=20).mean < band.mean / 3
