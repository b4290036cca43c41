"""Public API: generate, tasks, images, progress events, cancel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse

from backend.deps import CallerDep, ServicesDep
from backend.schemas.api import ErrorBody, GenerateRequest, GenerateResponse, TaskView
from backend.services.stream import task_events

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
TaskId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

router = APIRouter(responses=ERRORS)

# Sync callers are waiting on a socket, so their jobs go ahead of async ones.
SYNC_PRIORITY = 1
ASYNC_PRIORITY = 0


@router.post("/generate", response_model=GenerateResponse)
async def generate(
    body: GenerateRequest, caller: CallerDep, services: ServicesDep
) -> GenerateResponse:
    """Queue a job and wait for it up to REQUEST_TIMEOUT; `processing` if it is not done by then."""
    row = await services.submission.submit(body, caller, SYNC_PRIORITY)
    timeout = services.settings.request_timeout
    row = await services.tasks.wait_final(row.id, caller.key_name, timeout, row)
    return services.tasks.answer(row)


@router.post("/tasks", status_code=202, response_model=TaskView)
async def create_task(body: GenerateRequest, caller: CallerDep, services: ServicesDep) -> TaskView:
    """Queue a job and answer at once; follow it with GET /tasks/{id} or its events."""
    row = await services.submission.submit(body, caller, ASYNC_PRIORITY)
    return await services.tasks.view_of(row)


@router.get("/tasks/{task_id}", responses={200: {"model": TaskView}})
async def get_task(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> Response:
    """The task's status, queue position and progress."""
    body = await services.tasks.view_json(task_id, caller.key_name)
    return Response(body, media_type="application/json")


@router.get(
    "/tasks/{task_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/webp": {}, "image/jpeg": {}}}},
)
async def get_image(
    task_id: TaskId,
    caller: CallerDep,
    services: ServicesDep,
    index: Annotated[int, Query(ge=0, le=3)] = 0,
    format: Annotated[Literal["png", "webp", "jpeg"] | None, Query()] = None,
) -> Response:
    """One output image as bytes, converted to the requested format if needed."""
    data, media_type = await services.tasks.image(task_id, caller.key_name, index, format)
    return Response(data, media_type=media_type)


def _sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


@router.get("/tasks/{task_id}/events", response_class=StreamingResponse)
async def task_stream(
    task_id: TaskId, caller: CallerDep, services: ServicesDep
) -> StreamingResponse:
    """Server-sent events: queued {position}, running {step,total}, then one final event."""
    await services.tasks.row(task_id, caller.key_name)  # 404 before the stream starts

    async def body() -> AsyncIterator[bytes]:
        async for event, data in task_events(services.tasks, task_id, caller.key_name):
            yield _sse(event, data)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


@router.delete("/tasks/{task_id}", response_model=TaskView)
async def cancel_task(task_id: TaskId, caller: CallerDep, services: ServicesDep) -> TaskView:
    """Cancel: a queued task never runs; a running one is interrupted on its worker."""
    return await services.tasks.cancel(task_id, caller.key_name)
