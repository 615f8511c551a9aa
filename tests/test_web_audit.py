"""The audit log page: auditors and admins read it, filtered and a page at a time; reviewers may not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from _service_support import BACKENDS, Service
from _web_support import add_lead, lead_record, sign_in, start_web
from careleads.service.audit import append_audit
from careleads.service.audit_view import AUDIT_PAGE_SIZE
from careleads.store import AuditEntry, session_scope


@pytest.fixture(params=BACKENDS)
def web(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Service]:
    yield from start_web(tmp_path, request.param)


def _entries(web: Service) -> list[AuditEntry]:
    with web.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())))


def test_auditors_page_through_and_filter_the_log_and_reviewers_may_not(web: Service) -> None:
    lead_id = add_lead(web.client, web.tokens["integration"], lead_record(1))["id"]
    with session_scope(web.sessions) as session:
        for n in range(AUDIT_PAGE_SIZE + 5):
            append_audit(
                session=session,
                actor="batch-bot",
                role="integration",
                action="test.ping",
                subject=f"n:{n}",
                details={},
            )
    client = web.client
    sign_in(client, web.tokens["reviewer"])
    assert client.get("/ui/audit").status_code == 403
    assert client.get("/ui/audit.json").status_code == 403
    sign_in(client, web.tokens["auditor"])
    landing = client.get("/ui/", follow_redirects=False)
    assert landing.headers["location"] == "/ui/audit"  # an auditor's first page
    before = _entries(web)
    first = client.get("/ui/audit.json").json()
    assert first["total"] == len(before) and first["pages"] == 2
    assert [e["id"] for e in first["data"]] == [e.id for e in before[:AUDIT_PAGE_SIZE]]  # newest first
    assert first["upto"] == before[0].id
    second = client.get(f"/ui/audit.json?page=2&upto={first['upto']}").json()
    assert [e["id"] for e in second["data"]] == [e.id for e in before[AUDIT_PAGE_SIZE:]]  # reads add none
    pings = client.get("/ui/audit.json?action=test.ping&actor=batch-bot").json()
    assert pings["total"] == AUDIT_PAGE_SIZE + 5 and {e["action"] for e in pings["data"]} == {"test.ping"}
    about = client.get(f"/ui/audit.json?lead={lead_id}").json()
    # entries about the lead, and reads that listed it (the reviewer's queue page at sign-in)
    expected = [
        e.id
        for e in _entries(web)
        if e.subject == f"lead:{lead_id}" or lead_id in json.loads(e.details).get("lead_ids", [])
    ]
    assert len(expected) >= 2 and [e["id"] for e in about["data"]] == expected
    assert client.get("/ui/audit.json?since=2000-01-01&until=2000-01-31").json()["total"] == 0
    html = client.get("/ui/audit?action=test.ping").text
    assert "test.ping" in html and 'rel="next"' in html and "Audit log" in html
    reads = [e for e in _entries(web) if e.action == "export.audit" and e.actor == "auditor-user"]
    assert len(reads) >= 5  # each read of the page is itself in the log
    sign_in(client, web.tokens["admin"])
    assert client.get("/ui/audit").status_code == 200
