"""Load API-format templates and find their injection points by node title (`$prompt`, ...).

An operator edits a workflow in ComfyUI, keeps the `$...` titles, exports it in API format
and drops the file in; the node ids and the rest of the graph are free to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.protocol import Architecture, Mode
from gpu_server.errors import WorkflowError

Graph = dict[str, dict[str, Any]]

# binding title -> inputs the filler sets on that node
BINDING_INPUTS: dict[str, tuple[str, ...]] = {
    "$checkpoint": ("ckpt_name",),
    "$vae": ("vae_name",),
    "$prompt": ("text",),
    "$negative": ("text",),
    "$sampler": ("seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "$latent": ("width", "height", "batch_size"),
    "$save": ("filename_prefix",),
    "$input_image": ("image",),
    "$resize": ("width", "height"),
    "$batch": ("amount",),
    "$control_image": ("image",),
    "$control_preprocess": ("image",),
    "$controlnet": ("control_net_name",),
    "$controlnet_apply": ("strength",),
    "$upscale_model": ("model_name",),
}
_DIFFUSION = ("$checkpoint", "$prompt", "$negative", "$sampler", "$save")
# template kind -> bindings it must have
REQUIRED: dict[str, tuple[str, ...]] = {
    "txt2img": (*_DIFFUSION, "$latent"),
    "txt2img_controlnet": (*_DIFFUSION, "$latent", "$control_image", "$controlnet"),
    "restyle": (*_DIFFUSION, "$input_image", "$controlnet", "$controlnet_apply"),
    "upscale": ("$input_image", "$upscale_model", "$save"),
}
ARCH_DIRS: tuple[Architecture, ...] = ("sdxl", "sd15")


@dataclass(frozen=True)
class Template:
    """One API-format workflow and the node ids behind its bindings."""

    path: Path
    kind: str
    architecture: Architecture | None
    graph: Graph
    bindings: dict[str, list[str]]

    def node(self, title: str) -> str | None:
        """The first node id carrying this binding title, or None."""
        ids = self.bindings.get(title)
        return ids[0] if ids else None

    def nodes(self, title: str) -> list[str]:
        """Every node id carrying this binding title."""
        return list(self.bindings.get(title, []))


@dataclass(frozen=True)
class TemplateSet:
    """Every template, keyed by (kind, architecture); upscale has no architecture."""

    templates: dict[tuple[str, Architecture | None], Template]

    def pick(self, mode: Mode, architecture: Architecture, *, controlnet: bool) -> Template:
        """The template for a mode; the style's architecture picks the folder."""
        if mode is Mode.UPSCALE:
            return self.templates[("upscale", None)]
        kind = "restyle" if mode is Mode.RESTYLE else "txt2img"
        if controlnet and mode is Mode.FREE:
            kind = "txt2img_controlnet"
        return self.templates[(kind, architecture)]

    def __iter__(self) -> Any:
        return iter(self.templates.values())


def load_templates(root: Path) -> TemplateSet:
    """Load `<root>/{sdxl,sd15}/<kind>.json` and `<root>/common/upscale.json`, checking bindings."""
    found: dict[tuple[str, Architecture | None], Template] = {}
    for kind in REQUIRED:
        archs: tuple[Architecture | None, ...] = (None,) if kind == "upscale" else ARCH_DIRS
        for arch in archs:
            path = root / (arch or "common") / f"{kind}.json"
            found[(kind, arch)] = load_template(path, kind, arch)
    return TemplateSet(found)


def load_template(path: Path, kind: str, architecture: Architecture | None) -> Template:
    """Read one template file and index its `$...` titles; WorkflowError names what is wrong."""
    graph = _read_graph(path)
    bindings: dict[str, list[str]] = {}
    for node_id, node in graph.items():
        title = str(node.get("_meta", {}).get("title", ""))
        if title.startswith("$"):
            bindings.setdefault(title, []).append(node_id)
    template = Template(path, kind, architecture, graph, bindings)
    _check_bindings(template)
    return template


def _read_graph(path: Path) -> Graph:
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkflowError(f"{path}: cannot read the workflow: {exc}") from exc
    if not isinstance(graph, dict) or "nodes" in graph:
        raise WorkflowError(f"{path}: not an API-format workflow (use 'Export (API)' in ComfyUI)")
    for node_id, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node:
            raise WorkflowError(f"{path}: node {node_id} has no class_type")
        node.setdefault("inputs", {})
    return graph


def _check_bindings(template: Template) -> None:
    for title in REQUIRED[template.kind]:
        if title not in template.bindings:
            raise WorkflowError(f"{template.path}: no node titled {title!r} (required binding)")
    for title, node_ids in template.bindings.items():
        if title not in BINDING_INPUTS:
            raise WorkflowError(f"{template.path}: node {node_ids[0]}: unknown binding {title!r}")
        for node_id in node_ids:
            inputs = template.graph[node_id]["inputs"]
            for name in BINDING_INPUTS[title]:
                if name not in inputs:
                    raise WorkflowError(
                        f"{template.path}: node {node_id} ({title}, "
                        f"{template.graph[node_id]['class_type']}) has no input {name!r}"
                    )
