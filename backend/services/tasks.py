"""Reading, waiting on and cancelling tasks; their images and the sync answer."""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend.errors import Conflict, RequestRejected, TaskNotFound
from backend.schemas.api import GenerateResponse, Progress, TaskView
from backend.services.events import Notifier
from backend.services.images import convert_image
from backend.services.results import FreshResults, ResultFiles
from backend.store.jobs import JobStore
from backend.store.models import JobRow
from common.error_codes import ErrorCode
from common.protocol import FINAL_STATES, JobState

CACHE_SIZE = 20_000
LIVE_TTL_S = 0.5  # live views are reused only while nothing changed and for at most this long
POLL_S = 1.0  # fallback re-read when no in-process wake-up arrives (another replica)
MEDIA_TYPES = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def is_final(row: JobRow) -> bool:
    """True when the job will not change any more."""
    return JobState(row.state) in FINAL_STATES


def task_view(row: JobRow, position: int | None) -> TaskView:
    """A job row as the client sees it."""
    running = row.state == JobState.RUNNING
    return TaskView(
        task_id=row.id,
        status=row.state,
        mode=row.mode,
        style=row.style,
        queue_position=position,
        progress=Progress(step=row.progress_step, total=row.progress_total) if running else None,
        error=row.error,
        error_code=row.error_code,
        seed=row.seed,
        adult=row.adult,
        image_count=row.image_count,
        timings=row.timings,
        created_at=_iso(row.created_at) or "",
        started_at=_iso(row.started_at),
        finished_at=_iso(row.finished_at),
    )


@dataclass
class TaskService:
    """Task views (with a cache of final ones), waits, cancel and images."""

    store: JobStore
    files: ResultFiles
    notifier: Notifier
    clock: Callable[[], float]
    fresh: FreshResults = field(default_factory=FreshResults)
    _final: OrderedDict[str, tuple[str, bytes]] = field(default_factory=OrderedDict)
    _live: dict[str, tuple[str, bytes, int, float]] = field(default_factory=dict)

    async def row(self, job_id: str, owner: str) -> JobRow:
        """The caller's job, or TaskNotFound (other clients' jobs do not exist for it)."""
        row = await self.store.get(job_id)
        if row is None or row.owner != owner:
            raise TaskNotFound
        return row

    async def view(self, job_id: str, owner: str) -> TaskView:
        """The current view of a task, with its queue position while queued."""
        return await self.view_of(await self.row(job_id, owner))

    async def view_of(self, row: JobRow) -> TaskView:
        """View of a row already read."""
        queued = row.state == JobState.QUEUED
        position = await self.store.queue_position(row) if queued else None
        return task_view(row, position)

    async def view_json(self, job_id: str, owner: str) -> bytes:
        """JSON of the view; final views come from memory (they never change).

        Live views are reused while no job changed in this process (positions and
        progress would be the same) and for LIVE_TTL_S at most (other replicas).
        """
        cached = self._final.get(job_id) or self._live_hit(job_id)
        if cached is not None:
            if cached[0] != owner:
                raise TaskNotFound
            return cached[1]
        version = self.notifier.version
        row, position = await self.store.get_with_position(job_id)
        if row is None or row.owner != owner:
            raise TaskNotFound
        body = task_view(row, position).model_dump_json().encode()
        if is_final(row):
            self._final[job_id] = (owner, body)
            self._live.pop(job_id, None)
            if len(self._final) > CACHE_SIZE:
                self._final.popitem(last=False)
        else:
            if len(self._live) >= CACHE_SIZE:
                self._live.clear()  # entries are short-lived anyway
            self._live[job_id] = (owner, body, version, self.clock())
        return body

    def _live_hit(self, job_id: str) -> tuple[str, bytes] | None:
        entry = self._live.get(job_id)
        if entry is None:
            return None
        owner, body, version, at = entry
        if version != self.notifier.version or self.clock() - at > LIVE_TTL_S:
            del self._live[job_id]
            return None
        return owner, body

    def forget(self, job_id: str) -> None:
        """Drop a cached view (the retention sweep deleted the job)."""
        self._final.pop(job_id, None)

    async def wait_final(
        self, job_id: str, owner: str, within_s: float, row: JobRow | None = None
    ) -> JobRow:
        """Wait until the job is final, the timeout passes or the backend stops; the last row."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        row = row or await self.row(job_id, owner)
        while not is_final(row) and not self.notifier.closing:
            left = deadline - loop.time()
            if left <= 0:
                break
            await self.notifier.wait_job(job_id, min(left, POLL_S))
            row = self._just_settled(job_id, owner) or await self.row(job_id, owner)
        return row

    def _just_settled(self, job_id: str, owner: str) -> JobRow | None:
        row = self.fresh.take_row(job_id)
        return row if row is not None and row.owner == owner else None

    async def cancel(self, job_id: str, owner: str) -> TaskView:
        """Cancel a queued or running task; 409 task_finished when it already ended."""
        row = await self.row(job_id, owner)
        if not await self.store.cancel(row.id, self.clock()):
            raise Conflict(ErrorCode.TASK_FINISHED, "The task has already finished.")
        self.notifier.job_changed(job_id)
        return await self.view(job_id, owner)

    def images_b64(self, row: JobRow) -> list[str]:
        """Every stored output of a done job, base64-encoded."""
        fresh = self.fresh.take(row.id)
        if fresh is not None and len(fresh) == len(row.result_refs):
            return fresh
        blobs = [self.files.read(ref) for ref in row.result_refs]
        return [base64.b64encode(blob).decode() for blob in blobs if blob is not None]

    async def image(
        self, job_id: str, owner: str, index: int, fmt: str | None
    ) -> tuple[bytes, str]:
        """One output image in the stored or the requested format, with its media type."""
        row = await self.row(job_id, owner)
        if row.state != JobState.DONE:
            raise Conflict(ErrorCode.TASK_NOT_FINISHED, "The task has no image (yet).")
        if not 0 <= index < len(row.result_refs):
            raise RequestRejected(
                ErrorCode.INVALID_PARAM, f"index must be below {len(row.result_refs)}."
            )
        ref = row.result_refs[index]
        data = self.files.read(ref)
        if data is None:
            raise TaskNotFound
        stored = ref.rsplit(".", 1)[-1]
        if fmt is None or fmt == stored:
            return data, MEDIA_TYPES[stored]
        return await asyncio.to_thread(convert_image, data, fmt), MEDIA_TYPES[fmt]

    def answer(self, row: JobRow) -> GenerateResponse:
        """The POST /generate answer for a row (processing while not final)."""
        images = self.images_b64(row) if row.state == JobState.DONE else []
        return GenerateResponse(
            task_id=row.id,
            status=row.state if is_final(row) else "processing",
            image=images[0] if images else None,
            images=images if len(images) > 1 else None,
            error=row.error,
            error_code=row.error_code,
            seed=row.seed,
            adult=row.adult,
            timings=row.timings,
        )
