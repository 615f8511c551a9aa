"""The acceptance figures of the model, asserted on the 50,000-lead seed-fixed export (one training run)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from careleads.errors import NotEnoughDataError
from careleads.features import LeadDataset
from careleads.models import TrainingResult, train_model
from conftest import Export

NEVER_FEATURES = (
    "age",
    "sex",
    "lead_status",
    "stage",
    "call_notes",
    "owner",
    "full_name",
    "email",
    "phone",
    "postal_code",
    "question",
    "lead_id",
    "created_at",
)
METRICS = ("n", "positive_rate", "auc", "pr_auc", "brier", "ece", "lift_top_decile", "top_tier_lift")


def test_model_auc_is_within_two_points_of_the_oracle_and_above_the_rules(
    acceptance_training: TrainingResult,
) -> None:
    m = acceptance_training.metrics
    assert m["oracle"]["n"] == m["model"]["n"] == m["rules"]["n"]  # one and the same test window
    assert m["model"]["auc"] >= m["oracle"]["auc"] - 0.02, m
    assert m["model"]["auc"] > m["rules"]["auc"], m
    # the rule baseline ranks, but well below the oracle, as fixed points would on real data
    assert 0.6 < m["rules"]["auc"] < m["oracle"]["auc"] - 0.02


def test_model_is_calibrated_on_the_test_window(acceptance_training: TrainingResult) -> None:
    model = acceptance_training.metrics["model"]
    assert model["ece"] <= 0.02, model
    assert model["brier"] < model["positive_rate"] * (1 - model["positive_rate"])  # beats the base rate


def test_every_comparison_figure_is_reported(acceptance_training: TrainingResult) -> None:
    for scorer in ("model", "rules"):
        assert set(METRICS) <= set(acceptance_training.metrics[scorer])
        assert acceptance_training.metrics[scorer]["top_tier_lift"] > 1.5
    json.dumps(acceptance_training.metrics)
    tiers = acceptance_training.tiers["model"]
    assert [row["tier"] for row in tiers] == ["A", "B", "C", "D"]
    assert sum(row["leads"] for row in tiers) == acceptance_training.metrics["model"]["n"]
    rates = [row["conversion_rate"] for row in tiers]
    assert rates == sorted(rates, reverse=True)  # a better tier converts more


def test_fitted_features_hold_no_post_outcome_or_sensitive_column(
    acceptance_training: TrainingResult,
) -> None:
    model = acceptance_training.model
    card = json.loads(json.dumps(model.card, default=str))
    for features in (model.features, card["features"], list(model.scorer.feature_names_in_)):
        assert len(features) > 20
        leaked = set(features) & set(NEVER_FEATURES)
        assert not leaked, leaked
    assert model.features == card["features"]
    for column in ("age", "sex", "lead_status", "stage", "call_notes", "owner"):
        assert column in card["excluded_fields"]


def test_the_test_window_is_later_than_all_training(
    acceptance_training: TrainingResult, acceptance_dataset: LeadDataset
) -> None:
    split = acceptance_training.split
    as_of = pd.to_datetime(acceptance_dataset.as_of)
    train, test = split.train, split.test
    assert not (train & test).any()
    assert as_of[test].min() > as_of[train].max()
    assert as_of[test].min() >= split.test_start
    assert int(test.sum()) == acceptance_training.metrics["model"]["n"]
    # every train and test row has a label; censored and already-converted leads take no part
    assert acceptance_dataset.y[train | test].notna().all()
    assert not (acceptance_dataset.censored & (train | test)).any()


def test_the_validation_slice_is_the_end_of_training(
    acceptance_training: TrainingResult, acceptance_dataset: LeadDataset
) -> None:
    split = acceptance_training.split
    as_of = pd.to_datetime(acceptance_dataset.as_of)
    fit_part = split.train & ~split.valid
    assert not (split.valid & ~split.train).any()
    assert as_of[split.valid].min() >= as_of[fit_part].max()
    assert as_of[split.valid].min() >= split.valid_start
    assert 0.1 < split.valid.sum() / (split.train.sum() + split.test.sum()) < 0.2


def test_model_card_describes_target_periods_and_metrics(acceptance_training: TrainingResult) -> None:
    card = acceptance_training.model.card
    assert card["target"]["outcome"] == "appointment_scheduled"
    assert card["target"]["window_days"] == 30
    assert card["training_period"]["end"] < card["test_period"]["start"]
    assert card["test_metrics"]["model"]["auc"] == acceptance_training.metrics["model"]["auc"]
    assert card["tiers"]["thresholds"] == sorted(card["tiers"]["thresholds"], reverse=True)
    assert card["version"] == acceptance_training.model.version


def test_too_few_positives_is_not_enough_data(small_export: Export) -> None:
    dataset = small_export.dataset()
    y = dataset.y.copy()
    positives = np.flatnonzero((y == 1).fillna(False).to_numpy())
    y.iloc[positives[10:]] = 0  # keep ten conversions in the whole history
    few = dataclasses.replace(dataset, y=y)
    with pytest.raises(NotEnoughDataError, match="positive") as info:
        train_model(few)
    assert "rule baseline" in str(info.value)
