"""Single-lead fast path: the same decision as the batch path, lead for lead."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from _service_support import make_settings, publish, trained_model
from careleads.api.bench import _payloads
from careleads.models import ProbabilityCalibrator
from careleads.models._lead_model import LeadModel
from careleads.scoring import score_leads, score_one
from careleads.scoring_fast import RecordScorer, calibrate_one, record_scorer, score_record
from careleads.service.context import ServiceContext
from careleads.service.leads import PRESENT, create_lead, score_records
from careleads.store import make_engine, make_sessionmaker, session_scope, upgrade
from conftest import Export

N_LEADS = 300
EXACT = ("lead_id", "score", "tier", "action", "reasons", "scored_by", "model_version")


@pytest.fixture(scope="module")
def model() -> LeadModel:
    return trained_model()


@pytest.fixture(scope="module")
def isotonic_model(model: LeadModel, small_export: Export) -> LeadModel:
    """The same trees with an isotonic calibrator (the kind fitted on larger validation sets)."""
    leads = small_export.tables.leads.head(2000)
    scored = score_leads(model, leads, small_export.tables.events)
    rng = np.random.default_rng(0)
    raw = scored["probability"].to_numpy()
    y = (rng.random(len(raw)) < raw).astype(int)
    calibrator = ProbabilityCalibrator(method="isotonic").fit(raw, y)
    return dataclasses.replace(model, calibrator=calibrator)


def _messy(small_export: Export) -> pd.DataFrame:
    """Clean leads with missing values, unseen categories and "do not profile" flags mixed in."""
    leads = small_export.tables.leads.head(N_LEADS).reset_index(drop=True).copy()
    rng = np.random.default_rng(1)
    for name in ("service_line", "source", "insurance", "region", "distance_km", "consent_marketing"):
        leads.loc[rng.random(len(leads)) < 0.15, name] = None
    leads["campaign"] = leads["campaign"].astype("string")
    leads.loc[rng.random(len(leads)) < 0.2, "campaign"] = "winter_special"  # unseen in training
    leads["do_not_profile"] = leads["do_not_profile"].astype("boolean")
    leads.loc[rng.random(len(leads)) < 0.1, "do_not_profile"] = True
    leads.loc[rng.random(len(leads)) < 0.1, "phone"] = None
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


def assert_same(fast: dict[str, Any], batch: dict[str, Any]) -> None:
    assert set(fast) == set(batch)
    assert fast["probability"] == pytest.approx(batch["probability"], abs=1e-9)
    for key in EXACT:
        assert fast[key] == batch[key], (key, fast[key], batch[key])
    assert pd.Timestamp(fast["as_of"]) == pd.Timestamp(batch["as_of"])


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("as_of", [None, "later"])
def test_fast_path_equals_batch_with_events(
    model: LeadModel, isotonic_model: LeadModel, small_export: Export, calibration: str, as_of: str | None
) -> None:
    chosen = model if calibration == "sigmoid" else isotonic_model
    leads = _messy(small_export)
    events = small_export.tables.events
    when = None if as_of is None else pd.to_datetime(leads["created_at"]).max() + pd.Timedelta(days=3)
    batch = score_leads(chosen, leads, events, as_of=when)
    by_lead = _events_by_lead(events)
    scorer = RecordScorer(chosen)
    assert not scorer.batch_only
    n_with_events = 0
    for record, expected in zip(_records(leads), batch.to_dict("records"), strict=True):
        lead_events = by_lead.get(str(record["lead_id"]), [])
        n_with_events += bool(lead_events)
        assert_same(scorer.score(record, lead_events, as_of=when), expected)
    assert n_with_events > N_LEADS // 2
    assert (batch["scored_by"] == "rules").sum() > 10
    assert batch["tier"].nunique() == len(chosen.tiers.names)


def test_cold_start_equals_score_one(model: LeadModel, small_export: Export) -> None:
    for record in _records(_messy(small_export))[:120]:
        assert_same(score_record(model, record), score_one(model, record))


def test_identifier_keys_pages_and_the_scoring_moment_follow_the_batch_path(
    model: LeadModel, small_export: Export
) -> None:
    record = _records(small_export.tables.leads.head(1))[0]
    for name in ("phone", "email", "full_name"):
        record.pop(name, None)
    events = [
        {
            "occurred_at": pd.Timestamp(record["created_at"]) + pd.Timedelta(hours=h),
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
    frame = pd.DataFrame([record])
    for pages in (True, False):
        columns = ["occurred_at", "event_type", *(["page"] if pages else [])]
        table = pd.DataFrame([{c: e[c] for c in columns} for e in events]).assign(lead_id=record["lead_id"])
        expected = score_leads(model, frame, table).iloc[0].to_dict()
        assert_same(record_scorer(model).score(record, events, with_pages=pages), expected)


def test_the_batch_fallback_gives_the_same_result(model: LeadModel, small_export: Export) -> None:
    scorer = RecordScorer(model)
    scorer.batch_only = True  # what a model with text features gets
    by_lead = _events_by_lead(small_export.tables.events)
    for record in _records(_messy(small_export))[:20]:
        lead_events = by_lead.get(str(record["lead_id"]), [])
        assert_same(scorer.score(record, lead_events), record_scorer(model).score(record, lead_events))


def test_a_text_model_scores_through_the_batch_path(model: LeadModel) -> None:
    text_model = dataclasses.replace(model, spec=dataclasses.replace(model.spec, text=True))
    assert RecordScorer(text_model).batch_only
    assert record_scorer(model) is record_scorer(model)
    assert record_scorer(text_model) is not record_scorer(model)


def test_calibrate_one_matches_the_calibrator_at_knots_and_between() -> None:
    rng = np.random.default_rng(3)
    raw = rng.random(6000)
    y = (rng.random(6000) < raw).astype(int)
    for method in ("isotonic", "sigmoid"):
        calibrator = ProbabilityCalibrator(method=method).fit(raw, y)  # type: ignore[arg-type]
        probes = np.concatenate([rng.random(300), [0.0, 1.0, -0.5, 1.5, 1e-9]])
        if method == "isotonic":
            probes = np.concatenate([probes, calibrator.model_.X_thresholds_[:200]])
        expected = calibrator.transform(probes)
        got = np.array([calibrate_one(calibrator, float(p)) for p in probes])
        np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------------------------------ the store path


@pytest.fixture(params=["model", "rules"])
def store_context(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[ServiceContext, sessionmaker[Session]]:
    """A SQLite store with the session model published ("model") or none ("rules": the rule baseline)."""
    settings = make_settings(tmp_path, "sqlite")
    if request.param == "model":
        publish(settings, trained_model())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return ServiceContext.from_settings(settings), make_sessionmaker(engine)


def _store_records(small_export: Export) -> list[dict[str, Any]]:
    """Clean leads as the store keeps them: JSON values, identifiers only as presence."""
    records = []
    for record in _records(_messy(small_export).head(60)):
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key in ("full_name", "email", "phone"):
                if value is not None:
                    out[key] = PRESENT
            elif isinstance(value, pd.Timestamp) and key != "created_at":
                out[key] = value.isoformat()
            else:
                out[key] = value.item() if isinstance(value, np.generic) else value
        out["created_at"] = pd.Timestamp(record["created_at"])
        records.append(out)
    return records


def test_the_store_scorer_gives_the_batch_row_for_one_lead(
    store_context: tuple[ServiceContext, sessionmaker[Session]], small_export: Export
) -> None:
    ctx, _factory = store_context
    by_lead = _events_by_lead(small_export.tables.events)
    for record in _store_records(small_export):
        events = by_lead.get(str(record["lead_id"]), [])
        as_of = pd.Timestamp(record["created_at"]) + pd.Timedelta(hours=30)
        frame = pd.DataFrame(events, columns=["lead_id", "occurred_at", "event_type", "page"])
        expected = (
            ctx.scorer.score(pd.DataFrame([record]), frame, pd.Series([as_of])).scored.iloc[0].to_dict()
        )
        got = ctx.scorer.score_record(record, events, as_of)
        assert got["fallback"] == expected["fallback"]
        assert_same(
            {k: v for k, v in got.items() if k != "fallback"},
            {k: expected[k] for k in got if k != "fallback"},
        )


def test_creating_a_lead_decides_as_stateless_batch_scoring_does(
    store_context: tuple[ServiceContext, sessionmaker[Session]],
) -> None:
    ctx, factory = store_context
    payloads = _payloads(200, seed=5)[:40]
    for i, payload in enumerate(payloads):
        if i % 4 == 0:
            payload["do_not_profile"] = "yes"
    now = datetime(2025, 3, 7, 10, 0)
    expected = score_records(ctx=ctx, records=payloads, now=now)
    for payload, batch in zip(payloads, expected, strict=True):
        with session_scope(factory) as session:
            entry = create_lead(
                session=session, ctx=ctx, lead_in=payload, actor="test", role="integration", now=now
            ).entry
            assert entry.probability == pytest.approx(batch["probability"], abs=1e-9)
            assert (entry.score, entry.tier, entry.scored_by, entry.model_version) == (
                batch["score"],
                batch["tier"],
                batch["scored_by"],
                batch["model_version"],
            )
            assert entry.reasons == [r.strip() for r in batch["reasons"].split(";") if r.strip()]
            assert entry.route["name"] == batch["route"]["name"]
            assert entry.route["action"] == batch["action"]
            assert [o["rule"] for o in entry.overrides] == [o["rule"] for o in batch["overrides"]]
            assert entry.review_required == batch["review_required"]
    assert {d["scored_by"] for d in expected} == ({"rules", "model"} if ctx.scorer.model() else {"rules"})
