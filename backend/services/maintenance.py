"""Background sweeps: lost leases back to the queue, stale jobs expired, old files deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from backend.services.events import Notifier
from backend.services.metrics import Metrics
from backend.services.results import ResultFiles
from backend.services.tasks import TaskService
from backend.store.jobs import JobStore, Outcome
from backend.store.models import JobRow
from common.error_codes import ErrorCode
from common.protocol import JobState

log = logging.getLogger(__name__)


@dataclass
class Maintenance:
    """The reaper and the retention sweep."""

    store: JobStore
    files: ResultFiles
    notifier: Notifier
    tasks: TaskService
    metrics: Metrics
    max_attempts: int
    retention_s: float
    clock: Callable[[], float]

    async def reap(self) -> None:
        """Requeue (or fail) jobs whose lease expired; expire jobs that waited too long."""
        now = self.clock()
        for row in await self.store.leases_expired(now):
            await self._lease_lost(row, now)
        for job_id in await self.store.expire_waiting(now):
            self.metrics.failed(ErrorCode.EXPIRED)
            self.notifier.job_changed(job_id)

    async def _lease_lost(self, row: JobRow, now: float) -> None:
        if row.attempts < self.max_attempts:
            outcome = Outcome(state=JobState.QUEUED.value, record_lease=False)
        else:
            message = (
                f"The worker running this task stopped answering on each of {row.attempts} "
                "attempts; the task was given up."
            )
            outcome = Outcome(
                JobState.FAILED.value, ErrorCode.WORKER_LOST, message, record_lease=False
            )
        if await self.store.settle(row.id, row.lease_id or "", outcome, now):
            log.warning(
                "lease of job %s expired (attempt %d): %s", row.id, row.attempts, outcome.state
            )
            if outcome.state == JobState.FAILED:
                self.metrics.failed(ErrorCode.WORKER_LOST)
            self.notifier.job_changed(row.id)
            if outcome.state == JobState.QUEUED:
                self.notifier.job_queued()

    async def sweep(self) -> int:
        """Delete jobs, inputs and results older than the retention period; returns the count."""
        rows = await self.store.finished_before(self.clock() - self.retention_s)
        for row in rows:
            await asyncio.to_thread(self.files.remove_job, row.id)
            self.tasks.forget(row.id)
        await self.store.delete([row.id for row in rows])
        return len(rows)


async def every(interval_s: float, action: Callable[[], object], stop: asyncio.Event) -> None:
    """Run an async action at an interval until `stop` is set; a failure is logged, not fatal."""
    while True:
        with contextlib.suppress(TimeoutError):
            # Stopping by flag, not by cancel: a cancel mid-query can wedge an SQLite connection.
            await asyncio.wait_for(stop.wait(), interval_s)
        if stop.is_set():
            return
        try:
            result = action()
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("background task failed; it runs again in %.0f s", interval_s)
