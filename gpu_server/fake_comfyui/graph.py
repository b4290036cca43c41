"""Graph work the fake does like ComfyUI: cache signatures, execution order, picture sizes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

SAMPLERS = {"KSampler": "seed", "KSamplerAdvanced": "noise_seed", "SamplerCustom": "noise_seed"}


def is_link(value: Any) -> bool:
    """Whether an input value is a [node_id, output_index] link."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def signatures(prompt: dict[str, Any], changed: Callable[[str], str | None]) -> dict[str, str]:
    """A cache key per node: class, widget values, and the keys of everything upstream."""
    memo: dict[str, str] = {}

    def sig(node_id: str, depth: int = 0) -> str:
        if node_id in memo:
            return memo[node_id]
        node = prompt.get(node_id)
        if not isinstance(node, dict) or depth > 200:  # cycles only in dropped branches
            return "missing"
        inputs = {
            k: ["link", sig(str(v[0]), depth + 1), v[1]] if is_link(v) else v
            for k, v in sorted(node.get("inputs", {}).items())
        }
        body = [node.get("class_type"), changed(node_id), inputs]
        memo[node_id] = hashlib.sha256(json.dumps(body, default=str).encode()).hexdigest()
        return memo[node_id]

    return {node_id: sig(node_id) for node_id in prompt}


class ExecutionOrder:
    """ComfyUI's ExecutionList: stage what is unblocked, preferring nodes close to outputs."""

    def __init__(
        self, prompt: dict[str, Any], cached: set[str], is_output: Callable[[str], bool]
    ) -> None:
        self.prompt = prompt
        self.cached = cached
        self.is_output = is_output
        self.pending: dict[str, None] = {}
        self.blocking: dict[str, dict[str, None]] = {}
        self.block_count: dict[str, int] = {}

    def add_output(self, root: str) -> None:
        """Add an output node and every uncached node it needs."""
        stack, links = [root], []
        while stack:
            node_id = stack.pop()
            if node_id in self.pending:
                continue
            self.pending[node_id] = None
            self.block_count[node_id] = 0
            self.blocking[node_id] = {}
            for value in self.prompt[node_id].get("inputs", {}).values():
                if is_link(value) and str(value[0]) not in self.cached:
                    stack.append(str(value[0]))
                    links.append((str(value[0]), node_id))
        for source, target in links:
            if target not in self.blocking[source]:
                self.blocking[source][target] = None
                self.block_count[target] += 1

    def order(self) -> list[str]:
        """The whole run order (the fake has no lazy inputs, so it is fixed up front)."""
        out: list[str] = []
        while self.pending:
            available = [n for n in self.pending if self.block_count[n] == 0]
            if not available:
                raise RuntimeError("Dependency cycle detected")
            node_id = self._pick(available)
            out.append(node_id)
            del self.pending[node_id]
            for blocked in self.blocking[node_id]:
                self.block_count[blocked] -= 1
        return out

    def _output(self, node_id: str) -> bool:
        return self.is_output(self.prompt[node_id]["class_type"])

    def _pick(self, available: list[str]) -> str:
        for node_id in available:
            if self._output(node_id):
                return node_id
        for node_id in available:
            if any(self._output(b) for b in self.blocking[node_id]):
                return node_id
        for node_id in available:
            for blocked in self.blocking[node_id]:
                if any(self._output(b) for b in self.blocking.get(blocked, {})):
                    return node_id
        return available[0]


@dataclass(frozen=True)
class Picture:
    """What flows between the fake's nodes: image size, batch and the seed that paints it."""

    width: int
    height: int
    batch: int = 1
    seed: int = 0


def _floor8(pic: Picture) -> Picture:
    return replace(pic, width=max(8, pic.width // 8 * 8), height=max(8, pic.height // 8 * 8))


def _scaled(pic: Picture, width: Any, height: Any) -> Picture:
    w, h = int(width or 0), int(height or 0)
    if w == 0 and h == 0:
        return pic
    if w == 0:
        w = max(1, round(pic.width * h / pic.height))
    if h == 0:
        h = max(1, round(pic.height * w / pic.width))
    return replace(pic, width=w, height=h)


def _by(pic: Picture, factor: float) -> Picture:
    return replace(
        pic, width=max(1, round(pic.width * factor)), height=max(1, round(pic.height * factor))
    )


def upscale_factor(model_name: str) -> int:
    """Scale of an upscale model guessed from its name (x2, 2x...); 4 when it says nothing."""
    match = re.search(r"(?:x(\d)|(\d)x)", model_name.lower())
    return int(match.group(1) or match.group(2)) if match else 4


def picture(
    class_type: str,
    inputs: dict[str, Any],
    upstream: Callable[[Any], Any],
    loaded: Callable[[str], Picture],
) -> Any:
    """The value a node produces; `upstream` resolves a link to the linked node's value."""
    if class_type.startswith("Empty") and "Latent" in class_type and "width" in inputs:
        batch = int(inputs.get("batch_size", 1) or 1)
        return _floor8(Picture(int(inputs["width"]), int(inputs["height"]), batch))
    if class_type in ("LoadImage", "LoadImageMask"):
        return loaded(str(inputs.get("image", "")))
    linked = {k: upstream(v) for k, v in inputs.items() if is_link(v)}
    first = next((v for v in linked.values() if isinstance(v, Picture)), None)
    if first is None:
        return None
    return _transform(class_type, inputs, linked, first)


def _pick(linked: dict[str, Any], name: str, default: Picture) -> Picture:
    value = linked.get(name)
    return value if isinstance(value, Picture) else default


def _transform(
    class_type: str, inputs: dict[str, Any], linked: dict[str, Any], first: Picture
) -> Picture:
    if class_type in SAMPLERS:
        return replace(
            _pick(linked, "latent_image", first), seed=int(inputs.get(SAMPLERS[class_type], 0))
        )
    if class_type.startswith("VAEEncode"):
        return _floor8(_pick(linked, "pixels", first))
    if class_type in ("ImageScale", "LatentUpscale"):
        return _scaled(first, inputs.get("width"), inputs.get("height"))
    if class_type in ("ImageScaleBy", "LatentUpscaleBy"):
        return _by(first, float(inputs.get("scale_by", 1.0)))
    if class_type == "ImageUpscaleWithModel":
        factor = linked.get("upscale_model")
        return _by(_pick(linked, "image", first), factor if isinstance(factor, int) else 4)
    return first


def loader_value(class_type: str, inputs: dict[str, Any]) -> Any:
    """Values of loader nodes the pictures need (the upscale factor); None for the rest."""
    if class_type == "UpscaleModelLoader":
        return upscale_factor(str(inputs.get("model_name", "")))
    return None


def sampler_steps(class_type: str, inputs: dict[str, Any]) -> int:
    """How many progress frames a sampler node sends (0 for other nodes)."""
    if class_type == "KSampler":
        return int(inputs.get("steps", 0))
    if class_type == "KSamplerAdvanced":
        steps = int(inputs.get("steps", 0))
        end = min(int(inputs.get("end_at_step", steps)), steps)
        return max(0, end - int(inputs.get("start_at_step", 0)))
    return 0
