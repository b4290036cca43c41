"""Sliding-window rate limits per API key and per end user (in process memory)."""

from __future__ import annotations

from collections import deque

from backend.errors import RateLimited

WINDOW_S = 60.0
PRUNE_AT = 10_000  # forget idle keys once this many are tracked


class RateLimiter:
    """Counts events per key in the last minute and refuses past the limit."""

    def __init__(self, limit_per_minute: int, what: str, prune_at: int = PRUNE_AT) -> None:
        self._limit = limit_per_minute
        self._what = what
        self._prune_at = prune_at
        self._hits: dict[str, deque[float]] = {}

    @property
    def tracked(self) -> int:
        """How many keys are being counted."""
        return len(self._hits)

    def hit(self, key: str, now: float) -> None:
        """Count one request, or raise RateLimited with the time until a slot frees."""
        if len(self._hits) > self._prune_at:
            self._prune(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_S:
            hits.popleft()
        if len(hits) >= self._limit:
            retry = hits[0] + WINDOW_S - now
            raise RateLimited(f"Too many requests for this {self._what}; try again later.", retry)
        hits.append(now)

    def _prune(self, now: float) -> None:
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - WINDOW_S]
        for key in idle:
            del self._hits[key]
