"""The cold-start model: a lead scored before the model's scoring moment with no engagement yet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from careleads.features import Target
from careleads.models import LeadModel, train_model
from careleads.scoring import score_leads, score_record
from conftest import Export


@pytest.fixture(scope="module")
def model(small_export: Export) -> LeadModel:
    tables = small_export.tables
    end = small_export.data.end
    dataset = tables.dataset(Target(), data_end=end)
    cold = tables.dataset(Target(as_of_hours=0), data_end=end)
    return train_model(dataset, cold_start=cold, seed=0).model


def _one_lead(small_export: Export) -> pd.DataFrame:
    leads = small_export.tables.leads
    return leads.loc[leads["do_not_profile"].fillna(False) == False].head(1)  # noqa: E712


def test_the_cold_start_model_travels_with_the_model(model: LeadModel) -> None:
    assert model.cold_start is not None
    assert model.cold_start.target.as_of_hours == 0
    assert model.card["cold_start"]["version"] == model.cold_start.version
    assert not set(model.cold_start.features) - set(model.features)


def test_a_new_lead_without_engagement_is_scored_by_the_cold_start_model(
    model: LeadModel, small_export: Export
) -> None:
    lead = _one_lead(small_export)
    created = pd.Timestamp(lead["created_at"].iloc[0])
    assert model.cold_start is not None
    at_arrival = score_leads(model, lead, None, as_of=created).iloc[0]
    assert at_arrival["model_version"] == model.cold_start.version
    expected = score_leads(model.cold_start, lead, None, as_of=created).iloc[0]
    assert at_arrival["probability"] == pytest.approx(expected["probability"], abs=1e-12)
    # at the model's own scoring moment the main model scores, whatever the engagement
    later = score_leads(model, lead, None).iloc[0]
    assert later["model_version"] == model.version


def test_engagement_before_the_scoring_moment_hands_over_to_the_main_model(
    model: LeadModel, small_export: Export
) -> None:
    lead = _one_lead(small_export)
    created = pd.Timestamp(lead["created_at"].iloc[0])
    events = pd.DataFrame(
        {
            "lead_id": pd.array([lead["lead_id"].iloc[0]], dtype="string"),
            "occurred_at": [created + pd.Timedelta(hours=1)],
            "event_type": pd.array(["page_view"], dtype="string"),
            "page": pd.array(["pricing"], dtype="string"),
        }
    )
    scored = score_leads(model, lead, events, as_of=created + pd.Timedelta(hours=2)).iloc[0]
    assert scored["model_version"] == model.version


def test_the_fast_path_picks_the_same_model(model: LeadModel, small_export: Export) -> None:
    leads = small_export.tables.leads.head(40)
    for record in leads.to_dict(orient="records"):
        created = pd.Timestamp(record["created_at"])
        fast = score_record(model, record, [], as_of=created)
        batch = score_leads(model, pd.DataFrame([record]), None, as_of=created).iloc[0]
        assert fast["model_version"] == batch["model_version"]
        assert np.isclose(fast["probability"], batch["probability"], atol=1e-9)
        assert fast["tier"] == batch["tier"]
