"""Batch jobs for files: upload CSV or Parquet, poll, download the decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    HTTPException,
    Path,
    Request,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse

from careleads.api.deps import ContextDep, Principal, SessionDep, require_role
from careleads.api.routes.leads import _ERRORS
from careleads.api.schemas import BatchPublic
from careleads.errors import NotFoundError
from careleads.store._models import BatchJob
from careleads.store.audit import append_audit
from careleads.store.batches import create_batch, run_batch

router = APIRouter(prefix="/v1/batches", tags=["batches"])

BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The batch job id")]
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_ROLES = ("integration", "analyst")


def _public(job: BatchJob) -> BatchPublic:
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
        result_url=f"/v1/batches/{job.id}/result" if job.status == "done" else None,
    )


def _job(session: SessionDep, batch_id: str) -> BatchJob:
    job = session.get(BatchJob, batch_id)
    if job is None:
        raise NotFoundError(f"no batch job {batch_id}; use the id returned by POST /v1/batches")
    return job


@router.post(
    "",
    response_model=BatchPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_ERRORS,
    summary="Score a file of leads in the background",
)
def post_batch(
    request: Request,
    file: Annotated[UploadFile, File(description="Leads as CSV or Parquet, in the data dictionary's fields")],
    background: BackgroundTasks,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(*_ROLES))],
) -> BatchPublic:
    """Queue a file; poll ``GET /v1/batches/{id}`` until ``status`` is done, then download the result."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, detail="the file is larger than 200 MB; split it"
        )
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="the uploaded file is empty")
    job = create_batch(
        session=session, ctx=ctx, source_name=file.filename or "upload.csv", data=data, actor=user.name
    )
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="batch.create",
        subject=f"batch:{job.id}",
        details={"bytes": len(data)},
    )
    background.add_task(run_batch, request.app.state.sessions, ctx, job.id)
    return _public(job)


@router.get("/{batch_id}", response_model=BatchPublic, responses=_ERRORS, summary="A batch job's status")
def read_batch(
    batch_id: BatchId,
    session: SessionDep,
    _user: Annotated[Principal, Depends(require_role(*_ROLES))],
) -> BatchPublic:
    """Status and counts of a batch job."""
    return _public(_job(session, batch_id))


@router.get(
    "/{batch_id}/result",
    response_class=FileResponse,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}, "description": "The decisions as CSV"}},
    summary="Download a batch job's decisions",
)
def download_batch(
    batch_id: BatchId,
    session: SessionDep,
    ctx: ContextDep,
    user: Annotated[Principal, Depends(require_role(*_ROLES))],
) -> FileResponse:
    """The decisions as CSV (no contact details, no free text); the download is audited as an export."""
    job = _job(session, batch_id)
    if job.status != "done" or not job.result_file:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"batch {batch_id} is {job.status}, not done yet"
        )
    path = ctx.settings.batch_path() / job.id / job.result_file
    if not path.exists():
        raise NotFoundError(f"the result file of batch {batch_id} is gone")
    append_audit(
        session=session,
        actor=user.name,
        role=user.role,
        action="export.batch",
        subject=f"batch:{job.id}",
        details={"n_scored": job.n_scored},
    )
    return FileResponse(path, media_type="text/csv", filename=f"decisions-{job.id}.csv")
