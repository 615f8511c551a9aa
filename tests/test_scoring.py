"""Scoring leads with the session's trained model (trained on one export, scoring another)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careleads.features import build_features
from careleads.models._lead_model import LeadModel
from careleads.models._training import TrainingResult
from careleads.scoring import DECISION_COLUMNS, score_leads, score_one
from conftest import Export


@pytest.fixture(scope="module")
def model(acceptance_training: TrainingResult) -> LeadModel:
    return acceptance_training.model


@pytest.fixture(scope="module")
def decisions(model: LeadModel, small_export: Export) -> pd.DataFrame:
    return score_leads(model, small_export.tables.leads, small_export.tables.events)


def _no_profile(small_export: Export) -> np.ndarray:
    return small_export.tables.leads["do_not_profile"].fillna(False).to_numpy(dtype=bool)


def test_decisions_have_one_row_per_lead_with_every_column(
    decisions: pd.DataFrame, small_export: Export
) -> None:
    assert tuple(decisions.columns) == DECISION_COLUMNS
    assert decisions["lead_id"].tolist() == small_export.tables.leads["lead_id"].tolist()
    assert decisions.notna().all().all()


def test_scores_run_from_0_to_100_and_follow_the_probability(decisions: pd.DataFrame) -> None:
    score = decisions["score"]
    assert pd.api.types.is_integer_dtype(score)
    assert score.between(0, 100).all()
    assert (score == np.rint(decisions["probability"] * 100)).all()
    assert decisions["probability"].between(0, 1).all()
    assert score.nunique() > 10


def test_tiers_are_valid_and_carry_their_action(decisions: pd.DataFrame, model: LeadModel) -> None:
    assert set(decisions["tier"]) == set(model.tiers.names)
    for tier, action in zip(decisions["tier"], decisions["action"], strict=True):
        assert action == model.tiers.actions[tier]
    # a better tier holds higher probabilities
    lowest = decisions.groupby("tier")["probability"].min()
    names = list(model.tiers.names)
    assert all(lowest[a] >= lowest[b] for a, b in zip(names, names[1:], strict=False))


def test_do_not_profile_leads_are_scored_by_the_rules(
    decisions: pd.DataFrame, model: LeadModel, small_export: Export
) -> None:
    no_profile = _no_profile(small_export)
    assert no_profile.sum() > 10
    assert (decisions.loc[no_profile, "scored_by"] == "rules").all()
    assert (decisions.loc[~no_profile, "scored_by"] == "model").all()
    assert model.fallback is not None
    assert set(decisions.loc[no_profile, "model_version"]) == {model.fallback.table.version}
    assert set(decisions.loc[~no_profile, "model_version"]) == {model.version}
    # their probability is the rule baseline's, not the model's
    leads = small_export.tables.leads.reset_index(drop=True)
    X = build_features(leads, small_export.tables.events, decisions["as_of"], model.spec)
    rules = model.fallback.predict_proba(X.loc[no_profile])[:, 1]
    assert decisions.loc[no_profile, "probability"].to_numpy() == pytest.approx(rules)
    assert not np.allclose(model.predict_proba(X.loc[no_profile]), rules)


def test_reasons_are_signed_and_plain(decisions: pd.DataFrame) -> None:
    reasons = decisions["reasons"]
    assert (reasons != "").mean() > 0.95
    first = reasons.str.split("; ").str[0].dropna()
    assert first.str.match(r"^[+-] ").all()
    by_model = reasons[decisions["scored_by"] == "model"]
    assert by_model.str.contains("pricing page views").any()
    assert not by_model.str.contains("n_page_pricing").any()  # plain words, not column names


def test_the_scoring_moment_defaults_to_a_day_after_creation(
    decisions: pd.DataFrame, small_export: Export
) -> None:
    created = small_export.tables.leads["created_at"]
    assert (pd.to_datetime(decisions["as_of"]) - created == pd.Timedelta(hours=24)).all()


def test_score_one_matches_the_batch_row(
    model: LeadModel, decisions: pd.DataFrame, small_export: Export
) -> None:
    leads = small_export.tables.leads
    events = small_export.tables.events
    no_profile = np.flatnonzero(_no_profile(small_export))
    busiest = events.loc[events["lead_id"].isin(leads["lead_id"]), "lead_id"].value_counts().index[0]
    busy = int(np.flatnonzero(leads["lead_id"] == busiest)[0])
    for i in (0, busy, int(no_profile[0]), len(leads) - 1):
        lead = {str(k): v for k, v in leads.iloc[i].to_dict().items()}
        single = score_one(model, lead, events[events["lead_id"] == lead["lead_id"]])
        row = decisions.iloc[i].to_dict()
        assert single["probability"] == pytest.approx(row["probability"], abs=1e-12)
        for column in ("lead_id", "score", "tier", "action", "reasons", "scored_by", "model_version"):
            assert single[column] == row[column], column
        assert pd.Timestamp(single["as_of"]) == pd.Timestamp(row["as_of"])


def test_cold_start_scores_without_events(
    model: LeadModel, small_export: Export, decisions: pd.DataFrame
) -> None:
    leads = small_export.tables.leads.iloc[:200]
    cold = score_leads(model, leads)
    assert tuple(cold.columns) == DECISION_COLUMNS
    assert cold["score"].between(0, 100).all()
    # without engagement the scores differ from the ones with the first day's activity
    assert not np.allclose(cold["probability"], decisions["probability"].iloc[:200])


def test_a_fixed_scoring_moment_applies_to_every_lead(model: LeadModel, small_export: Export) -> None:
    leads = small_export.tables.leads.iloc[:50]
    when = pd.Timestamp("2030-01-01")
    scored = score_leads(model, leads, small_export.tables.events, as_of=when, n_reasons=0)
    assert (pd.to_datetime(scored["as_of"]) == when).all()
    assert (scored["reasons"] == "").all()


def test_a_saved_model_loads_and_scores_the_same(
    model: LeadModel, decisions: pd.DataFrame, small_export: Export, tmp_path: Path
) -> None:
    folder = model.save(tmp_path / "model")
    assert (folder / "model_card.json").exists()
    loaded = LeadModel.load(folder)
    assert loaded.version == model.version
    assert loaded.features == model.features
    again = score_leads(loaded, small_export.tables.leads, small_export.tables.events)
    pd.testing.assert_frame_equal(again, decisions)


def test_no_leads_give_an_empty_decision_table(
    acceptance_training: TrainingResult, small_export: Export
) -> None:
    empty = small_export.tables.leads.iloc[:0]
    decisions = score_leads(acceptance_training.model, empty, small_export.tables.events)
    assert len(decisions) == 0
    assert list(decisions.columns) == list(DECISION_COLUMNS)


def test_without_reasons_only_the_reasons_change(
    decisions: pd.DataFrame, model: LeadModel, small_export: Export
) -> None:
    bare = score_leads(model, small_export.tables.leads, small_export.tables.events, n_reasons=0)
    assert (bare["reasons"] == "").all()
    assert bare.dtypes.equals(decisions.dtypes)
    pd.testing.assert_frame_equal(bare.drop(columns="reasons"), decisions.drop(columns="reasons"))
