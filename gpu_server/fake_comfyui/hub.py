"""Websocket clients and the prompt queue: the shared state the routes and the runner use."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class Hub:
    """Open websockets by client id; frames go to one client or to every socket."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}
        # Set by the runner while a prompt executes: who submitted it and the node running now.
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        # Feature flags each client sent as its first frame (supports_preview_metadata).
        self.features: dict[str, dict[str, Any]] = {}

    async def send(self, event: str, data: Any, sid: str | None = None) -> None:
        """Send a JSON frame to `sid`, or to every socket when sid is None."""
        text = json.dumps({"type": event, "data": data})
        targets = list(self.sockets.values()) if sid is None else [self.sockets.get(sid)]
        for ws in targets:
            if ws is None or ws.closed:
                continue  # frames for a client without an open socket are lost, as in ComfyUI
            try:
                await ws.send_str(text)
            except (ConnectionError, RuntimeError):
                log.debug("dropped a frame for a closing socket")

    async def send_preview(
        self, jpeg: bytes, metadata: dict[str, Any], sid: str | None, with_metadata: bool
    ) -> None:
        """Send a binary preview to the clients that do (or do not) read preview metadata."""
        meta = json.dumps(metadata).encode()
        framed = struct.pack(">II", 4, len(meta)) + meta + jpeg
        legacy = struct.pack(">II", 1, 1) + jpeg
        for client, ws in list(self.sockets.items()):
            wants = bool(self.features.get(client, {}).get("supports_preview_metadata"))
            if (sid is not None and client != sid) or wants != with_metadata or ws.closed:
                continue
            try:
                await ws.send_bytes(framed if with_metadata else legacy)
            except (ConnectionError, RuntimeError):
                log.debug("dropped a preview for a closing socket")

    async def close_all(self, code: int = 1011) -> None:
        """Close every socket (the socket-drop fault)."""
        for ws in list(self.sockets.values()):
            await ws.close(code=code, message=b"fake ComfyUI dropped the socket")

    def attach(self, sid: str, ws: web.WebSocketResponse) -> None:
        """Register a socket, replacing an older one with the same client id."""
        self.sockets[sid] = ws

    def detach(self, sid: str, ws: web.WebSocketResponse) -> None:
        """Forget a socket unless a newer one already took its client id."""
        if self.sockets.get(sid) is ws:
            del self.sockets[sid]
            self.features.pop(sid, None)


@dataclass(order=True)
class QueueItem:
    """One queued prompt, ordered by number like ComfyUI's heap."""

    number: float
    seq: int
    prompt_id: str = field(compare=False)
    prompt: dict[str, Any] = field(compare=False)
    extra_data: dict[str, Any] = field(compare=False)
    outputs: list[str] = field(compare=False)

    def as_list(self) -> list[Any]:
        """The [number, prompt_id, prompt, extra_data, outputs] form of /queue and /history."""
        number: Any = int(self.number) if float(self.number).is_integer() else self.number
        return [number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


class PromptQueue:
    """Pending prompts, the running one, and the history, with status broadcasts."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.pending: list[QueueItem] = []
        self.running: QueueItem | None = None
        self.history: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()

    @property
    def remaining(self) -> int:
        """queue_remaining as ComfyUI counts it: pending plus running."""
        return len(self.pending) + (1 if self.running else 0)

    def status(self) -> dict[str, Any]:
        """The `status` payload."""
        return {"exec_info": {"queue_remaining": self.remaining}}

    async def broadcast_status(self) -> None:
        """Tell every socket the queue changed."""
        await self.hub.send("status", {"status": self.status()})

    def item(
        self,
        number: float,
        prompt_id: str,
        prompt: dict[str, Any],
        extra: dict[str, Any],
        outputs: list[str],
    ) -> QueueItem:
        """Build a queue entry with a tie-breaking sequence number."""
        return QueueItem(number, next(self._seq), prompt_id, prompt, extra, outputs)

    async def put(self, item: QueueItem) -> None:
        """Queue a prompt and broadcast the new status."""
        heapq.heappush(self.pending, item)
        self._wakeup.set()
        await self.broadcast_status()

    async def take(self) -> QueueItem:
        """Wait for the next prompt and mark it running."""
        while not self.pending:
            self._wakeup.clear()
            await self._wakeup.wait()
        self.running = heapq.heappop(self.pending)
        return self.running

    async def delete(self, prompt_id: str) -> None:
        """Drop a pending prompt; ComfyUI sends two status frames when one was removed."""
        before = len(self.pending)
        self.pending = [i for i in self.pending if i.prompt_id != prompt_id]
        heapq.heapify(self.pending)
        if len(self.pending) != before:
            await self.broadcast_status()
            await self.broadcast_status()

    async def wipe(self) -> None:
        """Drop every pending prompt."""
        self.pending = []
        await self.broadcast_status()

    def is_running(self, prompt_id: str) -> bool:
        """Whether this prompt is the one executing."""
        return self.running is not None and self.running.prompt_id == prompt_id

    def done(self, prompt_id: str, entry: dict[str, Any]) -> None:
        """Record a finished prompt's history and clear the running slot."""
        self.history[prompt_id] = entry
        self.running = None

    def get_history(self, max_items: int | None = None, offset: int = -1) -> dict[str, Any]:
        """History entries oldest first; with max_items and no offset, the newest ones."""
        keys = list(self.history)
        if offset < 0 and max_items is not None:
            offset = len(keys) - max_items
        keys = keys[max(offset, 0) :]
        if max_items is not None:
            keys = keys[:max_items]
        return {k: self.history[k] for k in keys}

    def snapshot(self) -> dict[str, Any]:
        """The GET /queue payload."""
        running = [self.running.as_list()] if self.running else []
        return {
            "queue_running": running,
            "queue_pending": [i.as_list() for i in sorted(self.pending)],
        }
