"""Calibration: what is learned is a few numbers, applied in one place to any number of scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from careleads.errors import ConfigError
from careleads.stats import ProbabilityCalibrator


def logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)  # Platt scaling reads clipped log-odds
    return np.asarray(np.log(q / (1 - q)))


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    raw = rng.random(6000)
    return raw, (rng.random(6000) < raw).astype(int)


def test_isotonic_steps_are_scikit_learns_and_hold_their_end_values(
    scores: tuple[np.ndarray, np.ndarray],
) -> None:
    raw, y = scores
    calibrator = ProbabilityCalibrator(method="isotonic").fit(raw, y)
    reference = IsotonicRegression(y_min=1e-6, y_max=1 - 1e-6, out_of_bounds="clip").fit(raw, y)
    probes = np.concatenate([np.random.default_rng(4).random(500), reference.X_thresholds_, [-0.5, 1.5]])
    np.testing.assert_array_equal(calibrator.transform(probes), reference.predict(probes))
    # at each step's knots exactly the step's value (tier thresholds sit on these values)
    np.testing.assert_array_equal(calibrator.transform(calibrator.x_), calibrator.y_)
    below, above = calibrator.transform([calibrator.x_[0] - 1, calibrator.x_[-1] + 1])
    assert (below, above) == (calibrator.y_[0], calibrator.y_[-1])


def test_sigmoid_is_platt_scaling_on_the_log_odds(scores: tuple[np.ndarray, np.ndarray]) -> None:
    raw, y = scores
    calibrator = ProbabilityCalibrator(method="sigmoid").fit(raw, y)
    reference = LogisticRegression(C=1e6).fit(logit(raw).reshape(-1, 1), y)
    probes = np.concatenate([np.random.default_rng(5).random(500), [0.0, 1.0, 1e-9]])
    np.testing.assert_allclose(
        calibrator.transform(probes), reference.predict_proba(logit(probes).reshape(-1, 1))[:, 1], rtol=1e-12
    )


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_one_score_is_an_array_of_one(scores: tuple[np.ndarray, np.ndarray], method: str) -> None:
    raw, y = scores
    calibrator = ProbabilityCalibrator(method=method).fit(raw, y)  # type: ignore[arg-type]
    probes = np.random.default_rng(6).random(50)
    alone = np.array([calibrator.transform([p])[0] for p in probes])
    np.testing.assert_array_equal(alone, calibrator.transform(probes))


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_a_calibrator_round_trips_through_its_dict(
    scores: tuple[np.ndarray, np.ndarray], method: str
) -> None:
    raw, y = scores
    calibrator = ProbabilityCalibrator(method=method).fit(raw, y)  # type: ignore[arg-type]
    again = ProbabilityCalibrator.from_dict(calibrator.to_dict())
    np.testing.assert_array_equal(again.transform(raw), calibrator.transform(raw))
    with pytest.raises(ConfigError, match="unknown calibration"):
        ProbabilityCalibrator.from_dict({"method": "beta"})
