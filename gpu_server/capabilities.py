"""What this worker's ComfyUI can run: model files present, GPU, architectures (cached)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from common.protocol import Architecture, Capabilities
from common.styles import StyleCatalog
from gpu_server.comfy_client import ComfyClient
from gpu_server.errors import ComfyError
from gpu_server.executor import Executor
from gpu_server.workflows.checks import referenced_models


def is_demo_engine(stats: dict[str, Any]) -> bool:
    """True when /system_stats comes from the fake ComfyUI (the demo engine)."""
    system = stats.get("system", {})
    argv = [str(arg) for arg in system.get("argv", [])]
    kinds = {device.get("type") for device in stats.get("devices", [])}
    return system.get("engine") == "demo" or "--demo-engine" in argv or "demo" in kinds


class Inventory:
    """Reads ComfyUI's model folders and /system_stats, cached for `ttl_s` seconds."""

    def __init__(
        self, comfy: ComfyClient, catalog: StyleCatalog, executor: Executor, ttl_s: float = 30.0
    ) -> None:
        self._comfy = comfy
        self._catalog = catalog
        self._executor = executor
        self._ttl_s = ttl_s
        self._models: dict[str, list[str]] = {}
        self._stats: dict[str, Any] = {}
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self, *, force: bool = False) -> None:
        """Re-read model folders and system stats when the cache is stale."""
        async with self._lock:
            if not force and time.monotonic() < self._fresh_until:
                return
            folders = referenced_models(self._catalog)
            models = {folder: await self._folder(folder) for folder in folders}
            self._stats = await self._comfy.get_json("/system_stats")
            self._models = models
            self._fresh_until = time.monotonic() + self._ttl_s

    async def _folder(self, folder: str) -> list[str]:
        try:
            files = await self._comfy.get_json(f"/models/{folder}")
        except ComfyError as exc:
            if "404" in exc.message:
                return []  # ComfyUI has no such folder configured
            raise
        return [str(name) for name in files or []]

    def missing(self) -> list[str]:
        """Model files the styles name that ComfyUI does not list."""
        wanted = referenced_models(self._catalog)
        return sorted(
            name
            for folder, names in wanted.items()
            for name in names
            if name not in self._models.get(folder, [])
        )

    @property
    def models(self) -> dict[str, list[str]]:
        """Model files per folder, as last read."""
        return self._models

    @property
    def stats(self) -> dict[str, Any]:
        """The last /system_stats answer."""
        return self._stats

    async def capabilities(self) -> Capabilities:
        """Capabilities for a lease request; the last known ones while ComfyUI is down."""
        # While ComfyUI is down a job leased now fails at once with a retryable
        # comfy_unavailable, which is clearer than leaving it queued.
        with contextlib.suppress(ComfyError):
            await self.refresh()
        checkpoints = self._models.get("checkpoints") or sorted(
            {style.checkpoint for style in self._catalog.styles.values()}
        )
        archs: list[Architecture] = sorted(
            {s.architecture for s in self._catalog.styles.values() if s.checkpoint in checkpoints}
        )
        device = (self._stats.get("devices") or [{}])[0]
        loaded = self._executor.last_checkpoint
        return Capabilities(
            architectures=archs,
            checkpoints_present=checkpoints,
            checkpoints_loaded=[loaded] if loaded else [],
            upscalers_present=self._models.get("upscale_models", []),
            gpu_name=str(device.get("name", "")),
            vram_total_mb=int(device.get("vram_total", 0)) // (1024 * 1024),
        )
