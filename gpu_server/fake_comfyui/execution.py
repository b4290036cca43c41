"""Runs one queued prompt: the frames, files, cache and history a real ComfyUI produces."""

from __future__ import annotations

import asyncio
import hashlib
import random
import string
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gpu_server.fake_comfyui import graph
from gpu_server.fake_comfyui.images import image_size, preview_jpeg

if TYPE_CHECKING:
    from gpu_server.fake_comfyui.hub import QueueItem
    from gpu_server.fake_comfyui.state import FakeState

OOM_MESSAGE = (
    "Allocation on device 0 would exceed allowed memory. (out of memory)\n"
    "Currently allocated     : 21.47 GiB\nRequested               : 2.25 GiB\n"
    "Device limit            : 23.55 GiB\nFree (according to CUDA): 0 bytes\n"
    "PyTorch limit (set by user-supplied memory fraction)\n"
    "                        : 17179869184.00 GiB\n"
    "This error means you ran out of memory on your GPU.\n\n"
    "TIPS: If the workflow worked before you might have accidentally set the batch_size "
    "to a large number."
)
GENERIC_MESSAGE = "mat1 and mat2 shapes cannot be multiplied (154x2048 and 768x320)\n"


@dataclass
class CacheEntry:
    """A node's cached result: its value and, for output nodes, the UI output."""

    value: Any
    ui: dict[str, Any] | None = None


class Interrupted(Exception):
    """The running prompt was interrupted at this node."""


class NodeFailed(Exception):
    """An injected execution error at this node."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def now_ms() -> int:
    """Epoch milliseconds, as ComfyUI stamps its messages."""
    return int(time.time() * 1000)


class Execution:
    """One prompt's run; `run()` returns its history entry."""

    def __init__(self, state: FakeState, item: QueueItem) -> None:
        self.state = state
        self.item = item
        self.pid = item.prompt_id
        self.prompt = item.prompt
        self.client_id: str | None = item.extra_data.get("client_id")
        self.messages: list[list[Any]] = []
        self.progress: dict[str, dict[str, Any]] = {}
        self.values: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.executed: set[str] = set()
        self.error_kind = state.faults.take_error()
        self.drop_after = state.faults.take_drop()
        self.steps_done = 0
        # The slot's deadline: set when the first node really runs, so fully cached prompts
        # stay instant; step sleeps push it back (job_time excludes them).
        self.started = time.monotonic()
        self.deadline: float | None = None
        self.sigs: dict[str, str] = {}
        self.fail_at: str | None = None

    async def run(self) -> dict[str, Any]:
        """Execute the prompt and build its history entry."""
        sigs = graph.signatures(self.prompt, self._changed)
        cache = self.state.cache
        self.state.cache = cache = {k: v for k, v in cache.items() if k in set(sigs.values())}
        self.sigs = sigs
        cached = [n for n in self.prompt if sigs[n] in cache]
        await self.message("execution_start", {"prompt_id": self.pid})
        await self.message("execution_cached", {"nodes": cached, "prompt_id": self.pid})
        if self.drop_after == 0:
            await self.state.hub.close_all()
        order = graph.ExecutionOrder(self.prompt, set(cached), self.state.info.is_output_node)
        for out in self.item.outputs:
            order.add_output(out)
        nodes = order.order()
        self.fail_at = self._failing_node(nodes) if self.error_kind else None
        return await self._run_nodes(nodes)

    async def _run_nodes(self, nodes: list[str]) -> dict[str, Any]:
        try:
            for node_id in nodes:
                await self.run_node(node_id)
            if nodes:
                await self._settle(nodes[-1])
        except Interrupted as stop:
            await self.message("execution_interrupted", self._stop_info(str(stop)), broadcast=True)
            return self.entry("error")
        except NodeFailed as fail:
            await self.message("execution_error", self._error_info(self.fail_at or "", fail.kind))
            return self.entry("error")
        await self.message("execution_success", {"prompt_id": self.pid})
        return self.entry("success")

    def _failing_node(self, nodes: list[str]) -> str | None:
        wanted = self.state.faults.error_node_class
        classes = {n: self.prompt[n]["class_type"] for n in nodes}
        for node_id in nodes:
            if classes[node_id] == wanted or (
                wanted is None and classes[node_id] in graph.SAMPLERS
            ):
                return node_id
        return nodes[0] if nodes and wanted is None else None

    async def message(self, event: str, data: dict[str, Any], broadcast: bool = False) -> None:
        """Record a status message for the history and send it to the submitting client."""
        data = {**data, "timestamp": now_ms()}
        self.messages.append([event, data])
        if self.client_id is not None or broadcast:
            await self.state.hub.send(event, data, self.client_id)

    async def send(self, event: str, data: dict[str, Any]) -> None:
        """Send a frame only when the prompt has a client (executing, executed)."""
        if self.client_id is not None:
            await self.state.hub.send(event, data, self.client_id)

    async def progress_state(self, node_id: str, value: float, maximum: float, state: str) -> None:
        """Update and send the accumulated progress_state (broadcast without client_id)."""
        self.progress[node_id] = {
            "value": value, "max": maximum, "state": state, "node_id": node_id,
            "prompt_id": self.pid, "display_node_id": node_id, "parent_node_id": None,
            "real_node_id": node_id,
        }  # fmt: skip
        data = {"prompt_id": self.pid, "nodes": dict(self.progress)}
        await self.state.hub.send("progress_state", data, self.client_id)

    async def run_node(self, node_id: str) -> None:
        """Run (or replay from cache) one node with its frames."""
        sig = self.sigs[node_id]
        if sig in self.state.cache:
            await self._replay(node_id, self.state.cache[sig])
            return
        await self.progress_state(node_id, 0.0, 1.0, "running")
        if self.client_id is not None:
            self.state.hub.last_node_id = node_id
        await self.send(
            "executing", {"node": node_id, "display_node": node_id, "prompt_id": self.pid}
        )
        await self._before_node(node_id)
        node = self.prompt[node_id]
        value = self._value(node_id)
        steps = graph.sampler_steps(node["class_type"], node.get("inputs", {}))
        for step in range(1, steps + 1):
            await self._step(node_id, step, steps)
        ui = await self._save(node_id, value) if self._is_output(node_id) else None
        done = (steps, steps) if steps else (1.0, 1.0)
        await self.progress_state(node_id, done[0], done[1], "finished")
        self.values[node_id] = value
        self.executed.add(node_id)
        self.state.cache[sig] = CacheEntry(value, ui)

    async def _replay(self, node_id: str, entry: CacheEntry) -> None:
        self.values[node_id] = entry.value
        if entry.ui is not None:
            await self.send("executed", self._executed(node_id, entry.ui))
            self._record_output(node_id, entry.ui)
        await self.progress_state(node_id, 1, 1, "finished")

    async def _before_node(self, node_id: str) -> None:
        if self.deadline is None:
            self.deadline = self.started + self.state.job_time()
        await asyncio.sleep(0)  # lets /interrupt land even when nodes take no time
        if self.state.interrupted:
            raise Interrupted(node_id)
        if node_id == self.fail_at and self.error_kind:
            raise NodeFailed(self.error_kind)

    async def _settle(self, node_id: str) -> None:
        # job_time is the slot's total wall-clock time, rendering and encoding included, as
        # for a GPU job of fixed length: only what the work has not used up yet is slept.
        if self.deadline is None:
            return
        remaining = self.deadline - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        if self.state.interrupted:
            raise Interrupted(node_id)

    async def _step(self, node_id: str, step: int, steps: int) -> None:
        pause = self.state.step_time()
        if self.deadline is not None:
            self.deadline += pause
        await asyncio.sleep(pause)
        if self.state.interrupted:
            raise Interrupted(node_id)
        await self.progress_state(node_id, step, steps, "running")
        jpeg = self._preview(node_id, step)
        if jpeg:  # metadata-aware clients get the preview before progress, others after it
            await self.state.hub.send_preview(
                jpeg, self._preview_meta(node_id), self.client_id, True
            )
        data = {"value": step, "max": steps, "prompt_id": self.pid, "node": node_id}
        await self.state.hub.send("progress", data, self.client_id)
        if jpeg:
            await self.state.hub.send_preview(jpeg, {}, self.client_id, False)
        self.steps_done += 1
        if self.drop_after is not None and self.steps_done == self.drop_after:
            await self.state.hub.close_all()

    def _preview(self, node_id: str, step: int) -> bytes:
        if not self.state.config.previews:
            return b""
        pic = self._value(node_id)
        pic = pic if isinstance(pic, graph.Picture) else graph.Picture(512, 512)
        return preview_jpeg(pic.width, pic.height, pic.seed + step)

    def _preview_meta(self, node_id: str) -> dict[str, Any]:
        return {
            "node_id": node_id, "prompt_id": self.pid, "display_node_id": node_id,
            "parent_node_id": None, "real_node_id": node_id, "image_type": "image/jpeg",
        }  # fmt: skip

    def _is_output(self, node_id: str) -> bool:
        return self.state.info.is_output_node(self.prompt[node_id]["class_type"])

    def _value(self, node_id: str) -> Any:
        node = self.prompt[node_id]
        inputs = node.get("inputs", {})
        value = graph.loader_value(node["class_type"], inputs)
        if value is not None:
            return value
        return graph.picture(node["class_type"], inputs, self._upstream, self._loaded)

    def _upstream(self, link: Any) -> Any:
        value = self.values.get(str(link[0]))
        if value is None:
            entry = self.state.cache.get(self.sigs.get(str(link[0]), ""))
            value = entry.value if entry else None
        return value

    def _loaded(self, name: str) -> graph.Picture:
        path = self.state.folders.annotated(name)
        data = path.read_bytes() if path is not None and path.is_file() else b""
        size = image_size(data) or (512, 512)
        seed = int(hashlib.sha256(data).hexdigest()[:8], 16)
        return graph.Picture(size[0], size[1], 1, seed)

    def _changed(self, node_id: str) -> str | None:
        # LoadImage's IS_CHANGED is the file's hash: a new upload under the same name re-runs it.
        node = self.prompt.get(node_id, {})
        if node.get("class_type") not in ("LoadImage", "LoadImageMask"):
            return None
        path = self.state.folders.annotated(str(node.get("inputs", {}).get("image", "")))
        if path is None or not path.is_file():
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()

    async def _save(self, node_id: str, value: Any) -> dict[str, Any]:
        pic = value if isinstance(value, graph.Picture) else graph.Picture(512, 512)
        node = self.prompt[node_id]
        if node["class_type"] == "SaveImage":
            prefix, kind = str(node.get("inputs", {}).get("filename_prefix", "ComfyUI")), "output"
        else:
            suffix = "".join(random.choice(string.ascii_lowercase) for _ in range(5))  # noqa: S311
            prefix, kind = f"ComfyUI_temp_{suffix}", "temp"
        images = await self.state.write_images(prefix, kind, pic, self._metadata())
        await self._settle(node_id)  # outputs appear when the fixed-length job ends
        ui = {"images": images}
        await self.send("executed", self._executed(node_id, ui))
        self._record_output(node_id, ui)
        return ui

    def _metadata(self) -> dict[str, Any]:
        extra = self.item.extra_data.get("extra_pnginfo") or {}
        return {"prompt": self.prompt, **(extra if isinstance(extra, dict) else {})}

    def _executed(self, node_id: str, ui: dict[str, Any]) -> dict[str, Any]:
        return {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": self.pid}

    def _record_output(self, node_id: str, ui: dict[str, Any]) -> None:
        self.outputs[node_id] = ui

    def _stop_info(self, node_id: str) -> dict[str, Any]:
        return {
            "prompt_id": self.pid,
            "node_id": node_id,
            "node_type": self.prompt[node_id]["class_type"],
            "executed": sorted(self.executed),
        }

    def _error_info(self, node_id: str, kind: str) -> dict[str, Any]:
        oom = kind == "oom"
        inputs = self.prompt[node_id].get("inputs", {})
        return {
            **self._stop_info(node_id),
            "exception_message": f"{OOM_MESSAGE}" if oom else GENERIC_MESSAGE,
            "exception_type": "torch.OutOfMemoryError" if oom else "RuntimeError",
            "traceback": [
                f'  File "fake_comfyui/execution.py", in run_node\n    {kind} fault injected\n'
            ],
            "current_inputs": {k: [str(v)] for k, v in inputs.items()},
            "current_outputs": list(self.prompt),
        }

    def entry(self, status: str) -> dict[str, Any]:
        """The history entry for this prompt."""
        ok = status == "success"
        meta = {
            n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n}
            for n in self.outputs
        }
        return {
            "prompt": self.item.as_list(),
            "outputs": self.outputs if ok else {},
            "status": {"status_str": status, "completed": ok, "messages": self.messages},
            "meta": meta if ok else {},
        }
