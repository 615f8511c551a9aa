"""The audit log in the store: what is audited, tampering found by `careleads audit verify`, export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, text
from typer.testing import CliRunner

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service
from careleads.cli import _service
from careleads.service.audit import verify_audit
from careleads.store import AuditEntry


@pytest.fixture(params=BACKENDS)
def service(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Service]:
    settings = make_settings(tmp_path, request.param)
    # the CLI reads the same settings from the environment
    monkeypatch.setenv("CARELEADS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CARELEADS_DATABASE_URL", settings.database_url)
    yield from start_service(settings)


def _cli() -> typer.Typer:
    app = typer.Typer()
    _service.register(app)
    return app


def _activity(service: Service) -> int:
    client = service.client
    lead_id = int(client.post("/v1/leads", json=LEAD, headers=service.headers("integration")).json()["id"])
    client.get(f"/v1/leads/{lead_id}", headers=service.headers("analyst"))
    client.get("/v1/review-queue", headers=service.headers("reviewer"))
    client.post(
        f"/v1/leads/{lead_id}/feedback", json={"label": "duplicate"}, headers=service.headers("reviewer")
    )
    client.post("/v1/admin/tokens", json={"user": "auditor-user"}, headers=service.headers("admin"))
    client.delete(f"/v1/leads/{lead_id}", headers=service.headers("admin"))
    return lead_id


def test_reads_feedback_tokens_and_erasure_are_audited_with_actor_and_role(service: Service) -> None:
    lead_id = _activity(service)
    entries = service.client.get("/v1/audit", headers=service.headers("auditor")).json()["data"]
    seen = {(e["action"], e["actor"], e["role"]) for e in entries}
    subject = f"lead:{lead_id}"
    assert ("lead.create", "integration-user", "integration") in seen
    assert ("lead.read", "analyst-user", "analyst") in seen
    assert ("review_queue.read", "reviewer-user", "reviewer") in seen
    assert ("feedback.create", "reviewer-user", "reviewer") in seen
    assert ("token.create", "admin-user", "admin") in seen
    assert ("lead.erase", "admin-user", "admin") in seen
    assert {e["subject"] for e in entries if e["action"].startswith("lead.")} == {subject}
    assert all("Rosalind" not in str(e) and "CRM-1001" not in str(e) for e in entries)
    assert [e["id"] for e in entries] == list(range(1, len(entries) + 1))


def test_tampering_is_named_by_audit_verify(service: Service) -> None:
    _activity(service)
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "audit log ok" in ok.output
    with service.sessions() as session:
        target = session.scalar(select(AuditEntry).where(AuditEntry.action == "feedback.create"))
        assert target is not None
        target_id = target.id
        session.execute(
            text("UPDATE audit_log SET details = :d WHERE id = :i"),
            {"d": '{"label":"scheduled"}', "i": target_id},
        )
        session.commit()
    broken = runner.invoke(_cli(), ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"entry id {target_id} " in broken.output and "hash mismatch" in broken.output
    with service.sessions() as session:
        result = verify_audit(session=session)
    assert (result.ok, result.broken_id) == (False, str(target_id))


def test_a_deleted_entry_breaks_the_chain(service: Service) -> None:
    _activity(service)
    with service.sessions() as session:
        session.execute(text("DELETE FROM audit_log WHERE id = 2"))
        session.commit()
        result = verify_audit(session=session)
    assert not result.ok and result.broken_id == "3" and result.reason == "prev_hash mismatch"
    with service.sessions() as session:
        last = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        session.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
        session.execute(text("DELETE FROM audit_log WHERE id < 3"))
        session.commit()
        # the tail is gone too: the head row still counts every entry ever written
        assert not verify_audit(session=session).ok


def test_an_emptied_log_is_broken_and_verify_prints_the_head_to_keep(service: Service) -> None:
    _activity(service)
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["audit", "verify"])
    with service.sessions() as session:
        head = session.execute(text("SELECT seq, hash FROM audit_head")).one()
    said = ok.output.replace("\n", "")
    assert ok.exit_code == 0 and head.hash in said and f"({head.seq} entries)" in said, said
    with service.sessions() as session:
        session.execute(text("DELETE FROM audit_log"))
        session.commit()
    broken = runner.invoke(_cli(), ["audit", "verify"])
    said = " ".join(broken.output.split())  # the console wraps lines
    assert broken.exit_code == 1 and "head mismatch" in said, said
    assert f"says {head.seq} were written" in said


def test_a_log_cut_back_with_its_head_lowered_is_caught(service: Service, tmp_path: Path) -> None:
    """Deleting the last entry and rewriting the head row to match: the head's hash no longer matches the
    log, and an anchor kept elsewhere catches even a head rewritten with the right hash."""
    _activity(service)
    runner = CliRunner()
    kept = tmp_path / "anchor.json"
    written = runner.invoke(_cli(), ["audit", "anchor", "--out", str(kept)])
    assert written.exit_code == 0, written.output
    with service.sessions() as session:
        last = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        session.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
        session.execute(text("UPDATE audit_head SET seq = seq - 1"))
        session.commit()
    lowered = runner.invoke(_cli(), ["audit", "verify"])
    assert lowered.exit_code == 1 and "head mismatch" in lowered.output, lowered.output
    with service.sessions() as session:  # the head rewritten whole: only the anchor tells
        previous = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == last - 1))
        session.execute(text("UPDATE audit_head SET hash = :h"), {"h": previous})
        session.commit()
    assert runner.invoke(_cli(), ["audit", "verify"]).exit_code == 0
    anchored = runner.invoke(_cli(), ["audit", "verify", "--anchor", str(kept)])
    assert anchored.exit_code == 1 and "anchor mismatch" in anchored.output, anchored.output


def test_audit_export_since_writes_csv_and_is_audited(service: Service, tmp_path: Path) -> None:
    _activity(service)
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(_cli(), ["audit", "export", "--since", "2000-01-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 6 and rows[0]["id"] == "1"
    later = CliRunner().invoke(_cli(), ["audit", "export", "--since", "2999-01-01", "--out", str(out)])
    assert "0 entries" in later.output
    entries = service.client.get("/v1/audit", headers=service.headers("auditor")).json()["data"]
    assert sum(e["action"] == "export.audit" for e in entries) == 2


class _AnchorStore:
    """A real HTTP server on 127.0.0.1 that keeps what is PUT to a path and answers it to GET: the place an
    operator keeps anchors, away from the careleads server."""

    def __init__(self) -> None:
        import http.server
        import threading

        kept: dict[str, bytes] = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 (the handler's API)
                kept[self.path] = self.rfile.read(int(self.headers["content-length"]))
                self.send_response(201)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                body = kept.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *_args: object) -> None:
                pass

        self.kept = kept
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_anchor_kept_at_a_url_catches_a_log_cut_back(service: Service) -> None:
    _activity(service)
    runner = CliRunner()
    store = _AnchorStore()
    try:
        where = f"{store.url}/careleads/anchor.json?signature=secret-part"
        written = runner.invoke(_cli(), ["audit", "anchor", "--out", where])
        assert written.exit_code == 0, written.output
        assert "secret-part" not in written.output
        assert b'"entries"' in store.kept["/careleads/anchor.json?signature=secret-part"]
        assert runner.invoke(_cli(), ["audit", "verify", "--anchor", where]).exit_code == 0
        with service.sessions() as session:  # cut back, the head rewritten to match
            last = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
            previous = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == last - 1))
            session.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
            session.execute(text("UPDATE audit_head SET seq = seq - 1, hash = :h"), {"h": previous})
            session.commit()
        assert runner.invoke(_cli(), ["audit", "verify"]).exit_code == 0
        anchored = runner.invoke(_cli(), ["audit", "verify", "--anchor", where])
        assert anchored.exit_code == 1 and "anchor mismatch" in anchored.output, anchored.output
        missing = runner.invoke(_cli(), ["audit", "verify", "--anchor", f"{store.url}/nothing-here"])
        assert missing.exit_code != 0 and "not an audit anchor" in " ".join(missing.output.split())
        refused = runner.invoke(_cli(), ["audit", "anchor", "--out", "http://127.0.0.1:9/closed"])
        assert refused.exit_code != 0 and "did not take the anchor" in " ".join(refused.output.split())
    finally:
        store.close()


def test_since_with_an_offset_is_read_as_that_moment(service: Service) -> None:

    _activity(service)
    auditor = service.headers("auditor")
    entries = service.client.get("/v1/audit", headers=auditor).json()["data"]
    last = datetime.fromisoformat(str(entries[-1]["at"])).replace(tzinfo=None)
    same_moment = (last + timedelta(hours=5)).isoformat() + "+05:00"
    found = service.client.get("/v1/audit", params={"since": same_moment}, headers=auditor).json()["data"]
    assert [e["id"] for e in found][:1] == [entries[-1]["id"]]
    later = (last + timedelta(hours=5, seconds=1)).isoformat() + "+05:00"
    after = service.client.get("/v1/audit", params={"since": later}, headers=auditor).json()["data"]
    assert entries[-1]["id"] not in [e["id"] for e in after]


def test_the_head_row_is_the_last_lock_a_transaction_takes(service: Service) -> None:
    """Every audited transaction takes the one ``audit_head`` row, so it takes it last: a request's entries
    are chained and written as its last statements (after its other writes and the owners' loads), not
    while its answer is built, and a transaction that holds the row waits for no other lock."""
    import threading

    from sqlalchemy import event

    engine = service.sessions.kw["bind"]
    statements: dict[int, list[str]] = {}
    done: list[list[str]] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.setdefault(threading.get_ident(), []).append(" ".join(statement.split()[:3]).upper())

    def ended(_conn: object) -> None:
        done.append(statements.pop(threading.get_ident(), []))

    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", ended)
    try:
        _activity(service)
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", ended)
    audited = [t for t in done if any(s.startswith("UPDATE AUDIT_HEAD") for s in t)]
    assert len(audited) >= 6, done
    for transaction in audited:
        first = next(i for i, s in enumerate(transaction) if s.startswith("UPDATE AUDIT_HEAD"))
        tail = transaction[first:]
        assert all(s.startswith(("UPDATE AUDIT_HEAD", "INSERT INTO AUDIT_LOG")) for s in tail), transaction
    with service.sessions() as session:
        assert verify_audit(session=session).ok


def test_entries_gathered_in_a_rolled_back_transaction_or_savepoint_are_not_written(service: Service) -> None:
    from careleads.service.audit import append_audit, pending_audit

    with service.sessions() as session:
        before = session.scalar(select(text("count(*)")).select_from(AuditEntry))
        append_audit(session=session, actor="a", role="admin", action="test.kept", subject="s:1")
        savepoint = session.begin_nested()
        append_audit(session=session, actor="a", role="admin", action="test.dropped", subject="s:2")
        savepoint.rollback()
        assert [e["action"] for e in pending_audit(session)] == ["test.kept"]
        session.commit()
        append_audit(session=session, actor="a", role="admin", action="test.rolled_back", subject="s:3")
        session.rollback()
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert len(actions) == before + 1 and actions[-1] == "test.kept"
        assert pending_audit(session) == []
        assert verify_audit(session=session).ok
