"""The models `evaluate_file` compares: changes to the one set of LightGBM settings, ``DEFAULT_PARAMS``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.models import evaluate_file, train_model
from careleads.models._candidates import (
    FAST_RATE_MIN_ROWS,
    LIGHTGBM_CANDIDATES,
    lightgbm_settings,
)
from careleads.models._gbm import DEFAULT_PARAMS, GradientBoostedScorer
from conftest import Export


def test_candidates_change_only_settings_the_defaults_name() -> None:
    for name, changes in LIGHTGBM_CANDIDATES.items():
        # a key outside DEFAULT_PARAMS (an alias such as reg_lambda) would be a second, competing setting
        assert set(changes) <= set(DEFAULT_PARAMS), name
        settings = lightgbm_settings(name, 1000)
        assert settings == {**DEFAULT_PARAMS, **changes}
    fast = lightgbm_settings("lightgbm_small", FAST_RATE_MIN_ROWS)
    assert fast["learning_rate"] == 2 * DEFAULT_PARAMS["learning_rate"]


def test_the_one_booster_class_trains_a_fixed_number_of_rounds_for_a_pipeline() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"f0": rng.normal(size=400), "f1": rng.normal(size=400)})
    y = (x["f0"] + 0.3 * rng.normal(size=400) > 0).astype(int)
    model = GradientBoostedScorer(params=lightgbm_settings("lightgbm_small", len(x)), n_estimators=30).fit(
        x, y
    )
    p = model.predict_proba(x)
    assert p.shape == (400, 2) and np.allclose(p.sum(axis=1), 1.0)
    assert model.n_estimators_ == 30 and model.booster_.current_iteration() == 30
    assert np.corrcoef(p[:, 1], x["f0"])[0, 1] > 0.8
    assert model.settings() == {**DEFAULT_PARAMS, **LIGHTGBM_CANDIDATES["lightgbm_small"], "seed": 0}


def _leads_csv(path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 2000
    visits = rng.gamma(2.0, 3.0, n)
    source = rng.choice(["web", "phone", "referral"], n)
    converted = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 0.25 * visits + (source == "referral"))))
    pd.DataFrame(
        {
            "created_at": pd.date_range("2024-01-01", periods=n, freq="3h").astype(str),
            "visits": visits.round(2),
            "source": source,
            "converted": converted.astype(int),
        }
    ).to_csv(path, index=False)
    return path


def test_changing_default_params_changes_train_model_and_evaluate_file(
    small_export: Export, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = small_export.dataset()
    path = _leads_csv(tmp_path / "leads.csv")

    def figures() -> tuple[list[float], list[float]]:
        tried = train_model(dataset, seed=0).model.card["settings_tried"]
        evaluated = evaluate_file(path, label="converted", time_column="created_at").candidates
        return (
            [row["valid_auc"] for row in tried],
            [c["validation_auc"] for c in evaluated if c["kind"] == "lightgbm"],
        )

    trained, evaluated = figures()
    # a setting neither use case changes: both read it from DEFAULT_PARAMS
    assert "lambda_l2" not in {k for changes in LIGHTGBM_CANDIDATES.values() for k in changes}
    monkeypatch.setitem(DEFAULT_PARAMS, "lambda_l2", 200.0)
    trained_after, evaluated_after = figures()
    assert all(a != b for a, b in zip(trained, trained_after, strict=True)), (trained, trained_after)
    assert all(a != b for a, b in zip(evaluated, evaluated_after, strict=True)), (evaluated, evaluated_after)
