"""The API end to end: one lead walked through create -> events -> re-score -> review -> feedback -> retrain,
with the ledger, route and outbox checked at each step; plus fallback, validation, idempotency, batches."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from _service_support import (
    BACKENDS,
    LEAD,
    Service,
    make_settings,
    publish,
    start_service,
    trained_model,
    training_dataset,
)
from careleads.models import ModelRegistry, train_model
from careleads.service.batches import UploadTooLargeError, create_batch
from careleads.service.feedback import feedback_training_rows
from careleads.store import Lead, OutboxRecord, ScoreEntry


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _outbox(service: Service, lead_id: int) -> list[OutboxRecord]:
    with service.sessions() as session:
        return list(
            session.scalars(
                select(OutboxRecord).where(OutboxRecord.lead_id == lead_id).order_by(OutboxRecord.id)
            )
        )


def _lead(service: Service, lead_id: int, role: str = "admin") -> dict[str, Any]:
    response = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _check_consistent(service: Service, lead_id: int) -> dict[str, Any]:
    """Ledger, current decision and outbox agree: one write-back record per ledger entry, same values."""
    body = _lead(service, lead_id)
    ledger = body["ledger"]
    outbox = _outbox(service, lead_id)
    assert body["decision"] == ledger[-1]
    assert [r.score_id for r in outbox] == [e["score_id"] for e in ledger]
    for record, entry in zip(outbox, ledger, strict=True):
        assert record.payload["score"] == entry["score"]
        assert record.payload["tier"] == entry["tier"]
        assert record.payload["queue"] == entry["route"]["queue"]
        assert record.status == "pending"
    return body


def test_walk_one_lead_from_create_to_retrain(service: Service) -> None:
    model = trained_model()
    version = publish(service.settings, model)
    client = service.client

    # create: scored at once by the published model
    created = client.post("/v1/leads", json=LEAD, headers=service.headers("integration"))
    assert created.status_code == 201, created.text
    decision = created.json()["decision"]
    lead_id = created.json()["id"]
    assert (
        decision["scored_by"] == "model" and decision["model_version"] == version and not decision["fallback"]
    )
    assert 0 <= decision["score"] <= 100 and decision["reasons"]
    assert decision["route"]["queue"] and decision["change_reason"] == "created"
    body = _check_consistent(service, lead_id)
    assert len(body["ledger"]) == 1

    # events: each re-scores; the ledger grows only when score, tier or route changes
    events = [
        ("page_view", {"page": "pricing"}),
        ("page_view", {"page": "pricing"}),
        ("call_request", {}),
        ("intake_started", {}),
        ("intake_completed", {}),
    ]
    changed = 0
    for n, (kind, extra) in enumerate(events, start=1):
        response = client.post(
            f"/v1/leads/{lead_id}/events",
            json={"event_id": f"W{n}", "occurred_at": f"2025-03-04T1{n}:30:00", "event_type": kind, **extra},
            headers=service.headers("integration"),
        )
        assert response.status_code == 201, response.text
        result = response.json()
        changed += result["ledger_changed"]
        body = _check_consistent(service, lead_id)
        assert len(body["ledger"]) == 1 + changed
        assert body["decision"]["route"] == result["decision"]["route"]
    assert changed >= 1
    assert body["ledger"][-1]["score"] > body["ledger"][0]["score"]  # engagement raised the score
    repeat = client.post(
        f"/v1/leads/{lead_id}/events",
        json={"event_id": "W3", "occurred_at": "2025-03-04T13:30:00", "event_type": "call_request"},
        headers=service.headers("integration"),
    )
    assert repeat.status_code == 200 and repeat.json()["event_created"] is False
    assert len(_lead(service, lead_id)["ledger"]) == 1 + changed

    # review: the engaged lead needs a person; the queue shows it with contact details
    assert body["decision"]["review_required"]
    queue = client.get("/v1/review-queue", headers=service.headers("reviewer")).json()
    item = next(i for i in queue["data"] if i["lead_id"] == lead_id)
    assert item["contact"]["email"] == LEAD["email"]
    assert item["queue"] == body["decision"]["route"]["queue"]

    # feedback: the reviewer moves the lead to another queue; ledger and outbox record the change
    # (to a patient queue: a patient lead never goes to business development)
    audiences = service.ctx.routing.audiences
    patient_queues = [q for q in sorted(service.ctx.routing.queues) if audiences.audience(q) == "patient"]
    other = next(q for q in patient_queues if q != item["queue"])
    response = client.post(
        f"/v1/leads/{lead_id}/feedback",
        json={
            "label": "scheduled",
            "note": "booked, spoke to Rosalind at 555-246-8135",
            "route": {"queue": other},
        },
        headers=service.headers("reviewer"),
    )
    assert response.status_code == 201, response.text
    feedback = response.json()
    assert feedback["route_action"] == "changed" and "Rosalind" not in feedback["note"]
    body = _check_consistent(service, lead_id)
    assert len(body["ledger"]) == 2 + changed
    assert body["decision"]["route"]["queue"] == other
    assert body["decision"]["change_reason"].startswith("reviewer")
    queue = client.get("/v1/review-queue", headers=service.headers("reviewer")).json()
    assert lead_id not in [i["lead_id"] for i in queue["data"]]
    # out of the queue, the reviewer who labelled it still reads it (worked_lead_hours), without age and sex
    reread = client.get(f"/v1/leads/{lead_id}", headers=service.headers("reviewer"))
    assert reread.status_code == 200 and "age" not in reread.json()["fields"]

    # retrain: the label joins the training rows; the new model is published through the API
    with service.sessions() as session:
        X_extra, y_extra = feedback_training_rows(session=session)
    assert y_extra.tolist() == [1]
    retrained = train_model(training_dataset(), seed=1, extra_training=(X_extra, y_extra)).model
    assert retrained.card["training_period"]["feedback_rows"] == 1
    new_version = ModelRegistry(service.settings.registry_path()).register(retrained)
    published = client.post(f"/v1/models/{new_version}/publish", headers=service.headers("analyst"))
    assert published.status_code == 200, published.text
    listed = client.get("/v1/models", headers=service.headers("analyst")).json()
    assert listed["published_version"] == new_version
    rescored = client.post(
        f"/v1/leads/{lead_id}/events",
        json={"event_id": "W9", "occurred_at": "2025-03-05T09:00:00", "event_type": "email_open"},
        headers=service.headers("integration"),
    ).json()
    if rescored["ledger_changed"]:
        assert rescored["decision"]["model_version"] == new_version
    _check_consistent(service, lead_id)
    rolled = client.post("/v1/models/rollback", headers=service.headers("analyst"))
    assert rolled.status_code == 200 and rolled.json()["published_version"] == version


def test_without_a_published_model_the_rule_baseline_scores_and_says_so(service: Service) -> None:
    response = service.client.post("/v1/leads", json=LEAD, headers=service.headers("integration"))
    assert response.status_code == 201
    decision = response.json()["decision"]
    assert decision["scored_by"] == "rules" and decision["fallback"] is True
    assert "no published model" in decision["model_version"]


def test_create_is_idempotent_and_validation_is_field_level(service: Service) -> None:
    client, headers = service.client, service.headers("integration")
    first = client.post("/v1/leads", json=LEAD, headers=headers)
    again = client.post("/v1/leads", json=LEAD, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False and again.json()["id"] == first.json()["id"]

    bad = client.post(
        "/v1/leads",
        json={**LEAD, "lead_id": "B1", "created_at": "2025-13-45", "insurance": "gold plan"},
        headers=headers,
    )
    assert bad.status_code == 422
    fields = {tuple(d["loc"]) for d in bad.json()["detail"]}
    # only what places the lead in time refuses it; the unknown insurance value alone would be flagged
    assert fields == {("body", "created_at")}
    missing = client.post("/v1/leads", json={"service_line": "Ortho"}, headers=headers)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "lead_id"]
    nested = client.post("/v1/leads", json={"lead_id": "N1", "phone": {"a": 1}}, headers=headers)
    assert nested.status_code == 422
    unknown = client.post(
        "/v1/leads", json={**LEAD, "lead_id": "U1", "favourite_colour": "teal"}, headers=headers
    )
    assert unknown.status_code == 201 and unknown.json()["ignored_fields"] == ["favourite_colour"]
    with service.sessions() as session:
        stored = session.scalar(select(Lead).where(Lead.external_id == "U1"))
        assert stored is not None and "favourite_colour" not in stored.fields
        # the rejected requests wrote nothing
        assert session.scalar(select(func.count()).select_from(Lead)) == 2


def test_unknown_lead_is_404_and_a_bad_event_writes_nothing(service: Service) -> None:
    client, headers = service.client, service.headers("integration")
    assert client.get("/v1/leads/424242", headers=service.headers("admin")).status_code == 404
    event = {"event_id": "E1", "occurred_at": "2025-03-04T11:00:00", "event_type": "call_request"}
    assert client.post("/v1/leads/424242/events", json=event, headers=headers).status_code == 404
    lead_id = client.post("/v1/leads", json=LEAD, headers=headers).json()["id"]
    no_time = {k: v for k, v in event.items() if k != "occurred_at"}
    bad = client.post(f"/v1/leads/{lead_id}/events", json=no_time, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScoreEntry)) == 1
    # a type the dictionary does not know is kept as written and flagged, not refused
    new_kind = client.post(
        f"/v1/leads/{lead_id}/events", json={**event, "event_type": "teleport"}, headers=headers
    )
    assert new_kind.status_code == 201, new_kind.text
    assert [f["field"] for f in new_kind.json()["flagged_fields"]] == ["event_type"]
    outcome = client.post(
        f"/v1/leads/{lead_id}/outcomes",
        json={"outcome": "appointment_scheduled", "occurred_at": "2025-03-06T09:00:00"},
        headers=headers,
    )
    assert outcome.status_code == 201 and outcome.json()["outcome"] == "appointment_scheduled"


def test_stateless_scoring_stores_nothing(service: Service) -> None:
    leads = [{**LEAD, "lead_id": f"S{i}"} for i in range(3)]
    response = service.client.post("/v1/score", json={"leads": leads}, headers=service.headers("analyst"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [d["lead_id"] for d in data] == ["S0", "S1", "S2"]
    assert all(d["route"]["owner"] is None for d in data)
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 0


def test_batch_file_is_scored_and_downloadable(service: Service) -> None:
    frame = pd.DataFrame(
        [{**LEAD, "lead_id": f"B{i}"} for i in range(4)] + [{**LEAD, "lead_id": "B9", "created_at": "nope"}]
    )
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False)
    headers = service.headers("integration")
    posted = service.client.post(
        "/v1/batches", files={"file": ("leads.csv", buffer.getvalue())}, headers=headers
    )
    assert posted.status_code == 202, posted.text
    job = service.client.get(f"/v1/batches/{posted.json()['id']}", headers=headers).json()
    assert (job["status"], job["n_rows"], job["n_scored"], job["n_quarantined"]) == ("done", 5, 4, 1)
    result = service.client.get(job["result_url"], headers=headers)
    assert result.status_code == 200
    decisions = pd.read_csv(io.StringIO(result.text))
    assert decisions["lead_id"].tolist() == ["B0", "B1", "B2", "B3"]
    assert "Rosalind" not in result.text and "246-8135" not in result.text
    assert service.client.get("/v1/batches/" + "0" * 32, headers=headers).status_code == 404


def test_an_upload_is_saved_in_pieces_and_refused_whole_beyond_the_limit(service: Service) -> None:
    headers = service.headers("integration")
    empty = service.client.post("/v1/batches", files={"file": ("e.csv", b"")}, headers=headers)
    assert (empty.status_code, empty.json()) == (422, {"detail": "the uploaded file is empty"})
    data = b"lead_id,created_at\n" + b"".join(b"L%d,2025-01-01T00:00:00\n" % i for i in range(60_000))
    with service.sessions() as session:
        with pytest.raises(UploadTooLargeError, match="larger than 1 MB"):
            create_batch(
                session=session,
                ctx=service.ctx,
                source_name="big.csv",
                stream=io.BytesIO(data),
                actor="test",
                role="admin",
                max_bytes=1024 * 1024,
            )
        job = create_batch(
            session=session,
            ctx=service.ctx,
            source_name="big.csv",
            stream=io.BytesIO(data),
            actor="test",
            role="admin",
            max_bytes=2 * 1024 * 1024,
        )
    assert len(data) > 1024 * 1024  # more than one piece
    folders = sorted(p.name for p in service.settings.batch_path().iterdir())
    assert folders == [job.id]  # nothing is left of the refused upload
    assert (service.settings.batch_path() / job.id / "input.csv").read_bytes() == data


def test_a_failed_batch_keeps_no_upload_and_names_no_server_path(service: Service) -> None:
    headers = service.headers("integration")
    # no column the dictionary can take as the lead's id: the whole file is refused
    data = b"who,when,email\nx,2025-01-01,rosalind.quackenbush@example.org\n"
    posted = service.client.post("/v1/batches", files={"file": ("bad.csv", data)}, headers=headers)
    assert posted.status_code == 202, posted.text
    job = service.client.get(f"/v1/batches/{posted.json()['id']}", headers=headers).json()
    assert job["status"] == "failed", job
    assert str(service.settings.data_dir) not in str(job["error"])
    folder = service.settings.batch_path() / posted.json()["id"]
    assert not list(folder.glob("input.*"))
    leftovers = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert b"quackenbush" not in leftovers
