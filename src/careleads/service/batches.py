"""Batch jobs: score a CSV or Parquet file of leads in the background, then download the decisions."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from careleads.engines import score_file
from careleads.errors import CareleadsError, InputError, NotFoundError
from careleads.service._records import utcnow
from careleads.service.audit import append_audit
from careleads.service.context import ServiceContext
from careleads.store import BatchJob, session_scope

__all__ = [
    "MAX_UPLOAD_BYTES",
    "BatchNotDoneError",
    "EmptyUploadError",
    "UploadTooLargeError",
    "batch_file",
    "batch_report",
    "batch_result",
    "create_batch",
    "get_batch",
    "run_batch",
    "score_file_to",
]

log = logging.getLogger("careleads.service")
RESULT_FILE = "decisions.csv"
QUARANTINE_FILE = "quarantine.csv"
FLAGGED_FILE = "flagged.csv"  # values the dictionary could not read, on scored rows
REPORT_FILE = "report.json"  # counts beyond the job's columns, and alerts
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_COPY_BYTES = 1024 * 1024


class UploadTooLargeError(InputError):
    """An uploaded file is larger than the service accepts (HTTP 413)."""


class EmptyUploadError(InputError):
    """An uploaded file has no bytes."""


class BatchNotDoneError(CareleadsError):
    """A batch job's result was asked for before the job was done (HTTP 409)."""


def _save_upload(stream: BinaryIO, path: Path, max_bytes: int) -> int:
    """Copy the upload to `path` a megabyte at a time; returns its size."""
    n = 0
    with path.open("wb") as handle:
        while chunk := stream.read(_COPY_BYTES):
            n += len(chunk)
            if n > max_bytes:
                raise UploadTooLargeError(
                    f"the file is larger than {max_bytes // (1024 * 1024)} MB; split it"
                )
            handle.write(chunk)
    if n == 0:
        raise EmptyUploadError("the uploaded file is empty")
    return n


def create_batch(
    *,
    session: Session,
    ctx: ServiceContext,
    source_name: str,
    stream: BinaryIO,
    actor: str,
    role: str,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> BatchJob:
    """Save an uploaded file and queue its job (run it with :func:`run_batch`); audited.

    Raises
    ------
    UploadTooLargeError, EmptyUploadError
        When the file is larger than `max_bytes` or empty; nothing is kept then.
    """
    job_id = uuid.uuid4().hex
    folder = ctx.settings.batch_path() / job_id
    folder.mkdir(parents=True, exist_ok=True)
    suffix = (
        Path(source_name).suffix.lower()
        if Path(source_name).suffix.lower() in (".csv", ".parquet")
        else ".csv"
    )
    try:
        n_bytes = _save_upload(stream, folder / f"input{suffix}", max_bytes)
    except InputError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    job = BatchJob(
        id=job_id,
        status="queued",
        created_by=actor,
        created_at=utcnow(),
        source_name=Path(source_name).name[:200] or "upload",
    )
    session.add(job)
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="batch.create",
        subject=f"batch:{job.id}",
        details={"bytes": n_bytes},
    )
    return job


def get_batch(*, session: Session, batch_id: str) -> BatchJob:
    """A batch job by id.

    Raises
    ------
    NotFoundError
        If there is no such job.
    """
    job = session.get(BatchJob, batch_id)
    if job is None:
        raise NotFoundError(f"no batch job {batch_id}; use the id returned by POST /v1/batches")
    return job


def batch_result(*, session: Session, ctx: ServiceContext, batch_id: str, actor: str, role: str) -> Path:
    """The decisions file of a finished job; the download is audited as an export.

    Raises
    ------
    NotFoundError
        For an unknown job, or a result file that is gone.
    BatchNotDoneError
        While the job is queued or running, or when it failed.
    """
    job = get_batch(session=session, batch_id=batch_id)
    if job.status != "done" or not job.result_file:
        raise BatchNotDoneError(f"batch {batch_id} is {job.status}, not done yet")
    path = ctx.settings.batch_path() / job.id / job.result_file
    if not path.exists():
        raise NotFoundError(f"the result file of batch {batch_id} is gone")
    append_audit(
        session=session,
        actor=actor,
        role=role,
        action="export.batch",
        subject=f"batch:{job.id}",
        details={"n_scored": job.n_scored},
    )
    return path


def score_file_to(*, ctx: ServiceContext, source: Path, folder: Path) -> tuple[int, int, int]:
    """Check a lead file against the dictionary, score and decide the clean rows, write the decisions.

    The file goes through the streamed batch engine (:func:`careleads.engines.score_file`, the one batch
    path `careleads score` uses too) with the service's own hard rules and routing, and the published model
    or, before one is published, the rule baseline. The result holds the lead id, score, tier, reasons,
    route and overrides, never contact details or free text; rejected rows go to ``quarantine.csv`` with
    their row numbers, reasons and the clinical-triage level of their texts (not their values); values the
    dictionary could not read on scored rows are listed in ``flagged.csv`` (row, field, value for ``safe``
    fields, what to do), and counts and alerts (a quarantined row that may describe an emergency) in
    ``report.json`` (:func:`batch_report`).

    Returns
    -------
    (int, int, int)
        Rows read, scored and quarantined.
    """
    summary = score_file(
        source,
        model=ctx.scorer.current(),
        out_path=folder / RESULT_FILE,
        n_reasons=3,
        dictionary=ctx.refresh_dictionary(),  # with the clinic's mapped values
        decided_at=pd.Timestamp(utcnow()).isoformat(),
        hard_rules=ctx.hard_rules,
        routing=ctx.routing,
        quarantine_values=False,
        compiled=False,
    )
    quarantine = Path(summary.quarantine_path)
    if quarantine.exists():
        quarantine.replace(folder / QUARANTINE_FILE)
    flagged = Path(summary.flagged_path)
    if flagged.exists():
        flagged.replace(folder / FLAGGED_FILE)
    report = {
        "n_flagged": summary.n_flagged,
        "n_quarantined_alarming": summary.n_quarantined_alarming,
        "alerts": [
            note.replace(Path(summary.quarantine_path).name, QUARANTINE_FILE)
            for note in summary.notes
            if note.startswith("URGENT")
        ],
    }
    (folder / REPORT_FILE).write_text(json.dumps(report), encoding="utf-8")
    if summary.n_quarantined_alarming:
        log.warning(
            "batch %s: %d quarantined rows may describe an emergency; they need a human now",
            folder.name,
            summary.n_quarantined_alarming,
        )
    return summary.n_read, summary.n_scored, summary.n_quarantined


def batch_report(*, ctx: ServiceContext, job: BatchJob) -> dict[str, Any]:
    """A finished job's flagged values count and alerts (quarantined rows that may describe an emergency)."""
    path = ctx.settings.batch_path() / job.id / REPORT_FILE
    if not path.exists():
        return {"n_flagged": None, "n_quarantined_alarming": None, "alerts": []}
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


def batch_file(
    *, session: Session, ctx: ServiceContext, batch_id: str, which: str, actor: str, role: str
) -> Path:
    """A finished job's flagged values (``flagged``) or quarantined rows (``quarantine``) as CSV; audited.

    Raises
    ------
    NotFoundError, BatchNotDoneError
        As :func:`batch_result`.
    """
    job = get_batch(session=session, batch_id=batch_id)
    if job.status != "done":
        raise BatchNotDoneError(f"batch {batch_id} is {job.status}, not done yet")
    path = ctx.settings.batch_path() / job.id / (FLAGGED_FILE if which == "flagged" else QUARANTINE_FILE)
    if not path.exists():
        raise NotFoundError(f"the {which} file of batch {batch_id} is gone")
    append_audit(
        session=session, actor=actor, role=role, action=f"export.batch_{which}", subject=f"batch:{job.id}"
    )
    return path


def run_batch(*, sessions: sessionmaker[Session], ctx: ServiceContext, job_id: str) -> None:
    """Run a queued job (in a background task); its status ends as done or failed with the reason."""
    with session_scope(sessions) as session:
        job = session.get(BatchJob, job_id)
        if job is None:
            return
        job.status = "running"
    folder = ctx.settings.batch_path() / job_id
    source = next(iter(sorted(folder.glob("input.*"))), None)
    try:
        if source is None:
            raise CareleadsError(f"the uploaded file of batch {job_id} is missing")
        n_rows, n_scored, n_quarantined = score_file_to(ctx=ctx, source=source, folder=folder)
        error = None
    except CareleadsError as exc:
        n_rows = n_scored = n_quarantined = 0
        # named as the client knows it: the batch's upload, never the file's place on the server
        error = str(exc).replace(str(source), f"the uploaded file of batch {job_id}")
        error = error.replace(str(folder), f"the folder of batch {job_id}")
    except Exception as exc:  # a background job must end with a status, whatever went wrong
        n_rows = n_scored = n_quarantined = 0
        error = f"internal error ({type(exc).__name__}); see the server log"
        log.error("batch %s failed: %s", job_id, type(exc).__name__)
    finally:
        if source is not None:  # the upload may carry identifiers, done or failed; the results do not
            source.unlink(missing_ok=True)
    with session_scope(sessions) as session:
        job = session.get(BatchJob, job_id)
        if job is None:
            return
        job.finished_at = utcnow()
        if error is None:
            job.status, job.n_rows, job.n_scored, job.n_quarantined = "done", n_rows, n_scored, n_quarantined
            job.result_file = RESULT_FILE
        else:
            job.status, job.error = "failed", error[:2000]
    log.info("batch %s finished: %s", job_id, "done" if error is None else "failed")
