"""Scoring leads with the session's trained model (trained on one export, scoring another)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from careleads.features import build_features
from careleads.models._lead_model import LeadModel
from careleads.models._training import TrainingResult
from careleads.scoring import DECISION_COLUMNS, score_leads, score_one, score_record
from careleads.stats import ProbabilityCalibrator
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


def test_model_reasons_name_the_value_that_drove_them(
    decisions: pd.DataFrame, small_export: Export, model: LeadModel
) -> None:
    """Finding: model reasons said "+ source" without the source; they name the lead's value, like the rule
    baseline's, and never a sensitive attribute."""
    by_model = decisions[decisions["scored_by"] == "model"]
    reasons = by_model["reasons"].str.split("; ").explode()
    assert reasons.str.match(r"^[+-] [^=]+ = \S").mean() > 0.9, reasons.head(20).tolist()
    leads = small_export.tables.leads.set_index("lead_id")
    ids, texts = by_model["lead_id"].astype(str).tolist(), by_model["reasons"].astype(str).tolist()
    rows = zip(ids, texts, strict=True)
    sources = [(lead_id, text) for lead_id, text in rows if "source = " in text]
    assert sources, "no model reason names the source"
    for lead_id, text in sources[:50]:
        shown = text.split("source = ")[1].split(";")[0]
        assert shown == str(leads.loc[lead_id, "source"]).replace("_", " ")
    counted = reasons[reasons.str.contains("pricing page views = ")]
    assert counted.str.match(r"^[+-] pricing page views = \d+$").all()
    features = set(model.features)
    assert not {"age", "sex", "question", "postal_code"} & features
    for word in ("age =", "sex =", "question =", "postal code ="):
        assert not reasons.str.contains(word, regex=False).any()


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


def test_without_events_a_lead_is_scored_at_arrival(
    model: LeadModel, small_export: Export, decisions: pd.DataFrame
) -> None:
    leads = small_export.tables.leads.iloc[:200]
    cold = score_leads(model, leads)
    assert tuple(cold.columns) == DECISION_COLUMNS
    assert cold["score"].between(0, 100).all()
    assert (pd.to_datetime(cold["as_of"]) == pd.to_datetime(leads["created_at"]).to_numpy()).all()
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


# ------------------------------------------------------------------------- one lead through the same path

N_RECORDS = 300


@pytest.fixture(scope="module")
def cold_model() -> LeadModel:
    from _service_support import trained_day_one_model

    return trained_day_one_model()


@pytest.fixture(scope="module")
def isotonic_model(model: LeadModel, small_export: Export) -> LeadModel:
    """The same trees with an isotonic calibrator (its flat steps put many leads on tier thresholds)."""
    leads = small_export.tables.leads.head(2000)
    raw = score_leads(model, leads, small_export.tables.events)["probability"].to_numpy()
    y = (np.random.default_rng(0).random(len(raw)) < raw).astype(int)
    return dataclasses.replace(model, calibrator=ProbabilityCalibrator(method="isotonic").fit(raw, y))


def _messy(small_export: Export) -> pd.DataFrame:
    """Clean leads with missing values, unseen categories and "do not profile" flags mixed in."""
    leads = small_export.tables.leads.head(N_RECORDS).reset_index(drop=True).copy()
    rng = np.random.default_rng(1)
    for name in ("service_line", "source", "insurance", "region", "distance_km", "consent_marketing"):
        leads.loc[rng.random(len(leads)) < 0.15, name] = None
    leads["campaign"] = leads["campaign"].astype("string")
    leads.loc[rng.random(len(leads)) < 0.2, "campaign"] = "winter_special"  # unseen in training
    leads["do_not_profile"] = leads["do_not_profile"].astype("boolean")
    leads.loc[rng.random(len(leads)) < 0.1, "do_not_profile"] = True
    leads.loc[rng.random(len(leads)) < 0.1, "phone"] = "   "  # blank: no phone given
    return leads


def _records(leads: pd.DataFrame) -> list[dict[str, Any]]:
    def plain(v: Any) -> Any:
        return None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v

    return [{str(k): plain(v) for k, v in row.items()} for row in leads.to_dict("records")]


def _events_by_lead(events: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in events[["lead_id", "occurred_at", "event_type", "page"]].to_dict("records"):
        out.setdefault(str(row["lead_id"]), []).append(row)
    return out


def _same_row(one: dict[str, Any], row: dict[str, Any]) -> None:
    assert set(one) == set(DECISION_COLUMNS)
    for key in DECISION_COLUMNS:
        if key == "as_of":
            assert pd.Timestamp(one[key]) == pd.Timestamp(row[key])
        else:
            assert one[key] == row[key], (key, one[key], row[key])  # exactly: one path, no tolerance


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("moment", ["default", "later"])
def test_one_lead_scores_as_its_row_of_the_table(
    model: LeadModel, isotonic_model: LeadModel, small_export: Export, calibration: str, moment: str
) -> None:
    chosen = model if calibration == "sigmoid" else isotonic_model
    leads = _messy(small_export)
    events = small_export.tables.events
    when = None if moment == "default" else pd.to_datetime(leads["created_at"]).max() + pd.Timedelta(days=3)
    table = score_leads(chosen, leads, events, as_of=when)
    by_lead = _events_by_lead(events)
    for record, row in zip(_records(leads), table.to_dict("records"), strict=True):
        _same_row(score_record(chosen, record, by_lead.get(str(record["lead_id"]), []), as_of=when), row)
    assert (table["scored_by"] == "rules").sum() > 10
    assert table["tier"].nunique() == len(chosen.tiers.names)


@pytest.mark.parametrize("hours", [None, 0.0, 1.0, 5.5, 24.0, 80.0])
def test_a_day_one_model_scores_one_lead_as_its_row_at_any_moment(
    cold_model: LeadModel, small_export: Export, hours: float | None
) -> None:
    leads = _messy(small_export).head(80)
    events = small_export.tables.events
    by_lead = _events_by_lead(events)
    after = None if hours is None else pd.Timedelta(hours=hours)
    table = score_leads(cold_model, leads, None if hours is None else events, after_arrival=after)
    for record, row in zip(_records(leads), table.to_dict("records"), strict=True):
        if hours is None:  # a new lead: at arrival, nothing done
            _same_row(score_record(cold_model, record), row)
        else:
            when = pd.Timestamp(record["created_at"]) + pd.Timedelta(hours=hours)
            mine = by_lead.get(str(record["lead_id"]), [])
            _same_row(score_record(cold_model, record, mine, as_of=when), row)
    assert set(table.loc[table["scored_by"] == "model", "model_version"]) == {cold_model.version}


def test_identifier_keys_pages_and_the_scoring_moment_count_alike_in_both_forms(
    model: LeadModel, small_export: Export
) -> None:
    record = _records(small_export.tables.leads.head(1))[0]
    for name in ("phone", "email", "full_name"):
        record.pop(name, None)  # a record without the key: no presence feature, as a table without the column
    created = pd.Timestamp(record["created_at"])
    events = [
        {
            "occurred_at": created + pd.Timedelta(hours=h),
            "event_type": kind,
            "page": page,
        }
        for h, kind, page in (
            (1, "page_view", "pricing"),
            (2, "page_view", None),
            (3, "call_request", None),
            (model.target.as_of_hours, "form_submit", None),  # at the scoring moment: counts
            (model.target.as_of_hours + 1, "call_request", None),  # after it: does not
        )
    ]
    frame = pd.DataFrame([record]).drop(columns=["phone", "email", "full_name"], errors="ignore")
    for pages in (True, False):
        columns = ["occurred_at", "event_type", *(["page"] if pages else [])]
        table = pd.DataFrame([{c: e[c] for c in columns} for e in events]).assign(lead_id=record["lead_id"])
        _same_row(
            score_record(model, record, events, with_pages=pages),
            score_leads(model, frame, table).iloc[0].to_dict(),
        )


def test_the_rule_baseline_scores_a_new_install_alike_in_both_forms(small_export: Export) -> None:
    from careleads.dictionary import load_dictionary
    from careleads.features import FeatureSpec
    from careleads.scoring import rules_baseline

    baseline = rules_baseline(FeatureSpec.from_table(load_dictionary().table("leads")))
    leads = _messy(small_export).head(60)
    table = score_leads(baseline, leads, small_export.tables.events)
    by_lead = _events_by_lead(small_export.tables.events)
    for record, row in zip(_records(leads), table.to_dict("records"), strict=True):
        _same_row(score_record(baseline, record, by_lead.get(str(record["lead_id"]), [])), row)
    assert set(table["scored_by"]) == {"rules"}
    assert table["model_version"].str.contains("uncalibrated").all()
