"""One supervised websocket to ComfyUI that routes frames to per-prompt queues.

ComfyUI only sends frames to sockets that are open, so frames sent during a drop are lost;
after every reconnect each waiter gets a synthetic `_resync` frame and reads `/history`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

log = logging.getLogger(__name__)

Frame = dict[str, Any]
RESYNC: Frame = {"type": "_resync", "data": {}}
CANCELLED: Frame = {"type": "_cancelled", "data": {}}


class EventHub:
    """Keeps one websocket open (reconnecting with backoff) and fans frames out by prompt_id."""

    def __init__(
        self,
        ws_url: str,
        *,
        open_timeout: float = 5.0,
        min_delay: float = 0.2,
        max_delay: float = 5.0,
    ) -> None:
        self._url = ws_url
        self._open_timeout = open_timeout
        self._min_delay = min_delay
        self._max_delay = max_delay
        self._queues: dict[str, asyncio.Queue[Frame]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0

    def watch(self, prompt_id: str) -> asyncio.Queue[Frame]:
        """The queue that receives this prompt's frames (created on first use)."""
        return self._queues.setdefault(prompt_id, asyncio.Queue())

    def unwatch(self, prompt_id: str) -> None:
        """Stop routing frames for a prompt."""
        self._queues.pop(prompt_id, None)

    def post(self, prompt_id: str, frame: Frame) -> None:
        """Inject a local frame (cancel) into a prompt's queue."""
        queue = self._queues.get(prompt_id)
        if queue is not None:
            queue.put_nowait(frame)

    def start(self) -> None:
        """Start the supervisor task."""
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="comfy-websocket")

    async def close(self) -> None:
        """Stop the supervisor and close the socket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    async def _supervise(self) -> None:
        delay = self._min_delay
        while True:
            try:
                async with connect(
                    self._url, open_timeout=self._open_timeout, max_size=None
                ) as socket:
                    self._on_open()
                    delay = self._min_delay
                    async for message in socket:
                        if isinstance(message, str):
                            self._dispatch(message)
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.debug("comfyui websocket closed: %s", exc)
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay)

    def _on_open(self) -> None:
        if self.connected.is_set():
            return
        self.connected.set()
        self.reconnects += 1
        # Frames may have been lost while the socket was down: every waiter rereads history.
        for queue in self._queues.values():
            queue.put_nowait(RESYNC)

    def _dispatch(self, message: str) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            return
        data = frame.get("data") if isinstance(frame, dict) else None
        if not isinstance(data, dict):
            return
        prompt_id = data.get("prompt_id")
        if isinstance(prompt_id, str) and prompt_id in self._queues:
            self._queues[prompt_id].put_nowait(frame)
