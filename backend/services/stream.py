"""The progress stream of one task, as (event, data) pairs ending with a final event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from backend.services.tasks import TaskService, is_final, task_view
from common.protocol import JobState

WAKE_S = 1.0


def _final_event(view: dict[str, Any]) -> tuple[str, Any]:
    status = view["status"]
    if status == JobState.DONE:
        return "done", view
    if status == JobState.FAILED:
        return "failed", {"error_code": view["error_code"], "error": view["error"]}
    return status, {"task_id": view["task_id"]}


async def task_events(
    tasks: TaskService, task_id: str, owner: str
) -> AsyncIterator[tuple[str, Any]]:
    """Yield queued {position} / running {step,total} on change, then the final event."""
    last: tuple[Any, ...] | None = None
    while True:
        # shielded: a client that hangs up cancels the stream, and a store read cancelled
        # half-way can leave its SQLite connection unusable
        row, position = await asyncio.shield(tasks.store.get_with_position(task_id))
        if row is None or row.owner != owner:
            return
        view = task_view(row, position).model_dump(mode="json")
        if is_final(row):
            yield _final_event(view)
            return
        if row.state == JobState.QUEUED:
            current: tuple[Any, ...] = ("queued", {"position": view["queue_position"]})
        else:
            progress = view["progress"] or {"step": 0, "total": 0}
            current = ("running", {"step": progress["step"], "total": progress["total"]})
        if current != last:
            yield current[0], current[1]
            last = current
        if tasks.notifier.closing:
            return  # the backend is stopping: the client reconnects to a running one
        if row.state == JobState.QUEUED:
            await tasks.notifier.queue.wait(WAKE_S)
        else:
            await tasks.notifier.wait_job(task_id, WAKE_S)
