"""The worker protocol: long-poll leases, progress, results and failures."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from backend.errors import Conflict, RequestRejected, ShuttingDown, TaskNotFound
from backend.services.content_policy.registry import DeliveryRegistry, record_result_images
from backend.services.events import Notifier
from backend.services.metrics import Metrics
from backend.services.results import FreshResults, ResultFiles
from backend.services.workers import WorkerRegistry
from backend.store.jobs import ClaimTerms, JobStore, Outcome
from backend.store.models import JobRow
from common.error_codes import ErrorCode
from common.protocol import (
    JobFailure,
    JobResult,
    JobSpec,
    JobState,
    Lease,
    LeaseRequest,
    ProgressAnswer,
    ProgressReport,
)

MAX_STEPS = 100_000  # far beyond any sampler; keeps hostile numbers out of integer columns
MAX_SEED = 2**63 - 1
LEASE_ID = re.compile(r"[0-9a-f]{24}")  # secrets.token_hex(12)
log = logging.getLogger(__name__)

POLL_S = 1.0  # fallback re-check when no wake-up arrives (jobs queued by another replica)


@dataclass(frozen=True)
class LeaseConfig:
    """Lease TTL, attempts and model-affinity settings."""

    ttl_s: float
    max_attempts: int
    affinity_max_wait_s: float
    recheck_s: float = POLL_S


def _text(value: str) -> str:
    """Worker-sent text without NUL characters (PostgreSQL text cannot hold them)."""
    return value.replace("\x00", "")


def _stale() -> Conflict:
    return Conflict(ErrorCode.LEASE_STALE, "This lease is no longer the job's current lease.")


@dataclass
class Scheduler:
    """Hands jobs to workers and records what they report."""

    store: JobStore
    files: ResultFiles
    notifier: Notifier
    workers: WorkerRegistry
    metrics: Metrics
    config: LeaseConfig
    clock: Callable[[], float]
    fresh: FreshResults
    registry: DeliveryRegistry | None = None  # pHash of delivered images, for takedowns
    _recording: set[asyncio.Future[int]] = field(default_factory=set)

    async def lease(self, request: LeaseRequest) -> Lease | None:
        """Wait up to wait_s for a job this worker can run; None when none came.

        Raises ShuttingDown (503) as soon as the backend stops, so the worker backs off
        and polls again instead of holding up the shutdown for the rest of wait_s.
        """
        self.workers.seen(request.worker_id, request.capabilities, self.clock())
        deadline = self.clock() + request.wait_s
        while True:
            if self.notifier.closing:
                raise ShuttingDown
            wake = self.notifier.queue.current()
            row = await self._claim(request)
            if row is not None:
                return self._lease_of(row)
            left = deadline - self.clock()
            if left <= 0:
                return None
            await self.notifier.queue.wait(min(left, self.config.recheck_s), wake)

    async def _claim(self, request: LeaseRequest) -> JobRow | None:
        terms = ClaimTerms(
            lease_id=secrets.token_hex(12),
            worker_id=_text(request.worker_id),
            now=self.clock(),
            ttl_s=self.config.ttl_s,
            affinity_max_wait_s=self.config.affinity_max_wait_s,
        )
        row = await self.store.claim(request.capabilities, terms)
        if row is not None:
            self.notifier.job_changed(row.id)
        return row

    def _lease_of(self, row: JobRow) -> Lease:
        images = {}
        for role, ref in row.input_refs.items():
            data = self.files.read(ref)
            if data is not None:
                images[role] = base64.b64encode(data).decode()
        spec = JobSpec.model_validate({**row.spec, "images": images})
        return Lease(
            lease_id=row.lease_id or "",
            lease_ttl_s=self.config.ttl_s,
            attempt=row.attempts,
            job=spec,
        )

    async def progress(self, job_id: str, report: ProgressReport) -> ProgressAnswer:
        """Renew the lease and store progress; cancel=True once the job was cancelled."""
        expires = self.clock() + self.config.ttl_s
        if not LEASE_ID.fullmatch(report.lease_id):
            raise _stale()  # never one of ours; not worth a store round trip
        step, total = min(report.step, MAX_STEPS), min(report.total_steps, MAX_STEPS)
        renewed = await self.store.renew(job_id, report.lease_id, step, total, expires)
        if renewed:
            self.notifier.job_changed(job_id)
            return ProgressAnswer(cancel=False, lease_ttl_s=self.config.ttl_s)
        row = await self._row(job_id)
        if row.lease_id == report.lease_id and row.state == JobState.CANCELLED:
            return ProgressAnswer(cancel=True, lease_ttl_s=self.config.ttl_s)
        raise _stale()

    async def result(self, job_id: str, result: JobResult) -> None:
        """Store a job's images under its lease; a repeat is a no-op, a stale lease a 409."""
        if not 0 <= result.seed <= MAX_SEED:
            raise RequestRejected(ErrorCode.INVALID_PARAM, "seed must be between 0 and 2^63-1.")
        row = await self._row(job_id)
        if self._already_settled(row, result.lease_id):
            return
        # decoding and writing megabytes of images would stall every other request
        refs = await asyncio.to_thread(self._save_all, row, result)
        outcome = Outcome(
            state=JobState.DONE.value,
            values={
                "result_refs": refs,
                "image_count": len(refs),
                "adult": any(image.adult for image in result.images),
                "seed": result.seed,
                "timings": result.timings_ms,
                "progress_step": row.progress_total,
            },
        )
        # kept before the settle wakes the /generate waiter, so it answers from memory
        self.fresh.put(row.id, [image.data_b64 for image in result.images])
        try:
            await self._settle(row, result.lease_id, outcome)
        except Conflict:
            self.fresh.take(row.id)
            raise
        if self.registry is not None:
            self._record(self.registry, row.id, [image.data_b64 for image in result.images])
        self.metrics.finished(
            row.mode, row.style, self.clock() - (row.started_at or row.created_at)
        )

    async def failure(self, job_id: str, failure: JobFailure) -> None:
        """Record a failure: retryable ones go back to the queue while attempts remain."""
        row = await self._row(job_id)
        if self._already_settled(row, failure.lease_id):
            return
        if failure.retryable and row.attempts < self.config.max_attempts:
            await self._settle(row, failure.lease_id, Outcome(state=JobState.QUEUED.value))
            self.notifier.job_queued()
            return
        outcome = Outcome(
            state=JobState.FAILED.value,
            error_code=_text(failure.error_code)[:64],
            error=_text(failure.message),
        )
        await self._settle(row, failure.lease_id, outcome)
        self.metrics.failed(failure.error_code)

    def _record(self, registry: DeliveryRegistry, job_id: str, images: list[str]) -> None:
        """Hash delivered images in a thread without holding up the worker's answer.

        Hashing costs tens of ms per image; the worker waits for this answer before its
        slot is free again, so awaiting it here would leave gaps between jobs.
        """
        future = asyncio.ensure_future(
            asyncio.to_thread(record_result_images, registry, job_id, images)
        )
        self._recording.add(future)
        future.add_done_callback(self._recorded)

    def _recorded(self, future: asyncio.Future[int]) -> None:
        self._recording.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("recording delivered images failed: %r", future.exception())

    async def _row(self, job_id: str) -> JobRow:
        row = await self.store.get(job_id)
        if row is None:
            raise TaskNotFound
        return row

    def _already_settled(self, row: JobRow, lease_id: str) -> bool:
        """True for a repeat of a settled submission, or one for a job cancelled meanwhile."""
        if row.outcome_lease_id == lease_id:
            return True
        if row.lease_id == lease_id and row.state == JobState.CANCELLED:
            return True
        if row.lease_id != lease_id or row.state != JobState.RUNNING:
            raise _stale()
        return False

    async def _settle(self, row: JobRow, lease_id: str, outcome: Outcome) -> None:
        settled = await self.store.settle(row.id, lease_id, outcome, self.clock())
        if settled is None:
            self._already_settled(await self._row(row.id), lease_id)
            return
        if settled.state != JobState.QUEUED:
            self.fresh.put_row(settled)
        self.notifier.job_changed(row.id)

    def _save_all(self, row: JobRow, result: JobResult) -> list[str]:
        return [
            self._save(row, result.lease_id, i, image.data_b64, image.format)
            for i, image in enumerate(result.images)
        ]

    def _save(self, row: JobRow, lease_id: str, index: int, data_b64: str, fmt: str) -> str:
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRejected(
                ErrorCode.INVALID_BASE64, "A result image is not valid base64.", status=400
            ) from None
        # One file per lease: a late stale submission never overwrites the winning result.
        return self.files.save_result(row.id, f"{lease_id[:8]}-{index}", fmt, data)
