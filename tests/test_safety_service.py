"""Safety first through the API, SQLite and PostgreSQL: every text that arrives is triaged.

An urgent or possible text on an existing routine lead (chat, SMS, e-mail reply, guided intake, a reviewer's
note) re-routes it: a new ledger entry with the reason, the override, its outbox record, the review task at
the top of the queue, an audit entry; the same message twice changes nothing more. Do not contact blocks
every outreach route, and a possible emergency still reaches a person. The batch command triages the
events file too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from markupsafe import escape
from sqlalchemy import func, select

from _service_support import BACKENDS, LEAD, Service, make_settings, publish, start_service, trained_model
from _web_support import csrf_of
from careleads.dictionary import load_dictionary
from careleads.engines import score_file
from careleads.features import FeatureSpec
from careleads.scoring import rules_baseline
from careleads.store import AuditEntry, Event, OutboxRecord, ReviewTask, ScoreEntry
from careleads.text import default_detector

URGENT = "now I am getting crushing chest pain and feel faint"
POSSIBLE = "my heart is doing something strange"
# a routine lead: no symptom in its question
ROUTINE = {**LEAD, "question": "My knee hurts on the stairs, can I book a visit next month?"}
CHANNELS = ("chat_message", "sms_message", "email_reply", "intake_completed", "feedback")


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _create(service: Service, record: dict[str, Any]) -> dict[str, Any]:
    response = service.client.post("/v1/leads", json=record, headers=service.headers("integration"))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _lead(service: Service, lead_id: int) -> dict[str, Any]:
    response = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _send(service: Service, lead_id: int, channel: str, text: str, n: int = 1) -> Any:
    """A text through `channel`: an event with a message, or a reviewer's note."""
    if channel == "feedback":
        return service.client.post(
            f"/v1/leads/{lead_id}/feedback",
            json={"label": "follow_later", "note": text},
            headers=service.headers("admin"),
        )
    return service.client.post(
        f"/v1/leads/{lead_id}/events",
        json={
            "event_id": f"M{n}",
            "occurred_at": "2025-03-04T12:30:00",
            "event_type": channel,
            "message_text": text,
        },
        headers=service.headers("integration"),
    )


def _counts(service: Service, lead_id: int) -> dict[str, int]:
    with service.sessions() as session:
        return {
            "ledger": session.scalar(select(func.count()).where(ScoreEntry.lead_id == lead_id)) or 0,
            "outbox": session.scalar(select(func.count()).where(OutboxRecord.lead_id == lead_id)) or 0,
            "tasks": session.scalar(select(func.count()).where(ReviewTask.lead_id == lead_id)) or 0,
            "audit": session.scalar(select(func.count()).where(AuditEntry.action == "lead.event")) or 0,
        }


def _audit(service: Service, action: str) -> list[dict[str, Any]]:
    with service.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return [json.loads(r.details) for r in rows]


def _source(service: Service, lead_id: int, channel: str) -> str:
    """How the triage names the text just sent (``event:<id>`` or ``feedback:<id>``)."""
    if channel == "feedback":
        return f"feedback:{_send_ids(service, lead_id)}"
    with service.sessions() as session:
        return f"event:{session.scalar(select(func.max(Event.id)).where(Event.lead_id == lead_id))}"


def _send_ids(service: Service, lead_id: int) -> int:
    from careleads.store import Feedback

    with service.sessions() as session:
        return int(session.scalar(select(func.max(Feedback.id)).where(Feedback.lead_id == lead_id)) or 0)


def _queue_first(service: Service) -> dict[str, Any]:
    queue = service.client.get("/v1/review-queue", headers=service.headers("reviewer")).json()["data"]
    assert queue
    first: dict[str, Any] = queue[0]
    return first


def _no_urgent_review_yet(service: Service, other: int) -> None:
    queue = service.client.get("/v1/review-queue", headers=service.headers("reviewer")).json()["data"]
    assert other in [item["lead_id"] for item in queue]
    with service.sessions() as session:
        assert not session.scalars(select(ReviewTask).where(ReviewTask.urgent.is_(True))).all()


def _other_lead_in_review(service: Service) -> int:
    """A lead already waiting in the review queue (a routine review, not triage)."""
    other = _create(service, {**ROUTINE, "lead_id": "CRM-OTHER", "phone": None, "email": None})
    assert other["decision"]["route"]["name"] == "data_completion"
    return int(other["id"])


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_urgent_text_on_an_existing_routine_lead_reroutes_it_and_writes_the_ledger(
    service: Service, channel: str
) -> None:
    other = _other_lead_in_review(service)
    created = _create(service, ROUTINE)
    lead_id = created["id"]
    assert created["decision"]["route"]["kind"] != "clinical"
    _no_urgent_review_yet(service, other)
    before = _counts(service, lead_id)

    response = _send(service, lead_id, channel, URGENT)
    assert response.status_code == 201, response.text
    body = _lead(service, lead_id)
    decision = body["decision"]
    source = _source(service, lead_id, channel)
    assert decision["route"]["name"] == "clinical_triage" and decision["route"]["kind"] == "clinical"
    assert decision["overrides"][0]["rule"] == "urgent_clinical_symptoms"
    assert decision["route"]["triage"]["level"] == "urgent"
    assert [f["source"] for f in decision["route"]["triage"]["findings"]] == [source]
    assert "urgent triage words" in decision["change_reason"]
    assert decision["route"]["urgent_review"] and decision["review_required"]
    after = _counts(service, lead_id)
    assert after["ledger"] == before["ledger"] + 1  # one new ledger entry ...
    assert after["outbox"] == before["outbox"] + 1  # ... and its write-back record for the CRM
    with service.sessions() as session:
        record = session.scalars(
            select(OutboxRecord).where(OutboxRecord.lead_id == lead_id).order_by(OutboxRecord.id.desc())
        ).first()
        assert record is not None and record.payload["route"] == "clinical_triage"
        assert "urgent symptoms" in record.payload["notes"]
        task = session.scalars(
            select(ReviewTask).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open")
        ).one()
        assert task.urgent and task.queue == "clinical_triage_line"
    first = _queue_first(service)  # before the lead that was waiting already
    assert first["lead_id"] == lead_id and first["route"] == "clinical_triage"
    action = "feedback.create" if channel == "feedback" else "lead.event"
    assert _audit(service, action)[-1]["triage"] == "urgent"

    # the same message again (a repeated event id, or the same note once more) doubles nothing
    again = _send(service, lead_id, channel, URGENT)
    assert again.status_code == (201 if channel == "feedback" else 200), again.text
    repeat = _counts(service, lead_id)
    assert (repeat["ledger"], repeat["outbox"]) == (after["ledger"], after["outbox"])
    with service.sessions() as session:
        open_tasks = session.scalars(
            select(ReviewTask).where(ReviewTask.lead_id == lead_id, ReviewTask.status == "open")
        ).all()
    assert len(open_tasks) == (0 if channel == "feedback" else 1)  # feedback closes the task it answers
    if channel != "feedback":
        assert repeat == after  # not even an event audit entry: the repeat was not recorded
    assert _lead(service, lead_id)["decision"]["route"]["name"] == "clinical_triage"


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_possible_emergency_goes_to_the_top_of_the_queue_with_its_words_marked(
    service: Service, channel: str
) -> None:
    other = _other_lead_in_review(service)
    lead_id = _create(service, ROUTINE)["id"]
    _no_urgent_review_yet(service, other)
    hostile = f"<script>alert(1)</script> Hi, {POSSIBLE} since lunch & I'm scared"
    verdict = default_detector().detect(hostile)  # the shipped detector reads it as a possible emergency
    assert verdict.level == "possible"
    assert _send(service, lead_id, channel, hostile).status_code == 201
    decision = _lead(service, lead_id)["decision"]
    assert decision["route"]["name"] == "triage_review" and decision["route"]["kind"] == "review"
    assert decision["overrides"][0]["rule"] == "possible_emergency"
    assert "read by a human" in decision["overrides"][0]["reason"]
    assert "possible triage words" in decision["change_reason"]
    finding = decision["route"]["triage"]["findings"][0]
    assert finding["level"] == "possible" and finding["spans"]
    first = _queue_first(service)
    assert first["lead_id"] == lead_id and first["route"] == "triage_review"
    with service.sessions() as session:
        task = session.scalars(select(ReviewTask).where(ReviewTask.lead_id == lead_id)).all()[-1]
        assert task.urgent and task.status == "open"

    # the lead page marks the words, every piece escaped
    client = service.client
    login = client.get("/ui/login")
    signed = client.post(
        "/ui/login",
        data={"token": service.tokens["admin"], "csrf_token": csrf_of(login.text)},
        follow_redirects=False,
    )
    assert signed.status_code in (302, 303), signed.text
    page = client.get(f"/ui/leads/{lead_id}")
    assert page.status_code == 200, page.text
    marks = re.findall(r'<mark class="triage-possible"[^>]*>(.*?)</mark>', page.text)
    assert marks == [str(escape(hostile[start:end])) for start, end in verdict.spans]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    assert "Possible emergency" in page.text


@pytest.mark.parametrize(
    ("changes", "route_without"),
    [
        ({}, None),
        ({"consent_marketing": False}, None),
        ({"region": "outside_area"}, "informational_reply"),
        ({"inquiry_type": "billing_existing"}, "patient_services"),
        ({"phone": None, "email": None}, "data_completion"),
    ],
)
def test_do_not_contact_blocks_every_outreach_route_and_safety_still_reaches_a_nurse(
    service: Service, changes: dict[str, Any], route_without: str | None
) -> None:
    plain = _create(service, {**ROUTINE, **changes, "lead_id": "CRM-PLAIN"})
    if route_without is not None:
        assert plain["decision"]["route"]["name"] == route_without
    created = _create(service, {**ROUTINE, **changes, "do_not_contact": "Yes"})
    lead_id, decision = created["id"], created["decision"]
    assert decision["route"]["name"] == "hold_no_outreach"
    assert decision["route"]["channels"] == [] and decision["route"]["nurture_track"] is None
    assert [o["rule"] for o in decision["overrides"]] == ["do_not_contact"] or (
        "do_not_contact" in [o["rule"] for o in decision["overrides"]]
    )
    assert not decision["review_required"]
    assert _lead(service, lead_id)["fields"]["do_not_contact"] is True  # stored
    assert "do_not_contact" in _audit(service, "lead.create")[-1]["overrides"]  # audited
    with service.sessions() as session:
        assert not session.scalars(select(ReviewTask).where(ReviewTask.lead_id == lead_id)).all()
        payload = session.scalars(select(OutboxRecord).where(OutboxRecord.lead_id == lead_id)).one().payload
    assert payload["route"] == "hold_no_outreach" and payload["nurture_track"] is None
    # safety beats do not contact: an urgent SMS reaches the triage line (a clinical call-back, not marketing)
    assert _send(service, lead_id, "sms_message", URGENT).status_code == 201
    decision = _lead(service, lead_id)["decision"]
    assert decision["route"]["name"] == "clinical_triage"
    assert [o["rule"] for o in decision["overrides"]][0] == "urgent_clinical_symptoms"
    assert "do_not_contact" in [o["rule"] for o in decision["overrides"]]
    assert _queue_first(service)["lead_id"] == lead_id


def test_do_not_contact_is_scored_by_the_model_only_if_profiling_is_allowed(service: Service) -> None:
    publish(service.settings, trained_model())
    scored = _create(service, {**ROUTINE, "do_not_contact": True})["decision"]
    assert scored["scored_by"] == "model" and scored["route"]["name"] == "hold_no_outreach"
    unprofiled = _create(
        service, {**ROUTINE, "lead_id": "CRM-2", "do_not_contact": True, "do_not_profile": True}
    )["decision"]
    assert unprofiled["scored_by"] == "rules"  # no model score: the rule baseline, for analytics
    assert unprofiled["route"]["name"] == "hold_no_outreach"


def test_batch_triages_the_events_file(tmp_path: Path) -> None:
    """`careleads score --events`: a lead whose later SMS is urgent is on the triage line in the output."""
    n = 120
    leads = pd.DataFrame(
        {
            "Lead ID": [f"L{i:04d}" for i in range(n)],
            "Created At": "2025-03-01T09:00:00",
            "Service Line": "Ortho",
            "Region": "north",
            "Phone": "555-0100",
            "Marketing Consent": "yes",
            "Question": "Could I book a knee appointment?",
            "Do Not Contact": ["yes" if i % 4 == 0 else "no" for i in range(n)],
        }
    )
    urgent_leads = {"L0003", "L0004", "L0050"}  # L0004 is also on the do-not-contact list
    events = pd.DataFrame(
        [
            {
                "Event ID": f"E{i}",
                "Lead ID": lead,
                "Occurred At": "2025-03-02T10:00:00",
                "Event Type": "SMS",
                "Message": URGENT if lead in urgent_leads else "yes please book me in",
            }
            for i, lead in enumerate(f"L{k:04d}" for k in range(n))
        ]
    )
    leads.to_csv(tmp_path / "leads.csv", index=False)
    events.to_csv(tmp_path / "events.csv", index=False)
    model = rules_baseline(FeatureSpec.from_table(load_dictionary().table("leads")))
    common: dict[str, Any] = {"model": model, "decided_at": "2025-03-03T10:00:00"}
    score_file(
        tmp_path / "leads.csv", out_path=tmp_path / "out.csv", events_path=tmp_path / "events.csv", **common
    )
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False).set_index("lead_id")
    assert set(out.index[out["route_name"] == "clinical_triage"]) == urgent_leads
    assert (out.loc[sorted(urgent_leads), "triage"] == "urgent").all()
    dnc = out.index[[int(i[1:]) % 4 == 0 for i in out.index]]
    held = out.loc[[i for i in dnc if i not in urgent_leads]]
    assert (held["route_name"] == "hold_no_outreach").all() and (held["route_channels"] == "").all()
    # without the events file only the form question is read: no lead reaches the triage line
    score_file(tmp_path / "leads.csv", out_path=tmp_path / "cold.csv", **common)
    cold = pd.read_csv(tmp_path / "cold.csv", keep_default_na=False)
    assert not (cold["route_name"] == "clinical_triage").any()
