"""Events the dictionary cannot fully read: flagged and kept, or (unidentifiable) refused unless a text of
theirs may describe an emergency, which is then kept and triaged, so a human sees it."""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from careleads.store import Event, Lead

URGENT = "now I am getting crushing chest pain and feel faint"
_IDS = itertools.count(1)
ROUTINE = {**LEAD, "question": "My knee hurts on the stairs, can I book a visit next month?"}


def _unseen_values(seed: int, n: int) -> list[str]:
    """Values no dictionary holds: random words, unicode, padding, digits."""
    rng = random.Random(seed)
    words = ["".join(rng.choices(string.ascii_lowercase + "_", k=rng.randint(4, 14))) for _ in range(n - 3)]
    return [*words, "  WhatsApp Message  ", "mensaje_de_voz_\u00e9\u00f1", "4711"]


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _create(service: Service) -> int:
    record = {**ROUTINE, "lead_id": f"CRM-{next(_IDS)}"}
    response = service.client.post("/v1/leads", json=record, headers=service.headers("integration"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _post(service: Service, lead_id: int, event: dict[str, Any]) -> Any:
    headers = service.headers("integration")
    return service.client.post(f"/v1/leads/{lead_id}/events", json=event, headers=headers)


def _route(service: Service, lead_id: int) -> str:
    body = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin")).json()
    return str(body["decision"]["route"]["name"])


@pytest.mark.parametrize("seed", [0, 1])
def test_an_unknown_event_type_is_kept_flagged_and_its_urgent_text_reroutes_the_lead(
    service: Service, seed: int
) -> None:
    for k, kind in enumerate(_unseen_values(seed, 6)):
        lead_id = _create(service)
        response = _post(
            service,
            lead_id,
            {
                "event_id": f"E{k}",
                "occurred_at": "2025-03-04T12:30:00",
                "event_type": kind,
                "message_text": URGENT,
            },
        )
        assert response.status_code == 201, (kind, response.text)
        flagged = {f["field"]: f for f in response.json()["flagged_fields"]}
        assert "event_type" in flagged and flagged["event_type"]["value"] == kind.strip()
        assert response.json()["decision"]["route"]["name"] == "clinical_triage", kind
        with service.sessions() as session:
            event = session.scalars(select(Event).where(Event.lead_id == lead_id)).one()
            assert event.event_type == kind.strip()[:60]
            lead = session.get(Lead, lead_id)
            assert lead is not None and any("event_type" in key for key in lead.fields["_flagged"])


@pytest.mark.parametrize(
    "broken",
    [
        {"event_type": "chat_message"},  # no id, no time
        {"event_id": "E1", "event_type": "chat_message"},  # no time
        {"event_id": "E1", "occurred_at": "the day after tomorrow", "event_type": "chat_message"},
        {"occurred_at": "2025-03-04T12:30:00"},  # neither id nor type
        {"event_id": "", "occurred_at": "2025-03-04T12:30:00", "event_type": "chat_message"},
    ],
)
def test_an_unreadable_event_with_an_urgent_text_still_reaches_the_triage_line(
    service: Service, broken: dict[str, Any]
) -> None:
    lead_id = _create(service)
    assert _route(service, lead_id) != "clinical_triage"
    quiet = _post(service, lead_id, {**broken, "message_text": "thanks, talk soon"})
    assert quiet.status_code == 422, quiet.text  # nothing alarming: refused with what is wrong
    response = _post(service, lead_id, {**broken, "message_text": URGENT})
    assert response.status_code == 201, response.text
    assert response.json()["decision"]["route"]["name"] == "clinical_triage"
    assert {f["kind"] for f in response.json()["flagged_fields"]} >= {"refused"}
    queue = service.client.get("/v1/review-queue", headers=service.headers("reviewer")).json()["data"]
    assert queue[0]["lead_id"] == lead_id
