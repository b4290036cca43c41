"""Workers the backend has heard from recently, for /health and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from common.protocol import Capabilities


@dataclass
class WorkerSeen:
    """A worker's last lease call."""

    worker_id: str
    capabilities: Capabilities
    last_seen: float


class WorkerRegistry:
    """In-memory list of workers keyed by worker_id."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s
        self._workers: dict[str, WorkerSeen] = {}

    def seen(self, worker_id: str, caps: Capabilities, now: float) -> None:
        """Record a lease call."""
        self._workers[worker_id] = WorkerSeen(worker_id, caps, now)

    def recent(self, now: float) -> list[WorkerSeen]:
        """Workers seen within the window, forgetting older ones."""
        self._workers = {
            k: w for k, w in self._workers.items() if now - w.last_seen <= self._window_s
        }
        return sorted(self._workers.values(), key=lambda w: w.worker_id)
