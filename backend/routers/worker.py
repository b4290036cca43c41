"""Worker protocol endpoints (Authorization: Bearer WORKER_TOKEN)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from backend.deps import ServicesDep, WorkerDep
from backend.schemas.api import ErrorBody
from common.protocol import (
    JobFailure,
    JobResult,
    Lease,
    LeaseRequest,
    ProgressAnswer,
    ProgressReport,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 422)
}
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

router = APIRouter(prefix="/worker", dependencies=[WorkerDep], responses=ERRORS, tags=["worker"])


@router.post(
    "/lease",
    responses={
        200: {"model": Lease},
        204: {"description": "no job within wait_s"},
        503: {"model": ErrorBody, "description": "the backend is stopping; retry shortly"},
    },
)
async def lease(body: LeaseRequest, services: ServicesDep) -> Response:
    """Long poll for one job this worker can run; 204 when none came within wait_s."""
    granted = await services.scheduler.lease(body)
    if granted is None:
        return Response(status_code=204)
    # serialised once by pydantic: input photos travel in here as base64
    return Response(granted.model_dump_json(), media_type="application/json")


@router.post("/jobs/{job_id}/progress", response_model=ProgressAnswer)
async def progress(job_id: JobId, body: ProgressReport, services: ServicesDep) -> ProgressAnswer:
    """Record progress and renew the lease; the answer says whether to cancel."""
    return await services.scheduler.progress(job_id, body)


@router.post("/jobs/{job_id}/result")
async def result(job_id: JobId, body: JobResult, services: ServicesDep) -> dict[str, bool]:
    """Store the job's images; a repeat under the same lease is a no-op."""
    await services.scheduler.result(job_id, body)
    return {"ok": True}


@router.post("/jobs/{job_id}/failure")
async def failure(job_id: JobId, body: JobFailure, services: ServicesDep) -> dict[str, bool]:
    """Record a failure; retryable ones go back to the queue while attempts remain."""
    await services.scheduler.failure(job_id, body)
    return {"ok": True}
