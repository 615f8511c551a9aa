"""Calibration: what is learned is a few numbers, applied in one place to any number of scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

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


def test_isotonic_knots_sit_on_scikit_learns_blocks(scores: tuple[np.ndarray, np.ndarray]) -> None:
    raw, y = scores
    calibrator = ProbabilityCalibrator(method="isotonic").fit(raw, y)
    reference = IsotonicRegression(y_min=1e-6, y_max=1 - 1e-6, out_of_bounds="clip").fit(raw, y)
    # one knot per block: its mean raw score, and the block's value
    assert (np.diff(calibrator.x_) > 0).all() and (np.diff(calibrator.y_) > 0).all()
    assert calibrator.x_.size == np.unique(reference.predict(raw)).size
    np.testing.assert_allclose(calibrator.transform(calibrator.x_), reference.predict(calibrator.x_))
    np.testing.assert_array_equal(calibrator.transform(calibrator.x_), calibrator.y_)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_is_strictly_increasing_beyond_the_fitted_range(method: str) -> None:
    rng = np.random.default_rng(7)
    raw = rng.uniform(0.2, 0.6, 8000)
    y = (rng.random(8000) < raw).astype(int)
    calibrator = ProbabilityCalibrator(method=method).fit(raw, y)  # type: ignore[arg-type]
    # scores of a refitted model spread wider than the ones the map was fitted on
    probes = np.sort(rng.uniform(0.001, 0.999, 5000))
    p = calibrator.transform(probes)
    assert (np.diff(p) > 0).all(), "calibration tied or reordered two different scores"
    above = probes > raw.max()
    assert p[above].min() > calibrator.transform(np.array([raw.max()]))[0]
    outcome = (rng.random(probes.size) < probes).astype(int)
    assert roc_auc_score(outcome, p) == roc_auc_score(outcome, probes)


def test_an_older_isotonic_map_without_tails_scores_as_it_was_fitted() -> None:
    older = ProbabilityCalibrator.from_dict(
        {"method": "isotonic", "x": [0.2, 0.4, 0.6], "y": [0.1, 0.3, 0.5]}
    )
    np.testing.assert_allclose(older.transform(np.array([0.0, 0.3, 0.9])), [0.1, 0.2, 0.5])
    assert "tail_slope" not in older.to_dict()


def test_scores_that_do_not_rank_keep_their_order() -> None:
    rng = np.random.default_rng(8)
    raw = rng.random(2000)
    y = (rng.random(2000) < 1 - raw).astype(int)  # the scores rank backwards
    calibrator = ProbabilityCalibrator(method="sigmoid").fit(raw, y)
    assert calibrator.slope_ > 0
    assert (np.diff(calibrator.transform(np.sort(raw))) > 0).all()
    assert abs(calibrator.transform(raw).mean() - y.mean()) < 0.02


def test_sigmoid_is_platt_scaling_on_the_log_odds(scores: tuple[np.ndarray, np.ndarray]) -> None:
    raw, y = scores
    calibrator = ProbabilityCalibrator(method="sigmoid").fit(raw, y)
    reference = LogisticRegression(C=1e6).fit(logit(raw).reshape(-1, 1), y)
    # inside the clip of the fit; beyond it (1e-9, 1 - 1e-9) the map keeps the order of the scores
    probes = np.concatenate([np.random.default_rng(5).random(500), [1e-6, 1 - 1e-6]])
    np.testing.assert_allclose(
        calibrator.transform(probes), reference.predict_proba(logit(probes).reshape(-1, 1))[:, 1], rtol=1e-12
    )
    extremes = calibrator.transform(np.array([1e-12, 1e-9, 1e-6, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12]))
    assert (np.diff(extremes) > 0).all()


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
