"""The sliding-window limiter counts per key, frees slots after a minute and forgets idle keys."""

from __future__ import annotations

import pytest

from backend.errors import RateLimited
from backend.services.ratelimit import RateLimiter


def test_limit_frees_a_slot_after_the_window() -> None:
    """The third hit in a minute is refused with the wait; a minute later it passes."""
    limiter = RateLimiter(2, "user")
    limiter.hit("u", 0.0)
    limiter.hit("u", 10.0)
    with pytest.raises(RateLimited) as caught:
        limiter.hit("u", 20.0)
    assert caught.value.retry_after_s == 40
    limiter.hit("u", 60.5)
    limiter.hit("other", 20.0)


def test_idle_keys_are_forgotten_without_losing_live_counts() -> None:
    """Pruning drops keys idle for a window but keeps counting the key being hit."""
    limiter = RateLimiter(1, "user", prune_at=3)
    for i in range(4):
        limiter.hit(f"idle{i}", 0.0)
    limiter.hit("live", 100.0)
    with pytest.raises(RateLimited):
        limiter.hit("live", 101.0)
    assert limiter.tracked == 1
