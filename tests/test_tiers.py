"""Tiers: thresholds fitted on validation scores, the one place a probability gets its tier."""

from __future__ import annotations

import numpy as np
import pytest

from careleads.errors import ConfigError, NotFittedError
from careleads.stats import TierScheme


def test_a_probability_on_a_threshold_is_in_the_tier_the_threshold_opens() -> None:
    scheme = TierScheme(thresholds_=(0.6, 0.3, 0.1))
    edges = np.asarray(scheme.thresholds_)
    below = np.nextafter(edges, -np.inf)
    assert scheme.assign(edges).tolist() == ["A", "B", "C"]  # threshold i is the lowest score of tier i
    assert scheme.assign(below).tolist() == ["B", "C", "D"]  # a hair below: the next tier
    assert scheme.assign([1.0, 0.0]).tolist() == ["A", "D"]
    assert scheme.index(0.3).tolist() == [1]  # one probability is an array of one


def test_isotonic_plateaus_on_thresholds_land_in_one_tier_each() -> None:
    """Isotonic calibration gives many leads exactly the same probability: fitted thresholds then fall on
    those values, and every lead of a plateau must get the same tier."""
    values = np.repeat([0.05, 0.12, 0.2, 0.35, 0.5], [400, 300, 150, 100, 50])
    scheme = TierScheme().fit(values)
    tiers = scheme.assign(values)
    for value in np.unique(values):
        assert len(set(tiers[values == value])) == 1
    assert scheme.assign([0.5]).tolist() == ["A"]


def test_thresholds_come_from_the_validation_shares() -> None:
    scheme = TierScheme().fit(np.linspace(0, 1, 1001))
    shares = np.bincount(scheme.index(np.linspace(0, 1, 1001)), minlength=4) / 1001
    np.testing.assert_allclose(shares, [0.1, 0.2, 0.3, 0.4], atol=0.002)


def test_a_scheme_round_trips_through_its_dict_and_is_checked() -> None:
    scheme = TierScheme().fit(np.linspace(0, 1, 11))
    again = TierScheme.from_dict(scheme.to_dict())
    probe = np.linspace(0, 1, 101)
    assert again.assign(probe).tolist() == scheme.assign(probe).tolist()
    with pytest.raises(NotFittedError):
        TierScheme().assign([0.5])
    with pytest.raises(ConfigError, match="add up to 1"):
        TierScheme(shares=(0.5, 0.2, 0.2, 0.2))


@pytest.mark.parametrize("tied_share", [0.45, 0.7, 0.95])
def test_tied_scores_leave_no_tier_empty_and_thresholds_strictly_descend(tied_share: float) -> None:
    # a calibrated map that put many validation leads on one value (the lowest, or any other)
    rng = np.random.default_rng(11)
    n = 1000
    p = rng.uniform(0.01, 0.9, n)
    p[: int(tied_share * n)] = 1e-6
    for scores in (p, 1 - p):
        scheme = TierScheme().fit(scores)
        assert scheme.thresholds_ is not None
        assert (np.diff(scheme.thresholds_) < 0).all(), scheme.thresholds_
        held = np.bincount(scheme.index(scores), minlength=len(scheme.names))
        assert (held > 0).all(), held


def test_untied_scores_keep_their_quantile_thresholds() -> None:
    p = np.linspace(0, 1, 101)
    expected = tuple(float(np.quantile(p, 1 - c)) for c in np.cumsum(TierScheme().shares)[:-1])
    assert TierScheme().fit(p).thresholds_ == expected
