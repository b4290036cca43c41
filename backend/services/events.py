"""In-process wake-ups: a job changed, or the queue got a new job.

Waiters always re-read the store after a wake-up, and every wait has a timeout, so a
missed signal costs at most one short poll. On PostgreSQL `on_queued` also tells the other
replicas (backend/store/listen.py), whose queue signal then fires.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class Signal:
    """A broadcast edge: every waiter present at `fire()` wakes up."""

    def __init__(self, on_fire: Callable[[], None] | None = None) -> None:
        self._event = asyncio.Event()
        self._on_fire = on_fire

    def fire(self) -> None:
        """Wake every current waiter."""
        if self._on_fire is not None:
            self._on_fire()
        self._event.set()
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        """The event the next fire sets; take it before checking, then wait on it."""
        return self._event

    async def wait(self, within_s: float, event: asyncio.Event | None = None) -> bool:
        """Wait for the next fire (or for `event`, taken earlier); False on timeout."""
        event = event or self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within_s)
            return True
        return False


class Notifier:
    """Per-job signals plus one 'queue changed' signal."""

    def __init__(self) -> None:
        self.version = 0  # bumped on every change: short-lived view caches compare it
        self.closing = False  # set once the server stops: long waits answer at once
        self.queue = Signal(on_fire=self._bump)
        self._jobs: dict[str, Signal] = {}
        self._waiters: dict[str, int] = {}
        self.on_queued: Callable[[], None] | None = None  # tells other replicas (PostgreSQL)

    def job_changed(self, job_id: str) -> None:
        """Wake whoever follows this job, and queue watchers (positions moved)."""
        signal = self._jobs.get(job_id)
        if signal is not None:
            signal.fire()
        self.queue.fire()

    def job_queued(self) -> None:
        """A job entered the queue: wake lease waiters here and, if wired, on other replicas."""
        self.queue.fire()
        if self.on_queued is not None:
            self.on_queued()

    def close(self) -> None:
        """Mark the backend as stopping and wake every waiter, so none holds up shutdown."""
        self.closing = True
        for signal in list(self._jobs.values()):
            signal.fire()
        self.queue.fire()

    def _bump(self) -> None:
        self.version += 1

    async def wait_job(self, job_id: str, within_s: float) -> bool:
        """Wait until this job changes or the timeout passes."""
        signal = self._jobs.setdefault(job_id, Signal())
        self._waiters[job_id] = self._waiters.get(job_id, 0) + 1
        try:
            return await signal.wait(within_s)
        finally:
            self._waiters[job_id] -= 1
            if self._waiters[job_id] == 0:
                del self._waiters[job_id]
                self._jobs.pop(job_id, None)
