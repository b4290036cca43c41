"""The worker's FastAPI app: lifespan wiring plus /health, /metrics and operator /generate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from common.styles import StyleCatalog, load_styles
from gpu_server.backend_client import BackendClient
from gpu_server.capabilities import Inventory, is_demo_engine
from gpu_server.comfy_client import ComfyClient
from gpu_server.comfy_schema import ObjectInfo
from gpu_server.errors import ComfyError
from gpu_server.executor import Executor
from gpu_server.guard import default_guard
from gpu_server.metrics import WorkerMetrics
from gpu_server.pull_loop import PullLoop
from gpu_server.routes import install_body_limit, install_error_handlers, router
from gpu_server.safety.base import ImageGuard
from gpu_server.settings import GpuServerSettings
from gpu_server.workflows import TemplateSet, load_templates
from gpu_server.workflows.checks import check_workflows

log = logging.getLogger("gpu_server")


@dataclass
class Worker:
    """Everything the routes need, built once in the lifespan."""

    settings: GpuServerSettings
    comfy: ComfyClient
    executor: Executor
    inventory: Inventory
    catalog: StyleCatalog
    metrics: WorkerMetrics
    pull_loop: PullLoop | None = None


def create_app(
    settings: GpuServerSettings,
    *,
    guard: ImageGuard | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the app; ComfyUI, templates and the pull loop are set up in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.worker = await _start(settings, guard, transport, stack)
            yield

    app = FastAPI(title="genpod gpu_server", version="0.1.0", lifespan=lifespan)
    app.include_router(router)
    install_error_handlers(app)
    install_body_limit(app, settings.max_request_bytes)
    return app


async def _start(
    settings: GpuServerSettings,
    guard: ImageGuard | None,
    transport: httpx.AsyncBaseTransport | None,
    stack: AsyncExitStack,
) -> Worker:
    timeout = httpx.Timeout(
        settings.comfy_request_timeout_s, connect=settings.comfy_connect_timeout_s
    )
    http = await stack.enter_async_context(httpx.AsyncClient(timeout=timeout, transport=transport))
    comfy = ComfyClient(http, settings.comfyui_url, poll_interval=settings.comfy_poll_interval_s)
    catalog = load_styles(settings.styles_path)
    templates = load_templates(settings.workflows_dir)
    await _check_templates(comfy, templates, catalog, settings)
    comfy.start()
    stack.push_async_callback(comfy.close)
    executor = Executor(comfy, templates, catalog, guard or default_guard(settings))
    inventory = Inventory(comfy, catalog, executor)
    worker = Worker(settings, comfy, executor, inventory, catalog, WorkerMetrics())
    if settings.backend_url:
        worker.pull_loop = _pull_loop(settings, http, executor, inventory, worker.metrics)
        task = asyncio.create_task(worker.pull_loop.run(), name="pull-loop")
        stack.push_async_callback(_stop, task)
    return worker


async def _check_templates(
    comfy: ComfyClient, templates: TemplateSet, catalog: StyleCatalog, settings: GpuServerSettings
) -> None:
    """Live /object_info when ComfyUI answers, else the captured schema; raises WorkflowError."""
    try:
        info = ObjectInfo.from_dict(await comfy.get_json("/object_info"))
        source = "live /object_info"
    except ComfyError:
        info = ObjectInfo.load(settings.object_info_path)
        source = str(settings.object_info_path)
    checked = check_workflows(templates, catalog, info)
    log.info("checked %d workflow graphs against %s", checked, source)
    with contextlib.suppress(ComfyError):
        if is_demo_engine(await comfy.get_json("/system_stats")):
            log.warning(
                "ComfyUI at %s is the DEMO ENGINE: images are labelled placeholders", comfy.base_url
            )


def _pull_loop(
    settings: GpuServerSettings,
    http: httpx.AsyncClient,
    executor: Executor,
    inventory: Inventory,
    metrics: WorkerMetrics,
) -> PullLoop:
    assert settings.backend_url is not None
    backend = BackendClient(
        http,
        settings.backend_url,
        settings.worker_token.get_secret_value(),
        timeout_s=settings.backend_timeout_s,
    )
    return PullLoop(
        backend,
        executor,
        inventory.capabilities,
        worker_id=settings.worker_id,
        prefetch=settings.prefetch,
        lease_wait_s=settings.lease_wait_s,
        progress_interval_s=settings.progress_interval_s,
        backoff_max_s=settings.backoff_max_s,
        metrics=metrics,
    )


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
