"""HTTP routes of the worker and the one place its errors become HTTP answers."""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from common.error_codes import ErrorCode
from gpu_server.capabilities import is_demo_engine
from gpu_server.errors import ComfyError, GpuServerError
from gpu_server.generate import GenerateRequest, GenerateResponse, to_job, to_response

if TYPE_CHECKING:
    from gpu_server.server import Worker

log = logging.getLogger(__name__)
router = APIRouter()

STATUS_BY_CODE: dict[str, int] = {
    ErrorCode.COMFY_UNAVAILABLE: 503,
    ErrorCode.MODEL_MISSING: 503,
    ErrorCode.OUT_OF_MEMORY: 503,
    ErrorCode.MODE_UNAVAILABLE: 422,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.CANCELLED: 409,
    ErrorCode.COMFY_EXECUTION: 502,
    ErrorCode.COMFY_VALIDATION: 502,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.INTERNAL_ERROR: 500,
}


class Unauthorized(GpuServerError):
    """Raised when /generate is called without the worker token."""

    error_code = ErrorCode.UNAUTHORIZED


def get_worker(request: Request) -> Worker:
    """The worker built in the lifespan."""
    worker: Worker = request.app.state.worker
    return worker


WorkerDep = Annotated["Worker", Depends(get_worker)]


def require_token(worker: WorkerDep, authorization: Annotated[str, Header()] = "") -> None:
    """Accept only `Authorization: Bearer <WORKER_TOKEN>`; an unset token refuses everyone."""
    expected = worker.settings.worker_token.get_secret_value()
    scheme, _, given = authorization.partition(" ")
    valid = scheme == "Bearer" and secrets.compare_digest(given.encode(), expected.encode())
    if not expected or not valid:
        raise Unauthorized("a valid worker token is required (Authorization: Bearer ...)")


@router.get("/health")
async def health(worker: WorkerDep) -> dict[str, Any]:
    """ComfyUI reachability, version, devices, models present and queue depth."""
    comfy: dict[str, Any] = {"url": worker.comfy.base_url, "reachable": False}
    try:
        await worker.inventory.refresh(force=True)
        queue = await worker.comfy.get_json("/prompt")
        comfy |= _describe(worker.inventory.stats, queue)
    except ComfyError as exc:
        comfy["error"] = exc.message
    worker.metrics.comfy_up.set(1 if comfy["reachable"] else 0)
    worker.metrics.queue_remaining.set(comfy.get("queue_remaining", 0))
    missing = worker.inventory.missing() if comfy["reachable"] else []
    loop = worker.pull_loop
    return {
        "status": "ok" if comfy["reachable"] and not missing else "degraded",
        "engine": comfy.pop("engine", "unknown"),
        "worker_id": worker.settings.worker_id,
        "comfyui": comfy,
        "models": {"present": worker.inventory.models, "missing": missing},
        "pull_loop": {"enabled": loop is not None, "completed": loop.completed if loop else 0},
    }


def _describe(stats: dict[str, Any], queue: dict[str, Any]) -> dict[str, Any]:
    system = stats.get("system", {})
    demo = is_demo_engine(stats)
    devices = [
        {key: device.get(key) for key in ("name", "type", "vram_total", "vram_free")}
        for device in stats.get("devices", [])
    ]
    return {
        "reachable": True,
        "engine": "demo" if demo else "comfyui",
        "version": system.get("comfyui_version"),
        "devices": devices,
        "queue_remaining": queue.get("exec_info", {}).get("queue_remaining", 0),
    }


@router.get("/metrics")
async def metrics(worker: WorkerDep) -> Response:
    """Prometheus metrics of this worker."""
    return Response(generate_latest(worker.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.post("/generate", dependencies=[Depends(require_token)])
async def generate(body: GenerateRequest, worker: WorkerDep) -> GenerateResponse:
    """Run one job synchronously on this worker's ComfyUI (operators only)."""
    job = to_job(body, worker.catalog, worker.settings.job_deadline_s)
    labels = {"mode": job.mode.value, "style": job.style}
    started = time.perf_counter()
    try:
        outcome = await worker.executor.run(job)
    except GpuServerError as exc:
        worker.metrics.jobs.labels(outcome="failed", **labels).inc()
        worker.metrics.failures.labels(error_code=exc.error_code).inc()
        raise
    worker.metrics.jobs.labels(outcome="done", **labels).inc()
    worker.metrics.duration.labels(**labels).observe(time.perf_counter() - started)
    return to_response(outcome)


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Refuse bodies over max_bytes with 413 before they are read."""

    @app.middleware("http")
    async def limit(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > max_bytes:
            message = f"the request body is over the {max_bytes} byte limit"
            return _error(413, ErrorCode.BODY_TOO_LARGE, message)
        response: Response = await call_next(request)
        return response


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers `{error_code, error}` with the right status, never a stack trace."""

    async def on_worker_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GpuServerError)
        status = STATUS_BY_CODE.get(exc.error_code, 422)
        return _error(status, exc.error_code, exc.message)

    async def on_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        code = ErrorCode.UNKNOWN_FIELD if first.get("type") == "extra_forbidden" else None
        message = f"{where or 'body'}: {first.get('msg', 'invalid request')}"
        return _error(422, code or ErrorCode.INVALID_REQUEST, message)

    async def on_crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return _error(500, ErrorCode.INTERNAL_ERROR, "The worker hit an unexpected error.")

    app.add_exception_handler(GpuServerError, on_worker_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(Exception, on_crash)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "error": message}, status_code=status)
