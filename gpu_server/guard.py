"""The image guard the worker uses when none is injected."""

from __future__ import annotations

import logging

from common.error_codes import ErrorCode
from common.protocol import ContentContext
from gpu_server import safety
from gpu_server.errors import JobRejected
from gpu_server.safety.base import ImageGuard, Verdict
from gpu_server.settings import GpuServerSettings

log = logging.getLogger(__name__)


class NoScreeningGuard:
    """Used only when no classifier is installed: refuses every input photo (fail closed)."""

    async def check_input(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        """Photos cannot be screened here, so image-conditioned jobs are refused."""
        raise JobRejected(
            "photo screening is not installed on this worker",
            error_code=ErrorCode.MODE_UNAVAILABLE,
        )

    async def check_output(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        """Text-only outputs pass; the backend's prompt screening already ran."""
        return Verdict(blocked=False)


def default_guard(settings: GpuServerSettings | None = None) -> ImageGuard:
    """The safety package's guard when it offers one, else the fail-closed fallback."""
    build = getattr(safety, "build_guard", None)
    if callable(build):
        # GuardConfigError (a threshold looser than the floor) stops start-up here.
        config = None if settings is None else safety.guard_config(**settings.safety_overrides())
        guard: ImageGuard = build(config)
        return guard
    log.warning("no image classifier installed: photo jobs are refused on this worker")
    return NoScreeningGuard()
