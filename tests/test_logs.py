"""Logs carry lead ids, never names, contact details or free text (issue: privacy and governance).

The demo and the API flow run with every logger at DEBUG; then every log line is searched for the
identifiers and the free text that went in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from _service_support import IDENTIFIERS, LEAD, Service, make_settings, publish, start_service, trained_model
from careleads.demo import run_demo


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(make_settings(tmp_path, "sqlite"))


def _all_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records]


def test_api_flow_logs_no_identifier_or_free_text(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    publish(service.settings, trained_model())
    client = service.client
    created = client.post("/v1/leads", json=LEAD, headers=service.headers("integration"))
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]
    for n, kind in enumerate(("page_view", "call_request", "chat_message"), start=1):
        body = {"event_id": f"L{n}", "occurred_at": f"2025-03-04T1{n}:00:00", "event_type": kind}
        if kind == "chat_message":
            body["message_text"] = "Rosalind here again, my knee is worse, 555-246-8135"
        assert client.post(
            f"/v1/leads/{lead_id}/events", json=body, headers=service.headers("integration")
        ).is_success
    feedback = {"label": "scheduled", "note": "Spoke with Rosalind Quackenbush, booked Tuesday"}
    client.post(f"/v1/leads/{lead_id}/feedback", json=feedback, headers=service.headers("reviewer"))
    client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin"))
    client.post(
        "/v1/leads",
        json={**LEAD, "email": "not-an-email", "age": "abc"},
        headers=service.headers("integration"),
    )
    client.delete(f"/v1/leads/{lead_id}", headers=service.headers("admin"))

    lines = _all_lines(caplog)
    assert lines, "the API flow logged nothing: the search below would prove nothing"
    assert any(str(lead_id) in line for line in lines), "logs should name the lead id"
    secrets = [*IDENTIFIERS, "knee", "Tuesday", LEAD["question"][:30]]
    leaked = [(s, line) for line in lines for s in secrets if s.lower() in line.lower()]
    assert not leaked, leaked[:3]


def test_demo_logs_no_identifier(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = run_demo(tmp_path / "demo", n_leads=3000, seed=5, text=False)
    lines = _all_lines(caplog)
    leads = result.tables.leads
    # every name, email, phone and question of the simulated leads
    secrets = set()
    for column in ("full_name", "email", "phone", "question"):
        secrets.update(v for v in leads[column].dropna().astype(str) if len(v) > 6)
    leaked = [line for line in lines if any(s in line for s in secrets)]
    assert not leaked, leaked[:3]
