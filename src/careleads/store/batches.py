"""Batch jobs: score a CSV or Parquet file of leads in the background, then download the decisions."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from careleads.decisions import decide_many, decisions_frame
from careleads.dictionary import ingest_table, read_table
from careleads.errors import CareleadsError
from careleads.store._engine import session_scope
from careleads.store._models import BatchJob
from careleads.store.context import ServiceContext
from careleads.store.leads import PRESENT, utcnow

__all__ = ["create_batch", "run_batch", "score_file_to"]

log = logging.getLogger("careleads.store")
RESULT_FILE = "decisions.csv"
QUARANTINE_FILE = "quarantine.csv"


def create_batch(
    *, session: Session, ctx: ServiceContext, source_name: str, data: bytes, actor: str
) -> BatchJob:
    """Save an uploaded file and queue its job."""
    job_id = uuid.uuid4().hex
    folder = ctx.settings.batch_path() / job_id
    folder.mkdir(parents=True, exist_ok=True)
    suffix = (
        Path(source_name).suffix.lower()
        if Path(source_name).suffix.lower() in (".csv", ".parquet")
        else ".csv"
    )
    (folder / f"input{suffix}").write_bytes(data)
    job = BatchJob(
        id=job_id,
        status="queued",
        created_by=actor,
        created_at=utcnow(),
        source_name=Path(source_name).name[:200] or "upload",
    )
    session.add(job)
    return job


def score_file_to(ctx: ServiceContext, source: Path, folder: Path) -> tuple[int, int, int]:
    """Check a lead file against the dictionary, score and decide the clean rows, write the decisions.

    The result holds the lead id, score, tier, reasons, route and overrides, never contact details or free
    text; rejected rows go to ``quarantine.csv`` with their row numbers and reasons.

    Returns
    -------
    (int, int, int)
        Rows read, scored and quarantined.
    """
    frame = read_table(source)
    result = ingest_table(frame, ctx.dictionary, "leads", source=source.name)
    leads = result.clean
    if len(result.quarantine):
        # the reasons, not the rejected values: an upload may carry contact details
        keep = [
            c
            for c in ("_row", "_field", "_reason", str(ctx.dictionary.table("leads").key))
            if c in result.quarantine
        ]
        result.quarantine[keep].to_csv(folder / QUARANTINE_FILE, index=False)
    if len(leads):
        table = ctx.dictionary.table("leads")
        for spec in table.fields:
            if spec.name in ctx.spec.presence and spec.name in leads:
                values = leads[spec.name].astype("string")
                leads[spec.name] = values.where(values.isna() | (values.str.strip() == ""), PRESENT)
        scored = ctx.scorer.score(leads, None, None).scored
        decisions = decide_many(
            leads,
            scored.drop(columns=["fallback"]),
            hard_rules=ctx.hard_rules,
            routing=ctx.routing,
            now=pd.Timestamp(utcnow()),
        )
        out = decisions_frame(decisions)
        out["fallback"] = scored["fallback"].to_numpy()
        out = out.drop(columns=[c for c in out.columns if c == "route_owner"])
    else:
        out = pd.DataFrame({"lead_id": pd.Series(dtype="string")})
    out.to_csv(folder / RESULT_FILE, index=False)
    return result.summary.n_read, len(leads), result.summary.n_quarantined


def run_batch(factory: sessionmaker[Session], ctx: ServiceContext, job_id: str) -> None:
    """Run a queued job (in a background task); its status ends as done or failed with the reason."""
    with session_scope(factory) as session:
        job = session.get(BatchJob, job_id)
        if job is None:
            return
        job.status = "running"
    folder = ctx.settings.batch_path() / job_id
    source = next(iter(sorted(folder.glob("input.*"))), None)
    try:
        if source is None:
            raise CareleadsError(f"the uploaded file of batch {job_id} is missing")
        n_rows, n_scored, n_quarantined = score_file_to(ctx, source, folder)
        error = None
        source.unlink()  # the upload may carry identifiers; the decisions file does not
    except CareleadsError as exc:
        n_rows = n_scored = n_quarantined = 0
        error = str(exc)
    except Exception as exc:  # a background job must end with a status, whatever went wrong
        n_rows = n_scored = n_quarantined = 0
        error = f"internal error ({type(exc).__name__}); see the server log"
        log.error("batch %s failed: %s", job_id, type(exc).__name__)
    with session_scope(factory) as session:
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
