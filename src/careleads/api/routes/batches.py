"""Batch jobs for files: upload CSV or Parquet, poll, download the decisions, the flagged values and the
quarantined rows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Path, Request, UploadFile, status
from fastapi.responses import FileResponse

from careleads.api.deps import require_role
from careleads.api.routes.leads import ERRORS
from careleads.service.access import BATCHES, Principal
from careleads.service.batches import (
    batch_file,
    batch_report,
    batch_result,
    create_batch,
    get_batch,
    run_batch,
)
from careleads.service.http import ContextDep, SessionDep, TransactionRoute
from careleads.service.schemas import BatchPublic
from careleads.store import BatchJob

router = APIRouter(route_class=TransactionRoute, prefix="/v1/batches", tags=["batches"])

BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The batch job id")]
BatchUser = Annotated[Principal, Depends(require_role(BATCHES))]


def _public(job: BatchJob, report: dict[str, Any] | None = None) -> BatchPublic:
    done = job.status == "done"
    report = report or {}
    return BatchPublic(
        id=job.id,
        status=job.status,
        source_name=job.source_name,
        created_at=job.created_at,
        finished_at=job.finished_at,
        n_rows=job.n_rows,
        n_scored=job.n_scored,
        n_quarantined=job.n_quarantined,
        error=job.error,
        result_url=f"/v1/batches/{job.id}/result" if done else None,
        n_flagged=report.get("n_flagged"),
        n_quarantined_alarming=report.get("n_quarantined_alarming"),
        alerts=list(report.get("alerts", [])),
        flagged_url=f"/v1/batches/{job.id}/flagged" if done else None,
        quarantine_url=f"/v1/batches/{job.id}/quarantine" if done else None,
    )


@router.post(
    "",
    response_model=BatchPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
    summary="Score a file of leads in the background",
)
def post_batch(
    request: Request,
    file: Annotated[UploadFile, File(description="Leads as CSV or Parquet, in the data dictionary's fields")],
    background: BackgroundTasks,
    session: SessionDep,
    ctx: ContextDep,
    user: BatchUser,
) -> BatchPublic:
    """Queue a file; poll ``GET /v1/batches/{id}`` until ``status`` is done, then download the result."""
    job = create_batch(
        session=session,
        ctx=ctx,
        source_name=file.filename or "upload.csv",
        stream=file.file,
        actor=user.name,
        role=user.role,
    )
    background.add_task(run_batch, sessions=request.app.state.sessions, ctx=ctx, job_id=job.id)
    return _public(job)


@router.get("/{batch_id}", response_model=BatchPublic, responses=ERRORS, summary="A batch job's status")
def read_batch(batch_id: BatchId, session: SessionDep, ctx: ContextDep, _user: BatchUser) -> BatchPublic:
    """Status and counts of a batch job; ``alerts`` names quarantined rows that may describe an emergency."""
    job = get_batch(session=session, batch_id=batch_id)
    return _public(job, batch_report(ctx=ctx, job=job))


@router.get(
    "/{batch_id}/result",
    response_class=FileResponse,
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "The decisions as CSV"}},
    summary="Download a batch job's decisions",
)
def download_batch(batch_id: BatchId, session: SessionDep, ctx: ContextDep, user: BatchUser) -> FileResponse:
    """The decisions as CSV (no contact details, no free text); the download is audited as an export."""
    path = batch_result(session=session, ctx=ctx, batch_id=batch_id, actor=user.name, role=user.role)
    return FileResponse(path, media_type="text/csv", filename=f"decisions-{batch_id}.csv")


@router.get(
    "/{batch_id}/{which}",
    response_class=FileResponse,
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}}, "description": "Flagged values or quarantined rows"},
    },
    summary="Download a batch job's flagged values or quarantined rows",
)
def download_batch_report(
    batch_id: BatchId,
    which: Annotated[str, Path(pattern=r"^(flagged|quarantine)$", description="flagged or quarantine")],
    session: SessionDep,
    ctx: ContextDep,
    user: BatchUser,
) -> FileResponse:
    """``flagged``: values the dictionary could not read on scored rows (row, field, value, what to do).
    ``quarantine``: rows that could not be identified (row, field, reason, triage level; not their values).
    The download is audited as an export."""
    path = batch_file(
        session=session, ctx=ctx, batch_id=batch_id, which=which, actor=user.name, role=user.role
    )
    return FileResponse(path, media_type="text/csv", filename=f"{which}-{batch_id}.csv")
