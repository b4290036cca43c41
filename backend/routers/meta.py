"""Health, styles and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from backend.deps import CallerDep, ServicesDep
from backend.services.catalog import styles_view

router = APIRouter(tags=["meta"])
DAY_S = 86400


def utc_midnight(now: float) -> float:
    """Epoch seconds of the start of the UTC day that contains now."""
    return now - now % DAY_S


@router.get("/health")
async def health(services: ServicesDep) -> JSONResponse:
    """Store status, workers seen recently with their GPUs, queue depth, today's jobs."""
    now = services.submission.clock()
    try:
        depth: int | None = await services.store.queue_depth()
        jobs_today, failures_today = await services.store.counts_since(utc_midnight(now))
        store = "ok"
    except Exception:
        depth, jobs_today, failures_today, store = None, None, None, "unavailable"
    workers: list[dict[str, Any]] = [
        {
            "worker_id": w.worker_id,
            "gpu_name": w.capabilities.gpu_name,
            "vram_total_mb": w.capabilities.vram_total_mb,
            "architectures": w.capabilities.architectures,
            "checkpoints_loaded": w.capabilities.checkpoints_loaded,
            "seen_s_ago": round(now - w.last_seen, 1),
        }
        for w in services.workers.recent(now)
    ]
    body = {
        "status": "ok" if store == "ok" else "degraded",
        "store": store,
        "queue_depth": depth,
        "jobs_today": jobs_today,
        "failures_today": failures_today,
        "workers": workers,
        "content_policy": services.settings.content_policy,
    }
    return JSONResponse(body, status_code=200 if store == "ok" else 503)


@router.get("/styles")
async def styles(_caller: CallerDep, services: ServicesDep) -> dict[str, Any]:
    """Styles with resolutions, defaults and LoRAs; modes and their availability; limits."""
    return styles_view(services.rules, services.settings.content_policy)


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text exposition."""
    depth = await services.store.queue_depth()
    return Response(services.metrics.render(depth), media_type="text/plain; version=0.0.4")
