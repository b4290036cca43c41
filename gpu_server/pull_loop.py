"""Pull jobs from the backend, run them on ComfyUI, report progress and results.

Up to `1 + prefetch` leases are held at once: while ComfyUI runs one prompt, the next one
already waits in ComfyUI's own queue, so the GPU never idles between jobs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from common.error_codes import ErrorCode
from common.protocol import Capabilities, JobFailure, JobResult, Lease, LeaseRequest, ResultImage
from gpu_server.backend_client import BackendClient
from gpu_server.errors import (
    BackendUnavailable,
    ComfyError,
    ComfyUnavailable,
    GpuServerError,
    LeaseLost,
)
from gpu_server.executor import ExecutionOutcome, Executor
from gpu_server.job_reporter import JobReporter
from gpu_server.metrics import WorkerMetrics

log = logging.getLogger(__name__)

CapabilitiesSource = Callable[[], Awaitable[Capabilities]]


class Backoff:
    """Exponential backoff with jitter, reset after a success."""

    def __init__(self, first_s: float = 0.2, max_s: float = 10.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._next = first_s

    def reset(self) -> None:
        """Start again from the shortest delay."""
        self._next = self.first_s

    async def sleep(self) -> None:
        """Sleep the current delay (with jitter), then double it."""
        await asyncio.sleep(self._next * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
        self._next = min(self._next * 2, self.max_s)


class _Slot:
    """One of the `1 + prefetch` places this worker may hold in ComfyUI; released once."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = True

    def release(self) -> None:
        """Give the place back (later calls do nothing)."""
        if self._held:
            self._held = False
            self._semaphore.release()


class PullLoop:
    """Leases jobs, keeps `prefetch` extra ones queued in ComfyUI, and reports every outcome."""

    def __init__(
        self,
        backend: BackendClient,
        executor: Executor,
        capabilities: CapabilitiesSource,
        *,
        worker_id: str,
        prefetch: int = 1,
        lease_wait_s: float = 20.0,
        progress_interval_s: float = 2.0,
        backoff_max_s: float = 10.0,
        deliver_for_s: float = 300.0,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.backend = backend
        self.executor = executor
        self._capabilities = capabilities
        self._worker_id = worker_id
        self._slots = asyncio.Semaphore(1 + prefetch)
        self._lease_wait_s = lease_wait_s
        self._progress_interval_s = progress_interval_s
        self._backoff = Backoff(max_s=backoff_max_s)
        self._deliver_for_s = deliver_for_s
        self._jobs: set[asyncio.Task[None]] = set()
        self.completed = 0
        self._comfy_down = False
        self._comfy_backoff = Backoff(first_s=0.5, max_s=backoff_max_s)
        self._metrics = metrics

    async def run(self) -> None:
        """Lease and start jobs until cancelled."""
        try:
            while True:
                await self._slots.acquire()
                lease = await self._lease_once()
                if lease is None:
                    self._slots.release()
                    continue
                task = asyncio.create_task(self._handle(lease), name=f"job-{lease.job.job_id}")
                self._jobs.add(task)
                task.add_done_callback(self._jobs.discard)
        finally:
            # Shutting down: each job stops its prompt and hands its lease back (worker_lost).
            jobs = list(self._jobs)
            for task in jobs:
                task.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)

    async def _lease_once(self) -> Lease | None:
        try:
            if self._comfy_down:
                await self._wait_for_comfy()
            caps = await self._capabilities()
            request = LeaseRequest(
                worker_id=self._worker_id, capabilities=caps, wait_s=self._lease_wait_s
            )
            lease = await self.backend.lease(request)
        except (BackendUnavailable, LeaseLost) as exc:
            log.warning("lease failed, backing off: %s", exc.message)
            await self._backoff.sleep()
            return None
        self._backoff.reset()
        return lease

    async def _wait_for_comfy(self) -> None:
        """Back off between leases while ComfyUI is down, so the queue is not drained fast.

        It still leases afterwards: the job then fails at once with a retryable
        comfy_unavailable, which the backend retries elsewhere or reports to the user.
        """
        try:
            await self.executor.comfy.get_json("/prompt")
        except ComfyError:
            await self._comfy_backoff.sleep()
            return
        self._comfy_down = False
        self._comfy_backoff.reset()

    async def _handle(self, lease: Lease) -> None:
        job_id = lease.job.job_id
        slot = _Slot(self._slots)
        reporter = JobReporter(self.backend, self.executor, lease, self._progress_interval_s)
        beat = asyncio.create_task(reporter.run())
        try:
            outcome = await self._execute(lease, reporter, slot)
            await self._deliver(lambda: self.backend.result(job_id, _result(lease, outcome)))
            self.completed += 1
            self._count(lease, "done", outcome.timings_ms.get("total_ms", 0.0) / 1000)
        except GpuServerError as exc:
            self._count(lease, "failed", error_code=exc.error_code)
            self._comfy_down = isinstance(exc, ComfyUnavailable)
            await self._fail(lease, reporter, exc.error_code, exc.message, retryable=exc.retryable)
        except Exception as exc:  # a bug must not kill the loop or lose the lease silently
            log.exception("job %s crashed", job_id)
            await self._fail(lease, reporter, ErrorCode.INTERNAL_ERROR, repr(exc), retryable=True)
        except asyncio.CancelledError:
            await self._abandon(lease, reporter)
            raise
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            slot.release()

    async def _abandon(self, lease: Lease, reporter: JobReporter) -> None:
        """Best effort within a few seconds: stop the prompt and give the job back."""
        failure = JobFailure(
            lease_id=lease.lease_id,
            error_code=ErrorCode.WORKER_LOST,
            message="the worker shut down while running this job",
            retryable=True,
        )
        with contextlib.suppress(TimeoutError, GpuServerError):
            async with asyncio.timeout(3.0):
                await self.executor.cancel(lease.job.job_id)
                if not reporter.lost:
                    await self.backend.failure(lease.job.job_id, failure)

    def _count(
        self, lease: Lease, outcome: str, seconds: float = 0.0, error_code: str = ""
    ) -> None:
        if self._metrics is None:
            return
        labels = {"mode": lease.job.mode.value, "style": lease.job.style}
        self._metrics.jobs.labels(outcome=outcome, **labels).inc()
        if error_code:
            self._metrics.failures.labels(error_code=error_code).inc()
        else:
            self._metrics.duration.labels(**labels).observe(seconds)

    async def _execute(self, lease: Lease, reporter: JobReporter, slot: _Slot) -> ExecutionOutcome:
        submitted = await self.executor.submit(lease.job)
        reporter.submitted()
        # The slot frees once ComfyUI is done, so the next prompt is queued while this
        # job's outputs are screened, marked and posted.
        return await self.executor.collect(
            submitted, reporter.on_progress, on_comfy_done=slot.release
        )

    async def _fail(
        self,
        lease: Lease,
        reporter: JobReporter,
        code: str,
        message: str,
        *,
        retryable: bool,
    ) -> None:
        if reporter.lost:
            return  # the job belongs to another lease now
        failure = JobFailure(
            lease_id=lease.lease_id, error_code=code, message=message[:2000], retryable=retryable
        )
        await self._deliver(lambda: self.backend.failure(lease.job.job_id, failure))

    async def _deliver(self, call: Callable[[], Awaitable[None]]) -> None:
        """Retry a result/failure submission; the backend makes repeats no-ops per lease."""
        backoff = Backoff(max_s=self._backoff.max_s)
        give_up = time.monotonic() + self._deliver_for_s
        while True:
            try:
                await call()
                return
            except LeaseLost as exc:
                log.warning("submission refused: %s", exc.message)
                return
            except BackendUnavailable as exc:
                if time.monotonic() > give_up:
                    log.error("giving up a submission: %s", exc.message)
                    return
                await backoff.sleep()


def _result(lease: Lease, outcome: ExecutionOutcome) -> JobResult:
    images = [
        ResultImage(
            data_b64=_b64(image.data),
            format=image.format,
            width=image.width,
            height=image.height,
            adult=image.adult,
        )
        for image in outcome.images
    ]
    return JobResult(
        lease_id=lease.lease_id, images=images, seed=outcome.seed, timings_ms=outcome.timings_ms
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
