"""Sliding-window rate limits per API key and per end user (in process memory)."""

from __future__ import annotations

from collections import deque

from backend.errors import RateLimited

WINDOW_S = 60.0


class RateLimiter:
    """Counts events per key in the last minute and refuses past the limit."""

    def __init__(self, limit_per_minute: int, what: str) -> None:
        self._limit = limit_per_minute
        self._what = what
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float) -> None:
        """Count one request, or raise RateLimited with the time until a slot frees."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_S:
            hits.popleft()
        if len(hits) >= self._limit:
            retry = hits[0] + WINDOW_S - now
            raise RateLimited(f"Too many requests for this {self._what}; try again later.", retry)
        hits.append(now)
