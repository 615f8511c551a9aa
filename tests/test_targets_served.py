"""Several targets served together: every published target scores each lead, a cohort model scores the leads
of its service line for its target, the others keep the target's model of every lead; on the API, the lead
page and the write-back."""

from __future__ import annotations

import csv
import dataclasses
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

import careleads.cli
from _service_support import BACKENDS, LEAD, make_settings, publish, trained_model
from _web_support import build_app, sign_in
from careleads.datasets import CrmTables, load_crm_folder
from careleads.features import Cohort, LeadDataset, Target
from careleads.models import CARD_FILE, LeadModel, ModelRegistry, train_model
from careleads.monitoring import gate_and_publish
from careleads.scoring import score_record
from careleads.service._ledger import rescore_lead
from careleads.service._records import identifier_names, lead_record
from careleads.service.context import ServiceContext
from careleads.service.leads import utcnow
from careleads.service.outbox import export_outbox_csv
from careleads.service.targets import current_target_scores
from careleads.settings import MonitorSettings, Settings
from careleads.store import CrmRecord, Lead, OutboxRecord, TargetScoreEntry, session_scope
from careleads.synth import generate
from test_connectors_hubspot import UPDATE, running_hub

PRIMARY, SIXTY, NINETY = (f"appointment_scheduled_{d}d" for d in (30, 60, 90))
COHORT = Cohort("service_line", "primary_care")
_MODELS: dict[str, LeadModel] = {}
_DATA: dict[str, Any] = {}


def _dataset(tables: CrmTables, end: pd.Timestamp, days: int) -> LeadDataset:
    dataset = tables.dataset(Target("appointment_scheduled", days), data_end=end)
    return dataclasses.replace(dataset, as_of=dataset.as_of.astype("datetime64[ns]"))


def _train(tables: CrmTables, end: pd.Timestamp, days: int) -> LeadModel:
    return train_model(_dataset(tables, end, days), seed=0).model


def _models() -> dict[str, LeadModel]:
    """The 30-day model of the other service tests, 60- and 90-day models of every lead, and a 60-day model
    of the primary care leads (trained once per test session)."""
    if not _MODELS:
        folder = Path(tempfile.mkdtemp(prefix="careleads-targets-"))
        data = generate(10000, seed=2)
        data.write(folder)
        tables = load_crm_folder(folder)
        _DATA.update(
            folder=folder,
            cohort_dataset=_dataset(tables.cohort(COHORT), data.end, 60),
            ninety_dataset=_dataset(tables, data.end, 90),
        )
        cohort = train_model(_DATA["cohort_dataset"], seed=0).model
        cohort.card["cohort"] = COHORT.to_dict()
        _MODELS.update(
            {
                PRIMARY: trained_model(),
                SIXTY: _train(tables, data.end, 60),
                NINETY: train_model(_DATA["ninety_dataset"], seed=0).model,
                "cohort": cohort,
            }
        )
    return _MODELS


@dataclasses.dataclass
class App:
    client: TestClient
    ctx: ServiceContext
    sessions: sessionmaker[Session]
    settings: Settings
    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    settings = make_settings(tmp_path, request.param)
    for model in _models().values():
        publish(settings, model)
    built, tokens = build_app(settings)
    with TestClient(built) as client:
        yield App(client, built.state.ctx, built.state.sessions, settings, tokens)


def _create(app: App, n: int, service_line: str) -> int:
    lead = {**LEAD, "lead_id": f"CRM-T{n}", "email": f"t{n}@example.org", "service_line": service_line}
    response = app.client.post("/v1/leads", json=lead, headers=app.headers("integration"))
    assert response.status_code == 201, response.text
    lead_id: int = response.json()["id"]
    created = {s["target"]: s for s in response.json()["scores"]}
    assert list(created) == [PRIMARY, SIXTY, NINETY]  # the creation answers with every target's score
    assert created[PRIMARY]["score"] == response.json()["decision"]["score"]
    return lead_id


def _expected(app: App, lead_id: int, model: LeadModel) -> dict[str, Any]:
    """What `model` gives the stored lead at its arrival, scored directly."""
    with app.sessions() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        record = lead_record(app.ctx, lead, identifier_names(lead))
        return score_record(model, record, [], as_of=pd.Timestamp(lead.created_at), with_pages=True)


def _scores(app: App, lead_id: int) -> dict[str, dict[str, Any]]:
    response = app.client.get(f"/v1/leads/{lead_id}", headers=app.headers("admin"))
    assert response.status_code == 200, response.text
    return {s["target"]: s for s in response.json()["scores"]}


def test_a_lead_carries_every_target_and_its_cohort_model_scores_its_target(app: App) -> None:
    models = _models()
    inside, outside = _create(app, 1, "primary_care"), _create(app, 2, "orthopedics")
    scores = _scores(app, inside)
    assert list(scores) == [PRIMARY, SIXTY, NINETY]
    assert [s["primary"] for s in scores.values()] == [True, False, False]
    # the cohort model scores its target for the lead of its service line; the other targets are global
    assert scores[SIXTY]["model_version"] == models["cohort"].version
    assert scores[SIXTY]["cohort"] == "service_line=primary_care"
    assert scores[NINETY]["model_version"] == models[NINETY].version and scores[NINETY]["cohort"] is None
    assert scores[PRIMARY]["model_version"] == models[PRIMARY].version
    for target, model in ((SIXTY, models["cohort"]), (NINETY, models[NINETY])):
        expected = _expected(app, inside, model)
        assert scores[target]["score"] == expected["score"]
        assert scores[target]["probability"] == pytest.approx(expected["probability"])
        assert scores[target]["tier"] == expected["tier"]
        assert scores[target]["reasons"] and "; ".join(scores[target]["reasons"]) == expected["reasons"]
    # a lead of another service line falls back to the target's model of every lead
    fallback = _scores(app, outside)
    assert fallback[SIXTY]["model_version"] == models[SIXTY].version and fallback[SIXTY]["cohort"] is None
    assert fallback[SIXTY]["score"] == _expected(app, outside, models[SIXTY])["score"]
    # the analytics layer tells the cohort model's rows apart, beside the routing target's own outputs
    app.ctx.analytics.flush()
    rows = app.ctx.analytics.read()
    assert len(rows) == 2 and set(rows["model_version"]) == {models[PRIMARY].version}
    sixty = rows[[f"model_version_{SIXTY}", f"cohort_{SIXTY}", f"score_{SIXTY}"]]
    assert set(sixty.itertuples(index=False, name=None)) == {
        (models["cohort"].version, "service_line=primary_care", scores[SIXTY]["score"]),
        (models[SIXTY].version, "", fallback[SIXTY]["score"]),
    }
    # the primary target still routes: its score is the ledger's
    body = app.client.get(f"/v1/leads/{inside}", headers=app.headers("admin")).json()
    assert body["decision"]["score"] == scores[PRIMARY]["score"]
    assert body["decision"]["model_version"] == models[PRIMARY].version


def test_the_lead_page_shows_every_target_with_the_model_and_reasons(app: App) -> None:
    models = _models()
    inside = _create(app, 3, "primary_care")
    scores = _scores(app, inside)
    sign_in(app.client, app.tokens["admin"])
    html = app.client.get(f"/ui/leads/{inside}").text
    assert "Scores by target" in html
    for target in (PRIMARY, SIXTY, NINETY):
        assert target.replace("_", " ") in html
        assert f'<td class="num">{scores[target]["score"]}</td>' in html
    assert models["cohort"].version in html and "cohort service_line=primary_care" in html
    assert models[NINETY].version in html
    twin = app.client.get(f"/ui/leads/{inside}.json").json()
    assert [s["target"] for s in twin["lead"]["scores"]] == [PRIMARY, SIXTY, NINETY]


def test_the_write_back_carries_one_score_per_other_target(app: App, tmp_path: Path) -> None:
    inside, outside = _create(app, 4, "primary_care"), _create(app, 5, "orthopedics")
    shown = {lead_id: _scores(app, lead_id) for lead_id in (inside, outside)}
    with app.sessions() as session:
        for lead_id, scores in shown.items():
            records = session.scalars(select(OutboxRecord).where(OutboxRecord.lead_id == lead_id)).all()
            assert len(records) == 1
            payload = records[0].payload
            assert payload["score"] == scores[PRIMARY]["score"]
            assert payload[f"score_{SIXTY}"] == scores[SIXTY]["score"]
            assert payload[f"score_{NINETY}"] == scores[NINETY]["score"]
            assert f"score_{PRIMARY}" not in payload
        assert export_outbox_csv(session=session, out=tmp_path / "out.csv") == 2
    with (tmp_path / "out.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {f"score_{SIXTY}", f"score_{NINETY}"} <= set(rows[0])
    assert rows[0][f"score_{SIXTY}"] == str(shown[inside][SIXTY]["score"])


def test_events_rescore_the_other_targets_and_store_only_changes(app: App) -> None:
    inside = _create(app, 6, "primary_care")
    for n, kind in enumerate(("intake_started", "intake_completed", "call_request"), start=1):
        event = {"event_id": f"E{n}", "occurred_at": f"2025-03-04T1{n}:30:00", "event_type": kind}
        response = app.client.post(
            f"/v1/leads/{inside}/events", json=event, headers=app.headers("integration")
        )
        assert response.status_code == 201, response.text
    with app.sessions() as session:
        rows = session.scalars(
            select(TargetScoreEntry).where(TargetScoreEntry.lead_id == inside).order_by(TargetScoreEntry.id)
        ).all()
        payloads = [
            r.payload
            for r in session.scalars(
                select(OutboxRecord).where(OutboxRecord.lead_id == inside).order_by(OutboxRecord.id)
            )
        ]
    by_target: dict[str, list[TargetScoreEntry]] = {}
    for row in rows:
        by_target.setdefault(row.target, []).append(row)
    assert set(by_target) == {SIXTY, NINETY}
    assert any(len(entries) > 1 for entries in by_target.values())  # the events moved a score
    for entries in by_target.values():
        assert entries[0].change_reason == "created"
        for before, after in zip(entries, entries[1:], strict=False):  # a row only when it changed
            assert (before.score, before.tier) != (after.score, after.tier)
            assert after.change_reason.startswith("event")
    current = _scores(app, inside)
    for target, entries in by_target.items():
        assert current[target]["score"] == entries[-1].score
        assert payloads[-1][f"score_{target}"] == entries[-1].score  # the CRM gets the latest


def test_served_targets_limits_the_other_targets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite", served_targets=(NINETY,))
    for model in _models().values():
        publish(settings, model)
    ctx = ServiceContext.from_settings(settings)
    assert ctx.targets.targets() == [NINETY]
    assert ModelRegistry(settings.registry_path()).published_keys() == sorted(
        [PRIMARY, SIXTY, NINETY, f"{SIXTY}@service_line=primary_care"]
    )


def test_hubspot_write_back_creates_and_fills_a_property_per_other_target(tmp_path: Path) -> None:
    with running_hub(tmp_path, "sqlite") as hub:
        models = _models()
        for model in models.values():
            publish(hub.settings, model)
        hub.add_contacts(6)
        hub.pull()
        report = hub.write()
        assert report.n_written == 6
        names = [f"careleads_score_{t}" for t in (SIXTY, NINETY)]
        assert set(names) <= set(hub.state.properties) and report.properties_created
        assert f"careleads_score_{PRIMARY}" not in hub.state.properties  # the routing one is careleads_score
        sent = [item for _m, path, body in hub.state.requests if path == UPDATE for item in body["inputs"]]
        with hub.sessions() as session:
            links = {r.record_id: r.lead_id for r in session.scalars(select(CrmRecord))}
            for item in sent:
                current = {
                    s.target: s for s in current_target_scores(session=session, lead_id=links[item["id"]])
                }
                assert item["properties"][names[0]] == str(current[SIXTY].score)
                assert item["properties"][names[1]] == str(current[NINETY].score)
        # a new 90-day model changes that score alone: the ledger keeps its entry, the contact is written
        retrained = train_model(_DATA["ninety_dataset"], seed=1).model
        publish(hub.settings, retrained)
        lead_id = next(iter(links.values()))
        with session_scope(hub.sessions) as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            _entry, changed = rescore_lead(
                session=session, ctx=hub.ctx, lead=lead, reason="model", now=utcnow()
            )
            assert not changed
        again = hub.write()
        assert (again.n_pending, again.n_written) == (1, 1)
        last = [item for _m, path, body in hub.state.requests if path == UPDATE for item in body["inputs"]][
            -1
        ]
        with hub.sessions() as session:
            current = {s.target: s for s in current_target_scores(session=session, lead_id=lead_id)}
        assert current[NINETY].model_version == retrained.version
        assert last["properties"][names[1]] == str(current[NINETY].score)
        assert hub.write().n_pending == 0


def test_a_cohort_candidate_is_gated_against_the_model_it_would_replace(tmp_path: Path) -> None:
    models = _models()
    registry = ModelRegistry(tmp_path / "registry")
    for model in (models[PRIMARY], models[SIXTY]):
        registry.register(model)
        registry.publish(model.version, actor="test")
    dataset: LeadDataset = _DATA["cohort_dataset"]
    recent = dataset.usable & (
        pd.to_datetime(dataset.as_of) >= pd.Timestamp(dataset.as_of.max()) - pd.Timedelta(days=240)
    )
    X, y = dataset.X[recent], dataset.y[recent].astype(int).to_numpy()
    # no cohort model yet: the candidate must do as well as the target's model of every lead on its leads
    result = gate_and_publish(registry, models["cohort"], X, y, settings=MonitorSettings(gate_max_ece=0.5))
    assert result.previous_version == models[SIXTY].version and result.previous_metrics is not None
    key = f"{SIXTY}@service_line=primary_care"
    assert registry.published_version(key) == (models["cohort"].version if result.published else None)
    assert registry.published_version(SIXTY) == models[SIXTY].version  # the other leads keep it


def test_train_with_a_cohort_writes_a_cohort_model(tmp_path: Path) -> None:
    _models()
    cli = careleads.cli.app
    if not cli.registered_commands and not cli.registered_groups:
        careleads.cli._register()
    out = tmp_path / "models"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            str(_DATA["folder"]),
            "--target",
            "appointment_scheduled:60",
            "--cohort",
            "service_line=primary_care",
            "--day-one-hours",
            "0",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    registry = ModelRegistry(out)
    (entry,) = registry.versions()
    assert (
        entry.target == f"{SIXTY}@service_line=primary_care" and entry.cohort == "service_line=primary_care"
    )
    wrong = CliRunner().invoke(
        cli, ["train", str(_DATA["folder"]), "--cohort", "service line", "--out", str(out)]
    )
    assert wrong.exit_code != 0 and "FIELD=VALUE" in wrong.output


def test_a_broken_model_of_another_target_never_keeps_an_urgent_lead_from_review(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    # the 90-day model's folder is damaged after publication: it cannot be read when a lead comes
    folder = app.settings.registry_path() / _models()[NINETY].version
    for path in folder.iterdir():
        if path.is_file() and path.name != CARD_FILE:
            path.unlink()
    lead = {
        **LEAD,
        "lead_id": "CRM-T9",
        "email": "t9@example.org",
        "service_line": "primary_care",
        "question": "now I am getting crushing chest pain and feel faint",
    }
    response = app.client.post("/v1/leads", json=lead, headers=app.headers("integration"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["decision"]["review_required"] and body["decision"]["route"]["urgent_review"]
    assert [s["target"] for s in body["scores"]] == [PRIMARY, SIXTY]  # the broken target is left out
    assert f"target {NINETY} not scored" in caplog.text and "t9@example.org" not in caplog.text
