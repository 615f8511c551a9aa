"""The reviewer's work loop through the API: undo a label, a follow-up note, the next lead of the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from _service_support import BACKENDS, Service, make_settings, start_service
from _web_support import lead_record
from careleads.service.worklist import next_in_queue, recently_worked
from careleads.store import ReviewTask


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, request.param))


def _lead(service: Service, n: int, question: str = "Knee pain on stairs") -> int:
    body = service.client.post(
        "/v1/leads", json=lead_record(n, question=question), headers=service.headers("integration")
    ).json()
    lead_id: int = body["id"]
    return lead_id


def test_undo_and_follow_up_notes_through_the_api(service: Service) -> None:
    lead_id = _lead(service, 1)
    reviewer = service.headers("reviewer")
    labelled = service.client.post(
        f"/v1/leads/{lead_id}/feedback", json={"label": "scheduled"}, headers=reviewer
    )
    assert labelled.status_code == 201, labelled.text
    undone = service.client.post(f"/v1/leads/{lead_id}/feedback/undo", headers=reviewer)
    assert undone.status_code == 200, undone.text
    assert undone.json() == {
        "feedback_id": labelled.json()["id"],
        "lead_id": lead_id,
        "label": "scheduled",
        "reviewer": "reviewer-user",
    }
    with service.sessions() as session:
        assert session.scalars(select(ReviewTask.status).where(ReviewTask.lead_id == lead_id)).all() == [
            "open"
        ]
    assert service.client.post(f"/v1/leads/{lead_id}/feedback/undo", headers=reviewer).status_code == 422
    no_label = service.client.post(
        f"/v1/leads/{lead_id}/feedback/notes", json={"note": "hi"}, headers=reviewer
    )
    assert no_label.status_code == 422
    service.client.post(f"/v1/leads/{lead_id}/feedback", json={"label": "follow_later"}, headers=reviewer)
    noted = service.client.post(
        f"/v1/leads/{lead_id}/feedback/notes", json={"note": "voicemail left"}, headers=reviewer
    )
    assert noted.status_code == 201 and noted.json()["triage"] == "none"
    empty = service.client.post(f"/v1/leads/{lead_id}/feedback/notes", json={"note": ""}, headers=reviewer)
    assert empty.status_code == 422


def test_the_next_lead_follows_the_queue_order_and_recent_work_is_newest_first(service: Service) -> None:
    routine = _lead(service, 1)
    urgent = _lead(service, 2, question="Crushing chest pain spreading to my left arm")
    reviewer = service.headers("reviewer")
    with service.sessions() as session:
        kwargs = {"session": session, "ctx": service.ctx, "actor": "reviewer-user", "role": "reviewer"}
        assert next_in_queue(**kwargs) == urgent  # type: ignore[arg-type]
        assert next_in_queue(**kwargs, skip=urgent) == routine  # type: ignore[arg-type]
    for lead_id in (urgent, routine):
        service.client.post(f"/v1/leads/{lead_id}/feedback", json={"label": "scheduled"}, headers=reviewer)
    with service.sessions() as session:
        assert next_in_queue(session=session, ctx=service.ctx, actor="reviewer-user", role="reviewer") is None
        worked = recently_worked(session=session, actor="reviewer-user")
    assert [w["lead_id"] for w in worked] == [routine, urgent]
