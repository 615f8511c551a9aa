"""The scheduled jobs page: each job's schedule, last run and next due time, and the latest runs."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from careleads.service.access import ADMIN_ONLY, authorize
from careleads.service.http import SessionDep
from careleads.service.scheduling import list_jobs
from careleads.web._state import render, web_user

__all__ = ["JOBS_ROLES", "jobs_page"]

#: who may open the page: the roles of ``GET /v1/admin/jobs``
JOBS_ROLES = ADMIN_ONLY


def jobs_page(request: Request, session: SessionDep) -> Response:
    """The jobs and their latest runs (``GET /v1/admin/jobs``); admins only."""
    user = web_user(request)
    authorize(user.role, JOBS_ROLES)
    listed = list_jobs(session=session, settings=request.app.state.settings, jobs=request.app.state.jobs)
    return render(request, "jobs.html", listed.model_dump(mode="json"), user=user, page="jobs")
