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
