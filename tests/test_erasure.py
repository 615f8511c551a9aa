"""Erasure: after it, no identifier or free text of the lead remains in any table or analytics file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from _service_support import BACKENDS, IDENTIFIERS, LEAD, Service, all_text, make_settings, start_service
from careleads.cli import _service

OTHER = {
    **LEAD,
    "lead_id": "CRM-2002",
    "full_name": "Bartholomew Fennimore",
    "email": "bart.fennimore@example.org",
    "phone": "(555) 864-2097",
    "question": "Bartholomew here, asking about a sleep study",
}


@pytest.fixture(params=BACKENDS)
def service(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Service]:
    settings = make_settings(tmp_path, request.param)
    monkeypatch.setenv("CARELEADS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CARELEADS_DATABASE_URL", settings.database_url)
    yield from start_service(settings)


def _files_text(folder: Path) -> str:
    """Every value of every Parquet file and the bytes of every other file under `folder`."""
    parts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            parts.append(pd.read_parquet(path).astype("string").to_csv(index=False))
        parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts)


def _fill(service: Service, lead: dict[str, object], chat: str) -> int:
    """A lead with events (one with a chat message naming the lead), feedback and write-back records."""
    client = service.client
    lead_id = int(client.post("/v1/leads", json=lead, headers=service.headers("integration")).json()["id"])
    name = str(lead["full_name"]).split()[0]
    for n, (kind, message) in enumerate(
        [("chat_message", f"hi it's {name}, {chat}"), ("call_request", None)]
    ):
        body = {"event_id": f"E{n}", "occurred_at": f"2025-03-04T1{n + 1}:00:00", "event_type": kind}
        if message:
            body["message_text"] = message
        assert client.post(
            f"/v1/leads/{lead_id}/events", json=body, headers=service.headers("integration")
        ).is_success
    client.post(
        f"/v1/leads/{lead_id}/feedback",
        json={"label": "scheduled", "note": f"{lead['full_name']} booked"},
        headers=service.headers("admin"),
    )
    return lead_id


def _assert_erased(service: Service, lead_id: int) -> None:
    service.ctx.analytics.flush()
    stored = all_text(service.sessions)
    files = _files_text(service.settings.analytics_path())
    for value in IDENTIFIERS:
        assert value not in stored, f"{value!r} is still in the store"
        assert value not in files, f"{value!r} is still in the analytics layer"
    for value in ("knee", "stairs", "zebracrossing"):  # free text of the question and the chat message
        assert value not in stored
    # the other lead is untouched: the search does find what is there
    assert "CRM-2002" in stored and "marmalade" in stored and "sleep study" in stored
    rows = pd.concat([pd.read_parquet(p) for p in service.ctx.analytics.files()])
    pseudonym = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin")).json()[
        "pseudonym"
    ]
    assert len(rows) > 0 and not (rows["lead_key"] == pseudonym).any()
    tombstone = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin")).json()
    assert tombstone["erased"] and tombstone["contact"] is None and tombstone["external_id"] is None
    assert len(tombstone["ledger"]) >= 1  # the ledger holds no identifiers and stays


def test_erasure_through_the_api_leaves_no_identifier(service: Service) -> None:
    lead_id = _fill(service, LEAD, "zebracrossing")
    other_id = _fill(service, OTHER, "marmalade")
    service.ctx.analytics.flush()
    assert "CRM-1001" in all_text(service.sessions)  # present before
    pseudonym = service.client.get(f"/v1/leads/{lead_id}", headers=service.headers("admin")).json()[
        "pseudonym"
    ]
    rows = pd.concat([pd.read_parquet(p) for p in service.ctx.analytics.files()])
    assert (rows["lead_key"] == pseudonym).sum() >= 3  # created + two events
    response = service.client.delete(f"/v1/leads/{lead_id}", headers=service.headers("admin"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (
        report["n_events_scrubbed"] == 1
        and report["n_feedback_scrubbed"] == 1
        and report["n_analytics_rows"] >= 3
    )
    _assert_erased(service, lead_id)
    # the other lead keeps its data
    other = service.client.get(f"/v1/leads/{other_id}", headers=service.headers("admin")).json()
    assert other["contact"]["email"] == OTHER["email"]
    # the erased lead is gone for good: no events, no re-creation from a CRM sync
    event = {"event_id": "E9", "occurred_at": "2025-03-05T10:00:00", "event_type": "email_open"}
    assert (
        service.client.post(
            f"/v1/leads/{lead_id}/events", json=event, headers=service.headers("integration")
        ).status_code
        == 410
    )
    assert (
        service.client.post("/v1/leads", json=LEAD, headers=service.headers("integration")).status_code == 410
    )
    entries = service.client.get("/v1/audit", headers=service.headers("auditor")).json()["data"]
    assert [e["subject"] for e in entries if e["action"] == "lead.erase"] == [f"lead:{lead_id}"]


def test_erasure_from_the_cli(service: Service) -> None:
    lead_id = _fill(service, LEAD, "zebracrossing")
    _fill(service, OTHER, "marmalade")
    service.ctx.analytics.flush()
    app = typer.Typer()
    _service.register(app)
    result = CliRunner().invoke(app, ["erase", str(lead_id)])
    assert result.exit_code == 0, result.output
    assert '"lead_id": ' + str(lead_id) in result.output
    _assert_erased(service, lead_id)
    missing = CliRunner().invoke(app, ["erase", "999999"])
    assert missing.exit_code == 2 and "no lead with id 999999" in missing.output


def _all_bytes(folder: Path) -> bytes:
    """The bytes of every file under `folder` (the database, its WAL and shared memory, keys, parts)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.mark.parametrize("via", ["api", "cli"])
def test_no_file_of_the_data_folder_keeps_an_erased_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    """The encrypted identifiers (decryptable with the key beside them) and the stored texts of an erased
    lead are in no file of the data folder afterwards: not the database, not its WAL, not a free page."""
    from sqlalchemy import select

    from careleads.store import Event, Lead

    settings = make_settings(tmp_path, "sqlite")
    monkeypatch.setenv("CARELEADS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CARELEADS_DATABASE_URL", settings.database_url)
    for service in start_service(settings):
        lead_id = _fill(service, LEAD, "zebracrossing")
        _fill(service, OTHER, "marmalade")
        with service.sessions() as session:
            lead = session.get(Lead, lead_id)
            assert lead is not None and lead.identifiers
            secrets = [lead.identifiers, *(str(t) for t in (lead.texts or {}).values() if t)]
            secrets += [
                e.message_text
                for e in session.scalars(select(Event).where(Event.lead_id == lead_id))
                if e.message_text
            ]
        before = _all_bytes(settings.data_dir)
        assert all(s.encode("utf-8") in before for s in secrets)  # the search finds what is there
        if via == "api":
            answer = service.client.delete(f"/v1/leads/{lead_id}", headers=service.headers("admin"))
            assert answer.status_code == 200, answer.text
        else:
            app = typer.Typer()
            _service.register(app)
            result = CliRunner().invoke(app, ["erase", str(lead_id)])
            assert result.exit_code == 0, result.output
        after = _all_bytes(settings.data_dir)
        left = [s[:12] for s in secrets if s.encode("utf-8") in after]
        assert not left, f"{len(left)} erased values are still in the data folder's files"
        assert b"marmalade" in after  # the other lead's chat message is still there
