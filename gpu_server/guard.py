"""The image guard the worker builds when none is injected: always the real classifiers."""

from __future__ import annotations

from gpu_server.safety import build_guard, guard_config
from gpu_server.safety.base import ImageGuard
from gpu_server.settings import GpuServerSettings


def default_guard(settings: GpuServerSettings | None = None) -> ImageGuard:
    """NudeNet + Open-NSFW at the settings' thresholds; a looser one stops start-up."""
    config = None if settings is None else guard_config(**settings.safety_overrides())
    return build_guard(config)
