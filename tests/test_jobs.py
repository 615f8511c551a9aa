"""Scheduled jobs: one run per due job across runners, leases taken over, failures recorded, the CLI, alerts
on a real webhook and a real SMTP server."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from _monitoring_support import monitoring_setup
from _service_support import BACKENDS, LEAD, make_settings, publish, trained_model
from _web_support import HOSTILE, sign_in, start_web
from careleads.cli import _jobs
from careleads.errors import InputError
from careleads.jobs import JOBS
from careleads.service.alerts import Alert, AlertError, send_alert
from careleads.service.context import ServiceContext
from careleads.service.leads import create_lead, record_outcome
from careleads.service.outbox import SIGNATURE_HEADER, verify_signature
from careleads.service.rescoring import open_lead_ids
from careleads.service.scheduling import (
    ABANDONED,
    Job,
    JobBusyError,
    JobContext,
    JobOutcome,
    list_jobs,
    run_due_jobs,
    run_job,
)
from careleads.settings import Settings
from careleads.store import (
    AuditEntry,
    JobLock,
    JobRun,
    make_engine,
    make_sessionmaker,
    session_scope,
    upgrade,
)
from conftest import ExportFactory

SECRET = "alert-secret"


@dataclass
class Store:
    """Two runners' session factories on one migrated database, and the service context."""

    settings: Settings
    first: sessionmaker[Session]
    second: sessionmaker[Session]
    ctx: ServiceContext


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    settings = make_settings(tmp_path, request.param, job_sync_hubspot_minutes=10)
    engines = [make_engine(settings.database_url) for _ in range(2)]
    upgrade(engines[0])
    yield Store(
        settings=settings,
        first=make_sessionmaker(engines[0]),
        second=make_sessionmaker(engines[1]),
        ctx=ServiceContext.from_settings(settings),
    )
    for engine in engines:
        engine.dispose()


def _runs(sessions: sessionmaker[Session]) -> list[JobRun]:
    with sessions() as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_two_runners_on_one_store_run_a_due_job_once(store: Store) -> None:
    calls: list[str] = []
    inner: list[int] = []

    def counted(jc: JobContext) -> JobOutcome:
        calls.append("first")
        # while the first runner holds the job, the second finds it taken
        inner.append(
            len(
                run_due_jobs(
                    sessions=store.second,
                    settings=jc.settings,
                    service=jc.service,
                    runner="second",
                    jobs=jobs,
                )
            )
        )
        return JobOutcome(counts={"n_done": 1})

    # the interval comes from the setting the job names: job_sync_hubspot_minutes=10 here
    jobs = (Job("counted", "counts its runs", "job_sync_hubspot_minutes", counted),)
    first = run_due_jobs(
        sessions=store.first, settings=store.settings, service=store.ctx, runner="first", jobs=jobs
    )
    again = run_due_jobs(
        sessions=store.second, settings=store.settings, service=store.ctx, runner="second", jobs=jobs
    )
    assert calls == ["first"] and inner == [0] and again == []
    assert [(r.status, r.summary) for r in first] == [("ok", {"n_done": 1})]
    assert [(r.job, r.status, r.runner) for r in _runs(store.first)] == [("counted", "ok", "first")]
    # due again once the interval has passed: the other runner takes it
    later = run_due_jobs(
        sessions=store.second,
        settings=store.settings,
        service=store.ctx,
        runner="second",
        jobs=jobs,
        now=first[0].started_at + timedelta(minutes=10),
    )
    assert [r.runner for r in later] == ["second"] and calls == ["first", "first"]
    with store.first() as session:
        audited = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "job.run")))
    assert [a.subject for a in audited] == ["job:counted", "job:counted"]


class Killed(BaseException):
    """Stands for the process dying mid-run: nothing after it runs (no record, no release)."""


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    def dies(_jc: JobContext) -> JobOutcome:
        raise Killed

    def works(_jc: JobContext) -> JobOutcome:
        return JobOutcome(counts={"n_done": 1})

    with pytest.raises(Killed):
        run_due_jobs(
            sessions=store.first,
            settings=store.settings,
            service=store.ctx,
            runner="dead",
            jobs=(Job("work", "w", "job_sync_hubspot_minutes", dies),),
        )
    (left,) = _runs(store.first)
    assert left.status == "running"
    jobs = (Job("work", "w", "job_sync_hubspot_minutes", works),)
    every_minute = store.settings.model_copy(update={"job_sync_hubspot_minutes": 1})
    # the lease (300 s) still holds when the job is due again: neither the schedule nor a manual run takes it
    due = left.started_at + timedelta(minutes=2)
    assert (
        run_due_jobs(
            sessions=store.second,
            settings=every_minute,
            service=store.ctx,
            runner="second",
            jobs=jobs,
            now=due,
        )
        == []
    )
    with pytest.raises(JobBusyError):
        run_job(
            name="work",
            sessions=store.second,
            settings=store.settings,
            service=store.ctx,
            actor="t",
            role="admin",
            jobs=jobs,
        )
    with store.first() as session:
        lock = session.get(JobLock, "work")
        assert lock is not None and lock.owner == "dead" and lock.lease_until is not None
        expired = lock.lease_until + timedelta(seconds=1)
    taken = run_due_jobs(
        sessions=store.second,
        settings=every_minute,
        service=store.ctx,
        runner="second",
        jobs=jobs,
        now=expired,
    )
    assert [(r.runner, r.status) for r in taken] == [("second", "ok")]
    assert [(r.status, r.error) for r in _runs(store.first)] == [("failed", ABANDONED), ("ok", None)]


def test_a_failing_job_records_failed_and_the_next_one_still_runs(store: Store) -> None:
    def fails(_jc: JobContext) -> JobOutcome:
        raise InputError("the export folder has no leads file; check CARELEADS_JOB_DATA_DIR")

    def quotes(_jc: JobContext) -> JobOutcome:  # a CRM's error body quoting a contact
        raise InputError("HubSpot answered 400: email rosalind.quackenbush@example.org is invalid")

    def crashes(_jc: JobContext) -> JobOutcome:
        raise KeyError("Rosalind Quackenbush")  # a message that may quote data is not recorded

    def works(_jc: JobContext) -> JobOutcome:
        return JobOutcome(counts={"n_done": 2})

    jobs = (
        Job("fails", "f", "job_sync_hubspot_minutes", fails),
        Job("quotes", "q", "job_sync_hubspot_minutes", quotes),
        Job("crashes", "c", "job_sync_hubspot_minutes", crashes),
        Job("works", "w", "job_sync_hubspot_minutes", works),
    )
    runs = run_due_jobs(
        sessions=store.first, settings=store.settings, service=store.ctx, runner="r", jobs=jobs
    )
    assert [(r.job, r.status) for r in runs] == [
        ("fails", "failed"),
        ("quotes", "failed"),
        ("crashes", "failed"),
        ("works", "ok"),
    ]
    assert runs[0].error == "InputError: the export folder has no leads file; check CARELEADS_JOB_DATA_DIR"
    assert runs[1].error == "InputError: HubSpot answered 400: email [EMAIL] is invalid"
    assert runs[2].error == "KeyError (details in the server log)"
    with store.first() as session:
        listed = list_jobs(session=session, settings=store.settings, jobs=jobs)
        details = [
            json.loads(a.details)
            for a in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "job.run").order_by(AuditEntry.id)
            )
        ]
    assert [d["status"] for d in details] == ["failed", "failed", "failed", "ok"]
    assert [j.last_run.status if j.last_run else None for j in listed.data] == ["failed"] * 3 + ["ok"]
    assert all(j.next_due is not None and j.next_due > runs[0].started_at for j in listed.data)
    assert "quackenbush" not in json.dumps(listed.model_dump(mode="json")).lower()


def test_jobs_without_their_prerequisites_are_skipped_with_the_reason(store: Store) -> None:
    runs = run_due_jobs(
        sessions=store.first,
        settings=store.settings.model_copy(
            update={"job_deliver_outbox_minutes": 5, "job_monitor_minutes": 5, "job_retrain_minutes": 5}
        ),
        service=store.ctx,
        runner="r",
        jobs=JOBS,
    )
    assert {r.job: (r.status, r.summary["reason"]) for r in runs} == {
        "sync_hubspot": ("skipped", "CARELEADS_HUBSPOT_TOKEN is not set"),
        "sync_salesforce": ("skipped", "no Salesforce session or login is set (CARELEADS_SALESFORCE_*)"),
        "deliver_outbox": ("skipped", "CARELEADS_WEBHOOK_URL or CARELEADS_WEBHOOK_SECRET is not set"),
        "rescore_open_leads": ("skipped", f"no model is published for {store.settings.target}"),
        "monitor": ("skipped", "CARELEADS_JOB_DATA_DIR is not set"),
        "retrain": ("skipped", "CARELEADS_JOB_DATA_DIR is not set"),
    }


def _cli() -> typer.Typer:
    app = typer.Typer()
    _jobs.register(app)
    return app


def test_jobs_run_and_list_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, "sqlite")
    monkeypatch.setenv("CARELEADS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CARELEADS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CARELEADS_JOB_MONITOR_MINUTES", "0")
    runner = CliRunner()
    ran = runner.invoke(_cli(), ["jobs", "run", "sync_hubspot"])
    assert ran.exit_code == 0, ran.output
    assert "job sync_hubspot: skipped (reason=CARELEADS_HUBSPOT_TOKEN is not set)" in ran.output
    as_json = runner.invoke(_cli(), ["jobs", "run", "rescore_open_leads", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["status"] == "skipped"
    unknown = runner.invoke(_cli(), ["jobs", "run", "nothing"])
    assert unknown.exit_code == 2 and "no job named 'nothing'" in unknown.output
    listed = runner.invoke(_cli(), ["jobs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    jobs = {j["name"]: j for j in json.loads(listed.output)["data"]}
    assert (
        jobs["sync_hubspot"]["last_run"]["status"] == "skipped"
        and jobs["sync_hubspot"]["every_minutes"] == 15
    )
    assert jobs["monitor"]["every_minutes"] == 0 and jobs["monitor"]["next_due"] is None
    assert jobs["retrain"]["last_run"] is None
    # a HubSpot that cannot be reached: the run fails, the command says why and exits with 1
    monkeypatch.setenv("CARELEADS_HUBSPOT_TOKEN", "pat-test")
    monkeypatch.setenv("CARELEADS_HUBSPOT_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("CARELEADS_HUBSPOT_MAX_ATTEMPTS", "1")
    failed = runner.invoke(_cli(), ["jobs", "run", "sync_hubspot"])
    assert failed.exit_code == 1 and "job sync_hubspot: failed" in failed.output
    assert "error: HubSpotError: HubSpot kept failing" in failed.output
    table = runner.invoke(_cli(), ["jobs", "list"])
    assert table.exit_code == 0
    assert [line.split()[3] for line in table.output.splitlines() if " monitor " in line] == ["off"]


def test_rescoring_takes_open_leads_only(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite")
    publish(settings, trained_model())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    ctx.bind(factory)
    with session_scope(factory) as session:
        for n in range(3):
            create_lead(
                session=session, ctx=ctx, lead_in={**LEAD, "lead_id": f"R{n}"}, actor="t", role="admin"
            )
    with session_scope(factory) as session:
        first = open_lead_ids(session=session)[0]
        record_outcome(
            session=session,
            ctx=ctx,
            lead_id=first,
            outcome_in={"outcome": "appointment_scheduled", "occurred_at": "2025-03-05T10:00:00"},
            actor="t",
            role="admin",
        )
    runs = run_due_jobs(
        sessions=factory,
        settings=settings,
        service=ctx,
        runner="r",
        jobs=[j for j in JOBS if j.name == "rescore_open_leads"],
    )
    assert [(r.status, r.summary["n_leads"], r.summary["n_failed"]) for r in runs] == [("ok", 2, 0)]
    ctx.analytics.close()
    engine.dispose()


@dataclass
class Receiver:
    """A local webhook that keeps what it receives."""

    url: str = ""
    requests: list[tuple[bytes, str]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((body, self.headers.get(SIGNATURE_HEADER, "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Enough of SMTP (RFC 5321) for one plain message: EHLO, MAIL, RCPT, DATA, QUIT."""

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        messages: list[str] = self.server.messages  # type: ignore[attr-defined]
        self._say("220 test ESMTP")
        while line := self.rfile.readline().decode("utf-8"):
            verb = line.strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 test")
            elif verb == "DATA":
                self._say("354 end with .")
                lines: list[str] = []
                while (data := self.rfile.readline().decode("utf-8")).rstrip("\r\n") != ".":
                    lines.append(data)
                messages.append("".join(lines))
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[str]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.messages  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_an_alert_reaches_the_webhook_signed_and_the_mailbox(
    tmp_path: Path, receiver: Receiver, smtp_server: tuple[int, list[str]]
) -> None:
    port, mailbox = smtp_server
    settings = make_settings(
        tmp_path,
        "sqlite",
        alert_webhook_url=receiver.url,
        alert_webhook_secret=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        alert_email_from="careleads@clinic.test",
        alert_email_to="ops@clinic.test,lead@clinic.test",
    )
    alert = Alert(
        subject="careleads monitoring: act", lines=["drift: act (psi 0.31)"], details={"status": "act"}
    )
    assert send_alert(settings=settings, alert=alert) == ["webhook", "email"]
    ((body, signature),) = receiver.requests
    assert verify_signature(body, signature, SECRET)
    assert json.loads(body)["lines"] == ["drift: act (psi 0.31)"]
    (mail,) = mailbox
    assert "Subject: careleads monitoring: act" in mail and "drift: act (psi 0.31)" in mail
    assert "To: ops@clinic.test, lead@clinic.test" in mail


def test_an_unreachable_alert_channel_is_an_error_naming_it(tmp_path: Path, receiver: Receiver) -> None:
    settings = make_settings(
        tmp_path,
        "sqlite",
        alert_webhook_url=receiver.url,
        smtp_host="127.0.0.1",
        smtp_port=1,
        alert_email_from="a@clinic.test",
        alert_email_to="b@clinic.test",
    )
    with pytest.raises(AlertError, match=r"e-mail could not be sent .* \(reached: webhook\)"):
        send_alert(settings=settings, alert=Alert(subject="s", lines=["l"]))
    assert len(receiver.requests) == 1


def test_the_jobs_page_lists_runs_for_admins_with_its_json_twin_and_the_api(tmp_path: Path) -> None:
    for web in start_web(tmp_path):
        run_job(
            name="sync_hubspot",
            sessions=web.sessions,
            settings=web.settings,
            service=web.ctx,
            actor="admin-user",
            role="admin",
            jobs=JOBS,
        )

        def fails(_jc: JobContext) -> JobOutcome:
            raise InputError(HOSTILE)

        run_job(
            name="probe",
            sessions=web.sessions,
            settings=web.settings,
            service=web.ctx,
            actor="t",
            role="admin",
            jobs=(Job("probe", "p", "job_sync_hubspot_minutes", fails),),
        )
        client = web.client
        sign_in(client, web.tokens["reviewer"])
        assert client.get("/ui/jobs").status_code == 403
        assert ">Jobs<" not in client.get("/ui/queue").text  # not in the reviewer's menu
        sign_in(client, web.tokens["admin"])
        page = client.get("/ui/jobs")
        assert page.status_code == 200 and 'href="/ui/jobs" aria-current="page">Jobs<' in page.text
        assert (
            "<code>sync_hubspot</code>" in page.text
            and "reason: CARELEADS_HUBSPOT_TOKEN is not set" in page.text
        )
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
        assert "This server does not run the jobs" in page.text
        twin = client.get("/ui/jobs.json").json()
        api = client.get("/v1/admin/jobs", headers=web.headers("admin")).json()
        assert twin == api
        assert [(r["job"], r["status"]) for r in api["runs"]] == [
            ("probe", "failed"),
            ("sync_hubspot", "skipped"),
        ]
        assert [j["name"] for j in api["data"]] == [j.name for j in JOBS]
        assert client.get("/v1/admin/jobs", headers=web.headers("analyst")).status_code == 403


def test_the_server_runs_due_jobs_in_a_thread_and_stops_it_on_shutdown(tmp_path: Path) -> None:
    for web in start_web(tmp_path, scheduler=True, scheduler_poll_seconds=0.05):
        for _attempt in range(400):  # the scheduler's first pass comes after one poll
            if any(r.status != "running" for r in _runs(web.sessions)):
                break
            threading.Event().wait(0.05)
        assert [(r.job, r.trigger, r.status) for r in _runs(web.sessions)][:1] == [
            ("sync_hubspot", "schedule", "skipped")
        ]
    assert not [t for t in threading.enumerate() if t.name == "careleads-scheduler"]


def test_the_monitor_job_sends_an_act_alert_to_the_webhook(
    crm_export: ExportFactory, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, receiver: Receiver
) -> None:
    setup = monitoring_setup(crm_export, tmp_path_factory)  # a model published before a channel launched
    settings = make_settings(
        tmp_path,
        "sqlite",
        registry_dir=setup.registry,
        job_data_dir=setup.export.folder,
        alert_webhook_url=receiver.url,
        alert_webhook_secret=SECRET,
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    run = run_job(
        name="monitor", sessions=factory, settings=settings, service=ctx, actor="t", role="admin", jobs=JOBS
    )
    # the published model is younger than CARELEADS_MONITOR_RETRAIN_AFTER_DAYS: retraining waits, and says why
    retrained = run_job(
        name="retrain", sessions=factory, settings=settings, service=ctx, actor="t", role="admin", jobs=JOBS
    )
    engine.dispose()
    assert (retrained.status, retrained.summary["ran"]) == ("ok", False)
    assert "days old" in retrained.summary["reason"], retrained.summary
    assert (run.status, run.summary, run.error) == ("ok", {"status": "act", "n_alerts_sent": 1}, None)
    ((body, signature),) = receiver.requests
    assert verify_signature(body, signature, SECRET)
    alert = json.loads(body)
    assert alert["details"]["status"] == "act" and alert["lines"][0].startswith("Monitoring act: model ")


def test_a_failed_scheduled_run_is_sent_as_an_alert(tmp_path: Path, receiver: Receiver) -> None:
    settings = make_settings(tmp_path, "sqlite", alert_webhook_url=receiver.url)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)

    def fails(_jc: JobContext) -> JobOutcome:
        raise InputError("HubSpot refused the token; create a new one")

    jobs = (Job("sync", "s", "job_sync_hubspot_minutes", fails),)
    (run,) = run_due_jobs(sessions=factory, settings=settings, service=ctx, runner="r", jobs=jobs)
    engine.dispose()
    ((body, signature),) = receiver.requests
    alert = json.loads(body)
    assert signature == ""  # no secret set: sent unsigned
    assert alert["subject"] == "careleads job sync failed"
    assert alert["lines"][0] == f"Run {run.id} of job sync failed: {run.error}"
    assert alert["details"] == {"job": "sync", "run_id": run.id, "status": "failed"}


def test_runners_racing_in_threads_start_a_due_job_once(store: Store) -> None:
    calls: list[int] = []
    start = threading.Barrier(4)

    def counted(_jc: JobContext) -> JobOutcome:
        calls.append(1)
        return JobOutcome()

    jobs = (Job("raced", "r", "job_sync_hubspot_minutes", counted),)
    found: list[int] = []

    def race(n: int) -> None:
        sessions = store.first if n % 2 else store.second
        start.wait()
        runs = run_due_jobs(
            sessions=sessions, settings=store.settings, service=store.ctx, runner=f"r{n}", jobs=jobs
        )
        found.append(len(runs))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1] and sorted(found) == [0, 0, 0, 1]
    assert len(_runs(store.first)) == 1
