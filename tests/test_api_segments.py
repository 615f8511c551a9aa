"""Returning and partnership leads through the API: ``POST /v1/score`` with a ``segment``, scored by the
segment's published model (or its rule baseline, which the answer says), decided by the service's routing;
the registry keeps each segment's publications apart."""

from __future__ import annotations

import copy
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from _service_support import BACKENDS, LEAD, Service, make_settings, publish, start_service
from careleads.models import LeadModel, ModelRegistry
from careleads.segments import segment_key, train_segment
from careleads.synth import generate, generate_partnerships

PARTNER: dict[str, Any] = {
    "lead_id": "P-1",
    "created_at": "2025-03-04T09:10:00",
    "lead_type": "Group practice",
    "job_role": "Practice manager",
    "organisation_size": 12,
    "region": "north",
    "partnership_scope": "referral_network",
    "topic_interest": "referral_pathways",
    "source": "Conference",
    "email": "a.chen@example.org",
    "phone": "555-0101",
    "consent_marketing": True,
}
_MODELS: dict[str, LeadModel] = {}


def _segment_model(segment: str) -> LeadModel:
    """A small model of the segment, trained once per test session on simulated data."""
    if segment not in _MODELS:
        folder = Path(tempfile.mkdtemp(prefix=f"careleads-{segment}-"))
        if segment == "partnership":
            generate_partnerships(1500, seed=3).write(folder)
        else:
            generate(14_000, seed=2, months=20, returning_share=0.5).write(folder)
        _MODELS[segment] = train_segment(segment, folder, seed=0).model
    return _MODELS[segment]


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _score(service: Service, body: dict[str, Any]) -> Any:
    return service.client.post("/v1/score", json=body, headers=service.headers("analyst"))


def _returning_lead(lead_id: str, quiet_days: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A patient lead with a first visit, then `quiet_days` of silence, then a burst of renewed activity."""
    lead = {**LEAD, "lead_id": lead_id, "created_at": "2025-01-06T10:00:00"}
    start = pd.Timestamp("2025-01-06T11:00:00")
    back = start + pd.Timedelta(days=quiet_days)
    moments = [start, back, back + pd.Timedelta(hours=2), back + pd.Timedelta(hours=3)]
    kinds = [
        ("page_view", "service"),
        ("page_view", "pricing"),
        ("page_view", "pricing"),
        ("call_request", None),
    ]
    events = [
        {
            "lead_id": lead_id,
            "event_id": f"{lead_id}-E{k}",
            "occurred_at": at.isoformat(),
            "event_type": kind,
            **({"page": page} if page else {}),
        }
        for k, (at, (kind, page)) in enumerate(zip(moments, kinds, strict=True))
    ]
    return lead, events


def test_partnership_leads_are_scored_by_their_rule_baseline_until_a_model_is_published(
    service: Service,
) -> None:
    # lead type x consent x region: every one is read by business development, whatever its consent
    leads = [
        {**PARTNER, "lead_id": f"P{k}", "lead_type": t, "consent_marketing": c, "region": r}
        for k, (t, c, r) in enumerate(
            itertools.product(["Physician", "Clinic", "Hospital"], [True, False, None], ["north", "national"])
        )
    ]
    response = _score(service, {"segment": "partnership", "leads": leads})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [d["lead_id"] for d in data] == [lead["lead_id"] for lead in leads]
    audiences = service.ctx.routing.audiences
    for d in data:
        assert d["segment"] == "partnership" and d["fallback"] is True and d["scored_by"] == "rules"
        assert any("no published partnership model" in n for n in d["notes"])
        assert audiences.audience(d["route"]["queue"]) != "patient", d["route"]
        assert d["route"]["owner"] is None

    model = _segment_model("partnership")
    version = publish(service.settings, model)
    registry = ModelRegistry(service.settings.registry_path())
    assert registry.published_version(segment_key("partnership")) == version
    assert registry.published_version(service.settings.target) is None  # new patient leads: still none
    data = _score(service, {"segment": "partnership", "leads": leads}).json()["data"]
    assert {d["scored_by"] for d in data} <= {"model", "rules"} and data[0]["model_version"] == version
    assert not any(d["fallback"] for d in data)
    patients = _score(service, {"leads": [LEAD]}).json()["data"]
    assert patients[0]["fallback"] is True and patients[0]["segment"] == "inbound"


def test_partnership_fields_are_checked_against_their_own_table(service: Service) -> None:
    # a partnership field the dictionary cannot read is kept, flagged and scored as unknown
    response = _score(
        service, {"segment": "partnership", "leads": [{**PARTNER, "organisation_size": "lots"}]}
    )
    assert response.status_code == 200, response.text
    (d,) = response.json()["data"]
    assert [f["field"] for f in d["flagged_fields"]] == ["organisation_size"]
    # a record that cannot be identified (no readable creation time) is refused, field by field
    response = _score(service, {"segment": "partnership", "leads": [{**PARTNER, "created_at": "nope"}]})
    assert response.status_code == 422 and "created_at" in response.text
    events = [
        {"lead_id": "nobody", "event_id": "E1", "occurred_at": "2025-03-04T10:00", "event_type": "page_view"}
    ]
    response = _score(service, {"segment": "partnership", "leads": [PARTNER], "events": events})
    assert response.status_code == 422 and "a lead in the request" in response.text
    response = _score(service, {"leads": [LEAD], "events": events})
    assert response.status_code == 422 and "returning and partnership segments only" in response.text
    # a segment is never a lead field silently ignored
    for path, body in [
        ("/v1/leads", {**PARTNER, "segment": "partnership"}),
        ("/v1/score", {"leads": [{**PARTNER, "segment": "partnership"}]}),
    ]:
        response = service.client.post(path, json=body, headers=service.headers("admin"))
        assert response.status_code == 422 and "POST /v1/score and its top-level segment" in response.text


def test_returning_leads_are_scored_at_their_return(service: Service) -> None:
    lead, events = _returning_lead("R1", quiet_days=90)
    response = _score(service, {"segment": "returning", "leads": [lead], "events": events})
    assert response.status_code == 200, response.text
    (d,) = response.json()["data"]
    assert d["segment"] == "returning" and d["fallback"] is True and d["quiet_days"] > 60
    assert service.ctx.routing.audiences.audience(d["route"]["queue"]) != "partnership"

    quiet, noisy = _returning_lead("R2", quiet_days=90), _returning_lead("R3", quiet_days=10)
    body = {"segment": "returning", "leads": [quiet[0], noisy[0]], "events": quiet[1] + noisy[1]}
    response = _score(service, body)
    assert response.status_code == 422 and "R3" in response.text and "no return" in response.text
    response = _score(service, {"segment": "returning", "leads": [lead]})
    assert response.status_code == 422 and "returning lead's events" in response.text

    model = _segment_model("returning")
    version = publish(service.settings, model)
    registry = ModelRegistry(service.settings.registry_path())
    assert registry.published_version(segment_key("returning")) == version
    assert registry.published_version(service.settings.target) is None  # never the new-lead model
    (d,) = _score(service, {"segment": "returning", "leads": [lead], "events": events}).json()["data"]
    assert d["fallback"] is False and d["model_version"] == version


def test_the_registry_lists_and_publishes_each_segment_apart(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    versions = {}
    for segment in ("returning", "partnership"):
        model = copy.copy(_segment_model(segment))
        versions[segment] = registry.register(model)
        registry.publish(versions[segment])
    listed = {m.version: m for m in registry.versions()}
    assert listed[versions["returning"]].segment == "returning"
    assert listed[versions["returning"]].target == "returning/appointment_scheduled_30d"
    assert listed[versions["partnership"]].target == "partnership/meeting_booked_30d"
    assert all(m.published for m in listed.values())
    assert registry.published_version("appointment_scheduled_30d") is None


def test_a_stored_lead_that_comes_back_is_scored_as_a_returning_lead(service: Service) -> None:
    headers = service.headers("integration")
    lead = {**LEAD, "lead_id": "CRM-R1", "created_at": "2025-01-06T10:00:00"}
    created = service.client.post("/v1/leads", json=lead, headers=headers)
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]

    def event(k: int, at: str, kind: str, page: str | None = None) -> dict[str, Any]:
        body = {
            "event_id": f"E{k}",
            "occurred_at": at,
            "event_type": kind,
            **({"page": page} if page else {}),
        }
        response = service.client.post(f"/v1/leads/{lead_id}/events", json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        return dict(response.json()["decision"])

    early = event(1, "2025-01-06T11:00:00", "page_view", "service")
    assert not any("returning lead" in n for n in early["route"]["notes"])
    assert early["scored_by"] == "rules" and "appointment" not in early["model_version"]
    back = event(2, "2025-04-10T09:00:00", "call_request")  # 94 quiet days, then a call request
    assert any("returning lead: back after 94 quiet days" in n for n in back["route"]["notes"])
    assert any("returning rule baseline" in n for n in back["route"]["notes"])

    version = publish(service.settings, _segment_model("returning"))
    again = event(3, "2025-04-10T10:00:00", "page_view", "pricing")  # within the return's first day
    assert again["model_version"] == version and again["fallback"] is False
    assert any(f"the returning model {version}" in n for n in again["route"]["notes"])
    # the new-lead scorer is untouched: no published model of new leads
    assert ModelRegistry(service.settings.registry_path()).published_version(service.settings.target) is None
