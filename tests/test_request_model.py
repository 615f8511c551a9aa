"""The request model: store work never runs on the event loop, and lock waits end in 503, never a hang.

A request whose store work (a statement, a commit) ran on the event loop stalled the whole server as soon
as it had to wait for a lock: the transaction holding the lock could only end on that same loop. These
tests watch every statement and commit of a mixed load of creates, events, reads, queue pages and feedback
(API and pages, from many threads at once) and fail if one ran on a thread with a running event loop; and
they hold the store's lock from outside and check that requests are answered 503 with Retry-After within
the configured wait. Runs on SQLite and, when CARELEADS_DATABASE_URL points at one, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from _service_support import BACKENDS, LEAD, Service, make_settings, start_service


@pytest.fixture(params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    settings = make_settings(tmp_path, request.param, lock_wait_seconds=1.0, max_concurrent_requests=16)
    yield from start_service(settings)


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Listening:
    """Listens to the engine's events named in ``listeners`` (event -> method name) inside ``with``."""

    listeners: dict[str, str] = {}

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __enter__(self) -> Any:
        for name, method in self.listeners.items():
            event.listen(self.engine, name, getattr(self, method))
        return self

    def __exit__(self, *_exc: object) -> None:
        for name, method in self.listeners.items():
            event.remove(self.engine, name, getattr(self, method))


class _LoopWatch(_Listening):
    """Counts the store's statements and commits, and those that ran where an event loop was running."""

    listeners = {"before_cursor_execute": "statement", "commit": "commit", "rollback": "commit"}

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.seen = 0
        self.on_loop: list[str] = []
        self._lock = threading.Lock()

    def _note(self, what: str) -> None:
        with self._lock:
            self.seen += 1
            if _on_loop():
                self.on_loop.append(what)

    def statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._note(statement.split(None, 1)[0])

    def commit(self, _conn: Any) -> None:
        self._note("COMMIT")


def _mixed_work(service: Service, i: int) -> list[int]:
    """One client's turn: create a lead, post an event, read it, read the queue, label it, open pages."""
    client = service.client
    statuses = []
    created = client.post(
        "/v1/leads", json={**LEAD, "lead_id": f"CRM-LOOP-{i}"}, headers=service.headers("integration")
    )
    statuses.append(created.status_code)
    key = created.json()["id"]
    event_in = {"event_id": f"EV-{i}", "event_type": "email_open", "occurred_at": "2025-03-04T11:00:00"}
    statuses.append(
        client.post(
            f"/v1/leads/{key}/events", json=event_in, headers=service.headers("integration")
        ).status_code
    )
    statuses.append(client.get(f"/v1/leads/{key}", headers=service.headers("admin")).status_code)
    statuses.append(client.get("/v1/review-queue", headers=service.headers("reviewer")).status_code)
    statuses.append(client.get("/ui/queue.json", headers=service.headers("reviewer")).status_code)
    statuses.append(
        client.post(
            f"/v1/leads/{key}/feedback", json={"label": "scheduled"}, headers=service.headers("admin")
        ).status_code
    )
    return statuses


def test_no_store_work_runs_on_the_event_loop(service: Service) -> None:
    engine = service.sessions.kw["bind"]
    with _LoopWatch(engine) as watch, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: _mixed_work(service, i), range(16)))
    assert all(code < 300 for statuses in results for code in statuses), results
    assert watch.seen > 100
    assert watch.on_loop == [], f"{len(watch.on_loop)} statements or commits ran on the event loop"


def _hold_the_store(service: Service, release: threading.Event, held: threading.Event) -> None:
    """Hold the lock every writing request needs (SQLite: the writer lock; PostgreSQL: the audit head
    row, updated by every audited request) in a transaction of its own, until `release` is set."""
    engine = service.sessions.kw["bind"]
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT * FROM audit_head FOR UPDATE"))
        else:
            connection.execute(text("SELECT 1"))  # the transaction (and the writer lock) begins here
        held.set()
        release.wait(timeout=60)
        connection.rollback()


def test_a_held_lock_gives_503_with_retry_after_and_the_server_keeps_answering(service: Service) -> None:
    client = service.client
    client.post("/v1/leads", json={**LEAD, "lead_id": "CRM-FIRST"}, headers=service.headers("integration"))
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_the_store, args=(service, release, held))
    holder.start()
    try:
        assert held.wait(timeout=30)
        with ThreadPoolExecutor(4) as pool:
            waits = [
                pool.submit(
                    client.post,
                    "/v1/leads",
                    json={**LEAD, "lead_id": f"CRM-WAIT-{i}"},
                    headers=service.headers("integration"),
                )
                for i in range(3)
            ]
            # while those wait for the lock, the server still answers at once: the health check says whether
            # the store answers (503 "degraded" while every connection waits), it does not wait in line
            health = client.get("/v1/health")
            assert health.status_code in (200, 503)
            assert health.json()["status"] == ("ok" if health.status_code == 200 else "degraded")
            answers = [w.result(timeout=30) for w in waits]
    finally:
        release.set()
        holder.join(timeout=30)
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"
    after = client.post(
        "/v1/leads", json={**LEAD, "lead_id": "CRM-AFTER"}, headers=service.headers("integration")
    )
    assert after.status_code == 201


class _OpenTransactions(_Listening):
    """Which threads have a store transaction open (begun, not yet committed or rolled back)."""

    listeners = {"begin": "_begin", "commit": "_end", "rollback": "_end"}

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.threads: set[int] = set()

    def _begin(self, _conn: Any) -> None:
        self.threads.add(threading.get_ident())

    def _end(self, _conn: Any) -> None:
        self.threads.discard(threading.get_ident())


def test_a_record_is_checked_before_its_transaction_begins(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lead's and an event's check against the dictionary (and their texts' triage) needs no store, so it
    runs before the request's first statement: on SQLite that statement takes the write lock every other
    writer waits for, and a check inside the transaction held it for nothing. A refused event still
    answers 404 for a lead that does not exist, and 422 for one that does."""
    from careleads.dictionary._record import RecordValidator

    engine = service.sessions.kw["bind"]
    checked: list[tuple[str, bool]] = []
    validate = RecordValidator.validate

    with _OpenTransactions(engine) as open_transactions:

        def watched(self: RecordValidator, record: Any, *, source: str = "<record>") -> Any:
            checked.append((str(self.table.name), threading.get_ident() in open_transactions.threads))
            return validate(self, record, source=source)

        monkeypatch.setattr(RecordValidator, "validate", watched)
        client, integration = service.client, service.headers("integration")
        created = client.post("/v1/leads", json={**LEAD, "lead_id": "CRM-CHECKED"}, headers=integration)
        assert created.status_code == 201, created.text
        lead_id = created.json()["id"]
        event_in = {"event_id": "E-CHECKED", "event_type": "email_open", "occurred_at": "2025-03-05T10:00:00"}
        posted = client.post(f"/v1/leads/{lead_id}/events", json=event_in, headers=integration)
        assert posted.status_code == 201, posted.text
        refused = {**event_in, "event_id": "E-BAD", "occurred_at": "not a time"}
        bad = client.post(f"/v1/leads/{lead_id}/events", json=refused, headers=integration)
        missing = client.post("/v1/leads/987654/events", json=refused, headers=integration)
    assert bad.status_code == 422 and missing.status_code == 404, (bad.text, missing.text)
    assert {table for table, _ in checked} >= {"leads", "events"}
    assert [table for table, inside in checked if inside] == []
