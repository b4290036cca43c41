"""ComfyUI's node schema (/object_info): inputs, outputs, output nodes, installed model lists."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

MODEL_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "checkpoints": (
        ("CheckpointLoaderSimple", "ckpt_name"),
        ("CheckpointLoader", "ckpt_name"),
        ("ImageOnlyCheckpointLoader", "ckpt_name"),
        ("unCLIPCheckpointLoader", "ckpt_name"),
        ("CreateHookModelAsLora", "ckpt_name"),
        ("CreateHookModelAsLoraModelOnly", "ckpt_name"),
    ),
    "loras": (
        ("LoraLoader", "lora_name"),
        ("LoraLoaderModelOnly", "lora_name"),
        ("CreateHookLora", "lora_name"),
        ("CreateHookLoraModelOnly", "lora_name"),
    ),
    "vae": (("VAELoader", "vae_name"),),
    "controlnet": (
        ("ControlNetLoader", "control_net_name"),
        ("DiffControlNetLoader", "control_net_name"),
    ),
    "upscale_models": (("UpscaleModelLoader", "model_name"),),
    "input": (("LoadImage", "image"), ("LoadImageMask", "image")),
}
# ComfyUI always offers these next to the VAE files (the pixel-space "VAE").
_VAE_EXTRAS = ["pixel_space"]
# Nodes whose image input is checked by VALIDATE_INPUTS (file exists), not by the combo list.
FILE_VALIDATED = {("LoadImage", "image"), ("LoadImageMask", "image")}
LOADER_INPUTS = {
    pair for folder, pairs in MODEL_INPUTS.items() if folder != "input" for pair in pairs
}


class ObjectInfo:
    """The /object_info document: node classes, their inputs, outputs and output-node flag."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def load(cls, path: str | Path) -> ObjectInfo:
        """Read a captured /object_info JSON file."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectInfo:
        """Wrap a live /object_info answer."""
        return cls(data)

    def has_class(self, class_type: str) -> bool:
        """Whether ComfyUI knows this node class."""
        return class_type in self.data

    def node(self, class_type: str) -> dict[str, Any]:
        """The schema entry of one node class."""
        return dict(self.data[class_type])

    def is_output_node(self, class_type: str) -> bool:
        """Whether the class is an output node (what ComfyUI executes towards)."""
        return bool(self.data.get(class_type, {}).get("output_node", False))

    def return_types(self, class_type: str) -> tuple[str, ...]:
        """The output types of a class, as a tuple like RETURN_TYPES."""
        return tuple(self.data[class_type].get("output", []))

    def inputs(self, class_type: str) -> list[tuple[str, str, list[Any]]]:
        """(name, category, spec) for required then optional inputs, in the schema's order."""
        spec = self.data[class_type].get("input", {})
        order = self.data[class_type].get("input_order", {})
        out: list[tuple[str, str, list[Any]]] = []
        for category in ("required", "optional"):
            section = spec.get(category, {})
            names = order.get(category) or list(section)
            out.extend((n, category, section[n]) for n in names if n in section)
        return out

    def combo_values(self, class_type: str, input_name: str) -> list[Any] | None:
        """The value list of a combo input, old style or COMBO style; None if not a combo."""
        for name, _, spec in self.inputs(class_type):
            if name == input_name:
                return combo_options(spec)
        return None

    def with_installed(self, installed: dict[str, list[str]]) -> ObjectInfo:
        """A copy whose model-file combo lists name the given files, by model folder."""
        data = dict(self.data)  # only the classes that change are deep-copied
        for folder, files in installed.items():
            values = list(files) + (_VAE_EXTRAS if folder == "vae" else [])
            for class_type, input_name in MODEL_INPUTS.get(folder, ()):
                _set_combo(data, class_type, input_name, values)
        return ObjectInfo(data)


def combo_options(spec: list[Any]) -> list[Any] | None:
    """The value list of a combo spec (old style or COMBO style); None for other inputs."""
    if spec and isinstance(spec[0], list):
        return list(spec[0])
    if spec and spec[0] == "COMBO":
        extra = spec[1] if len(spec) > 1 else {}
        return list(extra.get("options", []))
    return None


def _set_combo(data: dict[str, Any], class_type: str, input_name: str, values: list[str]) -> None:
    if class_type not in data:
        return
    node = data[class_type] = copy.deepcopy(data[class_type])
    for section in node.get("input", {}).values():
        spec = section.get(input_name) if isinstance(section, dict) else None
        if not isinstance(spec, list) or not spec:
            continue
        if isinstance(spec[0], list):
            spec[0] = list(values)
        elif spec[0] == "COMBO":
            spec[1] = {**spec[1], "options": list(values)}
