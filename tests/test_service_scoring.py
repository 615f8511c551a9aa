"""The service's scorer: a lead scored by the API is scored as the same lead in a table, published model or
rule baseline alike."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

import careleads.privacy._redact as redact_module
from _service_support import LEAD, make_settings, publish, trained_model
from careleads.dictionary import KnownAt, load_dictionary
from careleads.service.context import ServiceContext
from careleads.service.leads import PRESENT, create_lead, score_records
from careleads.store import make_engine, make_sessionmaker, session_scope, upgrade
from careleads.synth import generate
from careleads.text import ClinicalTriageDetector
from conftest import Export


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
    leads = small_export.tables.leads.head(60)
    records = []
    for record in leads.to_dict("records"):
        out: dict[str, Any] = {}
        for key, value in record.items():
            key = str(key)
            if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                value = None
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


def test_the_service_scorer_gives_one_lead_its_row_of_a_table(
    store_context: tuple[ServiceContext, sessionmaker[Session]], small_export: Export
) -> None:
    ctx, _factory = store_context
    events = small_export.tables.events[["lead_id", "occurred_at", "event_type", "page"]]
    by_lead: dict[str, list[dict[str, Any]]] = {}
    for row in events.to_dict("records"):
        by_lead.setdefault(str(row["lead_id"]), []).append(row)
    for record in _store_records(small_export):
        lead_events = by_lead.get(str(record["lead_id"]), [])
        as_of = pd.Timestamp(record["created_at"]) + pd.Timedelta(hours=30)
        frame = pd.DataFrame(lead_events, columns=["lead_id", "occurred_at", "event_type", "page"])
        expected = (
            ctx.scorer.score(pd.DataFrame([record]), frame, pd.Series([as_of])).scored.iloc[0].to_dict()
        )
        got = ctx.scorer.score_record(record, lead_events, as_of)
        assert set(got) == set(expected)
        for key, value in expected.items():
            assert (pd.Timestamp(got[key]) == pd.Timestamp(value)) if key == "as_of" else got[key] == value, (
                key
            )


def _payloads(n: int, seed: int) -> list[dict[str, Any]]:
    """Simulated inbound leads as an integration posts them: fields known at creation, as text."""
    allowed = {f.name for f in load_dictionary().table("leads").fields if f.known is KnownAt.CREATION}
    frame = generate(n, seed=seed, bad_row_rate=0.0).leads
    out = []
    for i, row in enumerate(frame.to_dict("records")):
        lead = {k: v for k, v in row.items() if k in allowed and isinstance(v, str) and v != ""}
        lead["lead_id"] = f"SVC-{seed}-{i}"
        out.append(lead)
    return out


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
            assert entry.probability == batch["probability"]
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


def test_creating_a_lead_triages_and_redacts_each_of_its_texts_once(
    store_context: tuple[ServiceContext, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record's check, the score's text features and the decision's intent all read the message: the
    first reading is remembered for the request, the others are lookups."""
    ctx, factory = store_context
    triaged: Counter[str] = Counter()
    redacted: Counter[str] = Counter()
    detect, redact = ClinicalTriageDetector.detect, redact_module.redact_text

    def counting_detect(self: ClinicalTriageDetector, text: str | None) -> Any:
        triaged[str(text)] += 1
        return detect(self, text)

    def counting_redact(text: str) -> Any:
        redacted[text] += 1
        return redact(text)

    monkeypatch.setattr(ClinicalTriageDetector, "detect", counting_detect)
    monkeypatch.setattr(redact_module, "redact_text", counting_redact)
    lead = {**LEAD, "question": "Sudden chest pain and my left arm feels numb, can someone call me"}
    with session_scope(factory) as session:
        entry = create_lead(session=session, ctx=ctx, lead_in=lead, actor="t", role="integration").entry
    assert entry.review_required  # the message was read, and read as urgent
    assert triaged[lead["question"]] >= 1 and redacted[lead["question"]] >= 1
    assert [text for text, n in triaged.items() if n > 1] == []
    assert [text for text, n in redacted.items() if n > 1] == []


@pytest.mark.parametrize("created_at", ["9999-12-31T10:00:00", "1500-01-01T10:00:00", "2262-06-01T00:00:00"])
def test_a_lead_dated_far_from_now_is_still_scored_and_triaged(tmp_path: Path, created_at: str) -> None:
    """Moments are read in microseconds: a creation time outside pandas' nanosecond range must not stop an
    urgent message from reaching the triage line."""
    settings = make_settings(tmp_path, "sqlite")
    publish(settings, trained_model())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx, factory = ServiceContext.from_settings(settings), make_sessionmaker(engine)
    lead = {
        "lead_id": "FAR-1",
        "created_at": created_at,
        "service_line": "cardiology",
        "question": "Crushing chest pain spreading to my left arm",
        "phone": "555-0100",
    }
    with session_scope(factory) as session:
        entry = create_lead(
            session=session,
            ctx=ctx,
            lead_in=lead,
            actor="t",
            role="integration",
            now=datetime(2025, 3, 7, 10),
        ).entry
    assert entry.route["kind"] == "clinical" and entry.review_required
