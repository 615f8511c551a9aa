"""Scheduled jobs: what a job is (:class:`Job`), one runner across server processes, every run recorded.

A job has a name, a description, a schedule (a Settings field ``job_<name>_minutes``: every that many
minutes, 0 for off) and a function that calls a use case and returns its counts, or ``skipped`` with the
reason when a prerequisite is absent. The registry of careleads' jobs is :data:`careleads.jobs.JOBS`; the
functions here take the jobs to work on, so the layers below the connectors never import them.

Across processes, a job starts once when due: a runner takes the job's lease in ``job_locks`` with one
conditional UPDATE (lease free or expired, and the last start older than the interval). The lease is
renewed while the job runs; a process that stops leaves a lease that expires, and the next runner takes the
job over (the left run is recorded ``failed``). Every run is a row of ``job_runs`` (status ``running``, then
``ok``, ``failed`` or ``skipped``, with counts and an error message) and an entry of the audit log. A
scheduled run that fails is also sent as an alert (:mod:`careleads.service.alerts`) when alerts are set up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from careleads.errors import CareleadsError, NotFoundError
from careleads.privacy import redact_text
from careleads.service.alerts import Alert, AlertError, alert_channels, send_alert
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.settings import Settings
from careleads.store import JobLock, JobRun, insert_row, session_scope

__all__ = [
    "Job",
    "JobBusyError",
    "JobFailedError",
    "JobContext",
    "JobOutcome",
    "JobPublic",
    "JobRunPublic",
    "JobsPublic",
    "list_jobs",
    "run_due_jobs",
    "run_job",
    "runner_name",
    "schedule_until",
    "skipped",
]

log = logging.getLogger("careleads.jobs")

#: the actor and role of the scheduler's audit entries
SCHEDULER_ACTOR = "scheduler"
SCHEDULER_ROLE = "admin"
#: the error of a run whose runner stopped before it ended
ABANDONED = "the server process running it stopped before the run ended (its lease expired)"
_ERROR_CHARS = 500


class JobBusyError(CareleadsError):
    """The job is running now (another process holds its lease); try again when it has finished."""


class JobFailedError(CareleadsError):
    """A job that did part of its work and failed the rest: the run is ``failed`` and keeps `counts`."""

    def __init__(self, message: str, *, counts: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.counts = dict(counts)


@dataclass(frozen=True)
class JobContext:
    """What a job's function works with: the settings, the store and the service context."""

    settings: Settings
    sessions: sessionmaker[Session]
    service: ServiceContext
    now: datetime


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended when it did not raise: ``ok`` with counts, or ``skipped`` with the reason."""

    status: Literal["ok", "skipped"] = "ok"
    counts: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""


def skipped(reason: str) -> JobOutcome:
    """A job that did not run because a prerequisite is absent (`reason` says which)."""
    return JobOutcome(status="skipped", reason=reason)


@dataclass(frozen=True)
class Job:
    """A scheduled job: `setting` names the Settings field holding its interval in minutes (0: off)."""

    name: str
    description: str
    setting: str
    run: Callable[[JobContext], JobOutcome]

    def every_minutes(self, settings: Settings) -> int:
        """The job's interval from `settings` (0: off)."""
        minutes = getattr(settings, self.setting)
        return int(minutes)

    @property
    def variable(self) -> str:
        """The environment variable of its schedule."""
        return f"CARELEADS_{self.setting.upper()}"


# -- the lease and the runs -------------------------------------------------------------------------------


def runner_name() -> str:
    """This process's name in leases and runs: host, process id and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _changed(session: Session, statement: Any) -> int:
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


def _claim(
    session: Session,
    *,
    name: str,
    runner: str,
    now: datetime,
    lease_seconds: float,
    due_before: datetime | None,
) -> bool:
    """Take the job's lease when it is free or expired (and, with `due_before`, the job last started at or
    before it); one conditional UPDATE, so of runners racing for it one wins."""
    insert_row(session, JobLock(name=name), unless_exists=["name"])
    conditions = [JobLock.name == name, or_(JobLock.lease_until.is_(None), JobLock.lease_until < now)]
    if due_before is not None:
        conditions.append(or_(JobLock.last_started_at.is_(None), JobLock.last_started_at <= due_before))
    taken = _changed(
        session,
        update(JobLock)
        .where(*conditions)
        .values(owner=runner, lease_until=now + timedelta(seconds=lease_seconds), last_started_at=now),
    )
    return taken == 1


def _renew_until(
    stop: threading.Event, sessions: sessionmaker[Session], name: str, runner: str, lease_seconds: float
) -> None:
    while not stop.wait(lease_seconds / 3):
        try:
            with session_scope(sessions) as session:
                _changed(
                    session,
                    update(JobLock)
                    .where(JobLock.name == name, JobLock.owner == runner)
                    .values(lease_until=_utcnow() + timedelta(seconds=lease_seconds)),
                )
        except Exception as exc:  # the next renewal tries again; the lease may lapse meanwhile
            log.warning("job %s: lease not renewed: %s", name, type(exc).__name__)


def _error_text(exc: BaseException) -> str:
    # careleads' own messages say what to fix, but one may quote a remote answer (a CRM's error body): kept
    # redacted; other exceptions may quote any value: their type only
    if isinstance(exc, CareleadsError):
        return redact_text(f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]).text
    return f"{type(exc).__name__} (details in the server log)"


class JobRunPublic(BaseModel):
    """One run of a scheduled job."""

    id: int
    job: str
    trigger: str = Field(description="schedule or manual")
    runner: str
    started_at: datetime
    finished_at: datetime | None
    status: str = Field(description="running, ok, failed or skipped")
    summary: dict[str, Any] = Field(description="The run's counts, and the reason of a skipped run")
    error: str | None


def _run_public(run: JobRun) -> JobRunPublic:
    return JobRunPublic(
        id=run.id,
        job=run.job,
        trigger=run.trigger,
        runner=run.runner,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        summary=dict(run.summary or {}),
        error=run.error,
    )


def _execute(
    job: Job,
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    service: ServiceContext,
    runner: str,
    trigger: str,
    actor: str,
    role: str,
    now: datetime,
    due_before: datetime | None,
) -> JobRunPublic | None:
    """Claim `job`, run it, record and audit the run; None when another runner holds it or it is not due."""
    with session_scope(sessions) as session:
        if not _claim(
            session,
            name=job.name,
            runner=runner,
            now=now,
            lease_seconds=settings.job_lease_seconds,
            due_before=due_before,
        ):
            return None
        # a run still "running" under the lease just taken was left by a runner that stopped
        session.execute(
            update(JobRun)
            .where(JobRun.job == job.name, JobRun.status == "running")
            .values(status="failed", finished_at=now, error=ABANDONED)
        )
        run = insert_row(
            session,
            JobRun(
                job=job.name,
                trigger=trigger,
                runner=runner,
                started_at=now,
                finished_at=None,
                status="running",
                summary={},
                error=None,
            ),
        )
        assert run is not None
        run_id = run.id
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew_until,
        args=(stop, sessions, job.name, runner, settings.job_lease_seconds),
        name=f"careleads-lease-{job.name}",
        daemon=True,
    )
    renewer.start()
    status: str
    summary: dict[str, Any] = {}
    error: str | None = None
    try:
        outcome = job.run(JobContext(settings=settings, sessions=sessions, service=service, now=now))
        status = outcome.status
        summary = dict(outcome.counts)
        if outcome.reason:
            summary["reason"] = outcome.reason
    except Exception as exc:  # a failed job is recorded and the runner goes on with the next one
        status = "failed"
        error = _error_text(exc)
        if isinstance(exc, JobFailedError):
            summary = exc.counts
        log.warning("job %s failed: %s", job.name, type(exc).__name__)
    finally:
        stop.set()
        renewer.join()
    finished = _utcnow()
    with session_scope(sessions) as session:
        record = session.get(JobRun, run_id)
        assert record is not None
        record.status = status
        record.finished_at = finished
        record.summary = summary
        record.error = error
        session.execute(
            update(JobLock)
            .where(JobLock.name == job.name, JobLock.owner == runner)
            .values(owner=None, lease_until=None)
        )
        append_audit(
            session=session,
            actor=actor,
            role=role,
            action="job.run",
            subject=f"job:{job.name}",
            details={"run_id": run_id, "trigger": trigger, "status": status, "summary": summary},
        )
        session.flush()
        public = _run_public(record)
    log.info("job %s: %s %s", job.name, status, summary)
    if status == "failed" and trigger == "schedule":
        _alert_failure(settings, public)
    return public


def _alert_failure(settings: Settings, run: JobRunPublic) -> None:
    """Tell people a scheduled run failed (nobody watches it): a stopped sync leaves new leads unseen."""
    if not alert_channels(settings):
        return
    alert = Alert(
        subject=f"careleads job {run.job} failed",
        lines=[
            f"Run {run.id} of job {run.job} failed: {run.error}",
            "See /ui/jobs or `careleads jobs list`.",
        ],
        details={"job": run.job, "run_id": run.id, "status": run.status},
    )
    try:
        send_alert(settings=settings, alert=alert)
    except AlertError as exc:
        log.warning("job %s: failure alert not delivered: %s", run.job, exc)


def _find(name: str, jobs: Sequence[Job]) -> Job:
    for job in jobs:
        if job.name == name:
            return job
    raise NotFoundError(f"no job named {name!r}; the jobs are: {', '.join(j.name for j in jobs)}")


def run_job(
    *,
    name: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    service: ServiceContext,
    actor: str,
    role: str,
    runner: str | None = None,
    jobs: Sequence[Job],
) -> JobRunPublic:
    """Run one job now, under the same lease as the scheduler (whether due or not, on or off); audited.

    Raises
    ------
    NotFoundError
        If no job has this name.
    JobBusyError
        If the job is running now in another process.
    """
    job = _find(name, jobs)
    done = _execute(
        job,
        sessions=sessions,
        settings=settings,
        service=service,
        runner=runner or runner_name(),
        trigger="manual",
        actor=actor,
        role=role,
        now=_utcnow(),
        due_before=None,
    )
    if done is None:
        raise JobBusyError(f"job {name} is running now in another process; try again when it has finished")
    return done


def run_due_jobs(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    service: ServiceContext,
    runner: str,
    now: datetime | None = None,
    jobs: Sequence[Job],
) -> list[JobRunPublic]:
    """Run every job that is on and due, each once across runners; the runs this runner made."""
    moment = now or _utcnow()
    runs: list[JobRunPublic] = []
    for job in jobs:
        minutes = job.every_minutes(settings)
        if minutes <= 0:
            continue
        done = _execute(
            job,
            sessions=sessions,
            settings=settings,
            service=service,
            runner=runner,
            trigger="schedule",
            actor=SCHEDULER_ACTOR,
            role=SCHEDULER_ROLE,
            now=moment,
            due_before=moment - timedelta(minutes=minutes),
        )
        if done is not None:
            runs.append(done)
    return runs


def schedule_until(
    *,
    stop: threading.Event,
    sessions: sessionmaker[Session],
    settings: Settings,
    service: ServiceContext,
    jobs: Sequence[Job],
) -> None:
    """Run due jobs every ``scheduler_poll_seconds`` until `stop` is set (the server's scheduler thread).

    A store that cannot be reached is logged and tried again at the next poll.
    """
    runner = runner_name()
    while not stop.wait(settings.scheduler_poll_seconds):
        try:
            run_due_jobs(sessions=sessions, settings=settings, service=service, runner=runner, jobs=jobs)
        except Exception as exc:  # the scheduler outlives a store that is briefly unavailable
            log.warning("scheduler: jobs not run this time: %s", type(exc).__name__)


class JobPublic(BaseModel):
    """A scheduled job: its schedule, its last run and when it is next due."""

    name: str
    description: str
    setting: str = Field(description="The environment variable of its schedule")
    every_minutes: int = Field(description="Interval in minutes; 0: off")
    running: bool = Field(description="Whether a runner holds its lease now")
    last_run: JobRunPublic | None
    next_due: datetime | None = Field(
        description="When it is next due (in the past: overdue); None when off or never started (due at once)"
    )


class JobsPublic(BaseModel):
    """The scheduled jobs and the latest runs of all of them, newest first."""

    data: list[JobPublic]
    runs: list[JobRunPublic]
    scheduler: bool = Field(description="Whether the server runs the jobs on their schedules")


def list_jobs(
    *,
    session: Session,
    settings: Settings,
    now: datetime | None = None,
    limit: int = 50,
    jobs: Sequence[Job],
) -> JobsPublic:
    """The jobs with their schedules, last runs and next due times, and the latest `limit` runs."""
    moment = now or _utcnow()
    locks = {lock.name: lock for lock in session.scalars(select(JobLock))}
    data: list[JobPublic] = []
    for job in jobs:
        last = session.scalars(
            select(JobRun).where(JobRun.job == job.name).order_by(JobRun.id.desc()).limit(1)
        ).first()
        lock = locks.get(job.name)
        minutes = job.every_minutes(settings)
        started = lock.last_started_at if lock is not None else None
        next_due = None if minutes <= 0 or started is None else started + timedelta(minutes=minutes)
        running = lock is not None and lock.lease_until is not None and lock.lease_until >= moment
        data.append(
            JobPublic(
                name=job.name,
                description=job.description,
                setting=job.variable,
                every_minutes=minutes,
                running=running,
                last_run=None if last is None else _run_public(last),
                next_due=next_due,
            )
        )
    runs = session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit))
    return JobsPublic(data=data, runs=[_run_public(r) for r in runs], scheduler=settings.scheduler)
