"""ComfyUI client: submit API-format prompts, follow them to the end, fetch their images.

One instance per worker: one injected httpx.AsyncClient and one supervised websocket
(`EventHub`). A dropped socket never hangs a job because `/history` is polled as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from gpu_server.comfy_answers import ImageRef, raise_for_history, validation_error
from gpu_server.comfy_events import CANCELLED, RESYNC, EventHub, Frame
from gpu_server.errors import ComfyError, ComfyUnavailable, JobCancelled, JobTimeout

ProgressCallback = Callable[[int, int], Awaitable[bool]]


class ComfyClient:
    """Talks to one ComfyUI server over HTTP and its websocket."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        client_id: str | None = None,
        poll_interval: float = 1.0,
        unavailable_after: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self._http = http
        self._poll_interval = poll_interval
        self._unavailable_after = unavailable_after
        ws_base = "ws" + self.base_url.removeprefix("http")
        self.events = EventHub(f"{ws_base}/ws?clientId={self.client_id}")

    def start(self) -> None:
        """Open the supervised websocket (it reconnects by itself)."""
        self.events.start()

    async def close(self) -> None:
        """Close the websocket; the http client belongs to the caller."""
        await self.events.close()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, f"{self.base_url}{path}", **kwargs)
        except httpx.TransportError as exc:
            raise ComfyUnavailable(f"ComfyUI at {self.base_url} is unreachable: {exc!r}") from exc
        if response.status_code >= 500:
            raise ComfyUnavailable(f"ComfyUI answered {response.status_code} to {method} {path}")
        return response

    async def get_json(self, path: str) -> Any:
        """GET a JSON route (system_stats, object_info, models/<folder>, queue)."""
        response = await self._request("GET", path)
        if response.status_code != 200:
            raise ComfyError(f"ComfyUI answered {response.status_code} to GET {path}")
        return response.json()

    async def upload_image(self, data: bytes, name: str) -> str:
        """Upload an input image; returns the name LoadImage needs."""
        files = {"image": (name, data, "image/png")}
        form = {"type": "input", "overwrite": "true"}
        response = await self._request("POST", "/upload/image", files=files, data=form)
        if response.status_code != 200:
            raise ComfyError(f"ComfyUI refused the upload of {name}: {response.status_code}")
        body = response.json()
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else str(body["name"])

    async def submit(self, prompt: dict[str, Any], prompt_id: str | None = None) -> str:
        """Queue an API-format prompt under our own prompt_id; 400s become typed errors."""
        prompt_id = prompt_id or str(uuid.uuid4())
        self.events.watch(prompt_id)  # before the POST: frames may beat the HTTP answer
        body = {"prompt": prompt, "client_id": self.client_id, "prompt_id": prompt_id}
        try:
            response = await self._request("POST", "/prompt", json=body)
        except ComfyError:
            self.events.unwatch(prompt_id)
            raise
        if response.status_code != 200:
            self.events.unwatch(prompt_id)
            raise validation_error(_json_or_text(response))
        return prompt_id

    async def wait(
        self, prompt_id: str, *, deadline_s: float, on_progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """Follow a prompt until ComfyUI finished it; returns its history entry."""
        deadline = time.monotonic() + deadline_s
        queue = self.events.watch(prompt_id)
        try:
            return await self._follow(prompt_id, queue, deadline, on_progress)
        except (JobTimeout, asyncio.CancelledError):
            # Our caller gave up (deadline, shutdown): the prompt must not run on for nobody.
            with contextlib.suppress(ComfyError, TimeoutError):
                async with asyncio.timeout(3.0):
                    await self.cancel(prompt_id)
            raise
        finally:
            self.events.unwatch(prompt_id)

    async def _follow(
        self,
        prompt_id: str,
        queue: asyncio.Queue[Frame],
        deadline: float,
        on_progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        unreachable_since: float | None = None
        while True:
            frame = await self._next_frame(queue, deadline)
            if frame is None or frame is RESYNC:
                try:
                    entry = await self.history(prompt_id)
                except ComfyUnavailable:
                    unreachable_since = unreachable_since or time.monotonic()
                    if time.monotonic() - unreachable_since > self._unavailable_after:
                        raise
                    continue
                unreachable_since = None
                if entry is not None:
                    return _finished(entry)
            elif frame is CANCELLED:
                raise JobCancelled("the job was cancelled")
            elif await self._on_frame(prompt_id, frame, on_progress):
                return _finished(await self._final_history(prompt_id))

    async def _next_frame(self, queue: asyncio.Queue[Frame], deadline: float) -> Frame | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimeout("the job ran past its deadline")
        if not queue.empty():
            return queue.get_nowait()  # frames come in bursts: skip the timer when one waits
        interval = self._poll_interval if self.events.connected.is_set() else 0.25
        try:
            return await asyncio.wait_for(queue.get(), min(remaining, interval))
        except TimeoutError:
            return None

    async def _on_frame(
        self, prompt_id: str, frame: Frame, on_progress: ProgressCallback | None
    ) -> bool:
        kind, data = frame.get("type"), frame.get("data", {})
        if kind == "progress" and on_progress is not None:
            stop = await on_progress(int(data.get("value", 0)), int(data.get("max", 0)))
            if stop:
                await self.cancel(prompt_id)
                raise JobCancelled("the job was cancelled")
        return kind == "executing" and data.get("node") is None

    async def _final_history(self, prompt_id: str) -> dict[str, Any]:
        # `executing null` arrives after history is written; retry briefly for safety.
        for _ in range(20):
            entry = await self.history(prompt_id)
            if entry is not None:
                return entry
            await asyncio.sleep(0.05)
        raise ComfyError(f"ComfyUI finished prompt {prompt_id} but has no history for it")

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The history entry of a finished prompt, or None while it is pending or running."""
        body = await self.get_json(f"/history/{prompt_id}")
        entry = body.get(prompt_id) if isinstance(body, dict) else None
        return entry if isinstance(entry, dict) else None

    async def view(self, ref: ImageRef) -> bytes:
        """Download one output image through /view."""
        params = {"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type}
        response = await self._request("GET", "/view", params=params)
        if response.status_code != 200:
            raise ComfyError(f"ComfyUI could not serve {ref.filename}: {response.status_code}")
        return response.content

    async def cancel(self, prompt_id: str) -> str:
        """Interrupt the prompt if it runs, delete it if it is pending; returns what was done."""
        queue = await self.get_json("/queue")
        action = "none"
        if any(item[1] == prompt_id for item in queue.get("queue_running", [])):
            await self._request("POST", "/interrupt", json={"prompt_id": prompt_id})
            action = "interrupted"
        elif any(item[1] == prompt_id for item in queue.get("queue_pending", [])):
            await self._request("POST", "/queue", json={"delete": [prompt_id]})
            action = "deleted"
        self.events.post(prompt_id, CANCELLED)
        return action


def _finished(entry: dict[str, Any]) -> dict[str, Any]:
    raise_for_history(entry)
    return entry


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
