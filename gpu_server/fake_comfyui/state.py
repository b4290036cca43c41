"""State shared by the fake's routes and its runner: schema, queue, sockets, cache, faults."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from gpu_server.comfy_schema import ObjectInfo
from gpu_server.fake_comfyui.config import FakeConfig, Faults
from gpu_server.fake_comfyui.execution import CacheEntry, Execution
from gpu_server.fake_comfyui.files import Folders
from gpu_server.fake_comfyui.graph import Picture
from gpu_server.fake_comfyui.hub import Hub, PromptQueue, QueueItem
from gpu_server.fake_comfyui.images import render_png

log = logging.getLogger("gpu_server.fake_comfyui")
STATE: web.AppKey[FakeState] = web.AppKey("fake_comfyui_state")
MAX_UPLOAD = 104857600


class FakeState:
    """Everything the routes and the runner share for one app."""

    def __init__(self, config: FakeConfig, folders: Folders) -> None:
        self.config = config
        self.folders = folders
        self.base_info = ObjectInfo.load(config.object_info_path)
        self.info = self.base_info.with_installed(config.models)
        self.hub = Hub()
        self.queue = PromptQueue(self.hub)
        self.faults = Faults()
        self.cache: dict[str, CacheEntry] = {}
        self.number = 0
        self.interrupted = False
        self.submitted: list[dict[str, Any]] = []

    def step_time(self) -> float:
        """Seconds per sampler step now (a fault may override the config)."""
        return self.faults.step_time if self.faults.step_time is not None else self.config.step_time

    def job_time(self) -> float:
        """Seconds an executed prompt occupies the slot now, beyond its steps, work included."""
        return self.faults.job_time if self.faults.job_time is not None else self.config.job_time

    def live_info(self) -> ObjectInfo:
        """The schema as ComfyUI would list it now: installed models and current input images."""
        return self.info.with_installed({"input": self.folders.input_images()})

    def next_number(self) -> int:
        """The next prompt number; rejected prompts use numbers up too."""
        number = self.number
        self.number += 1
        return number

    async def write_images(
        self, prefix: str, kind: str, pic: Picture, meta: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Write a batch of output images with ComfyUI's names; their UI records."""
        if kind == "temp":
            folder, base, counter, subfolder = self.folders.temp, prefix, 1, ""
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder, base, counter, subfolder = self.folders.save_path(prefix, pic.width, pic.height)
        records = []
        for index in range(pic.batch):
            name = f"{base.replace('%batch_num%', str(index))}_{counter:05}_.png"
            data = self.faults.take_output()
            if data is None:
                data = await _render(pic, index, meta)
            (folder / name).write_bytes(data)
            records.append({"filename": name, "subfolder": subfolder, "type": kind})
            counter += 1
        return records

    async def run_forever(self) -> None:
        """Execute queued prompts one at a time, in queue order."""
        while True:
            item = await self.queue.take()
            await self.run_item(item)

    async def run_item(self, item: QueueItem) -> None:
        """Run one prompt and send the frames that close it."""
        self.interrupted = False  # reset before any await so an early /interrupt is kept
        execution = Execution(self, item)  # first: job_time counts from taking the prompt
        client_id = item.extra_data.get("client_id")
        self.hub.client_id, self.hub.last_node_id = client_id, None
        await self.queue.broadcast_status()
        try:
            entry = await execution.run()
        except Exception:  # a bug in the fake still ends the prompt, so no client hangs
            log.exception("fake ComfyUI failed to run prompt %s", item.prompt_id)
            entry = execution.entry("error")
        self.queue.done(item.prompt_id, entry)
        self.hub.last_node_id = None
        await self.queue.broadcast_status()
        if client_id is not None:
            await self.hub.send("executing", {"node": None, "prompt_id": item.prompt_id}, client_id)
        self.hub.client_id = None


async def _render(pic: Picture, index: int, meta: dict[str, Any]) -> bytes:
    """Render one output; big pictures go to a thread so sockets keep flowing meanwhile."""
    args = (pic.width, pic.height, pic.seed + index, meta)
    if pic.width * pic.height <= 256 * 256:
        return render_png(*args)
    return await asyncio.to_thread(render_png, *args)
