"""CRM write-back against a real local HTTP receiver: success, failures, retries with backoff, dead letter,
signature and idempotency key, field mapping, CSV export."""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from _service_support import BACKENDS, LEAD, make_settings
from careleads.errors import ConfigError, InputError
from careleads.service.context import ServiceContext
from careleads.service.crm_mapping import load_field_mapping
from careleads.service.leads import create_lead, utcnow
from careleads.service.outbox import (
    SIGNATURE_HEADER,
    deliver_outbox,
    export_outbox_csv,
    verify_signature,
)
from careleads.store import OutboxRecord, make_engine, make_sessionmaker, session_scope, upgrade

SECRET = "webhook-secret"


@dataclass
class Receiver:
    """A local webhook: answers the next planned status (200 when the plan is used up), keeps requests."""

    url: str
    plan: list[int] = field(default_factory=list)
    requests: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(
                {
                    "body": body,
                    "signature": self.headers.get(SIGNATURE_HEADER, ""),
                    "key": self.headers.get("Idempotency-Key", ""),
                }
            )
            code = state.plan.pop(0) if state.plan else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], ServiceContext]]:
    settings = make_settings(tmp_path, "sqlite")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    with session_scope(factory) as session:
        for n in range(2):
            create_lead(session=session, ctx=ctx, lead_in={**LEAD, "lead_id": f"O{n}"}, actor="t", role="t")
    yield factory, ctx
    engine.dispose()


@pytest.fixture
def t0(sessions: tuple[sessionmaker[Session], ServiceContext]) -> datetime:  # noqa: ARG001 - made first
    """Just after the test's records were made, so they are due (taken per test: the suite runs long)."""
    return utcnow() + timedelta(minutes=5)


def _deliver(
    factory: sessionmaker[Session], url: str, now: datetime, max_attempts: int = 3
) -> dict[str, int]:
    with factory() as session:
        report = deliver_outbox(
            session=session,
            url=url,
            secret=SECRET,
            max_attempts=max_attempts,
            now=now,
            backoff_seconds=60,
            timeout_seconds=5,
        )
    return report.to_dict()


def _records(factory: sessionmaker[Session]) -> list[OutboxRecord]:
    with factory() as session:
        return list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def test_success_is_signed_and_carries_the_idempotency_key(
    receiver: Receiver, sessions: tuple[sessionmaker[Session], ServiceContext], t0: datetime
) -> None:
    factory, _ctx = sessions
    assert _deliver(factory, receiver.url, t0) == {
        "n_attempted": 2,
        "n_delivered": 2,
        "n_failed": 0,
        "n_dead": 0,
    }
    records = _records(factory)
    assert [r.status for r in records] == ["delivered", "delivered"]
    # records are sent in parallel: the receiver sees them in any order
    assert sorted(str(r["key"]) for r in receiver.requests) == sorted(str(r.idempotency_key) for r in records)
    for request in receiver.requests:
        body, signature = request["body"], str(request["signature"])
        assert isinstance(body, bytes)
        assert verify_signature(body, signature, SECRET)
        assert not verify_signature(body, signature, "another-secret")
        assert not verify_signature(body.replace(b'"score"', b'"scorE"'), signature, SECRET)
        document = json.loads(body)
        assert document["data"]["external_id"] in ("O0", "O1") and "score" in document["data"]
    assert (
        _deliver(factory, receiver.url, t0 + timedelta(hours=1))["n_attempted"] == 0
    )  # nothing is sent twice


def test_a_delivered_signature_is_accepted_inside_the_replay_window_only(
    receiver: Receiver, sessions: tuple[sessionmaker[Session], ServiceContext], t0: datetime
) -> None:
    """A captured delivery replayed outside the window (either side of the clock) is refused."""
    factory, _ctx = sessions
    _deliver(factory, receiver.url, t0)
    body, header = receiver.requests[0]["body"], str(receiver.requests[0]["signature"])
    assert isinstance(body, bytes)
    signed_at = int(header.split(",")[0].removeprefix("t="))
    assert abs(signed_at - time.time()) < 60  # signed when sent
    for offset, accepted in [(0, True), (299, True), (300, True), (301, False), (3600, False)]:
        assert verify_signature(body, header, SECRET, now=signed_at + offset) is accepted, offset
        assert verify_signature(body, header, SECRET, now=signed_at - offset) is accepted, -offset
    assert verify_signature(body, header, SECRET, tolerance_seconds=30, now=signed_at + 30)
    assert not verify_signature(body, header, SECRET, tolerance_seconds=30, now=signed_at + 31)
    # a fresh timestamp on the old signature is refused: the timestamp is signed with the body
    forged = header.replace(f"t={signed_at}", f"t={signed_at + 3600}")
    assert not verify_signature(body, forged, SECRET, now=signed_at + 3600)


def test_failures_retry_with_backoff_then_dead_letter(
    receiver: Receiver, sessions: tuple[sessionmaker[Session], ServiceContext], t0: datetime
) -> None:
    factory, _ctx = sessions
    receiver.plan = [500, 503]  # the first attempt of each record fails
    assert _deliver(factory, receiver.url, t0)["n_failed"] == 2
    records = _records(factory)
    assert all(
        r.status == "pending" and r.attempts == 1 and str(r.last_error).startswith("HTTP 50") for r in records
    )
    assert all(r.next_attempt_at == t0 + timedelta(seconds=60) for r in records)
    assert _deliver(factory, receiver.url, t0 + timedelta(seconds=30))["n_attempted"] == 0  # not due yet
    # one retry fails again, the other goes through; records are sent in parallel, so which one fails is
    # whichever reaches the receiver first
    receiver.plan = [500]
    report = _deliver(factory, receiver.url, t0 + timedelta(seconds=60))
    assert (report["n_failed"], report["n_delivered"]) == (1, 1)
    (failed,) = [r for r in _records(factory) if r.status == "pending"]
    assert failed.next_attempt_at == t0 + timedelta(seconds=60 + 120)  # doubled
    receiver.plan = [500]
    report = _deliver(factory, receiver.url, t0 + timedelta(seconds=180))
    assert report["n_dead"] == 1
    dead = next(r for r in _records(factory) if r.id == failed.id)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, "HTTP 500")
    # all attempts of one record used the same idempotency key
    by_record: dict[str, list[str]] = {}
    for request in receiver.requests:
        external_id = json.loads(request["body"])["data"]["external_id"]  # type: ignore[arg-type]
        by_record.setdefault(external_id, []).append(str(request["key"]))
    (keys,) = [k for k in by_record.values() if len(k) == 3]
    assert len(set(keys)) == 1
    assert _deliver(factory, receiver.url, t0 + timedelta(days=1))["n_attempted"] == 0


def test_an_unreachable_webhook_counts_as_a_failure(
    sessions: tuple[sessionmaker[Session], ServiceContext],
    t0: datetime,
) -> None:
    factory, _ctx = sessions
    report = _deliver(factory, "http://127.0.0.1:9/closed", t0, max_attempts=1)
    assert report["n_dead"] == 2
    assert all("ConnectError" in str(r.last_error) for r in _records(factory))
    with pytest.raises(ConfigError, match="WEBHOOK_URL"), factory() as session:
        deliver_outbox(session=session, url="", secret=SECRET, max_attempts=3, now=t0)


def test_field_mappings_rename_the_payload_and_the_csv(
    receiver: Receiver, sessions: tuple[sessionmaker[Session], ServiceContext], tmp_path: Path, t0: datetime
) -> None:
    factory, _ctx = sessions
    hubspot, salesforce = load_field_mapping("hubspot"), load_field_mapping("salesforce")
    with factory() as session:
        deliver_outbox(
            session=session, url=receiver.url, secret=SECRET, max_attempts=3, now=t0, mapping=salesforce
        )
    data = json.loads(receiver.requests[0]["body"])["data"]  # type: ignore[arg-type]
    assert "Careleads_Score__c" in data and "score" not in data
    out = tmp_path / "outbox.csv"
    with factory() as session:
        assert export_outbox_csv(session=session, out=out, mapping=hubspot) == 2
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {"careleads_score", "careleads_tier", "hs_object_id"} <= set(rows[0])
    assert {r["hs_object_id"] for r in rows} == {"O0", "O1"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfields: {score: a, tier: a}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="same CRM property"):
        load_field_mapping(bad)


class _FlakyReceiver:
    """A real webhook that fails about a third of the requests (500) and is slow on some; it counts the
    deliveries it accepted, by idempotency key."""

    def __init__(self) -> None:
        import random

        self.accepted: dict[str, int] = {}
        self.posts = 0
        lock = threading.Lock()
        chance = random.Random(7)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.posts += 1
                    roll = chance.random()
                if roll < 0.15:
                    time.sleep(0.2)  # slow: the other deliverer goes on meanwhile
                ok = roll >= 0.35
                if ok:
                    with lock:
                        key = self.headers.get("Idempotency-Key", "")
                        receiver.accepted[key] = receiver.accepted.get(key, 0) + 1
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_deliverers_and_a_flaky_receiver_deliver_every_record_once(tmp_path: Path, backend: str) -> None:
    settings = make_settings(tmp_path, backend)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx = ServiceContext.from_settings(settings)
    with session_scope(make_sessionmaker(engine)) as session:
        for n in range(40):
            create_lead(session=session, ctx=ctx, lead_in={**LEAD, "lead_id": f"T{n}"}, actor="t", role="t")
    receiver = _FlakyReceiver()
    ahead = timedelta(minutes=5)  # the records were made just now: due at once
    deadline = time.monotonic() + 120

    def deliverer() -> None:
        own = make_engine(settings.database_url)  # a deliverer of its own, as another process has
        factory = make_sessionmaker(own)
        try:
            while time.monotonic() < deadline:
                with factory() as session:
                    deliver_outbox(
                        session=session,
                        url=receiver.url,
                        secret=SECRET,
                        max_attempts=50,
                        now=utcnow() + ahead,  # one clock for both, as on one machine
                        backoff_seconds=0.05,
                        timeout_seconds=5,
                        limit=7,
                        parallel=3,
                    )
                    pending = session.scalar(
                        select(func.count())
                        .select_from(OutboxRecord)
                        .where(OutboxRecord.status != "delivered")
                    )
                if not pending:
                    return
                time.sleep(0.02)
        finally:
            own.dispose()

    try:
        workers = [threading.Thread(target=deliverer) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
    finally:
        receiver.close()
    with make_sessionmaker(engine)() as session:
        records = list(session.scalars(select(OutboxRecord)))
    engine.dispose()
    assert len(records) >= 40 and all(r.status == "delivered" for r in records)
    assert set(receiver.accepted) == {r.idempotency_key for r in records}
    twice = {key: n for key, n in receiver.accepted.items() if n > 1}
    assert not twice, f"{len(twice)} records delivered more than once"
    assert receiver.posts > len(records)  # the receiver did fail some: retries happened


def test_a_lease_ends_when_its_deliverer_dies_and_a_late_answer_changes_nothing(
    receiver: Receiver, sessions: tuple[sessionmaker[Session], ServiceContext], t0: datetime
) -> None:
    from careleads.service.outbox import IDENTITY_MAPPING, _claim

    factory, _ctx = sessions
    with factory() as session:  # a deliverer claims both records, then dies without an answer
        claimed = _claim(session, now=t0, lease_seconds=60, limit=10, mapping=IDENTITY_MAPPING)
    assert len(claimed) == 2
    during = _deliver(factory, receiver.url, t0 + timedelta(seconds=30))
    assert during["n_attempted"] == 0 and not receiver.requests  # leased: nobody else sends them
    after = _deliver(factory, receiver.url, t0 + timedelta(seconds=61))
    assert after["n_delivered"] == 2 and len(receiver.requests) == 2
    with factory() as session:  # the dead deliverer's late result: its attempt is no longer current
        stale = session.execute(
            update(OutboxRecord)
            .where(OutboxRecord.id == claimed[0].id, OutboxRecord.attempts == claimed[0].attempt)
            .values(status="dead")
        )
        assert stale.rowcount == 0  # type: ignore[attr-defined]


def test_dead_records_are_requeued_by_the_cli_and_the_api(
    receiver: Receiver, sessions: tuple[sessionmaker[Session], ServiceContext], t0: datetime, tmp_path: Path
) -> None:
    import typer
    from typer.testing import CliRunner

    from careleads.cli import _service
    from careleads.service.outbox import requeue_outbox

    factory, _ctx = sessions
    receiver.plan = [500, 500]
    assert _deliver(factory, receiver.url, t0, max_attempts=1)["n_dead"] == 2
    with factory() as session, pytest.raises(InputError, match="which records"):
        requeue_outbox(session=session, actor="t", role="admin")
    assert _deliver(factory, receiver.url, t0 + timedelta(hours=1))["n_attempted"] == 0  # dead stays dead
    with session_scope(factory) as session:
        first = _records(factory)[0].id
        assert requeue_outbox(session=session, actor="t", role="admin", ids=[first]) == 1
    assert _deliver(factory, receiver.url, utcnow() + timedelta(minutes=5))["n_delivered"] == 1
    app = typer.Typer()
    _service.register(app)
    engine_url = str(factory.kw["bind"].url)
    result = CliRunner().invoke(
        app,
        ["outbox", "requeue", "--dead"],
        env={"CARELEADS_DATABASE_URL": engine_url, "CARELEADS_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 0 and "1 records requeued" in result.output, result.output
    assert _deliver(factory, receiver.url, utcnow() + timedelta(minutes=5))["n_delivered"] == 1
    assert {r.status for r in _records(factory)} == {"delivered"}
    with factory() as session:  # a delivered record is never sent again
        assert requeue_outbox(session=session, actor="t", role="admin", ids=[first]) == 0
