"""Progress reports for one leased job: renew the lease, relay steps, obey a cancel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from common.protocol import Lease, ProgressReport
from gpu_server.backend_client import BackendClient
from gpu_server.errors import BackendUnavailable, ComfyError, LeaseLost
from gpu_server.executor import Executor

log = logging.getLogger(__name__)
MIN_GAP_S = 0.25  # at most ~4 reports a second per job, however fast the sampler steps


class JobReporter:
    """Sends a progress report on every step change and at least every `interval_s`."""

    def __init__(
        self, backend: BackendClient, executor: Executor, lease: Lease, interval_s: float
    ) -> None:
        self._backend = backend
        self._executor = executor
        self._lease = lease
        self._interval_s = interval_s
        self._wake = asyncio.Event()
        self.stage: Literal["submitted", "running", "finishing"] = "submitted"
        self.step = 0
        self.total = 0
        self.cancel_requested = False
        self.lost = False

    def submitted(self) -> None:
        """The prompt is queued in ComfyUI."""
        self.stage = "submitted"
        self._wake.set()

    async def on_progress(self, step: int, total: int) -> bool:
        """Executor callback: record the step; True asks the executor to cancel."""
        self.stage, self.step, self.total = "running", step, total
        self._wake.set()
        return self.cancel_requested or self.lost

    async def run(self) -> None:
        """Report until cancelled (the job finished) or the lease is lost."""
        while not self.lost:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()
            await self._report()
            await asyncio.sleep(MIN_GAP_S)

    async def _report(self) -> None:
        job_id = self._lease.job.job_id
        report = ProgressReport(
            lease_id=self._lease.lease_id, stage=self.stage, step=self.step, total_steps=self.total
        )
        try:
            answer = await self._backend.progress(job_id, report)
        except BackendUnavailable as exc:
            log.info("progress report for %s not delivered: %s", job_id, exc.message)
            return
        except LeaseLost:
            self.lost = True
            await self._stop(job_id)
            return
        if answer.cancel and not self.cancel_requested:
            self.cancel_requested = True
            await self._stop(job_id)

    async def _stop(self, job_id: str) -> None:
        try:
            await self._executor.cancel(job_id)
        except ComfyError as exc:
            log.warning("could not cancel %s in ComfyUI: %s", job_id, exc.message)
