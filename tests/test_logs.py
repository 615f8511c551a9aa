"""Logs carry lead ids, never names, contact details or free text (issue: privacy and governance).

The demo and the API flow run with every logger at DEBUG; then every log line is searched for the
identifiers and the free text that went in.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _service_support import (
    IDENTIFIERS,
    LEAD,
    Service,
    free_port,
    make_settings,
    publish,
    start_service,
    trained_model,
)
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


def test_the_served_access_log_names_routes_not_searches_or_crm_ids(tmp_path: Path) -> None:
    """A real `careleads serve`: uvicorn's access log keeps the route, hides query values and CRM ids."""
    settings = make_settings(tmp_path, "sqlite")
    env = {
        **os.environ,
        "CARELEADS_DATA_DIR": str(settings.data_dir),
        "CARELEADS_DATABASE_URL": settings.database_url,
    }
    port = free_port()
    log = tmp_path / "served.log"
    with log.open("w") as sink:
        child = subprocess.Popen(
            [sys.executable, "-c", "from careleads.cli import main; main()", "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{base}/v1/health", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            secret_id, searched = "CRM-zq81x", "Zebedee Quartermaine"
            httpx.delete(f"{base}/v1/leads/external/{secret_id}", timeout=10)
            httpx.get(f"{base}/ui/queue", params={"search": searched}, timeout=10)
        finally:
            child.terminate()
            child.wait(timeout=30)
    text = log.read_text()
    assert "/v1/leads/external/<external id>" in text and "/ui/queue?<query hidden>" in text
    for value in (secret_id, "Zebedee", "Quartermaine"):
        assert value not in text
